//! Zarr v3 stores: the Zarr methods' array metadata, and the writer that streams a cube into a
//! sharded store with `zarrs`, the Rust reference implementation of Zarr.
//!
//! A store is one array at the root of a directory: `zarr.json` (format 3) and one object per
//! shard (`c/i/j/k/l`). The codec chain is `sharding_indexed`, whose inner chunks are the
//! method's chunking (the study's `real_space`, `balanced`, `single_frame`) encoded with
//! `bytes` (little endian) → `blosc` or `zstd` (→ `crc32c` with a checksum), and whose index
//! is `bytes` → `crc32c`, as zarr-python 3 writes it by default.
//!
//! **Shard shape.** A shard spans the whole detector (rounded up to whole inner chunks) and
//! grows over the scan from one inner chunk, first along scan_x then along scan_y, while it
//! stays within [`SHARD_TARGET_BYTES`] uncompressed; an inner chunk larger than that is a shard
//! of its own. 64 MiB uncompressed is 5–40 MiB stored at the ratios of 4D-STEM data: objects
//! large enough that an object store's per-request latency (tens of ms) is small beside the
//! transfer, and few enough that a paper-scale cube (8 GiB) is ~130 objects instead of 65,536
//! single-frame chunks; small enough that one shard per worker fits in a workstation's memory.
//! Inner chunks keep partial reads cheap: a reader fetches one frame's chunk by its index entry.
//!
//! **Engines.** Serial encodes one inner chunk at a time on the caller's thread; parallel
//! encodes the shards of a slab and their inner chunks on `threads` threads (a rayon pool).
//! Blosc runs single-threaded per chunk in both, and inner chunks are laid out in a shard in C
//! order whatever order they finish in (zarrs' default is completion order, which differs run
//! to run with more than one thread), so both engines write the same bytes. The source is
//! streamed in slabs of whole shards (at most [`crate::engine::DEFAULT_SLAB_BYTES`] unless one
//! shard row is larger), zero-padded at the cube's edges as Zarr pads edge chunks; a source
//! already in memory whose shape no shard pads is encoded in place, all shards in one call.

use crate::engine::WriteOptions;
use crate::error::{CodecError, Result};
use crate::filters::{BloscCompressor, Shuffle};
use serde_json::{json, Value};
use std::borrow::Cow;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use stemz_data::{CubeReader, DType, Hyperslab, Shape4};
use zarrs::array::codec::{ShardingCodecOptions, SubchunkWriteOrder};
use zarrs::array::{
    Array, ArrayBytes, ArrayMetadata, ArraySubset, CodecOptions, CodecSpecificOptions,
};
use zarrs::filesystem::FilesystemStore;
use zarrs::storage::store::MemoryStore;
use zarrs::storage::{ReadableStorageTraits, StoreKey};

/// Uncompressed bytes a shard grows to (see the module's note on the shard shape).
pub const SHARD_TARGET_BYTES: usize = 64 << 20;

/// Dimension names of every store stemz writes.
pub const DIMENSION_NAMES: [&str; 4] = ["scan_y", "scan_x", "det_y", "det_x"];

/// The bytes-to-bytes codec of a Zarr method's inner chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZarrCodec {
    /// numcodecs/zarr-python's `blosc` codec (c-blosc 1.x), block size chosen by c-blosc.
    Blosc {
        compressor: BloscCompressor,
        clevel: u8,
        shuffle: Shuffle,
    },
    /// The `zstd` codec, no content checksum.
    Zstd { level: i32 },
}

impl ZarrCodec {
    /// The codec's entry in `zarr.json`.
    pub fn metadata(self, dtype: DType) -> Value {
        match self {
            ZarrCodec::Blosc {
                compressor,
                clevel,
                shuffle,
            } => json!({
                "name": "blosc",
                "configuration": {
                    "cname": compressor.name(),
                    "clevel": clevel,
                    "shuffle": match shuffle {
                        Shuffle::None => "noshuffle",
                        Shuffle::Byte => "shuffle",
                        Shuffle::Bit => "bitshuffle",
                    },
                    "typesize": dtype.itemsize(),
                    "blocksize": 0,
                }
            }),
            ZarrCodec::Zstd { level } => json!({
                "name": "zstd",
                "configuration": { "level": level, "checksum": false }
            }),
        }
    }
}

