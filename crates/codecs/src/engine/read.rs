//! Reading a written HDF5 dataset back: [`Hdf5Cube`], through HDF5's pipeline (serial) or
//! through `H5Dread_chunk` and parallel [`FilterSpec::decode`] (parallel).
//!
//! An unfiltered dataset read serially also goes chunk by chunk through `H5Dread_chunk`, on the
//! calling thread: HDF5 1.10's `H5Dread` reads an unfiltered chunk larger than its chunk cache
//! one contiguous run at a time (256-byte runs for a balanced (16, 16, 128, 128) u16 chunk of
//! the whole cube: `strace -c` counts 524,453 `pread64` calls for the 128 MiB small 4D_EELS),
//! which made `none` balanced serial reads 0.26× the peer. One read per chunk (181 calls) and
//! a copy of its rows reads it 3× faster (`stemz bench --methods none --engines serial`).
//!
//! The parallel read is a [`pipeline`]: this thread reads stored chunks (HDF5 calls are
//! serialised) while workers decode them, each into its own region of the caller's buffer —
//! in place when the chunk is one contiguous range of it (e.g. one frame of a whole-cube read),
//! else through a reused decode buffer. Memory beyond the caller's buffer is a few stored
//! chunks and one decode buffer per worker, whatever the slab's size.

use super::chunks::{file_len, read_stored, read_stored_into};
use super::write::region_rows;
use super::{pipeline, Engine};
use crate::error::{CodecError, Result};
use crate::filters::{self, FilterSpec};
use hdf5::Dataset;
use hdf5_sys::h5p::H5P_DEFAULT;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use stemz_data::h5;
use stemz_data::{CubeReader, DType, Hyperslab, Shape4, SourceInfo};

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
    /// Parallel engine: its worker count (`None`: serial, through HDF5's pipeline unless the
    /// dataset is unfiltered).
    threads: Option<usize>,
}

/// Items (one chunk, or a batch of small ones: [`BATCH_BYTES`]) in flight in the parallel read,
/// per worker: enough to keep every worker decoding while this thread reads, few enough that
/// the stored bytes in memory stay small.
const IN_FLIGHT_PER_THREAD: usize = 4;

/// Decoded bytes per item of the parallel read's pipeline: chunks smaller than this travel in
/// batches (a `single_frame` read of a 64x64 f32 detector is 65,536 chunks of 16 KiB). At
/// least two huge pages: into a buffer backed by 2 MiB pages (as numpy's arrays are, and
/// `stemz bench`'s), 1 MiB batches had both workers fault the same huge page at once, and the
/// small 4D_EELS `single_frame` blosc_lz4 parallel read ran at 0.6–5.2 GiB/s from one run to the
/// next; with 4 MiB batches it runs at 4.4–5.7 GiB/s (`stemz bench --scale small --datasets
/// 4D_EELS --methods blosc_lz4 --chunkings single_frame --engines parallel --runs 5`).
const BATCH_BYTES: usize = 4 << 20;

/// A chunk as `H5Dread_chunk` returns it: its filter mask and stored bytes; `None` when the
/// chunk was never written.
type Stored = Option<(u32, Vec<u8>)>;

