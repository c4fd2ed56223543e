//! Writing a cube to a new HDF5 / EMD 1.0 file with one method.
//!
//! - **Serial** hands HDF5 the data and lets its pipeline compress chunk by chunk. A source held
//!   in memory ([`CubeReader::in_memory`]) is written with one `H5Dwrite` of the whole selection
//!   straight from the caller's buffer, as h5py writes a NumPy array; other sources stream in
//!   chunk-aligned slabs.
//! - **Parallel** is a three-stage [`pipeline`]: this thread reads the source (slab by slab,
//!   or hands out chunk boxes of a source in memory), workers copy each whole chunk (edge
//!   chunks zero-padded as HDF5 pads them) and compress it, and a writer thread stores chunks
//!   with `H5Dwrite_chunk` in C order of their origins, so the file is the same bytes however
//!   the threads are scheduled. Chunks being compressed count their uncompressed size against
//!   [`IN_FLIGHT_BYTES`] (at least two chunks per worker), compressed chunks waiting for their
//!   turn to be stored their compressed size; chunks under [`BATCH_BYTES`] travel in batches.
//!   With no
//!   filter and no checksum a cube in memory is written as the serial engine writes it: there
//!   is nothing for workers to do, and HDF5 stores unfiltered chunks from the caller's buffer.

use super::{pipeline, slab_shape, Engine, Layout, WriteOptions};
use crate::error::{CodecError, Result};
use crate::filters::{self, FilterSpec};
use hdf5_sys::h5::hsize_t;
use hdf5_sys::h5i::hid_t;
use hdf5_sys::h5p::H5P_DEFAULT;
use std::path::Path;
use std::sync::{Arc, Mutex};
use stemz_data::h5;
use stemz_data::{CubeReader, DType, Hyperslab, Shape4};

/// Bytes of chunks in flight in the parallel pipeline (at least two uncompressed chunks per
/// worker, so every core has work), and the largest slab it reads from a streamed source.
const IN_FLIGHT_BYTES: usize = 64 << 20;

/// Most items in flight however small they are (the reorder buffer stays small).
const MAX_IN_FLIGHT: usize = 4096;

/// Uncompressed bytes per item of the parallel pipeline: chunks smaller than this travel in
/// batches. Profiled (`perf record -g`, `stemz bench` of the paper 4D_Diff-4x4-binning with
/// blosc_lz4hc, `single_frame`: 65,536 chunks of 16 KiB), one item per chunk kept both cores
/// busy for 1.46× the peer's write speed, with 2.6 s of the 7.0 s write's 2 × 7.0 s of CPU in
/// the kernel's task switching and interrupt exits (`irqentry_exit_to_user_mode`,
/// `_raw_spin_unlock_irqrestore`, `finish_task_switch`): four hand-offs per chunk.
const BATCH_BYTES: usize = 1 << 20;

/// Create `temp`, write `reader`'s cube into it with `opts`, close it. Returns the chunk shape.
/// This is the region the benchmark times.
pub(super) fn write_hdf5(
    reader: &mut dyn CubeReader,
    temp: &Path,
    opts: &WriteOptions,
) -> Result<Shape4> {
    filters::register_all().map_err(|e| CodecError::filter(temp, e))?;
    let shape = reader.shape();
    let dtype = reader.dtype();
    let item = dtype.itemsize();
    let chunk = opts.chunking.shape(shape);
    let filter = opts.method.filter();
    let file = h5::create_file(temp)?;
    if opts.layout == Layout::Emd {
        stemz_data::emd::write_emd_tree(temp, &file)?;
    }
    let ds = h5::create_cube_dataset(
        &file,
        temp,
        opts.layout.dataset_path(),
        shape,
        dtype,
        Some(chunk),
        |dcpl| {
            if let Some(f) = &filter {
                f.apply(dcpl, item, &chunk)
                    .map_err(|e| stemz_data::DataError::hdf5(temp, e))?;
            }
            if opts.checksum {
                add_fletcher32(dcpl, temp)
                    .map_err(|e| stemz_data::DataError::Invalid(e.to_string()))?;
            }
            Ok(())
        },
    )?;
    if opts.layout == Layout::Emd {
        stemz_data::emd::label_datacube(temp, &file)?;
    }
    // Nothing to compute (no filter, no checksum) and the cube in memory: HDF5 stores each
    // unfiltered chunk straight from the caller's buffer, one copy per byte, and a pipeline
    // could only add a second copy and the hand-offs (parallel/peer 0.61× on the paper
    // 4D_EELS `none` single_frame write, where the serial write was 1.00×).
    let nothing_to_compute = filter.is_none() && !opts.checksum && reader.in_memory().is_some();
    match opts.engine {
        Engine::Serial => write_serial(reader, ds.id(), temp, chunk, opts.slab_bytes)?,
        Engine::Parallel { .. } if nothing_to_compute => {
            write_serial(reader, ds.id(), temp, chunk, opts.slab_bytes)?
        }
        Engine::Parallel { threads } => write_parallel(
            reader,
            ds.id(),
            temp,
            chunk,
            (filter.as_ref(), opts.checksum),
            threads,
            opts.slab_bytes,
        )?,
    }
    // Closing flushes HDF5's chunk cache through the filter pipeline: its status matters.
    ds.close(temp, "closing the dataset (H5Dclose)")?;
    file.close().map_err(|e| CodecError::hdf5(temp, e))?;
    Ok(chunk)
}