/// The shard shape for inner chunks `inner` of a cube of `shape` (see the module's note).
pub fn shard_shape(shape: Shape4, inner: Shape4, itemsize: usize) -> Shape4 {
    let det = [
        shape[2].div_ceil(inner[2]) * inner[2],
        shape[3].div_ceil(inner[3]) * inner[3],
    ];
    let bytes = |a: usize, b: usize| a * inner[0] * b * inner[1] * det[0] * det[1] * itemsize;
    let (max_a, max_b) = (shape[0].div_ceil(inner[0]), shape[1].div_ceil(inner[1]));
    let mut b = 1;
    while b < max_b && bytes(1, b + 1) <= SHARD_TARGET_BYTES {
        b += 1;
    }
    let mut a = 1;
    if b == max_b {
        while a < max_a && bytes(a + 1, b) <= SHARD_TARGET_BYTES {
            a += 1;
        }
    }
    [a * inner[0], b * inner[1], det[0], det[1]]
}

/// The `zarr.json` of a store of `shape`/`dtype` written with `codec`, inner chunks `inner`
/// and shards `shard`; `checksum` adds `crc32c` to every inner chunk.
pub fn array_metadata(
    shape: Shape4,
    dtype: DType,
    inner: Shape4,
    shard: Shape4,
    codec: ZarrCodec,
    checksum: bool,
    attributes: Value,
) -> Value {
    let mut inner_codecs = vec![
        json!({"name": "bytes", "configuration": {"endian": "little"}}),
        codec.metadata(dtype),
    ];
    if checksum {
        inner_codecs.push(json!({"name": "crc32c"}));
    }
    json!({
        "zarr_format": 3,
        "node_type": "array",
        "shape": shape,
        "data_type": dtype.numpy_name(),
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": shard}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0,
        "codecs": [{
            "name": "sharding_indexed",
            "configuration": {
                "chunk_shape": inner,
                "codecs": inner_codecs,
                "index_codecs": [
                    {"name": "bytes", "configuration": {"endian": "little"}},
                    {"name": "crc32c"}
                ],
                "index_location": "end"
            }
        }],
        "attributes": attributes,
        "dimension_names": DIMENSION_NAMES,
    })
}

/// The attributes of a store: the EMD 1.0 datacube's (`emd`: group type, class, dims with
/// their units, as py4DSTEM's EMD files carry them) and stemz's own (`stemz`: method, chunking
/// and, once computed, the SHA-256 of the data, which `stemz verify` checks).
pub fn attributes(opts: &WriteOptions, sha256: Option<&str>) -> Value {
    let dims: Vec<Value> = ["Rx", "Ry", "Qx", "Qy"]
        .iter()
        .map(|n| json!({"name": n, "units": "pixels", "origin": 0.0, "step": 1.0}))
        .collect();
    let mut stemz = json!({
        "authoring_program": "stemz",
        "method": opts.method.name(),
        "chunking": opts.chunking.name(),
    });
    if let Some(sha) = sha256 {
        stemz[crate::digest::ATTRIBUTE] = json!(sha);
    }
    json!({
        "emd": {
            "emd_group_type": "array",
            "python_class": "DataCube",
            "version_major": 1,
            "version_minor": 0,
            "units": "pixel intensity",
            "dims": dims,
        },
        "stemz": stemz,
    })
}

/// The SHA-256 a store's attributes hold (see [`attributes`]), if any.
pub fn stored_digest(attributes: &serde_json::Map<String, Value>) -> Option<String> {
    attributes
        .get("stemz")?
        .get(crate::digest::ATTRIBUTE)?
        .as_str()
        .map(str::to_owned)
}

