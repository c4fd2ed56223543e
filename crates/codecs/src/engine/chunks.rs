//! The chunk index of a written dataset: accounting (how many chunks, how many stored raw, how
//! many payload bytes) and access to the stored bytes of one chunk.
//!
//! Chunks are looked up by coordinate with `H5Dget_chunk_storage_size`, one B-tree search each,
//! so a pass over n chunks is O(n log n); the filter mask comes with `H5Dread_chunk`. HDF5 1.10
//! has no chunk iterator, and both of its chunk-info calls walk the index: `H5Dget_chunk_info(i)`
//! from its start for every `i`, and `H5Dget_chunk_info_by_coord` too (measured: 0.9 ms a
//! lookup on a 65,536-chunk `single_frame` file, 58 s for one parallel read of 1 GiB).

use crate::error::{CodecError, Result};
use hdf5_sys::h5::hsize_t;
use hdf5_sys::h5i::hid_t;
use hdf5_sys::h5p::H5P_DEFAULT;
use std::path::Path;
use stemz_data::{Hyperslab, Shape4};

/// What the chunk index of a dataset holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChunkIndex {
    /// Chunks stored (allocated) in the file.
    pub chunks: u64,
    /// Chunks with a non-zero filter mask: stored raw because an optional filter declined.
    pub stored_raw: u64,
    /// Sum of the stored chunk sizes.
    pub payload_bytes: u64,
}

extern "C" {
    /// HDF5 ≥ 1.10.2 (not declared by hdf5-metno-sys): the stored size of the chunk at `offset`
    /// (element coordinates), 0 when it was never written.
    fn H5Dget_chunk_storage_size(
        dset_id: hid_t,
        offset: *const hsize_t,
        nbytes: *mut hsize_t,
    ) -> hdf5_sys::h5::herr_t;
}

/// One chunk's stored size; `None` when it was never written.
fn stored_size(ds: hid_t, origin: Shape4, path: &Path) -> Result<Option<u64>> {
    let offset = origin.map(|v| v as hsize_t);
    let mut size: hsize_t = 0;
    // SAFETY: `ds` is an open chunked dataset of rank 4 and `offset` has 4 elements; `size` is
    // a live local.
    let status =
        hdf5::sync::sync(|| unsafe { H5Dget_chunk_storage_size(ds, offset.as_ptr(), &mut size) });
    if status < 0 {
        return Err(CodecError::hdf5(
            path,
            format!("cannot read the index entry of chunk {origin:?}"),
        ));
    }
    Ok((size > 0).then_some(size))
}

/// Count the chunks of `dataset` in the closed file `path` whose cube has `shape` and chunk
/// shape `chunk`.
pub fn account(path: &Path, dataset: &str, shape: Shape4, chunk: Shape4) -> Result<ChunkIndex> {
    let h = |e: hdf5::Error| CodecError::hdf5(path, e);
    let file = hdf5::File::open(path).map_err(h)?;
    let ds = file.dataset(dataset).map_err(h)?;
    // Only a chunk stored at its full uncompressed size (plus Fletcher-32's 4 bytes under
    // `--checksum`) can be one a filter declined (mask ≠ 0), and only when the pipeline has a
    // filter: only those are read for their mask.
    let full = (chunk.iter().product::<usize>() * ds.dtype().map_err(h)?.size()) as u64;
    let filtered = !ds.filters().is_empty();
    let mut index = ChunkIndex::default();
    let file_len = file_len(path);
    for tile in Hyperslab::tiles(shape, chunk) {
        if let Some(size) = stored_size(ds.id(), tile.origin, path)? {
            index.chunks += 1;
            index.payload_bytes += size;
            if filtered && (size == full || size == full + 4) {
                if let Some((mask, _)) = read_stored(ds.id(), tile.origin, path, file_len)? {
                    index.stored_raw += u64::from(mask != 0);
                }
            }
        }
    }
    Ok(index)
}

