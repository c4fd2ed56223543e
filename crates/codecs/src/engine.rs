//! The engines that write a whole cube with one [`Method`] and read it back.
//!
//! - **Serial**: the filter goes into the dataset-creation property list
//!   ([`FilterSpec::apply`]) and HDF5's own pipeline compresses chunk by chunk on one thread —
//!   what h5py does.
//! - **Parallel**: whole chunks (edge chunks zero-padded to the full chunk shape, as HDF5 pads
//!   them) are compressed on a rayon pool with [`FilterSpec::encode`] and written with
//!   `H5Dwrite_chunk`; a chunk the filter declines is stored raw with its filter-mask bit set,
//!   as HDF5 does for an optional filter that fails. The chunk bytes are the serial engine's.
//!
//! Both stream the source in chunk-aligned slabs `(chunk_sy, k·chunk_sx, det_y, det_x)`, with `k`
//! chosen to keep a slab under [`WriteOptions::slab_bytes`], so every chunk is written exactly
//! once and memory stays bounded. Reads mirror writes: HDF5's pipeline on slabs (serial), or
//! `H5Dread_chunk` + parallel [`FilterSpec::decode`] (parallel).
//!
//! Every libhdf5 call runs under hdf5-metno's global lock (`hdf5::sync::sync`); only the codecs
//! run on the pool. Outputs are written under an [`AtomicFile`] temporary name and appear only
//! once written, counted and (when asked) verified.

use crate::error::{CodecError, Result};
use crate::filters::{self, FilterSpec};
use crate::method::Method;
use crate::nonhdf5;
use crate::verify::{self, VerifyReport};
use crate::Chunking;
use hdf5::Dataset;
use hdf5_sys::h5::hsize_t;
use hdf5_sys::h5i::hid_t;
use hdf5_sys::h5p::H5P_DEFAULT;
use hdf5_sys::h5s::H5S_seloper_t;
use rayon::prelude::*;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::time::Instant;
use stemz_data::{AtomicFile, CubeReader, DType, Hyperslab, Shape4, SourceInfo};

/// The dataset path of an EMD 1.0 datacube, as the study's files and py4DSTEM ≥ 0.14 use it.
pub const EMD_DATASET: &str = "version_1/data/datacubes/datacube_000/data";

/// Default slab budget: large enough to keep every core busy, small enough for any workstation.
pub const DEFAULT_SLAB_BYTES: usize = 256 << 20;

/// Which engine compresses (and decompresses) the chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// HDF5's own filter pipeline on one thread, as h5py.
    Serial,
    /// Chunks compressed on a rayon pool of `threads` workers (0 = one per core).
    Parallel { threads: usize },
}

impl Engine {
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Serial => "serial",
            Engine::Parallel { .. } => "parallel",
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
    pub file_bytes: u64,
    pub uncompressed_bytes: u64,
    /// Wall time of writing (excluding verification).
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
    let atomic = AtomicFile::new(out)?;
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
    let start = Instant::now();
    let mut report = if opts.method.is_hdf5() {
        write_hdf5(reader, &temp, opts)?
    } else {
        let bytes = nonhdf5::write(opts.method, reader, &temp)?;
        WriteReport {
            path: out.to_path_buf(),
            method: opts.method,
            chunk_shape: None,
            chunks: 0,
            chunks_stored_raw: 0,
            payload_bytes: bytes,
            file_bytes: bytes,
            uncompressed_bytes: reader.nbytes(),
            write_s: 0.0,
            verify: None,
            sha256: None,
        }
    };
    report.write_s = start.elapsed().as_secs_f64();
    report.path = out.to_path_buf();
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
    }
    atomic.commit()?;
    Ok(report)
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

/// Open a written file for decoding: an HDF5 dataset through `engine`'s read path, or a stemz
/// non-HDF5 file through its sequential decoder.
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
    } else {
        nonhdf5::open(method, path)
    }
}

