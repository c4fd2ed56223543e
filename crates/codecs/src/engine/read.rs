//! Reading a written HDF5 dataset back: [`Hdf5Cube`], through HDF5's pipeline (serial) or
//! through `H5Dread_chunk` and parallel [`FilterSpec::decode`] (parallel).
//!
//! The parallel read is a pipeline over batches of chunks: one thread reads the next batch's
//! stored bytes (HDF5 calls are serialised) while the pool decodes the current batch, each
//! chunk straight into its own region of the caller's buffer. Memory beyond that buffer is two
//! batches of stored chunks and one decode buffer per thread, whatever the slab's size.

use super::chunks::read_stored;
use super::write::{build_pool, region_rows};
use super::Engine;
use crate::error::{CodecError, Result};
use crate::filters::{self, FilterSpec};
use hdf5::Dataset;
use hdf5_sys::h5p::H5P_DEFAULT;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
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
    pool: Option<rayon::ThreadPool>,
}

/// Chunks per batch of the parallel read, per pool thread: enough to keep every thread
/// decoding while the next batch is read, few enough that a batch's stored bytes stay small.
const BATCH_PER_THREAD: usize = 4;

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

    fn read_parallel(&self, slab: &Hyperslab, out: &mut [u8]) -> Result<()> {
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
        let pool = self
            .pool
            .as_ref()
            .ok_or_else(|| CodecError::Invalid("no thread pool".into()))?;
        let batch = pool.current_num_threads().max(1) * BATCH_PER_THREAD;
        let (ds, path, filter, fletcher32) = (
            self.ds.id(),
            &self.path,
            self.filter.as_ref(),
            self.fletcher32,
        );
        let read = |boxes: &[Hyperslab]| -> Result<Vec<Stored>> {
            boxes
                .iter()
                .map(|b| read_stored(ds, b.origin, path))
                .collect()
        };
        let dst = SharedOut {
            ptr: out.as_mut_ptr(),
            len: out.len(),
        };
        let zeros = vec![0u8; chunk_bytes];
        // One chunk: its bytes as the dataset holds them (stored raw, decoded, or the fill
        // value 0 when never written), copied into its region of the slab.
        let place = |b: &Hyperslab, st: &Stored, buf: &mut Vec<u8>| -> Result<()> {
            let bad = |what: String| {
                CodecError::format(path, format!("the chunk at offset {:?} {what}", b.origin))
            };
            let st: Option<(u32, &[u8])> = match st {
                Some((mask, bytes)) if fletcher32 => Some((
                    *mask,
                    filters::fletcher32::strip(bytes)
                        .map_err(|e| bad(format!("is damaged: {e}")))?,
                )),
                Some((mask, bytes)) => Some((*mask, bytes.as_slice())),
                None => None,
            };
            let src: &[u8] = match st {
                None => &zeros,
                Some((mask, bytes)) if mask != 0 || filter.is_none() => {
                    if bytes.len() != chunk_bytes {
                        return Err(bad(format!(
                            "is stored raw in {} bytes, expected {chunk_bytes}",
                            bytes.len()
                        )));
                    }
                    bytes
                }
                Some((_, bytes)) => {
                    buf.resize(chunk_bytes, 0);
                    if let Some(f) = filter {
                        f.decode(bytes, item, &chunk, buf)
                            .map_err(|e| bad(format!("cannot be decoded: {e}")))?;
                    }
                    buf
                }
            };
            // SAFETY: this chunk's region of the slab is written by this call only: every
            // chunk box is placed once, and distinct boxes do not overlap.
            unsafe { dst.copy_region(src, b, slab, &intersect(b, slab), item) };
            Ok(())
        };
        pool.install(|| -> Result<()> {
            let mut batches = boxes.chunks(batch);
            let mut next = match batches.next() {
                Some(first) => Some((first, read(first)?)),
                None => None,
            };
            while let Some((current, stored)) = next.take() {
                let following = batches.next();
                // Decode this batch on the pool while the next one is read.
                let (placed, ahead) = rayon::join(
                    || {
                        current
                            .par_iter()
                            .zip(stored.par_iter())
                            .try_for_each_init(Vec::new, |buf, (b, st)| place(b, st, buf))
                    },
                    || following.map(|f| read(f).map(|s| (f, s))).transpose(),
                );
                placed?;
                next = ahead?;
            }
            Ok(())
        })
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