fn metadata_path(dir: &Path) -> std::path::PathBuf {
    dir.join(stemz_data::zarr::METADATA)
}

/// Size of a store's `zarr.json`.
pub fn metadata_bytes(dir: &Path) -> Result<u64> {
    let p = metadata_path(dir);
    Ok(std::fs::metadata(&p)
        .map_err(|e| CodecError::io(&p, e))?
        .len())
}

/// Replace the attributes of the (not yet committed) store at `dir`.
pub fn store_attributes(dir: &Path, attributes: Value) -> Result<()> {
    let p = metadata_path(dir);
    let text = std::fs::read(&p).map_err(|e| CodecError::io(&p, e))?;
    let text = with_attributes(&text, attributes)
        .map_err(|e| CodecError::Invalid(format!("{}: {e}", p.display())))?;
    std::fs::write(&p, text).map_err(|e| CodecError::io(&p, e))
}

/// `zarr.json` text with its attributes replaced, as [`store_attributes`] writes it.
fn with_attributes(text: &[u8], attributes: Value) -> serde_json::Result<Vec<u8>> {
    let mut meta: Value = serde_json::from_slice(text)?;
    meta["attributes"] = attributes;
    serde_json::to_vec_pretty(&meta)
}

/// The `zarr.json` of a store of a `shape`/`dtype` cube written with `opts`, and its inner
/// chunk and shard shapes.
fn layout(
    shape: Shape4,
    dtype: DType,
    opts: &WriteOptions,
    attributes: Value,
) -> Result<(Value, Shape4, Shape4)> {
    let codec = opts.method.zarr_codec().ok_or_else(|| {
        CodecError::Invalid(format!("{} does not write a Zarr store", opts.method))
    })?;
    let inner = opts.chunking.shape(shape);
    let shard = shard_shape(shape, inner, dtype.itemsize());
    let meta = array_metadata(shape, dtype, inner, shard, codec, opts.checksum, attributes);
    Ok((meta, inner, shard))
}

/// Size of the `zarr.json` that [`crate::engine::write`] leaves in a store of a `shape`/`dtype`
/// cube written with `opts` (zarrs's own serialisation, and with `opts.digest` the SHA-256
/// attribute added after the data: every SHA-256 is 64 hex digits), found without writing the
/// store: the metadata goes through the same zarrs call into memory.
pub fn metadata_len(shape: Shape4, dtype: DType, opts: &WriteOptions) -> Result<u64> {
    let zerr = |what: &str, e: &dyn std::fmt::Display| {
        CodecError::Invalid(format!("Zarr {what} of a {shape:?} store: {e}"))
    };
    let (meta, _, _) = layout(shape, dtype, opts, attributes(opts, None))?;
    let metadata: ArrayMetadata = serde_json::from_value(meta).map_err(|e| zerr("metadata", &e))?;
    let store = Arc::new(MemoryStore::new());
    Array::new_with_metadata(store.clone(), "/", metadata)
        .map_err(|e| zerr("array", &e))?
        .store_metadata()
        .map_err(|e| zerr("metadata", &e))?;
    let key = StoreKey::new(stemz_data::zarr::METADATA).map_err(|e| zerr("key", &e))?;
    let text = store
        .get(&key)
        .map_err(|e| zerr("metadata", &e))?
        .ok_or_else(|| zerr("metadata", &"not stored"))?;
    if !opts.digest {
        return Ok(text.len() as u64);
    }
    let sha = "0".repeat(64);
    let text =
        with_attributes(&text, attributes(opts, Some(&sha))).map_err(|e| zerr("metadata", &e))?;
    Ok(text.len() as u64)
}

/// What [`write_store`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreReport {
    pub inner: Shape4,
    pub shard: Shape4,
}