/// Slab shape for streaming comparisons: whole chunk columns for HDF5 (every chunk decoded
/// once), one scan row for sequential non-HDF5 decoders.
fn verify_slab_shape(cube: &dyn CubeReader, method: Method) -> Shape4 {
    let shape = cube.shape();
    if method.is_hdf5() {
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

// ---------------------------------------------------------------------------------------------
// Writing HDF5

fn h5err(path: &Path, what: &str) -> CodecError {
    CodecError::hdf5(path, what)
}

/// An HDF5 id closed on drop (datatype, dataspace, property list).
struct Id {
    id: hid_t,
    close: unsafe extern "C" fn(hid_t) -> hdf5_sys::h5::herr_t,
}

impl Drop for Id {
    fn drop(&mut self) {
        let (id, close) = (self.id, self.close);
        hdf5::sync::sync(|| unsafe {
            close(id);
        });
    }
}

fn check_id(
    id: hid_t,
    close: unsafe extern "C" fn(hid_t) -> i32,
    path: &Path,
    what: &str,
) -> Result<Id> {
    if id < 0 {
        Err(h5err(path, what))
    } else {
        Ok(Id { id, close })
    }
}

fn file_type(dtype: DType) -> hid_t {
    use hdf5_sys::h5t::*;
    // Little-endian standard types, as h5py stores numpy's native little-endian arrays.
    hdf5::sync::sync(|| match dtype {
        DType::U8 => *H5T_STD_U8LE,
        DType::U16 => *H5T_STD_U16LE,
        DType::U32 => *H5T_STD_U32LE,
        DType::F32 => *H5T_IEEE_F32LE,
    })
}

fn mem_type(dtype: DType) -> hid_t {
    use hdf5_sys::h5t::*;
    hdf5::sync::sync(|| match dtype {
        DType::U8 => *H5T_NATIVE_UCHAR,
        DType::U16 => *H5T_NATIVE_USHORT,
        DType::U32 => *H5T_NATIVE_UINT,
        DType::F32 => *H5T_NATIVE_FLOAT,
    })
}

fn dims(v: &[usize]) -> Vec<hsize_t> {
    v.iter().map(|&n| n as hsize_t).collect()
}

/// Create the chunked dataset at `dataset` (intermediate groups created), with the filter in the
/// dcpl as h5py would put it.
fn create_dataset(
    file: &hdf5::File,
    path: &Path,
    dataset: &str,
    shape: Shape4,
    dtype: DType,
    chunk: Shape4,
    (filter, checksum): (Option<&FilterSpec>, bool),
) -> Result<Dataset> {
    use hdf5_sys::{h5d, h5p, h5s};
    let name = CString::new(dataset).map_err(|_| {
        CodecError::Invalid(format!("{}: dataset path contains NUL", path.display()))
    })?;
    let dcpl = hdf5::sync::sync(|| unsafe { h5p::H5Pcreate(*h5p::H5P_CLS_DATASET_CREATE) });
    let dcpl = check_id(
        dcpl,
        h5p::H5Pclose,
        path,
        "cannot create a dataset-creation property list",
    )?;
    let cdims = dims(&chunk);
    if hdf5::sync::sync(|| unsafe { h5p::H5Pset_chunk(dcpl.id, 4, cdims.as_ptr()) }) < 0 {
        return Err(h5err(path, &format!("cannot set chunk shape {chunk:?}")));
    }
    if let Some(f) = filter {
        f.apply(dcpl.id, dtype.itemsize(), &chunk)
            .map_err(|e| CodecError::filter(path, e))?;
    }
    if checksum {
        add_fletcher32(dcpl.id, path)?;
    }
    // h5py 3 creates datasets without timestamps (track_times=False).
    if hdf5::sync::sync(|| unsafe { h5p::H5Pset_obj_track_times(dcpl.id, 0) }) < 0 {
        return Err(h5err(path, "cannot disable object timestamps"));
    }
    let lcpl = hdf5::sync::sync(|| unsafe { h5p::H5Pcreate(*h5p::H5P_CLS_LINK_CREATE) });
    let lcpl = check_id(
        lcpl,
        h5p::H5Pclose,
        path,
        "cannot create a link-creation property list",
    )?;
    if hdf5::sync::sync(|| unsafe { h5p::H5Pset_create_intermediate_group(lcpl.id, 1) }) < 0 {
        return Err(h5err(path, "cannot enable intermediate groups"));
    }
    let sdims = dims(&shape);
    let space =
        hdf5::sync::sync(|| unsafe { h5s::H5Screate_simple(4, sdims.as_ptr(), std::ptr::null()) });
    let space = check_id(space, h5s::H5Sclose, path, "cannot create the dataspace")?;
    let ftype = file_type(dtype);
    let ds = hdf5::sync::sync(|| unsafe {
        h5d::H5Dcreate2(
            file.id(),
            name.as_ptr(),
            ftype,
            space.id,
            lcpl.id,
            dcpl.id,
            H5P_DEFAULT,
        )
    });
    if ds < 0 {
        return Err(h5err(path, &format!("cannot create dataset {dataset}")));
    }
    // SAFETY: `ds` is a valid dataset id just returned by H5Dcreate2; `Dataset` takes ownership
    // and closes it on drop.
    unsafe { hdf5::from_id::<Dataset>(ds) }.map_err(|e| CodecError::hdf5(path, e))
}

/// Append HDF5's Fletcher-32 filter to the pipeline of `dcpl` (after the method's filter).
fn add_fletcher32(dcpl: hid_t, path: &Path) -> Result<()> {
    // SAFETY: `dcpl` is a dataset-creation property list the caller created and still holds.
    if hdf5::sync::sync(|| unsafe { hdf5_sys::h5p::H5Pset_fletcher32(dcpl) }) < 0 {
        return Err(h5err(path, "cannot add the Fletcher-32 checksum filter"));
    }
    Ok(())
}

/// Select `slab` in a fresh copy of the dataset's file space; return (file space, memory space).
fn select(ds: &Dataset, slab: &Hyperslab, path: &Path) -> Result<(Id, Id)> {
    use hdf5_sys::{h5d, h5s};
    let fspace = hdf5::sync::sync(|| unsafe { h5d::H5Dget_space(ds.id()) });
    let fspace = check_id(fspace, h5s::H5Sclose, path, "cannot get the dataspace")?;
    let start = dims(&slab.origin);
    let count = dims(&slab.extent);
    let status = hdf5::sync::sync(|| unsafe {
        h5s::H5Sselect_hyperslab(
            fspace.id,
            H5S_seloper_t::H5S_SELECT_SET,
            start.as_ptr(),
            std::ptr::null(),
            count.as_ptr(),
            std::ptr::null(),
        )
    });
    if status < 0 {
        return Err(h5err(
            path,
            &format!("cannot select slab {:?}+{:?}", slab.origin, slab.extent),
        ));
    }
    let mspace =
        hdf5::sync::sync(|| unsafe { h5s::H5Screate_simple(4, count.as_ptr(), std::ptr::null()) });
    let mspace = check_id(
        mspace,
        h5s::H5Sclose,
        path,
        "cannot create a memory dataspace",
    )?;
    Ok((fspace, mspace))
}

fn write_hdf5(
    reader: &mut dyn CubeReader,
    temp: &Path,
    opts: &WriteOptions,
) -> Result<WriteReport> {
    filters::register_all().map_err(|e| CodecError::filter(temp, e))?;
    let shape = reader.shape();
    let dtype = reader.dtype();
    let item = dtype.itemsize();
    let chunk = opts.chunking.shape(shape);
    let filter = opts.method.filter();
    // Plain HDF5: our own file and dataset. EMD 1.0: the data crate's EMD writer lays out the
    // tree and creates the dataset with our dcpl; we write its chunks through a second handle.
    let (out, ds) = match &opts.layout {
        Layout::Hdf5 { dataset } => {
            let file = hdf5::File::create(temp).map_err(|e| CodecError::hdf5(temp, e))?;
            let ds = create_dataset(
                &file,
                temp,
                dataset,
                shape,
                dtype,
                chunk,
                (filter.as_ref(), opts.checksum),
            )?;
            (Output::Plain(file), ds)
        }
        Layout::Emd => {
            let writer = stemz_data::emd::create_emd(temp, shape, dtype, Some(chunk), |dcpl| {
                if let Some(f) = &filter {
                    f.apply(dcpl, item, &chunk)
                        .map_err(|e| stemz_data::DataError::hdf5(temp, e))?;
                }
                if opts.checksum {
                    add_fletcher32(dcpl, temp)
                        .map_err(|e| stemz_data::DataError::Invalid(e.to_string()))?;
                }
                Ok(())
            })?;
            let ds = writer
                .file()
                .ok_or_else(|| h5err(temp, "EMD writer has no open file"))?
                .dataset(EMD_DATASET)
                .map_err(|e| CodecError::hdf5(temp, e))?;
            (Output::Emd(Box::new(writer)), ds)
        }
    };
    let slab_shape = slab_shape(shape, chunk, item, opts.slab_bytes);
    let mut buf = Vec::new();
    let pool = match opts.engine {
        Engine::Parallel { threads } => Some(build_pool(threads, temp)?),
        Engine::Serial => None,
    };
    for slab in Hyperslab::tiles(shape, slab_shape) {
        buf.resize(slab.len() * item, 0);
        reader.read_slab(&slab, &mut buf)?;
        match &pool {
            None => write_slab_serial(&ds, &slab, &buf, dtype, temp)?,
            Some(pool) => write_slab_parallel(
                &ds,
                &slab,
                &buf,
                item,
                chunk,
                (filter.as_ref(), opts.checksum),
                pool,
                temp,
            )?,
        }
    }
    let (chunks, chunks_stored_raw, payload_bytes) = count_chunks(&ds, temp)?;
    drop(ds);
    match out {
        Output::Plain(file) => file.close().map_err(|e| CodecError::hdf5(temp, e))?,
        Output::Emd(writer) => {
            stemz_data::CubeWriter::finish(writer)?;
        }
    }
    let file_bytes = std::fs::metadata(temp)
        .map_err(|e| CodecError::io(temp, e))?
        .len();
    Ok(WriteReport {
        path: temp.to_path_buf(),
        method: opts.method,
        chunk_shape: Some(chunk),
        chunks,
        chunks_stored_raw,
        payload_bytes,
        file_bytes,
        uncompressed_bytes: reader.nbytes(),
        write_s: 0.0,
        verify: None,
        sha256: None,
    })
}

/// The open output file, closed (and for EMD, renamed from the writer's own temporary name to
/// ours) once every chunk is written.
enum Output {
    Plain(hdf5::File),
    Emd(Box<stemz_data::h5::H5Writer>),
}

fn build_pool(threads: usize, path: &Path) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| {
            CodecError::Invalid(format!(
                "{}: cannot start {threads} threads: {e}",
                path.display()
            ))
        })
}

