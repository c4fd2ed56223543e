//! Reading a written HDF5 dataset back: [`Hdf5Cube`], through HDF5's pipeline (serial) or
//! through `H5Dread_chunk` and parallel [`FilterSpec::decode`] (parallel), with decode buffers
//! reused across slabs.

use super::chunks::read_stored;
use super::write::{build_pool, copy_region};
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
            stored.push((b.origin, read_stored(self.ds.id(), b.origin, &self.path)?));
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