/// Stream `reader`'s cube into a new Zarr v3 store in the existing, empty directory `dir`.
pub fn write_store(
    reader: &mut dyn CubeReader,
    dir: &Path,
    opts: &WriteOptions,
    attributes: Value,
) -> Result<StoreReport> {
    let (shape, dtype) = (reader.shape(), reader.dtype());
    let itemsize = dtype.itemsize();
    let (meta, inner, shard) = layout(shape, dtype, opts, attributes)?;
    let zerr = |what: &str, e: &dyn std::fmt::Display| {
        CodecError::Invalid(format!("{}: Zarr {what}: {e}", dir.display()))
    };
    let metadata: ArrayMetadata = serde_json::from_value(meta).map_err(|e| zerr("metadata", &e))?;
    let store = FilesystemStore::new(dir).map_err(|e| zerr("store", &e))?;
    let in_c_order = CodecSpecificOptions::default().with_option(
        ShardingCodecOptions::default().with_subchunk_write_order(SubchunkWriteOrder::C),
    );
    let array = Array::new_with_metadata(Arc::new(store), "/", metadata)
        .map_err(|e| zerr("array", &e))?
        .with_codec_specific_options(&in_c_order);
    array.store_metadata().map_err(|e| zerr("metadata", &e))?;

    let threads = opts.engine.threads();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| CodecError::Invalid(format!("starting {threads} threads: {e}")))?;
    let options = CodecOptions::default().with_concurrent_target(threads);

    let grid: Shape4 = std::array::from_fn(|i| shape[i].div_ceil(shard[i]));
    // A cube already in memory that no shard pads is encoded where it lies, every shard in one
    // call: each worker copies out its own shard, so the copying runs on every thread too.
    if let Some(all) = reader
        .in_memory()
        .filter(|_| shape.iter().zip(&shard).all(|(n, s)| n % s == 0))
    {
        let shards = ArraySubset::new_with_ranges(&grid.map(|g| 0..g as u64));
        let bytes = ArrayBytes::new_flen(Cow::Borrowed(all));
        pool.install(|| array.store_chunks_opt(&shards, bytes, &options))
            .map_err(|e| zerr("write", &e))?;
        return Ok(StoreReport { inner, shard });
    }
    let shard_bytes = shard.iter().product::<usize>() * itemsize;
    // Shards per slab along scan_x: whole shard rows when they fit the budget.
    let per_slab = (opts.slab_bytes / shard_bytes.max(1)).clamp(1, grid[1].max(1));
    let mut padded = Vec::new();
    let mut clipped = Vec::new();
    for gy in 0..grid[0] {
        let mut gx = 0;
        while gx < grid[1] {
            let n = per_slab.min(grid[1] - gx);
            let region: Shape4 = [shard[0], n * shard[1], shard[2], shard[3]];
            let origin: Shape4 = [gy * shard[0], gx * shard[1], 0, 0];
            let extent: Shape4 = std::array::from_fn(|i| region[i].min(shape[i] - origin[i]));
            let slab = Hyperslab { origin, extent };
            padded.clear();
            padded.resize(region.iter().product::<usize>() * itemsize, 0);
            if extent == region {
                reader.read_slab(&slab, &mut padded)?;
            } else {
                clipped.clear();
                clipped.resize(slab.len() * itemsize, 0);
                reader.read_slab(&slab, &mut clipped)?;
                pad_into(&clipped, extent, &mut padded, region, itemsize);
            }
            let shards = ArraySubset::new_with_ranges(&[
                gy as u64..gy as u64 + 1,
                gx as u64..(gx + n) as u64,
                0..grid[2] as u64,
                0..grid[3] as u64,
            ]);
            let bytes = ArrayBytes::new_flen(Cow::Borrowed(padded.as_slice()));
            pool.install(|| array.store_chunks_opt(&shards, bytes, &options))
                .map_err(|e| zerr("write", &e))?;
            gx += n;
        }
    }
    Ok(StoreReport { inner, shard })
}

/// Copy a C-order block of `extent` into the top-left corner of a zeroed block of `region`.
fn pad_into(src: &[u8], extent: Shape4, dst: &mut [u8], region: Shape4, itemsize: usize) {
    let row = extent[3] * itemsize;
    let mut s = 0;
    for y in 0..extent[0] {
        for x in 0..extent[1] {
            for q in 0..extent[2] {
                let d = (((y * region[1] + x) * region[2] + q) * region[3]) * itemsize;
                dst[d..d + row].copy_from_slice(&src[s..s + row]);
                s += row;
            }
        }
    }
}