/// Append HDF5's Fletcher-32 filter to the pipeline of `dcpl` (after the method's filter).
fn add_fletcher32(dcpl: hid_t, path: &Path) -> Result<()> {
    // SAFETY: `dcpl` is the dataset-creation property list the caller created and still holds.
    if hdf5::sync::sync(|| unsafe { hdf5_sys::h5p::H5Pset_fletcher32(dcpl) }) < 0 {
        return Err(CodecError::hdf5(
            path,
            "cannot add the Fletcher-32 checksum filter",
        ));
    }
    Ok(())
}

fn write_serial(
    reader: &mut dyn CubeReader,
    ds: hid_t,
    path: &Path,
    chunk: Shape4,
    slab_bytes: usize,
) -> Result<()> {
    let (shape, dtype) = (reader.shape(), reader.dtype());
    if let Some(all) = reader.in_memory() {
        return h5_write(ds, &Hyperslab::full(shape), all, dtype, path);
    }
    let mut buf = Vec::new();
    for slab in Hyperslab::tiles(
        shape,
        slab_shape(shape, chunk, dtype.itemsize(), slab_bytes),
    ) {
        buf.resize(slab.len() * dtype.itemsize(), 0);
        reader.read_slab(&slab, &mut buf)?;
        h5_write(ds, &slab, &buf, dtype, path)?;
    }
    Ok(())
}

/// One `H5Dwrite` of `data` (the packed elements of `slab`) through the filter pipeline.
fn h5_write(ds: hid_t, slab: &Hyperslab, data: &[u8], dtype: DType, path: &Path) -> Result<()> {
    let (fspace, mspace) = h5::select_box(ds, slab, path)?;
    let mtype = h5::native_type(dtype);
    // SAFETY: `data` holds exactly the selection's elements of the memory type (the caller's
    // contract, checked by the readers that filled it); the spaces are open for the call.
    let status = hdf5::sync::sync(|| unsafe {
        hdf5_sys::h5d::H5Dwrite(
            ds,
            mtype,
            mspace.id(),
            fspace.id(),
            H5P_DEFAULT,
            data.as_ptr().cast(),
        )
    });
    if status < 0 {
        return Err(CodecError::hdf5(
            path,
            format!(
                "writing {:?}+{:?} through the filter pipeline failed",
                slab.origin, slab.extent
            ),
        ));
    }
    Ok(())
}

/// A compressed chunk ready for `H5Dwrite_chunk`.
struct Encoded {
    origin: Shape4,
    /// Bit 0 set: the (optional) filter declined and the chunk is stored raw, as HDF5 does.
    mask: u32,
    bytes: Vec<u8>,
}

impl pipeline::Held for Encoded {
    fn held_bytes(&self) -> usize {
        self.bytes.capacity()
    }
}

/// Where a chunk's elements are: the caller's cube in memory, or a slab read from the source
/// (shared by the chunks it holds, freed when the last of them is compressed).
enum Source<'a> {
    Memory(&'a [u8]),
    Slab(Arc<Vec<u8>>),
}

/// One chunk to compress: its elements (`src`, covering `src_box`) and its box clipped to the
/// cube.
struct Job<'a> {
    src: Source<'a>,
    src_box: Hyperslab,
    chunk_box: Hyperslab,
}