fn write_slab_serial(
    ds: &Dataset,
    slab: &Hyperslab,
    buf: &[u8],
    dtype: DType,
    path: &Path,
) -> Result<()> {
    let (fspace, mspace) = select(ds, slab, path)?;
    let mtype = mem_type(dtype);
    let status = hdf5::sync::sync(|| unsafe {
        hdf5_sys::h5d::H5Dwrite(
            ds.id(),
            mtype,
            mspace.id,
            fspace.id,
            H5P_DEFAULT,
            buf.as_ptr().cast(),
        )
    });
    if status < 0 {
        return Err(h5err(
            path,
            &format!(
                "writing slab {:?}+{:?} through the filter pipeline failed",
                slab.origin, slab.extent
            ),
        ));
    }
    Ok(())
}

/// The chunks inside a chunk-aligned slab, as boxes clipped to the slab.
fn chunks_in(slab: &Hyperslab, chunk: Shape4) -> Vec<Hyperslab> {
    Hyperslab::tiles(slab.extent, chunk)
        .map(|t| Hyperslab {
            origin: std::array::from_fn(|i| slab.origin[i] + t.origin[i]),
            extent: t.extent,
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn write_slab_parallel(
    ds: &Dataset,
    slab: &Hyperslab,
    buf: &[u8],
    item: usize,
    chunk: Shape4,
    (filter, checksum): (Option<&FilterSpec>, bool),
    pool: &rayon::ThreadPool,
    path: &Path,
) -> Result<()> {
    let boxes = chunks_in(slab, chunk);
    // The checksum filter runs on whatever the first filter produced (declined or not), as in
    // HDF5's own pipeline.
    let seal = |bytes: Vec<u8>| {
        if checksum {
            filters::fletcher32::append(bytes)
        } else {
            bytes
        }
    };
    let full = Hyperslab {
        origin: [0; 4],
        extent: chunk,
    };
    let encoded: Vec<Result<(Shape4, u32, Vec<u8>)>> = pool.install(|| {
        boxes
            .par_iter()
            .map(|b| {
                // The full chunk, zero-padded beyond the cube's edge as HDF5 pads edge chunks.
                let mut raw = vec![0u8; chunk.iter().product::<usize>() * item];
                let dst_box = Hyperslab {
                    origin: b.origin,
                    extent: full.extent,
                };
                copy_region(buf, slab, &mut raw, &dst_box, b, item);
                match filter {
                    None => Ok((b.origin, 0, seal(raw))),
                    Some(f) => match f.encode(&raw, item, &chunk) {
                        Ok(Some(bytes)) => Ok((b.origin, 0, seal(bytes))),
                        // Declined: stored raw, filter 0 of the pipeline marked as skipped.
                        Ok(None) => Ok((b.origin, 1, seal(raw))),
                        Err(e) => Err(CodecError::filter(path, e)),
                    },
                }
            })
            .collect()
    });
    for r in encoded {
        let (origin, mask, bytes) = r?;
        let offset = dims(&origin);
        let status = hdf5::sync::sync(|| unsafe {
            hdf5_sys::h5d::H5Dwrite_chunk(
                ds.id(),
                H5P_DEFAULT,
                mask,
                offset.as_ptr(),
                bytes.len(),
                bytes.as_ptr().cast(),
            )
        });
        if status < 0 {
            return Err(h5err(path, &format!("H5Dwrite_chunk at {origin:?} failed")));
        }
    }
    Ok(())
}

/// Copy the elements of `region` (global coordinates) from `src` (a packed buffer covering box
/// `src_box`) into `dst` (covering `dst_box`). `region` must lie inside both boxes.
pub(crate) fn copy_region(
    src: &[u8],
    src_box: &Hyperslab,
    dst: &mut [u8],
    dst_box: &Hyperslab,
    region: &Hyperslab,
    item: usize,
) {
    let row = region.extent[3] * item;
    let (se, de) = (src_box.extent, dst_box.extent);
    for a in 0..region.extent[0] {
        for b in 0..region.extent[1] {
            for c in 0..region.extent[2] {
                let g = [
                    region.origin[0] + a,
                    region.origin[1] + b,
                    region.origin[2] + c,
                    region.origin[3],
                ];
                let s = (((g[0] - src_box.origin[0]) * se[1] + (g[1] - src_box.origin[1])) * se[2]
                    + (g[2] - src_box.origin[2]))
                    * se[3]
                    + (g[3] - src_box.origin[3]);
                let d = (((g[0] - dst_box.origin[0]) * de[1] + (g[1] - dst_box.origin[1])) * de[2]
                    + (g[2] - dst_box.origin[2]))
                    * de[3]
                    + (g[3] - dst_box.origin[3]);
                dst[d * item..d * item + row].copy_from_slice(&src[s * item..s * item + row]);
            }
        }
    }
}

/// Walk the chunk index: (chunks, chunks with a non-zero filter mask, sum of stored sizes).
fn count_chunks(ds: &Dataset, path: &Path) -> Result<(u64, u64, u64)> {
    let n = ds
        .num_chunks()
        .ok_or_else(|| h5err(path, "cannot count the dataset's chunks"))?;
    let (mut raw, mut bytes) = (0u64, 0u64);
    for i in 0..n {
        let info = ds
            .chunk_info(i)
            .ok_or_else(|| h5err(path, &format!("cannot read chunk {i}'s index entry")))?;
        if info.filter_mask != 0 {
            raw += 1;
        }
        bytes += info.size;
    }
    Ok((n as u64, raw, bytes))
}

// ---------------------------------------------------------------------------------------------
// Reading HDF5

/// A chunked HDF5 dataset read through HDF5's pipeline (serial) or through `H5Dread_chunk` and
/// parallel [`FilterSpec::decode`] (parallel).
pub struct Hdf5Cube {
    path: PathBuf,
    dataset: String,
    ds: Dataset,
    _file: hdf5::File,
    shape: Shape4,
    dtype: DType,
    chunk: Shape4,
    filter: Option<FilterSpec>,
    /// The pipeline ends with Fletcher-32: stored chunks carry a checksum to check and strip.
    fletcher32: bool,
    pool: Option<rayon::ThreadPool>,
    /// Decoded-chunk buffers, reused across slabs.
    scratch: Vec<Vec<u8>>,
}

impl Hdf5Cube {
    /// Open `dataset` in `path`. `filter` is the filter the dataset is expected to carry (checked
    /// against the file's pipeline); the parallel path decodes with it.
    pub fn open(
        path: &Path,
        dataset: &str,
        filter: Option<FilterSpec>,
        engine: Engine,
    ) -> Result<Self> {
        filters::register_all().map_err(|e| CodecError::filter(path, e))?;
        let h = |e: hdf5::Error| CodecError::hdf5(path, e);
        let file = hdf5::File::open(path).map_err(h)?;
        let ds = file.dataset(dataset).map_err(h)?;
        let s = ds.shape();
        let shape: Shape4 = s
            .clone()
            .try_into()
            .map_err(|_| CodecError::format(path, format!("{dataset} has shape {s:?}, not 4D")))?;
        let dtype = dtype_of(&ds).ok_or_else(|| {
            CodecError::format(
                path,
                format!("{dataset}: element type is not uint8/16/32 or float32"),
            )
        })?;
        let chunk: Shape4 = ds
            .chunk()
            .and_then(|c| c.try_into().ok())
            .ok_or_else(|| CodecError::format(path, format!("{dataset} is not chunked")))?;
        let mut ids: Vec<u32> = ds.filters().iter().map(|f| f.id() as u32).collect();
        let want: Vec<u32> = filter.iter().map(|f| f.id()).collect();
        // A checksum after the method's filter (`--checksum`) is part of any method's pipeline.
        let fletcher32 = ids.last() == Some(&filters::FLETCHER32_ID);
        if fletcher32 {
            ids.pop();
        }
        if ids != want {
            return Err(CodecError::format(
                path,
                format!("{dataset} has filter pipeline {ids:?}, expected {want:?}"),
            ));
        }
        let pool = match engine {
            Engine::Parallel { threads } => Some(build_pool(threads, path)?),
            Engine::Serial => None,
        };
        Ok(Hdf5Cube {
            path: path.to_path_buf(),
            dataset: dataset.to_string(),
            ds,
            _file: file,
            shape,
            dtype,
            chunk,
            filter,
            fletcher32,
            pool,
            scratch: Vec::new(),
        })
    }

    fn read_serial(&self, slab: &Hyperslab, out: &mut [u8]) -> Result<()> {
        let (fspace, mspace) = select(&self.ds, slab, &self.path)?;
        let mtype = mem_type(self.dtype);
        let chunk_bytes = self.chunk.iter().product::<usize>() * self.dtype.itemsize();
        let status = stemz_data::chunk_guard::with_chunk_bytes(chunk_bytes, || {
            hdf5::sync::sync(|| unsafe {
                hdf5_sys::h5d::H5Dread(
                    self.ds.id(),
                    mtype,
                    mspace.id,
                    fspace.id,
                    H5P_DEFAULT,
                    out.as_mut_ptr().cast(),
                )
            })
        });
        if status < 0 {
            let reason = stemz_data::chunk_guard::take_failure()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            return Err(h5err(
                &self.path,
                &format!(
                    "{}: reading slab {:?}+{:?} failed{reason}",
                    self.dataset, slab.origin, slab.extent
                ),
            ));
        }
        Ok(())
    }

    /// The stored bytes and filter mask of the chunk at `origin` (None when never written).
    fn read_raw_chunk(&self, origin: Shape4) -> Result<Option<(u32, Vec<u8>)>> {
        let offset = dims(&origin);
        let (mut mask, mut addr, mut size) = (0u32, 0u64, 0u64);
        let status = hdf5::sync::sync(|| unsafe {
            hdf5_sys::h5d::H5Dget_chunk_info_by_coord(
                self.ds.id(),
                offset.as_ptr(),
                &mut mask,
                &mut addr,
                &mut size,
            )
        });
        if status < 0 {
            return Err(h5err(
                &self.path,
                &format!("{}: no index entry for chunk {origin:?}", self.dataset),
            ));
        }
        if size == 0 {
            return Ok(None);
        }
        // The index is untrusted too: a chunk cannot be larger than the file holding it.
        let file_len = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        if size > file_len {
            return Err(CodecError::format(
                &self.path,
                format!(
                    "{}: the index says the chunk at offset {origin:?} is {size} bytes, more \
                     than the whole file ({file_len})",
                    self.dataset
                ),
            ));
        }
        let mut buf = vec![0u8; size as usize];
        let mut mask2 = 0u32;
        // H5Dread_chunk1 links to `H5Dread_chunk` before HDF5 2.0 and to the kept 1.x API after.
        let status = hdf5::sync::sync(|| unsafe {
            hdf5_sys::h5d::H5Dread_chunk1(
                self.ds.id(),
                H5P_DEFAULT,
                offset.as_ptr(),
                &mut mask2,
                buf.as_mut_ptr().cast(),
            )
        });
        if status < 0 {
            return Err(h5err(
                &self.path,
                &format!("{}: H5Dread_chunk at {origin:?} failed", self.dataset),
            ));
        }
        Ok(Some((mask2, buf)))
    }

    fn read_parallel(&mut self, slab: &Hyperslab, out: &mut [u8]) -> Result<()> {
        let item = self.dtype.itemsize();
        let chunk = self.chunk;
        let chunk_bytes = chunk.iter().product::<usize>() * item;
        // Chunk boxes (full, unclipped) that intersect the slab.
        let lo: Shape4 = std::array::from_fn(|i| slab.origin[i] / chunk[i]);
        let hi: Shape4 =
            std::array::from_fn(|i| (slab.origin[i] + slab.extent[i]).div_ceil(chunk[i]));
        let grid: Shape4 = std::array::from_fn(|i| hi[i] - lo[i]);
        let mut boxes = Vec::new();
        for g in Hyperslab::tiles(grid, [1; 4]) {
            boxes.push(Hyperslab {
                origin: std::array::from_fn(|i| (lo[i] + g.origin[i]) * chunk[i]),
                extent: chunk,
            });
        }
        let mut stored = Vec::with_capacity(boxes.len());
        for b in &boxes {
            stored.push((b.origin, self.read_raw_chunk(b.origin)?));
        }
        if self.scratch.len() < boxes.len() {
            self.scratch.resize_with(boxes.len(), Vec::new);
        }
        let filter = self.filter.as_ref();
        let fletcher32 = self.fletcher32;
        let path = &self.path;
        let scratch = &mut self.scratch[..boxes.len()];
        let pool = self
            .pool
            .as_ref()
            .ok_or_else(|| CodecError::Invalid("no thread pool".into()))?;
        pool.install(|| {
            scratch.par_iter_mut().zip(stored.par_iter()).try_for_each(
                |(buf, (origin, st))| -> Result<()> {
                    buf.resize(chunk_bytes, 0);
                    let st: Option<(u32, &[u8])> = match st {
                        Some((mask, bytes)) if fletcher32 => {
                            let payload = filters::fletcher32::strip(bytes).map_err(|e| {
                                CodecError::format(
                                    path,
                                    format!("the chunk at offset {origin:?} is damaged: {e}"),
                                )
                            })?;
                            Some((*mask, payload))
                        }
                        Some((mask, bytes)) => Some((*mask, bytes.as_slice())),
                        None => None,
                    };
                    match st {
                        None => buf.fill(0),
                        Some((mask, bytes)) if mask != 0 || filter.is_none() => {
                            if bytes.len() != chunk_bytes {
                                return Err(CodecError::format(
                                    path,
                                    format!(
                                        "the chunk at offset {origin:?} is stored raw in {} \
                                         bytes, expected {chunk_bytes}",
                                        bytes.len()
                                    ),
                                ));
                            }
                            buf.copy_from_slice(bytes);
                        }
                        Some((_, bytes)) => {
                            if let Some(f) = filter {
                                f.decode(bytes, item, &chunk, buf).map_err(|e| {
                                    CodecError::format(
                                        path,
                                        format!(
                                            "the chunk at offset {origin:?} cannot be decoded: {e}"
                                        ),
                                    )
                                })?;
                            }
                        }
                    }
                    Ok(())
                },
            )
        })?;
        for (b, buf) in boxes.iter().zip(self.scratch.iter()) {
            let region = intersect(b, slab);
            copy_region(buf, b, out, slab, &region, item);
        }
        Ok(())
    }
}

fn intersect(a: &Hyperslab, b: &Hyperslab) -> Hyperslab {
    let origin: Shape4 = std::array::from_fn(|i| a.origin[i].max(b.origin[i]));
    let extent: Shape4 = std::array::from_fn(|i| {
        (a.origin[i] + a.extent[i])
            .min(b.origin[i] + b.extent[i])
            .saturating_sub(origin[i])
    });
    Hyperslab { origin, extent }
}

fn dtype_of(ds: &Dataset) -> Option<DType> {
    use hdf5::types::{FloatSize, IntSize, TypeDescriptor};
    match ds.dtype().ok()?.to_descriptor().ok()? {
        TypeDescriptor::Unsigned(IntSize::U1) => Some(DType::U8),
        TypeDescriptor::Unsigned(IntSize::U2) => Some(DType::U16),
        TypeDescriptor::Unsigned(IntSize::U4) => Some(DType::U32),
        TypeDescriptor::Float(FloatSize::U4) => Some(DType::F32),
        _ => None,
    }
}

impl CubeReader for Hdf5Cube {
    fn shape(&self) -> Shape4 {
        self.shape
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn info(&self) -> SourceInfo {
        SourceInfo {
            format: "HDF5".into(),
            dataset: Some(self.dataset.clone()),
            chunks: Some(self.chunk.to_vec()),
            filters: self
                .filter
                .iter()
                .map(|f| format!("{} ({})", f.name(), f.id()))
                .collect(),
            details: Vec::new(),
        }
    }
    fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> stemz_data::Result<()> {
        slab.check_read(self.shape, self.dtype, out.len(), &self.path.display())?;
        let r = if self.pool.is_some() {
            self.read_parallel(slab, out)
        } else {
            self.read_serial(slab, out)
        };
        r.map_err(|e| stemz_data::DataError::Invalid(e.to_string()))
    }
}

/// One stored chunk as it sits in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawChunk {
    /// Element coordinates of the chunk's first element.
    pub offset: Vec<u64>,
    pub filter_mask: u32,
    pub bytes: Vec<u8>,
}

/// Every stored chunk of `dataset` in `path`, sorted by offset (for comparing files chunk by
/// chunk, e.g. the serial against the parallel engine, or stemz against h5py).
pub fn raw_chunks(path: &Path, dataset: &str) -> Result<Vec<RawChunk>> {
    let h = |e: hdf5::Error| CodecError::hdf5(path, e);
    let file = hdf5::File::open(path).map_err(h)?;
    let ds = file.dataset(dataset).map_err(h)?;
    let n = ds
        .num_chunks()
        .ok_or_else(|| h5err(path, &format!("{dataset} is not chunked")))?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let info = ds
            .chunk_info(i)
            .ok_or_else(|| h5err(path, &format!("cannot read chunk {i}'s index entry")))?;
        let mut bytes = vec![0u8; info.size as usize];
        let mut mask = 0u32;
        let status = hdf5::sync::sync(|| unsafe {
            hdf5_sys::h5d::H5Dread_chunk1(
                ds.id(),
                H5P_DEFAULT,
                info.offset.as_ptr(),
                &mut mask,
                bytes.as_mut_ptr().cast(),
            )
        });
        if status < 0 {
            return Err(h5err(
                path,
                &format!("H5Dread_chunk at {:?} failed", info.offset),
            ));
        }
        out.push(RawChunk {
            offset: info.offset.clone(),
            filter_mask: mask,
            bytes,
        });
    }
    out.sort_by(|a, b| a.offset.cmp(&b.offset));
    Ok(out)
}
