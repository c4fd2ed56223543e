//! One measurement as the study defined it, plus what it lacked.
//!
//! - `write_s`: create the file, write the whole cube through the method, close it (the source
//!   is streamed chunk-aligned from its own file, never loaded whole). fsync is not part of the
//!   study's number: it is timed separately as `fsync_s`.
//! - `read_s`: with the file already open, read and decompress the whole cube (the study's
//!   `dset[:]`, file open excluded): into one buffer when the source is held in memory, else slab
//!   by slab. Verification checks what that timed read produced against the source after the
//!   clock stops (as the study's `np.array_equal(d[:], data)`): one decode per measurement. A
//!   streamed source is compared bitwise, slab by slab. A preloaded source is released before
//!   the read, so that one copy of the cube is resident, not two: the SHA-256 of each 256 MiB
//!   part of the decoded buffer must equal that of the source (taken when it was loaded), and
//!   then the decoded buffer *is* the source and serves the next measurement; otherwise it is
//!   dropped and the source is loaded again from its file.
//! - The study made no warm-up write; [`CodecMeasure::warm_up_writes`] adds one per
//!   configuration (`stemz bench --warm-up`).
//! - Sources up to [`CodecMeasure::preload_bytes`] are read into memory once, before any
//!   measurement, so writes are timed from memory as the study's were (h5py wrote a NumPy array);
//!   larger sources stream chunk-aligned from their files, keeping memory bounded.
//! - `cache = cold` evicts the written file from the page cache after fsync with
//!   `posix_fadvise(DONTNEED)` (no root needed); `warm` reads what the page cache holds, as the
//!   study did.

use crate::error::{BenchError, Result};
use crate::matrix::Config;
use crate::record::{format_shape, Cache, Engine as EngineCol, Measurement};
use crate::runner::Measure;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use stemz_codecs::engine::{open_written, slab_shape, DEFAULT_SLAB_BYTES};
use stemz_codecs::{Chunking, Engine, Layout, Method, WriteOptions};
use stemz_data::mem::MemCube;
use stemz_data::open::{open, OpenOptions};
use stemz_data::{CubeReader, Hyperslab};

const GIB: f64 = (1u64 << 30) as f64;

/// Where a dataset's cube comes from.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub options: OpenOptions,
}

/// Measures configurations with the real codec engines.
pub struct CodecMeasure {
    pub sources: BTreeMap<String, Source>,
    pub workdir: PathBuf,
    pub cache: Cache,
    /// Worker threads of the parallel engine.
    pub threads: usize,
    /// Sources of at most this many bytes are held in memory (0: always stream).
    pub preload_bytes: u64,
    /// Make an untimed write of each configuration before its first counted run.
    pub warm_up_writes: bool,
    /// Sum of the timed regions (write, fsync, read) of the measurements made so far.
    pub timed_s: f64,
    preloaded: BTreeMap<String, Preloaded>,
}

/// A cube held in memory, with the digests that identify its bytes.
struct Preloaded {
    cube: Arc<MemCube>,
    digests: Vec<[u8; 32]>,
}

/// Bytes per part of [`part_digests`]: small enough that every core hashes a part of a
/// `small`-scale cube (128 MiB), large enough that the list stays short (128 digests for 2 GiB).
const DIGEST_PART: usize = 16 << 20;

/// The BLAKE3 digest of each [`DIGEST_PART`] of `bytes`, computed in parallel: equal lists mean
/// equal bytes (short of a BLAKE3 collision). This check runs after every timed read, outside
/// the clock but inside the run's wall time. Profiled (`perf record -g`, `stemz bench` of the
/// small 4D_EELS, blosc_lz4 balanced, parallel), SHA-256 of 256 MiB parts took 17 % of the
/// samples: the 128 MiB cube was one part, hashed on one core at SHA-NI's ~1.5 GB/s. BLAKE3 is
/// the faster hash (its SIMD code hashes several blocks at once) and the smaller parts use
/// every core.
fn part_digests(bytes: &[u8]) -> Vec<[u8; 32]> {
    use rayon::prelude::*;
    bytes
        .par_chunks(DIGEST_PART)
        .map(|part| *blake3::hash(part).as_bytes())
        .collect()
}