/// Stored inner chunks and stored bytes of a store written by [`write_store`]: every shard
/// object's index (`(offset, nbytes)` little-endian u64 pairs, then a crc32c, at the end of the
/// object) counts the inner chunks it holds; `u64::MAX` pairs are chunks left empty (all fill
/// value). Only each object's index is read.
pub fn account(dir: &Path, inner: Shape4, shard: Shape4) -> Result<StoreAccount> {
    let index_bytes = index_bytes(inner, shard);
    let mut acc = StoreAccount::default();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| CodecError::io(&d, e))?;
        for e in entries {
            let e = e.map_err(|e| CodecError::io(&d, e))?;
            let p = e.path();
            let meta = e.metadata().map_err(|e| CodecError::io(&p, e))?;
            if meta.is_dir() {
                stack.push(p);
                continue;
            }
            acc.objects += 1;
            acc.store_bytes += meta.len();
            if p.file_name()
                .is_some_and(|n| n == stemz_data::zarr::METADATA)
            {
                continue;
            }
            acc.shard_bytes += meta.len();
            acc.chunks += shard_index(&p, meta.len(), index_bytes)?
                .iter()
                .filter(|e| e.is_some())
                .count() as u64;
        }
    }
    Ok(acc)
}

/// Bytes of one shard's index in a store written by [`write_store`]: an `(offset, nbytes)` pair
/// of little-endian u64 per inner chunk of the shard, then a crc32c.
pub fn index_bytes(inner: Shape4, shard: Shape4) -> u64 {
    let per_shard: u64 = (0..4).map(|i| (shard[i] / inner[i]) as u64).product();
    per_shard * 16 + 4
}

/// The index at the end of the shard object `p` of `len` bytes: per inner chunk (C order within
/// the shard) its stored `(offset, nbytes)`, `None` for a chunk left empty (all fill value,
/// `u64::MAX` twice).
fn shard_index(p: &Path, len: u64, index_bytes: u64) -> Result<Vec<Option<(u64, u64)>>> {
    if len < index_bytes {
        return Err(CodecError::Invalid(format!(
            "{}: shard of {len} bytes is shorter than its index ({index_bytes} bytes)",
            p.display()
        )));
    }
    let mut index = vec![0u8; index_bytes as usize];
    let mut f = std::fs::File::open(p).map_err(|e| CodecError::io(p, e))?;
    f.seek(SeekFrom::End(-(index_bytes as i64)))
        .and_then(|_| f.read_exact(&mut index))
        .map_err(|e| CodecError::io(p, e))?;
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
    Ok(index[..index.len() - 4]
        .chunks_exact(16)
        .map(|pair| {
            let (offset, nbytes) = (word(&pair[..8]), word(&pair[8..]));
            (offset != u64::MAX || nbytes != u64::MAX).then_some((offset, nbytes))
        })
        .collect())
}

/// One inner chunk a store holds: its first element and its stored bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredChunk {
    pub origin: Shape4,
    pub bytes: u64,
}

/// Every inner chunk stored in a store of a `shape` cube written by [`write_store`] with inner
/// chunks `inner` and shards `shard`, from each shard object's index (chunks left empty and
/// shards not written are not listed). Only the indexes are read.
pub fn stored_chunks(
    dir: &Path,
    shape: Shape4,
    inner: Shape4,
    shard: Shape4,
) -> Result<Vec<StoredChunk>> {
    let index_bytes = index_bytes(inner, shard);
    let grid: Shape4 = std::array::from_fn(|i| shape[i].div_ceil(shard[i]));
    let per: Shape4 = std::array::from_fn(|i| shard[i] / inner[i]);
    let mut out = Vec::new();
    for s in 0..grid.iter().product::<usize>() {
        let g = unravel(s, grid);
        // The `default` chunk key encoding with separator `/`: c/i/j/k/l.
        let mut p = dir.join("c");
        for i in g {
            p.push(i.to_string());
        }
        let len = match std::fs::metadata(&p) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(CodecError::io(&p, e)),
        };
        for (k, entry) in shard_index(&p, len, index_bytes)?.into_iter().enumerate() {
            if let Some((_, bytes)) = entry {
                let c = unravel(k, per);
                let origin = std::array::from_fn(|i| g[i] * shard[i] + c[i] * inner[i]);
                out.push(StoredChunk { origin, bytes });
            }
        }
    }
    Ok(out)
}

