//! The engines that write a whole cube with one [`Method`] and read it back.
//!
//! - **Serial**: the filter goes into the dataset-creation property list
//!   ([`FilterSpec::apply`]) and HDF5's own pipeline compresses chunk by chunk on one thread —
//!   what h5py does.
//! - **Parallel**: whole chunks (edge chunks zero-padded to the full chunk shape, as HDF5 pads
//!   them) are compressed by worker threads with [`FilterSpec::encode`] and written with
//!   `H5Dwrite_chunk`; a chunk the filter declines is stored raw with its filter-mask bit set,
//!   as HDF5 does for an optional filter that fails. The chunk bytes are the serial engine's.
//!
//! Both stream the source in chunk-aligned slabs `(chunk_sy, k·chunk_sx, det_y, det_x)`, with `k`
//! chosen to keep a slab under [`WriteOptions::slab_bytes`], so every chunk is written exactly
//! once and memory stays bounded. Reads mirror writes: HDF5's pipeline on slabs (serial), or
//! `H5Dread_chunk` + parallel [`FilterSpec::decode`] (parallel).
//!
//! Every libhdf5 call runs under hdf5-metno's global lock (`hdf5::sync::sync`); only the codecs
//! run on the workers. Outputs are written under an [`AtomicFile`] temporary name and appear only
//! once written, counted and (when asked) verified.
//!
//! The timed write (`WriteReport::write_s`) is what the study timed: create the file, write the
//! cube, close the file. Counting the stored chunks ([`chunks`]) happens after the file is
//! closed, outside that region, and looks chunks up by coordinate (O(n log n) over the index).
//! Files and datasets are made with `stemz_data::h5`, the one HDF5 layer.
//!
//! - [`write`](mod@write): the two write paths.
//! - [`read`]: [`Hdf5Cube`], the two read paths.
//! - [`chunks`]: the chunk index: accounting and raw chunk access.

pub mod chunks;
mod pipeline;
pub mod read;
pub mod write;

use crate::error::{CodecError, Result};
use crate::method::Method;
use crate::nonhdf5;
use crate::verify::{self, VerifyReport};
use crate::Chunking;
use std::path::{Path, PathBuf};
use std::time::Instant;
use stemz_data::{AtomicFile, CubeReader, Shape4};

pub use chunks::{raw_chunks, RawChunk};
pub use read::Hdf5Cube;
pub use write::copy_region;

/// The dataset path of an EMD 1.0 datacube, as the study's files and py4DSTEM ≥ 0.14 use it.
pub const EMD_DATASET: &str = "version_1/data/datacubes/datacube_000/data";

/// Default slab budget: large enough to keep every core busy, small enough for any workstation.
pub const DEFAULT_SLAB_BYTES: usize = 256 << 20;

/// Which engine compresses (and decompresses) the chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// HDF5's own filter pipeline on one thread, as h5py.
    Serial,
    /// Chunks compressed by `threads` worker threads (0 = one per core), in a pipeline with
    /// the source read and the chunk writes.
    Parallel { threads: usize },
}

impl Engine {
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Serial => "serial",
            Engine::Parallel { .. } => "parallel",
        }
    }

    /// Threads the engine's codecs run on (the serial engine: 1; 0 threads: one per core).
    pub fn threads(&self) -> usize {
        match *self {
            Engine::Serial => 1,
            Engine::Parallel { threads: 0 } => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            Engine::Parallel { threads } => threads,
        }
    }
}

/// How the output file is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Plain HDF5 with the cube at `dataset` (conventionally `data`).
    Hdf5 { dataset: String },
    /// EMD 1.0 (the cube at [`EMD_DATASET`]).
    Emd,
}

impl Layout {
    /// Plain HDF5 with the dataset at `data`, as the study's files.
    pub fn hdf5_default() -> Self {
        Layout::Hdf5 {
            dataset: "data".into(),
        }
    }

    pub fn dataset_path(&self) -> &str {
        match self {
            Layout::Hdf5 { dataset } => dataset,
            Layout::Emd => EMD_DATASET,
        }
    }
}

/// Everything [`write`] needs besides the source and the output path.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    pub method: Method,
    pub chunking: Chunking,
    pub engine: Engine,
    pub layout: Layout,
    /// Read the file back (with the same engine) and compare bitwise before committing it.
    pub verify: bool,
    /// Upper bound on one slab's bytes (at least one chunk row of chunks is always read).
    pub slab_bytes: usize,
    /// Add HDF5's Fletcher-32 checksum filter after the method's filter, so any HDF5 reader
    /// detects a chunk altered after writing (HDF5 methods only).
    pub checksum: bool,
    /// Store the SHA-256 of the data as an attribute of the dataset (HDF5 methods; one more
    /// streaming pass over the source, so off for benchmarks).
    pub digest: bool,
}