/// A reader over a preloaded cube shared by every measurement.
struct Shared(Arc<MemCube>);

impl CubeReader for Shared {
    fn shape(&self) -> stemz_data::Shape4 {
        self.0.shape
    }
    fn dtype(&self) -> stemz_data::DType {
        self.0.dtype
    }
    fn info(&self) -> stemz_data::SourceInfo {
        self.0.info()
    }
    fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> stemz_data::Result<()> {
        self.0.read_into(slab, out)
    }
    fn in_memory(&self) -> Option<&[u8]> {
        Some(&self.0.data)
    }
}

/// A method/chunking/engine resolved from a configuration's names.
struct Resolved {
    method: Method,
    chunking: Chunking,
    engine: Engine,
}

impl CodecMeasure {
    pub fn new(
        sources: BTreeMap<String, Source>,
        workdir: PathBuf,
        cache: Cache,
        threads: usize,
        preload_bytes: u64,
    ) -> Self {
        CodecMeasure {
            sources,
            workdir,
            cache,
            threads,
            preload_bytes,
            warm_up_writes: false,
            timed_s: 0.0,
            preloaded: BTreeMap::new(),
        }
    }

    fn resolve(&self, config: &Config) -> Result<Resolved> {
        let method = Method::parse(&config.method)?;
        let chunking = if method.is_chunked() {
            Chunking::parse(&config.chunking)?
        } else {
            Chunking::SingleFrame
        };
        let engine = match config.engine.as_str() {
            "serial" => Engine::Serial,
            "parallel" => Engine::Parallel {
                threads: self.threads,
            },
            other => {
                return Err(BenchError::Invalid(format!(
                    "unknown engine `{other}`: expected serial or parallel"
                )))
            }
        };
        Ok(Resolved {
            method,
            chunking,
            engine,
        })
    }

    fn open_source(&mut self, dataset: &str) -> Result<Box<dyn CubeReader>> {
        if let Some(p) = self.preloaded.get(dataset) {
            return Ok(Box::new(Shared(Arc::clone(&p.cube))));
        }
        let src = self.sources.get(dataset).ok_or_else(|| {
            BenchError::Invalid(format!("no source file for dataset `{dataset}`"))
        })?;
        let mut reader = open(&src.path, &src.options)?;
        if reader.nbytes() <= self.preload_bytes {
            // One dataset in memory at a time: the matrix is dataset-major within a run.
            self.preloaded.clear();
            let cube = Arc::new(MemCube::read_all(reader.as_mut())?);
            let digests = part_digests(&cube.data);
            self.preloaded.insert(
                dataset.to_string(),
                Preloaded {
                    cube: Arc::clone(&cube),
                    digests,
                },
            );
            return Ok(Box::new(Shared(cube)));
        }
        Ok(reader)
    }

    fn out_path(&self, config: &Config) -> PathBuf {
        self.workdir.join(format!(
            "{}__{}__{}__{}.out",
            config.dataset, config.method, config.chunking, config.engine
        ))
    }

    fn write_once(
        &mut self,
        config: &Config,
        r: &Resolved,
        out: &Path,
    ) -> Result<stemz_codecs::WriteReport> {
        let mut source = self.open_source(&config.dataset)?;
        let mut opts = WriteOptions::new(r.method, r.chunking, r.engine, Layout::hdf5_default());
        opts.verify = false;
        Ok(stemz_codecs::write(source.as_mut(), out, &opts)?)
    }
}

impl Measure for CodecMeasure {
    fn warm_up(&mut self, config: &Config) -> Result<()> {
        if !self.warm_up_writes {
            return Ok(());
        }
        let r = self.resolve(config)?;
        let out = self.out_path(config);
        self.write_once(config, &r, &out)?;
        remove_output(&out).map_err(|e| BenchError::io(&out, e))
    }