fn write_parallel(
    reader: &mut dyn CubeReader,
    ds: hid_t,
    path: &Path,
    chunk: Shape4,
    (filter, checksum): (Option<&FilterSpec>, bool),
    threads: usize,
    slab_bytes: usize,
) -> Result<()> {
    let (shape, item) = (reader.shape(), reader.dtype().itemsize());
    let threads = pipeline::worker_count(threads);
    let chunk_bytes = chunk.iter().product::<usize>() * item;
    let limits = pipeline::Limits {
        bytes: IN_FLIGHT_BYTES.max(2 * threads * chunk_bytes),
        items: MAX_IN_FLIGHT,
    };
    let ctx = EncodeCtx {
        chunk,
        chunk_bytes,
        item,
        filter,
        checksum,
        path,
        spare: Mutex::new(Vec::new()),
    };
    let per_batch = pipeline::chunks_per_batch(BATCH_BYTES, chunk_bytes);
    let work = |batch: Vec<Job<'_>>| -> Result<Vec<Encoded>> {
        batch.into_iter().map(|job| ctx.encode(job)).collect()
    };
    let consume = |batch: Vec<Encoded>| -> Result<()> {
        batch.iter().try_for_each(|e| write_chunk(ds, e, path))
    };
    if let Some(all) = reader.in_memory() {
        let whole = Hyperslab::full(shape);
        let boxes: Vec<Hyperslab> = Hyperslab::tiles(shape, chunk).collect();
        let produce = |send: &mut dyn FnMut(_, usize) -> Result<()>| -> Result<()> {
            send_batches(
                &boxes,
                per_batch,
                chunk_bytes,
                whole,
                || Source::Memory(all),
                send,
            )
        };
        pipeline::run(threads, limits, produce, work, consume)?;
        return Ok(());
    }
    // Slabs no larger than the in-flight window, so one slab is read while the previous one's
    // chunks are compressed; a slab is freed when its last chunk has been copied.
    let produce = |send: &mut dyn FnMut(Vec<Job<'static>>, usize) -> Result<()>| -> Result<()> {
        let budget = slab_bytes.min(IN_FLIGHT_BYTES);
        for slab in Hyperslab::tiles(shape, slab_shape(shape, chunk, item, budget)) {
            let mut buf = vec![0u8; slab.len() * item];
            reader.read_slab(&slab, &mut buf)?;
            let buf = Arc::new(buf);
            let boxes = chunks_in(&slab, chunk);
            let src = || Source::Slab(Arc::clone(&buf));
            send_batches(&boxes, per_batch, chunk_bytes, slab, src, send)?;
        }
        Ok(())
    };
    pipeline::run(threads, limits, produce, work, consume)?;
    Ok(())
}

/// Send the chunks `boxes` (whose elements `src` holds, covering `src_box`) in batches of
/// `per_batch`, each charged the uncompressed bytes of its chunks.
fn send_batches<'a>(
    boxes: &[Hyperslab],
    per_batch: usize,
    chunk_bytes: usize,
    src_box: Hyperslab,
    src: impl Fn() -> Source<'a>,
    send: &mut dyn FnMut(Vec<Job<'a>>, usize) -> Result<()>,
) -> Result<()> {
    boxes.chunks(per_batch).try_for_each(|group| {
        let batch = group
            .iter()
            .map(|&chunk_box| Job {
                src: src(),
                src_box,
                chunk_box,
            })
            .collect();
        send(batch, group.len() * chunk_bytes)
    })
}

/// What a worker needs to turn a [`Job`] into an [`Encoded`] chunk.
struct EncodeCtx<'a> {
    chunk: Shape4,
    chunk_bytes: usize,
    item: usize,
    filter: Option<&'a FilterSpec>,
    checksum: bool,
    path: &'a Path,
    /// Uncompressed-chunk buffers whose chunk has been compressed, for the next chunks: a
    /// chunk above glibc's 32 MiB mmap ceiling (a paper 4D_EELS `real_space` chunk is 128 MiB)
    /// is otherwise mapped afresh each time, and every page of it faulted in and zeroed.
    spare: Mutex<Vec<Vec<u8>>>,
}