impl WriteOptions {
    pub fn new(method: Method, chunking: Chunking, engine: Engine, layout: Layout) -> Self {
        WriteOptions {
            method,
            chunking,
            engine,
            layout,
            verify: true,
            slab_bytes: DEFAULT_SLAB_BYTES,
            checksum: false,
            digest: false,
        }
    }
}

/// What a write produced.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteReport {
    pub path: PathBuf,
    pub method: Method,
    /// The chunk shape (HDF5 methods only).
    pub chunk_shape: Option<Shape4>,
    /// Chunks stored in the dataset (0 for non-HDF5 methods).
    pub chunks: u64,
    /// Chunks with a non-zero filter mask: stored raw because an optional filter declined.
    pub chunks_stored_raw: u64,
    /// Sum of the stored chunk sizes (the whole file for non-HDF5 methods).
    pub payload_bytes: u64,
    /// Bytes on disk: the file, or every object of a Zarr store.
    pub file_bytes: u64,
    /// Files the output is: 1, or a Zarr store's shard objects and its `zarr.json`.
    pub objects: u64,
    pub uncompressed_bytes: u64,
    /// Wall time of creating, writing and closing the file (excluding chunk accounting and
    /// verification; no fsync).
    pub write_s: f64,
    /// The verification, when asked for.
    pub verify: Option<VerifyReport>,
    /// The SHA-256 stored with the dataset ([`WriteOptions::digest`]).
    pub sha256: Option<String>,
}

impl WriteReport {
    /// Compression ratio as the study defines it: uncompressed bytes / file bytes.
    pub fn ratio(&self) -> f64 {
        self.uncompressed_bytes as f64 / self.file_bytes.max(1) as f64
    }
}

/// Timing and outcome of [`read_verify`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReadReport {
    /// Wall time of decoding the written file (including the comparison).
    pub read_s: f64,
    pub verify: VerifyReport,
}

/// Write `reader`'s cube to `out` with `opts`, atomically. When `opts.verify` is set the file is
/// read back with the same engine and compared bitwise before it is renamed into place; a
/// mismatch for a method that is lossless on this dtype is an error and leaves no file. A
/// method that is lossy by design (`uint8_overflow` on float32) is committed with
/// `verify.lossless == false`.
pub fn write(reader: &mut dyn CubeReader, out: &Path, opts: &WriteOptions) -> Result<WriteReport> {
    let atomic = if opts.method.is_zarr() {
        AtomicFile::new_dir(out)?
    } else {
        AtomicFile::new(out)?
    };
    let temp = atomic.temp_path().to_path_buf();
    write_at(reader, atomic, opts).map_err(|e| e.retarget(&temp, out))
}

fn write_at(
    reader: &mut dyn CubeReader,
    atomic: AtomicFile,
    opts: &WriteOptions,
) -> Result<WriteReport> {
    let temp = atomic.temp_path().to_path_buf();
    let out = &atomic.final_path().to_path_buf();
    let mut report = if opts.method.is_hdf5() {
        let start = Instant::now();
        let chunk = write::write_hdf5(reader, &temp, opts)?;
        let write_s = start.elapsed().as_secs_f64();
        // Untimed: the chunk index of the closed file, by coordinate.
        let index = chunks::account(&temp, opts.layout.dataset_path(), reader.shape(), chunk)?;
        WriteReport {
            path: out.to_path_buf(),
            method: opts.method,
            chunk_shape: Some(chunk),
            chunks: index.chunks,
            chunks_stored_raw: index.stored_raw,
            payload_bytes: index.payload_bytes,
            objects: 1,
            file_bytes: std::fs::metadata(&temp)
                .map_err(|e| CodecError::io(&temp, e))?
                .len(),
            uncompressed_bytes: reader.nbytes(),
            write_s,
            verify: None,
            sha256: None,
        }
    } else if opts.method.is_zarr() {
        let attributes = crate::zarr::attributes(opts, None);
        let start = Instant::now();
        let store = crate::zarr::write_store(reader, &temp, opts, attributes)?;
        let write_s = start.elapsed().as_secs_f64();
        // Untimed, as the HDF5 chunk index: each shard's index, read back.
        let acc = crate::zarr::account(&temp, store.inner, store.shard)?;
        WriteReport {
            path: out.to_path_buf(),
            method: opts.method,
            chunk_shape: Some(store.inner),
            chunks: acc.chunks,
            chunks_stored_raw: 0,
            payload_bytes: acc.shard_bytes,
            objects: acc.objects,
            file_bytes: acc.store_bytes,
            uncompressed_bytes: reader.nbytes(),
            write_s,
            verify: None,
            sha256: None,
        }
    } else {
        let start = Instant::now();
        let bytes = nonhdf5::write(opts.method, reader, &temp)?;
        let write_s = start.elapsed().as_secs_f64();
        WriteReport {
            path: out.to_path_buf(),
            method: opts.method,
            chunk_shape: None,
            chunks: 0,
            chunks_stored_raw: 0,
            payload_bytes: bytes,
            file_bytes: bytes,
            objects: 1,
            uncompressed_bytes: reader.nbytes(),
            write_s,
            verify: None,
            sha256: None,
        }
    };
    if opts.verify {
        let rr = read_verify(reader, &temp, opts.method, &opts.layout, opts.engine)?;
        let v = rr.verify;
        if !v.lossless && opts.method.lossless_for(reader.dtype()) {
            let at = v
                .first_mismatch
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_default();
            return Err(CodecError::Invalid(format!(
                "{}: verification failed, {} of {} elements differ after {} ({at}); file not written",
                out.display(),
                v.mismatches,
                v.elements,
                opts.method
            )));
        }
        report.verify = Some(v);
    }
    if opts.digest && opts.method.is_hdf5() {
        let sha = stemz_data::synth::sha256_of(reader)?;
        crate::digest::store(&temp, opts.layout.dataset_path(), &sha)?;
        report.sha256 = Some(sha);
        report.file_bytes = std::fs::metadata(&temp)
            .map_err(|e| CodecError::io(&temp, e))?
            .len();
    } else if opts.digest && opts.method.is_zarr() {
        let sha = stemz_data::synth::sha256_of(reader)?;
        let before = crate::zarr::metadata_bytes(&temp)?;
        crate::zarr::store_attributes(&temp, crate::zarr::attributes(opts, Some(&sha)))?;
        report.file_bytes = report.file_bytes - before + crate::zarr::metadata_bytes(&temp)?;
        report.sha256 = Some(sha);
    }
    atomic.commit()?;
    Ok(report)
}