    fn measure(&mut self, config: &Config, run: u32) -> Result<Measurement> {
        let r = self.resolve(config)?;
        let out = self.out_path(config);
        let result = measure_file(self, config, &r, &out, run);
        // The output is scratch: remove it whatever happened.
        let _ = remove_output(&out);
        result
    }
}

fn measure_file(
    m: &mut CodecMeasure,
    config: &Config,
    r: &Resolved,
    out: &Path,
    run: u32,
) -> Result<Measurement> {
    let report = m.write_once(config, r, out)?;

    // A Zarr store is a directory: every object, and the directories naming them.
    let t = Instant::now();
    let mut files = Vec::new();
    for path in output_paths(out)? {
        let file = std::fs::File::open(&path).map_err(|e| BenchError::io(&path, e))?;
        file.sync_all().map_err(|e| BenchError::io(&path, e))?;
        files.push((file, path));
    }
    let fsync_s = t.elapsed().as_secs_f64();
    if m.cache == Cache::Cold {
        for (file, path) in &files {
            evict(file, path)?;
        }
    }
    drop(files);

    // Timed read: open excluded; what it decodes is compared with the source afterwards.
    let layout = Layout::hdf5_default();
    let mut written = open_written(out, r.method, &layout, r.engine)?;
    let shape = written.shape();
    let itemsize = written.dtype().itemsize();
    // write_once made the preload if the source fits, and its reader is gone: the map holds the
    // cube's only reference.
    let (read_s, lossless) = match m.preloaded.remove(&config.dataset) {
        Some(Preloaded { cube, digests }) => {
            // The whole cube into one buffer, as `dset[:]`, with the source released first.
            let (len, dtype) = (cube.data.len(), cube.dtype);
            drop(cube);
            let mut buf = stemz_data::mem::zeroed(len);
            let t = Instant::now();
            written.read_slab(&Hyperslab::full(shape), &mut buf)?;
            let read_s = t.elapsed().as_secs_f64();
            let same = part_digests(&buf) == digests;
            if same {
                let cube = Arc::new(MemCube::new(shape, dtype, buf)?);
                let p = Preloaded { cube, digests };
                m.preloaded.insert(config.dataset.clone(), p);
            }
            (read_s, same)
        }
        None => {
            let mut source = m.open_source(&config.dataset)?;
            let slab = match report.chunk_shape {
                Some(chunk) => slab_shape(shape, chunk, itemsize, DEFAULT_SLAB_BYTES),
                None => [1, shape[1], shape[2], shape[3]],
            };
            let (mut buf, mut want) = (Vec::new(), Vec::new());
            let (mut read_s, mut same) = (0.0, true);
            for s in Hyperslab::tiles(shape, slab) {
                buf.resize(s.len() * itemsize, 0);
                let t = Instant::now();
                written.read_slab(&s, &mut buf)?;
                read_s += t.elapsed().as_secs_f64();
                // Untimed: the same slab of the source, compared bitwise.
                want.resize(buf.len(), 0);
                source.read_slab(&s, &mut want)?;
                same &= buf == want;
            }
            (read_s, same)
        }
    };
    drop(written);
    m.timed_s += report.write_s + fsync_s + read_s;

    let uncompressed = report.uncompressed_bytes;
    Ok(Measurement {
        dataset: config.dataset.clone(),
        method: config.method.clone(),
        chunking: config.chunking.clone(),
        chunk_shape: report
            .chunk_shape
            .map(|c| format_shape(&c.map(|x| x as u64)))
            .unwrap_or_default(),
        engine: match r.engine {
            Engine::Serial => EngineCol::Serial,
            Engine::Parallel { .. } => EngineCol::Parallel,
        },
        threads: match r.engine {
            Engine::Serial => 1,
            Engine::Parallel { threads } => threads as u32,
        },
        cache: m.cache,
        run,
        uncompressed_bytes: uncompressed,
        file_bytes: report.file_bytes,
        payload_bytes: Some(report.payload_bytes),
        ratio: report.ratio(),
        write_s: report.write_s,
        fsync_s: Some(fsync_s),
        read_s: Some(read_s),
        write_gib_s: Some(uncompressed as f64 / GIB / report.write_s),
        read_gib_s: Some(uncompressed as f64 / GIB / read_s),
        lossless: Some(lossless),
        chunks: report.chunk_shape.map(|_| report.chunks),
        chunks_stored_raw: report.chunk_shape.map(|_| report.chunks_stored_raw),
        objects: Some(report.objects),
    })
}