impl EncodeCtx<'_> {
    fn encode(&self, job: Job<'_>) -> Result<Encoded> {
        let src: &[u8] = match &job.src {
            Source::Memory(all) => all,
            Source::Slab(slab) => slab,
        };
        // The full chunk, zero-padded beyond the cube's edge as HDF5 pads edge chunks.
        let dst_box = Hyperslab {
            origin: job.chunk_box.origin,
            extent: self.chunk,
        };
        let spare = self.spare.lock().ok().and_then(|mut s| s.pop());
        let mut raw = match spare {
            // An edge chunk does not overwrite the padding: zero it.
            Some(mut buf) if job.chunk_box != dst_box => {
                buf.fill(0);
                buf
            }
            Some(buf) => buf,
            None => vec![0u8; self.chunk_bytes],
        };
        copy_region(
            src,
            &job.src_box,
            &mut raw,
            &dst_box,
            &job.chunk_box,
            self.item,
        );
        drop(job);
        let (mask, bytes) = match self.filter {
            None => (0, raw),
            Some(f) => match f.encode(&raw, self.item, &self.chunk) {
                Ok(Some(bytes)) => {
                    if let Ok(mut s) = self.spare.lock() {
                        s.push(raw);
                    }
                    (0, bytes)
                }
                // Declined: stored raw, filter 0 of the pipeline marked as skipped.
                Ok(None) => (1, raw),
                Err(e) => return Err(CodecError::filter(self.path, e)),
            },
        };
        // The checksum filter runs on whatever the first filter produced (declined or not),
        // as in HDF5's own pipeline.
        let mut bytes = if self.checksum {
            filters::fletcher32::append(bytes)
        } else {
            bytes
        };
        // The codecs write into a buffer of the worst-case size (the chunk's, or zlib's bound);
        // a chunk waiting for its turn to be stored keeps only its bytes (glibc shrinks in
        // place, or with `mremap` for a mapped block), and is charged that to the budget.
        bytes.shrink_to_fit();
        Ok(Encoded {
            origin: dst_box.origin,
            mask,
            bytes,
        })
    }
}

fn write_chunk(ds: hid_t, e: &Encoded, path: &Path) -> Result<()> {
    let offset = e.origin.map(|v| v as hsize_t);
    // SAFETY: `ds` is the open dataset (alive until the writer thread is joined); `offset` has
    // one element per axis and `bytes` is valid for its length.
    let status = hdf5::sync::sync(|| unsafe {
        hdf5_sys::h5d::H5Dwrite_chunk(
            ds,
            H5P_DEFAULT,
            e.mask,
            offset.as_ptr(),
            e.bytes.len(),
            e.bytes.as_ptr().cast(),
        )
    });
    if status < 0 {
        return Err(CodecError::hdf5(
            path,
            format!("H5Dwrite_chunk at {:?} failed", e.origin),
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

/// Copy the elements of `region` (global coordinates) from `src` (a packed buffer covering box
/// `src_box`) into `dst` (covering `dst_box`). `region` must lie inside both boxes.
pub fn copy_region(
    src: &[u8],
    src_box: &Hyperslab,
    dst: &mut [u8],
    dst_box: &Hyperslab,
    region: &Hyperslab,
    item: usize,
) {
    let (row, rows) = region_rows(src_box, dst_box, region, item);
    for (s, d) in rows {
        dst[d..d + row].copy_from_slice(&src[s..s + row]);
    }
}

/// The rows of `region` (inside both boxes): the row length in bytes, and each row's byte
/// offset in the C-order bytes of `src_box` and of `dst_box`.
pub(crate) fn region_rows(
    src_box: &Hyperslab,
    dst_box: &Hyperslab,
    region: &Hyperslab,
    item: usize,
) -> (usize, impl Iterator<Item = (usize, usize)>) {
    let (se, de) = (src_box.extent, dst_box.extent);
    let (so, dso) = (src_box.origin, dst_box.origin);
    let r = *region;
    let offset = move |origin: Shape4, extent: Shape4, g: Shape4| {
        ((((g[0] - origin[0]) * extent[1] + (g[1] - origin[1])) * extent[2] + (g[2] - origin[2]))
            * extent[3]
            + (g[3] - origin[3]))
            * item
    };
    let rows = (0..r.extent[0]).flat_map(move |a| {
        (0..r.extent[1]).flat_map(move |b| {
            (0..r.extent[2]).map(move |c| {
                let g = [
                    r.origin[0] + a,
                    r.origin[1] + b,
                    r.origin[2] + c,
                    r.origin[3],
                ];
                (offset(so, se, g), offset(dso, de, g))
            })
        })
    });
    (r.extent[3] * item, rows)
}