/// The C-order coordinates of flat index `k` in a grid of `grid`.
fn unravel(mut k: usize, grid: Shape4) -> Shape4 {
    let mut c = [0; 4];
    for i in (0..4).rev() {
        c[i] = k % grid[i];
        k /= grid[i];
    }
    c
}

/// What a store holds, by [`account`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreAccount {
    /// Inner chunks stored (not left empty).
    pub chunks: u64,
    /// Bytes of the shard objects (the payload).
    pub shard_bytes: u64,
    /// Objects, `zarr.json` included.
    pub objects: u64,
    /// Bytes of every object.
    pub store_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_span_the_detector_and_grow_over_the_scan_within_the_target() {
        // Paper 4D_Diff, single_frame: 128 KiB frames, 512 per shard = two scan rows.
        let s = shard_shape([256, 256, 256, 256], [1, 1, 256, 256], 2);
        assert_eq!(s, [2, 256, 256, 256]);
        // real_space inner chunks of 128 MiB are shards of their own.
        let s = shard_shape([256, 256, 256, 256], [32, 32, 256, 256], 2);
        assert_eq!(s, [32, 32, 256, 256]);
        // A detector not a multiple of the inner chunk is rounded up to whole inner chunks.
        let s = shard_shape([20, 18, 96, 300], [16, 16, 128, 128], 2);
        assert_eq!(s, [16, 32, 128, 384]);
        let s = shard_shape([3, 5, 4, 4], [1, 1, 4, 4], 4);
        assert_eq!(s, [3, 5, 4, 4]);
    }

    /// A 5x7x12x10 u16 cube, sparse with a few runs of counts, zero in detector rows 10 and 11.
    fn cube() -> stemz_data::mem::MemCube {
        let shape = [5, 7, 12, 10];
        let n: usize = shape.iter().product();
        let data: Vec<u8> = (0..n)
            .map(|i| {
                let det_y = (i / 10) % 12;
                if det_y < 10 && i % 31 < 3 {
                    (i % 1000) as u16
                } else {
                    0
                }
            })
            .flat_map(u16::to_le_bytes)
            .collect();
        stemz_data::mem::MemCube::new(shape, DType::U16, data).unwrap()
    }

    #[test]
    fn metadata_len_is_the_size_of_the_zarr_json_a_write_leaves() {
        use crate::engine::{write, Engine, Layout};
        let dir = tempfile::tempdir().unwrap();
        let mut cube = cube();
        for (k, digest) in [false, true].into_iter().enumerate() {
            let method = crate::Method::ZarrBloscZstd;
            let mut opts = WriteOptions::new(
                method,
                crate::Chunking::Explicit([2, 3, 12, 10]),
                Engine::Serial,
                Layout::hdf5_default(),
            );
            opts.digest = digest;
            let out = dir.path().join(format!("{k}.zarr"));
            write(&mut cube, &out, &opts).unwrap();
            assert_eq!(
                metadata_len(cube.shape(), DType::U16, &opts).unwrap(),
                metadata_bytes(&out).unwrap(),
                "digest {digest}"
            );
        }
    }

    #[test]
    fn stored_chunks_and_one_index_per_shard_are_every_byte_of_the_shards() {
        use crate::engine::{write, Engine, Layout};
        let dir = tempfile::tempdir().unwrap();
        let mut cube = cube();
        let inner = [1, 2, 5, 4];
        let opts = WriteOptions::new(
            crate::Method::ZarrZstd3,
            crate::Chunking::Explicit(inner),
            Engine::Parallel { threads: 2 },
            Layout::hdf5_default(),
        );
        let out = dir.path().join("s.zarr");
        write(&mut cube, &out, &opts).unwrap();
        let shape = cube.shape();
        let shard = shard_shape(shape, inner, 2);
        let acc = account(&out, inner, shard).unwrap();
        let chunks = stored_chunks(&out, shape, inner, shard).unwrap();
        assert_eq!(chunks.len() as u64, acc.chunks);
        // Detector rows 10..15 (12..15 padding) are all zero: those inner chunks are left empty.
        let grid: u64 = (0..4).map(|i| shape[i].div_ceil(inner[i]) as u64).product();
        assert!(acc.chunks < grid, "{} of {grid}", acc.chunks);
        let shards = acc.objects - 1;
        let payload: u64 = chunks.iter().map(|c| c.bytes).sum();
        assert_eq!(
            payload + shards * index_bytes(inner, shard),
            acc.shard_bytes
        );
        for c in &chunks {
            assert!(
                (0..4).all(|i| c.origin[i] % inner[i] == 0 && c.origin[i] < shape[i] + inner[i])
            );
        }
    }

    /// A source that hides its memory: the streamed path of [`write_store`].
    struct Streamed(stemz_data::mem::MemCube);

    impl CubeReader for Streamed {
        fn shape(&self) -> Shape4 {
            self.0.shape()
        }
        fn dtype(&self) -> DType {
            self.0.dtype()
        }
        fn info(&self) -> stemz_data::SourceInfo {
            self.0.info()
        }
        fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> stemz_data::Result<()> {
            self.0.read_slab(slab, out)
        }
    }

    #[test]
    fn a_cube_in_memory_is_stored_as_the_same_bytes_as_streamed_slabs() {
        use crate::engine::{write, Engine, Layout};
        // 128 MiB in two shards of 64 MiB (32 scan rows of 4 frames each): the in-memory path
        // stores both in one call, the streamed one a slab at a time.
        let shape = [64, 4, 512, 512];
        let n: usize = shape.iter().product();
        let data: Vec<u8> = (0..n)
            .map(|i| if i % 37 < 2 { (i % 4000) as u16 } else { 0 })
            .flat_map(u16::to_le_bytes)
            .collect();
        let cube = stemz_data::mem::MemCube::new(shape, DType::U16, data).unwrap();
        let inner = [1, 1, 512, 512];
        assert_eq!(shard_shape(shape, inner, 2), [32, 4, 512, 512]);
        let dir = tempfile::tempdir().unwrap();
        let mut streamed = Streamed(cube);
        for engine in [Engine::Serial, Engine::Parallel { threads: 2 }] {
            let opts = WriteOptions::new(
                crate::Method::ZarrBloscZstd,
                crate::Chunking::Explicit(inner),
                engine,
                Layout::hdf5_default(),
            );
            let a = dir.path().join(format!("memory-{}.zarr", engine.threads()));
            write(&mut streamed.0, &a, &opts).unwrap();
            let b = dir
                .path()
                .join(format!("streamed-{}.zarr", engine.threads()));
            write(&mut streamed, &b, &opts).unwrap();
            let store = |p: &Path| crate::testing::store_objects(p).unwrap();
            let (a, b) = (store(&a), store(&b));
            assert_eq!(
                a.iter().filter(|(k, _)| k.starts_with('c')).count(),
                2,
                "{engine:?}"
            );
            assert!(a == b, "{engine:?}: the stores differ");
        }
    }

    #[test]
    fn padding_puts_the_block_in_the_corner_and_zeroes_the_rest() {
        let src: Vec<u8> = (1..=6).collect();
        let mut dst = vec![0u8; 2 * 2 * 4];
        pad_into(&src, [1, 2, 1, 3], &mut dst, [2, 2, 1, 4], 1);
        assert_eq!(dst, [1, 2, 3, 0, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }
}