/// The length of the file `path`, the bound [`read_stored`] holds every chunk size to (0 when it
/// cannot be read, so no chunk is trusted).
pub(crate) fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The stored bytes and filter mask of the chunk at `origin` of the open dataset `ds` (`None`
/// when the chunk was never written). `file_len` is [`file_len`] of `path`, taken once by the
/// caller rather than a `stat` per chunk.
pub(crate) fn read_stored(
    ds: hid_t,
    origin: Shape4,
    path: &Path,
    file_len: u64,
) -> Result<Option<(u32, Vec<u8>)>> {
    let Some(size) = stored_size(ds, origin, path)? else {
        return Ok(None);
    };
    // The index is untrusted too: a chunk cannot be larger than the file holding it.
    if size > file_len {
        return Err(CodecError::format(
            path,
            format!(
                "the index says the chunk at offset {origin:?} is {size} bytes, more than the \
                 whole file ({file_len})"
            ),
        ));
    }
    let size = size as usize;
    // Uninitialised: HDF5 overwrites all of it, so zeroing it first would be a wasted pass.
    let mut buf: Vec<u8> = Vec::with_capacity(size);
    // SAFETY: `buf` has capacity for the chunk's stored size, as the index reported it.
    let mask = unsafe { read_chunk_to(ds, origin, path, buf.as_mut_ptr(), size)? };
    // SAFETY: on success H5Dread_chunk has written the whole stored chunk, `size` bytes (the
    // index entry it reads is the one H5Dget_chunk_storage_size reported), within capacity.
    unsafe { buf.set_len(size) };
    Ok(Some((mask, buf)))
}

/// Read the stored bytes of the chunk at `origin` straight into `into`, which must be exactly
/// their length (an unfiltered chunk: its uncompressed bytes). `Ok(false)` when the chunk was
/// never written (`into` is left as it was); an error when it is stored at another size.
pub(crate) fn read_stored_into(
    ds: hid_t,
    origin: Shape4,
    path: &Path,
    into: &mut [u8],
) -> Result<bool> {
    let Some(size) = stored_size(ds, origin, path)? else {
        return Ok(false);
    };
    if size != into.len() as u64 {
        return Err(CodecError::format(
            path,
            format!(
                "the chunk at offset {origin:?} is stored raw in {size} bytes, expected {}",
                into.len()
            ),
        ));
    }
    // SAFETY: `into` is writable for its whole length.
    unsafe { read_chunk_to(ds, origin, path, into.as_mut_ptr(), into.len())? };
    Ok(true)
}

/// `H5Dread_chunk` of the chunk at `origin` into `dst`, told that `capacity` bytes are there (it
/// fails rather than write more); its filter mask.
///
/// # Safety
/// `dst` must be valid for writes of `capacity` bytes, and nothing else may access them during
/// the call.
unsafe fn read_chunk_to(
    ds: hid_t,
    origin: Shape4,
    path: &Path,
    dst: *mut u8,
    capacity: usize,
) -> Result<u32> {
    let offset = origin.map(|v| v as hsize_t);
    let (mut mask, mut capacity) = (0u32, capacity);
    // SAFETY: `dst` holds `capacity` bytes (the caller's contract) and H5Dread_chunk2 is told
    // so; `offset` has one element per axis.
    let status = hdf5::sync::sync(|| unsafe {
        hdf5_sys::h5d::H5Dread_chunk2(
            ds,
            H5P_DEFAULT,
            offset.as_ptr(),
            &mut mask,
            dst.cast(),
            &mut capacity,
        )
    });
    if status < 0 {
        return Err(CodecError::hdf5(
            path,
            format!("H5Dread_chunk at {origin:?} failed"),
        ));
    }
    Ok(mask)
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
    let four = |v: Vec<usize>, what: &str| -> Result<Shape4> {
        v.try_into()
            .map_err(|v| CodecError::format(path, format!("{dataset}: {what} {v:?} is not 4D")))
    };
    let shape = four(ds.shape(), "shape")?;
    let chunk = four(
        ds.chunk()
            .ok_or_else(|| CodecError::format(path, format!("{dataset} is not chunked")))?,
        "chunk shape",
    )?;
    let mut out = Vec::new();
    let file_len = file_len(path);
    // Tiles come in C order of their origins, so the list is sorted by offset.
    for tile in Hyperslab::tiles(shape, chunk) {
        if let Some((mask, bytes)) = read_stored(ds.id(), tile.origin, path, file_len)? {
            out.push(RawChunk {
                offset: tile.origin.iter().map(|&v| v as u64).collect(),
                filter_mask: mask,
                bytes,
            });
        }
    }
    Ok(out)
}