/// An output's paths: the file itself, or every file and directory of a Zarr store, files
/// first (each then has its directory synced after it).
fn output_paths(out: &Path) -> Result<Vec<PathBuf>> {
    if !out.is_dir() {
        return Ok(vec![out.to_path_buf()]);
    }
    let (mut files, mut dirs) = (Vec::new(), vec![out.to_path_buf()]);
    let mut i = 0;
    while i < dirs.len() {
        let d = dirs[i].clone();
        for e in std::fs::read_dir(&d).map_err(|e| BenchError::io(&d, e))? {
            let p = e.map_err(|e| BenchError::io(&d, e))?.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                files.push(p);
            }
        }
        i += 1;
    }
    dirs.reverse();
    files.extend(dirs);
    Ok(files)
}

fn remove_output(out: &Path) -> std::io::Result<()> {
    if out.is_dir() {
        std::fs::remove_dir_all(out)
    } else {
        std::fs::remove_file(out)
    }
}

/// Drop the file's pages from the page cache (it was fsynced, so they are clean).
fn evict(file: &std::fs::File, path: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: plain syscall on an open descriptor we own; no memory is passed.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if rc != 0 {
        return Err(BenchError::io(path, std::io::Error::from_raw_os_error(rc)));
    }
    Ok(())
}

/// Free bytes on the file system holding `dir`.
pub fn free_bytes(dir: &Path) -> Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| BenchError::Invalid(format!("{}: path contains NUL", dir.display())))?;
    // SAFETY: statvfs is plain old data, for which all-zero bytes are a valid value; the call below overwrites it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(BenchError::io(dir, std::io::Error::last_os_error()));
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

/// The kind of file system `dir` is on (`ext4`, `tmpfs`, …, or the magic number in hex), for
/// the run's provenance: where the timed files were written.
pub fn filesystem(dir: &Path) -> Result<String> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| BenchError::Invalid(format!("{}: path contains NUL", dir.display())))?;
    // SAFETY: statfs is plain old data, for which all-zero bytes are a valid value; the call below overwrites it.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-parameter.
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(BenchError::io(dir, std::io::Error::last_os_error()));
    }
    // The magic numbers of linux/magic.h.
    Ok(match st.f_type as u64 {
        0xEF53 => "ext4".into(),
        0x0102_1994 => "tmpfs".into(),
        0x5846_5342 => "xfs".into(),
        0x9123_683E => "btrfs".into(),
        0x794C_7630 => "overlayfs".into(),
        0x6969 => "nfs".into(),
        0x0102_1997 => "9p".into(),
        other => format!("0x{other:x}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_digests_tell_apart_buffers_that_differ_in_one_byte_of_a_later_part() {
        let a = vec![7u8; DIGEST_PART + 10];
        let mut b = a.clone();
        assert_eq!(part_digests(&a), part_digests(&b));
        assert_eq!(part_digests(&a).len(), 2);
        b[DIGEST_PART + 3] ^= 1;
        assert_ne!(part_digests(&a), part_digests(&b));
        // A buffer that is a prefix of the other differs too.
        assert_ne!(part_digests(&a), part_digests(&a[..DIGEST_PART]));
    }
}