/// Decode `written` (a file [`write`] wrote with `method` and `layout`) through the serial
/// engine's read path (HDF5's own pipeline, independent of the parallel engine's decoders) and
/// compare it with `original`.
pub fn verify(
    original: &mut dyn CubeReader,
    written: &Path,
    method: Method,
    layout: &Layout,
) -> Result<VerifyReport> {
    Ok(read_verify(original, written, method, layout, Engine::Serial)?.verify)
}

/// Read a file written by [`write`] with `engine`'s read path and compare it bitwise, streaming,
/// with `original`.
pub fn read_verify(
    original: &mut dyn CubeReader,
    written: &Path,
    method: Method,
    layout: &Layout,
    engine: Engine,
) -> Result<ReadReport> {
    let start = Instant::now();
    let mut cube = open_written(written, method, layout, engine)?;
    let slab = verify_slab_shape(cube.as_ref(), method);
    let verify = verify::compare(original, cube.as_mut(), slab)?;
    Ok(ReadReport {
        read_s: start.elapsed().as_secs_f64(),
        verify,
    })
}

/// Open a written file for decoding: an HDF5 dataset through `engine`'s read path, a Zarr store
/// with `engine`'s threads, or a stemz non-HDF5 file through its sequential decoder.
pub fn open_written(
    path: &Path,
    method: Method,
    layout: &Layout,
    engine: Engine,
) -> Result<Box<dyn CubeReader>> {
    if method.is_hdf5() {
        Ok(Box::new(Hdf5Cube::open(
            path,
            layout.dataset_path(),
            method.filter(),
            engine,
        )?))
    } else if method.is_zarr() {
        Ok(Box::new(stemz_data::zarr::ZarrCube::open(
            path,
            None,
            engine.threads(),
        )?))
    } else {
        nonhdf5::open(method, path)
    }
}

/// Slab shape for streaming comparisons: whole chunk columns for HDF5 (every chunk decoded
/// once), one scan row for sequential non-HDF5 decoders.
fn verify_slab_shape(cube: &dyn CubeReader, method: Method) -> Shape4 {
    let shape = cube.shape();
    if method.is_chunked() {
        let chunk = cube
            .info()
            .chunks
            .and_then(|c| <[usize; 4]>::try_from(c).ok())
            .unwrap_or([1, shape[1], shape[2], shape[3]]);
        slab_shape(shape, chunk, cube.dtype().itemsize(), DEFAULT_SLAB_BYTES)
    } else {
        [1, shape[1], shape[2], shape[3]]
    }
}

/// A chunk-aligned slab `(chunk_sy, k·chunk_sx, det_y, det_x)` of at most `budget` bytes (but at
/// least one chunk column), clipped to the cube.
pub fn slab_shape(shape: Shape4, chunk: Shape4, itemsize: usize, budget: usize) -> Shape4 {
    let column = chunk[0] * chunk[1] * shape[2] * shape[3] * itemsize;
    let k = (budget / column.max(1)).max(1);
    [
        chunk[0].min(shape[0]),
        (chunk[1] * k).min(shape[1]),
        shape[2],
        shape[3],
    ]
}