/// The caller's buffer of a parallel read, written by several threads at once: each chunk
/// writes only its own region of the slab, and the regions of distinct chunks never overlap
/// (chunks tile the dataset).
#[derive(Clone, Copy)]
struct SharedOut {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the pointer is written only through `SharedOut::copy_region`, whose callers write
// disjoint regions (one chunk each), and the buffer it points into is borrowed mutably by
// `read_parallel` for the whole parallel section, so it outlives every write.
unsafe impl Send for SharedOut {}
// SAFETY: as above: concurrent use only ever writes disjoint bytes.
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// The bytes `at..at + len` of the buffer, to be written by one thread.
    ///
    /// # Safety
    /// No other thread may read or write any of these bytes while the slice lives.
    #[allow(clippy::mut_from_ref)]
    unsafe fn range(&self, at: usize, len: usize) -> &mut [u8] {
        assert!(at + len <= self.len, "a range outside the slab");
        // SAFETY: in bounds (checked above); exclusive for its lifetime (the caller's contract).
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(at), len) }
    }

    /// Copy `region` (inside both boxes) from `src`, the C-order bytes of `src_box`, into the
    /// buffer, the C-order bytes of `dst_box`; rows are checked against the buffer's length.
    ///
    /// # Safety
    /// No other thread may write any byte of `region`'s rows in the buffer at the same time.
    unsafe fn copy_region(
        &self,
        src: &[u8],
        src_box: &Hyperslab,
        dst_box: &Hyperslab,
        region: &Hyperslab,
        item: usize,
    ) {
        let (row, rows) = region_rows(src_box, dst_box, region, item);
        for (s, d) in rows {
            let from = &src[s..s + row];
            assert!(d + row <= self.len, "a region outside the slab");
            // SAFETY: the destination row lies within the buffer (checked above); no other
            // thread writes it (the caller's contract); source and destination are distinct
            // allocations.
            unsafe { std::ptr::copy_nonoverlapping(from.as_ptr(), self.ptr.add(d), row) };
        }
    }
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
        let threads = match engine {
            Engine::Parallel { threads } => Some(pipeline::worker_count(threads)),
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
            threads,
        })
    }

    fn read_serial(&self, slab: &Hyperslab, out: &mut [u8]) -> Result<()> {
        let (fspace, mspace) = h5::select_box(self.ds.id(), slab, &self.path)?;
        let mtype = h5::native_type(self.dtype);
        let chunk_bytes = self.chunk.iter().product::<usize>() * self.dtype.itemsize();
        let status = stemz_data::chunk_guard::with_chunk_bytes(chunk_bytes, || {
            // SAFETY: `out` holds exactly the slab's elements of the memory type (checked by
            // `read_slab`); the spaces are open for the call.
            hdf5::sync::sync(|| unsafe {
                hdf5_sys::h5d::H5Dread(
                    self.ds.id(),
                    mtype,
                    mspace.id(),
                    fspace.id(),
                    H5P_DEFAULT,
                    out.as_mut_ptr().cast(),
                )
            })
        });
        if status < 0 {
            let reason = stemz_data::chunk_guard::take_failure()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            return Err(CodecError::hdf5(
                &self.path,
                format!(
                    "{}: reading slab {:?}+{:?} failed{reason}",
                    self.dataset, slab.origin, slab.extent
                ),
            ));
        }
        Ok(())
    }

    /// The slab chunk by chunk through `H5Dread_chunk`: each stored chunk decoded (or taken as
    /// stored, when unfiltered) into its region of `out`, on `threads` workers while this
    /// thread reads, or all on this thread (`None`).
    fn read_chunks(&self, slab: &Hyperslab, out: &mut [u8], threads: Option<usize>) -> Result<()> {
        let item = self.dtype.itemsize();
        let chunk = self.chunk;
        let chunk_bytes = chunk.iter().product::<usize>() * item;
        // Chunk boxes (full, unclipped) that intersect the slab, in C order.
        let lo: Shape4 = std::array::from_fn(|i| slab.origin[i] / chunk[i]);
        let hi: Shape4 =
            std::array::from_fn(|i| (slab.origin[i] + slab.extent[i]).div_ceil(chunk[i]));
        let grid: Shape4 = std::array::from_fn(|i| hi[i] - lo[i]);
        let boxes: Vec<Hyperslab> = Hyperslab::tiles(grid, [1; 4])
            .map(|g| Hyperslab {
                origin: std::array::from_fn(|i| (lo[i] + g.origin[i]) * chunk[i]),
                extent: chunk,
            })
            .collect();
        let (ds, path, filter, fletcher32) = (
            self.ds.id(),
            &self.path,
            self.filter.as_ref(),
            self.fletcher32,
        );
        let dst = SharedOut {
            ptr: out.as_mut_ptr(),
            len: out.len(),
        };
        let zeros = vec![0u8; chunk_bytes];
        // Decode buffers, reused across chunks (one per worker at a time).
        let spare: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
        // One chunk: its bytes as the dataset holds them (stored raw, decoded, or the fill
        // value 0 when never written), placed in its region of the slab.
        let place = |(b, st): (Hyperslab, Stored)| -> Result<()> {
            let bad = |what: String| {
                CodecError::format(path, format!("the chunk at offset {:?} {what}", b.origin))
            };
            let st: Option<(u32, &[u8])> = match &st {
                Some((mask, bytes)) if fletcher32 => Some((
                    *mask,
                    filters::fletcher32::strip(bytes)
                        .map_err(|e| bad(format!("is damaged: {e}")))?,
                )),
                Some((mask, bytes)) => Some((*mask, bytes.as_slice())),
                None => None,
            };
            let region = intersect(&b, slab);
            let src: &[u8] = match (st, filter) {
                (Some((0, bytes)), Some(f)) => {
                    let decode = |into: &mut [u8]| {
                        f.decode(bytes, item, &chunk, into)
                            .map_err(|e| bad(format!("cannot be decoded: {e}")))
                    };
                    if let Some(at) = contiguous_in(&region, &b, slab, item) {
                        // SAFETY: the chunk's bytes are this one range of the slab (checked by
                        // `contiguous_in`), written by this call only (chunks do not overlap).
                        let into = unsafe { dst.range(at, chunk_bytes) };
                        return decode(into);
                    }
                    let mut buf = spare
                        .lock()
                        .ok()
                        .and_then(|mut s| s.pop())
                        .unwrap_or_default();
                    buf.resize(chunk_bytes, 0);
                    let placed = decode(&mut buf).map(|()| {
                        // SAFETY: this chunk's region of the slab is written by this call
                        // only: every chunk box is placed once, and boxes do not overlap.
                        unsafe { dst.copy_region(&buf, &b, slab, &region, item) }
                    });
                    if let Ok(mut s) = spare.lock() {
                        s.push(buf);
                    }
                    return placed;
                }
                // Stored raw: the filter declined it (mask bit set), or there is no filter.
                (Some((_, bytes)), _) => {
                    if bytes.len() != chunk_bytes {
                        return Err(bad(format!(
                            "is stored raw in {} bytes, expected {chunk_bytes}",
                            bytes.len()
                        )));
                    }
                    bytes
                }
                (None, _) => &zeros,
            };
            // SAFETY: this chunk's region of the slab is written by this call only: every chunk
            // box is placed once, and distinct boxes do not overlap.
            unsafe { dst.copy_region(src, &b, slab, &region, item) };
            Ok(())
        };
        // This thread reads stored chunks (HDF5 calls are serialised) in batches of at least
        // BATCH_BYTES decoded (at most `pipeline::MAX_BATCH` chunks), so that small chunks (a
        // 16 KiB frame) do not each cost a hand-off between threads.
        let per_batch = pipeline::chunks_per_batch(BATCH_BYTES, chunk_bytes);
        let file_len = file_len(path);
        // Where an unfiltered chunk is one contiguous range of the slab, HDF5 reads it straight
        // there, as it does for `dset[:]`: no chunk-sized buffer to allocate, fault in and copy
        // from, and nothing for the workers to do.
        let direct = |b: &Hyperslab| {
            (filter.is_none() && !fletcher32)
                .then(|| contiguous_in(&intersect(b, slab), b, slab, item))
                .flatten()
        };
        let produce = |send: &mut dyn FnMut(Vec<(Hyperslab, Stored)>, usize) -> Result<()>| {
            boxes.chunks(per_batch).try_for_each(|group| {
                let mut batch = Vec::with_capacity(group.len());
                for b in group {
                    match direct(b) {
                        Some(at) => {
                            // SAFETY: the chunk's bytes are this one range of the slab (checked
                            // by `contiguous_in`); chunks do not overlap and this one is not
                            // handed to a worker, so nothing else writes the range.
                            let into = unsafe { dst.range(at, chunk_bytes) };
                            if !read_stored_into(ds, b.origin, path, into)? {
                                into.fill(0);
                            }
                        }
                        None => batch.push((*b, read_stored(ds, b.origin, path, file_len)?)),
                    }
                }
                if batch.is_empty() {
                    return Ok(());
                }
                send(batch, 0)
            })
        };
        let work = |batch: Vec<(Hyperslab, Stored)>| batch.into_iter().try_for_each(&place);
        let Some(threads) = threads else {
            // All on this thread: each batch is placed as soon as it is read.
            return produce(&mut |batch, _| work(batch));
        };
        let limits = pipeline::Limits {
            bytes: usize::MAX,
            items: IN_FLIGHT_PER_THREAD * threads,
        };
        pipeline::run(threads, limits, produce, work, |()| Ok(()))?;
        Ok(())
    }
}

/// Where `chunk_box`'s bytes start in the C-order bytes of `slab` when the chunk lies wholly
/// inside the slab and its elements are one contiguous range there (every axis after the first
/// one the chunk spans is whole in the slab), so it can be decoded in place.
fn contiguous_in(
    region: &Hyperslab,
    chunk_box: &Hyperslab,
    slab: &Hyperslab,
    item: usize,
) -> Option<usize> {
    if region != chunk_box {
        return None;
    }
    let first = (0..4).find(|&i| chunk_box.extent[i] > 1).unwrap_or(3);
    if (first + 1..4).any(|i| chunk_box.extent[i] != slab.extent[i]) {
        return None;
    }
    let (_, mut rows) = region_rows(slab, chunk_box, chunk_box, item);
    rows.next().map(|(s, _)| s)
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
        let r = match (self.threads, &self.filter) {
            (Some(threads), _) => self.read_chunks(slab, out, Some(threads)),
            // Unfiltered: each chunk is one read of its stored bytes, placed by this thread.
            (None, None) => self.read_chunks(slab, out, None),
            (None, Some(_)) => self.read_serial(slab, out),
        };
        r.map_err(|e| stemz_data::DataError::Invalid(e.to_string()))
    }
}
