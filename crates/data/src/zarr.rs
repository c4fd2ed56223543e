//! Zarr v3 array stores on a file system (a directory with a `zarr.json`), read through
//! `zarrs`, the Rust reference implementation: any codec chain it decodes (sharding, blosc,
//! zstd, gzip, crc32c, bytes of either endianness), so stores written by zarr-python 3 read as
//! well as stemz's own.
//!
//! A store's array is `(scan_y, scan_x, det_y, det_x)`, or a 3D spectrum image `(sy, sx, E)`
//! read as `(sy, sx, 1, E)`. The array is the store's root, or the one named with `dataset`
//! (its path inside the store), or else the only 4D array of the hierarchy.
//!
//! A sharded array (sharding the only codec, as stemz and zarr-python write them) is read shard
//! by shard: `zarrs` fetches a shard's bytes in one read, its index is decoded with the index
//! codecs, each inner chunk the slab meets is decoded whole with the inner codec chain, and the
//! rows of the part the slab needs are copied into place here. `zarrs`'s own subset read places a decoded chunk row by row through a
//! generic index iterator, which cost more than the decoding on chunks narrower than the
//! detector (13 % of a serial write-and-read of the small 4D_EELS in `balanced` chunks, beside
//! 5 % for zstd's decompression; profiled with `perf record -g`). Other arrays go through
//! `zarrs`'s subset read.

use crate::cube::{CubeReader, DType, Hyperslab, Shape4, SourceInfo};
use crate::error::{DataError, Result};
use rayon::prelude::*;
use std::num::NonZeroU64;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use unsafe_cell_slice::UnsafeCellSlice;
use zarrs::array::{
    Array, ArrayBytesFixedDisjointView, ArrayShardedExt, ArraySubset, ArrayToBytesCodecTraits,
    BytesRepresentation, CodecChain, CodecOptions, FillValue,
};
use zarrs::filesystem::FilesystemStore;
use zarrs::metadata::ArrayMetadata;
use zarrs::metadata_ext::codec::sharding::{ShardingCodecConfiguration, ShardingIndexLocation};

/// The metadata document of every Zarr v3 node.
pub const METADATA: &str = "zarr.json";

/// How deep [`find_array`] looks for arrays below a group (a store of 4D-STEM data nests its
/// array a level or two down, as hyperspy's and py4DSTEM's layouts do).
const SEARCH_DEPTH: usize = 4;

/// Whether `path` is a directory holding a Zarr v3 node (its `zarr.json` says `zarr_format: 3`).
pub fn is_store(path: &Path) -> bool {
    read_node(&path.join(METADATA)).is_ok_and(|n| n.zarr_format == 3)
}

/// What stemz reads of a node's `zarr.json`: enough to find the array and describe it.
#[derive(Debug, serde::Deserialize)]
struct Node {
    zarr_format: u64,
    node_type: String,
    #[serde(default)]
    shape: Vec<u64>,
    #[serde(default)]
    data_type: serde_json::Value,
    #[serde(default)]
    codecs: Vec<serde_json::Value>,
    #[serde(default)]
    chunk_grid: serde_json::Value,
}

fn read_node(path: &Path) -> Result<Node> {
    let text = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    serde_json::from_slice(&text)
        .map_err(|e| DataError::format(path, format!("not a Zarr v3 metadata document: {e}")))
}

/// The store-relative path (`/` for the root) of the array to read.
fn find_array(store: &Path, dataset: Option<&str>) -> Result<String> {
    if let Some(d) = dataset {
        let rel = d.trim_matches('/');
        let node = read_node(&store.join(rel).join(METADATA)).map_err(|_| {
            DataError::format(store, format!("no Zarr array at `{d}` in this store"))
        })?;
        if node.node_type != "array" {
            return Err(DataError::format(
                store,
                format!("`{d}` is a Zarr {}, not an array", node.node_type),
            ));
        }
        return Ok(format!("/{rel}"));
    }
    let root = read_node(&store.join(METADATA))?;
    if root.zarr_format != 3 {
        return Err(DataError::format(
            store,
            format!(
                "Zarr format {} (stemz reads Zarr v3 stores)",
                root.zarr_format
            ),
        ));
    }
    if root.node_type == "array" {
        return Ok("/".into());
    }
    let mut found = Vec::new();
    collect_arrays(store, store, 0, &mut found);
    found.sort();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(DataError::format(
            store,
            "this Zarr group holds no 4D array (or 3D spectrum image)",
        )),
        many => Err(DataError::format(
            store,
            format!(
                "this Zarr group holds {} arrays ({}); choose one with --dataset",
                many.len(),
                many.join(", ")
            ),
        )),
    }
}

fn collect_arrays(store: &Path, dir: &Path, depth: usize, found: &mut Vec<String>) {
    if depth > SEARCH_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        match read_node(&d.join(METADATA)) {
            Ok(n) if n.node_type == "array" && (3..=4).contains(&n.shape.len()) => {
                let rel = d.strip_prefix(store).unwrap_or(&d);
                found.push(format!("/{}", rel.to_string_lossy()));
            }
            Ok(n) if n.node_type == "group" => collect_arrays(store, &d, depth + 1, found),
            _ => {}
        }
    }
}

/// A Zarr v3 array read slab by slab; decoding uses up to `threads` threads (1: serial).
pub struct ZarrCube {
    path: PathBuf,
    array_path: String,
    array: Array<FilesystemStore>,
    shape: Shape4,
    /// The array is a 3D spectrum image, read as `(sy, sx, 1, E)`.
    spectra: bool,
    dtype: DType,
    options: CodecOptions,
    pool: Option<Arc<rayon::ThreadPool>>,
    info: SourceInfo,
    /// The inner-chunk read path, for an exclusively sharded array.
    inner: Option<InnerChunks>,
}

/// What reading a sharded array inner chunk by inner chunk needs.
struct InnerChunks {
    /// The codecs of one inner chunk (inside the sharding codec).
    codecs: CodecChain,
    /// The codecs of a shard's index, where it sits, and its encoded length.
    index_codecs: CodecChain,
    index_at_start: bool,
    index_bytes: usize,
    /// The inner chunk shape, in the array's own dimensions.
    shape: Vec<NonZeroU64>,
    /// Inner chunks per shard along each dimension, and the index's shape (those, then 2).
    per_shard: Vec<u64>,
    index_shape: Vec<NonZeroU64>,
}

/// What an empty entry of a shard index holds (an inner chunk never written).
const EMPTY: u64 = u64::MAX;

impl InnerChunks {
    /// `None` unless sharding is the array's only codec (an array-to-array codec before it
    /// would change what an inner chunk's bytes mean).
    fn of(array: &Array<FilesystemStore>, path: &Path) -> Result<Option<InnerChunks>> {
        if !array.is_exclusively_sharded() {
            return Ok(None);
        }
        let ArrayMetadata::V3(meta) = array.metadata() else {
            return Ok(None);
        };
        let Some(sharding) = meta.codecs.iter().find(|c| c.name() == "sharding_indexed") else {
            return Ok(None);
        };
        let bad = |e: String| DataError::format(path, format!("Zarr sharding codec: {e}"));
        let config = match sharding
            .to_configuration::<ShardingCodecConfiguration>()
            .map_err(|e| bad(e.to_string()))?
        {
            ShardingCodecConfiguration::V1(config) => config,
            _ => return Ok(None),
        };
        let codecs = CodecChain::from_metadata(&config.codecs).map_err(|e| bad(e.to_string()))?;
        let index_codecs =
            CodecChain::from_metadata(&config.index_codecs).map_err(|e| bad(e.to_string()))?;
        let shape = config.chunk_shape.to_vec();
        let shard = array
            .chunk_shape(&vec![0; shape.len()])
            .map_err(|e| bad(e.to_string()))?;
        if shard.len() != shape.len()
            || shard
                .iter()
                .zip(&shape)
                .any(|(s, c)| s.get() % c.get() != 0)
        {
            return Err(bad(format!(
                "inner chunks {:?} do not tile the shard {:?}",
                config.chunk_shape.to_vec(),
                shard.to_vec()
            )));
        }
        let per_shard: Vec<u64> = shard
            .iter()
            .zip(&shape)
            .map(|(s, c)| s.get() / c.get())
            .collect();
        let two = NonZeroU64::new(2).expect("2 is not zero");
        let index_shape: Vec<NonZeroU64> = shard
            .iter()
            .zip(&shape)
            .filter_map(|(s, c)| NonZeroU64::new(s.get() / c.get()))
            .chain([two])
            .collect();
        let index_bytes = match index_codecs
            .encoded_representation(
                &index_shape,
                &zarrs::array::data_type::uint64(),
                &FillValue::from(EMPTY),
            )
            .map_err(|e| bad(e.to_string()))?
        {
            BytesRepresentation::FixedSize(n) => n as usize,
            _ => return Ok(None),
        };
        Ok(Some(InnerChunks {
            codecs,
            index_codecs,
            index_at_start: config.index_location == ShardingIndexLocation::Start,
            index_bytes,
            shape,
            per_shard,
            index_shape,
        }))
    }
}

impl ZarrCube {
    /// Open the array of the store at `path` (see the module's note on which array).
    pub fn open(path: &Path, dataset: Option<&str>, threads: usize) -> Result<Self> {
        let array_path = find_array(path, dataset)?;
        let node_file = path.join(array_path.trim_start_matches('/')).join(METADATA);
        let node = read_node(&node_file)?;
        let dtype = match node.data_type.as_str() {
            Some(name) => DType::parse(name).ok_or_else(|| {
                DataError::format(
                    path,
                    format!("Zarr data type `{name}` (stemz reads uint8, uint16, uint32, float32)"),
                )
            })?,
            None => {
                return Err(DataError::format(
                    path,
                    format!("Zarr data type {} is not supported", node.data_type),
                ))
            }
        };
        let dims: Vec<usize> = node.shape.iter().map(|&n| n as usize).collect();
        let (shape, spectra) = match dims.as_slice() {
            &[a, b, c, d] => ([a, b, c, d], false),
            &[a, b, e] => ([a, b, 1, e], true),
            other => {
                return Err(DataError::format(
                    path,
                    format!(
                        "Zarr array `{array_path}` has {} dimensions; a datacube has 4 \
                         (or 3 for a spectrum image)",
                        other.len()
                    ),
                ))
            }
        };
        let store = FilesystemStore::new(path)
            .map_err(|e| DataError::format(path, format!("opening the Zarr store: {e}")))?;
        let array = Array::open(Arc::new(store), &array_path)
            .map_err(|e| DataError::format(path, format!("Zarr array `{array_path}`: {e}")))?;
        let threads = threads.max(1);
        let pool = if threads > 1 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| DataError::Invalid(format!("starting {threads} threads: {e}")))?;
            Some(Arc::new(pool))
        } else {
            None
        };
        let options = CodecOptions::default().with_concurrent_target(threads);
        let info = describe(&node, &array_path);
        let inner = InnerChunks::of(&array, path)?;
        Ok(ZarrCube {
            path: path.to_path_buf(),
            array_path,
            array,
            shape,
            spectra,
            dtype,
            options,
            pool,
            info,
            inner,
        })
    }

    /// The array's path inside its store (`/` for the root).
    pub fn array_path(&self) -> &str {
        &self.array_path
    }

    /// Whether the array is a 3D spectrum image, read as `(sy, sx, 1, E)`.
    pub fn is_spectrum_image(&self) -> bool {
        self.spectra
    }

    /// The array's attributes (`zarr.json`'s `attributes`).
    pub fn attributes(&self) -> &serde_json::Map<String, serde_json::Value> {
        self.array.attributes()
    }
}

/// The chunking and codec chain of an array, as `stemz inspect` shows them.
fn describe(node: &Node, array_path: &str) -> SourceInfo {
    let grid = node
        .chunk_grid
        .pointer("/configuration/chunk_shape")
        .and_then(|v| serde_json::from_value::<Vec<usize>>(v.clone()).ok());
    let mut filters = Vec::new();
    let mut details = Vec::new();
    let mut chunks = grid.clone();
    for codec in &node.codecs {
        let name = codec.get("name").and_then(|n| n.as_str()).unwrap_or("?");
        if name == "sharding_indexed" {
            let inner = codec
                .pointer("/configuration/chunk_shape")
                .and_then(|v| serde_json::from_value::<Vec<usize>>(v.clone()).ok());
            if let Some(shard) = &grid {
                details.push(("shard shape".into(), format_shape(shard)));
            }
            chunks = inner;
            let inner_codecs = codec
                .pointer("/configuration/codecs")
                .and_then(|c| c.as_array())
                .cloned()
                .unwrap_or_default();
            for c in inner_codecs {
                filters.push(codec_line(&c));
            }
            let index = codec
                .pointer("/configuration/index_codecs")
                .and_then(|c| c.as_array())
                .map(|cs| cs.iter().map(codec_line).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            details.push(("shard index codecs".into(), index));
        } else {
            filters.push(codec_line(codec));
        }
    }
    SourceInfo {
        format: "Zarr v3".into(),
        dataset: Some(array_path.to_string()),
        chunks,
        filters,
        details,
    }
}

fn codec_line(codec: &serde_json::Value) -> String {
    let name = codec.get("name").and_then(|n| n.as_str()).unwrap_or("?");
    match codec.get("configuration") {
        Some(c) if c.as_object().is_some_and(|o| !o.is_empty()) => format!("{name} {c}"),
        _ => name.to_string(),
    }
}

fn format_shape(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|n| n.to_string()).collect();
    parts.join("x")
}

impl CubeReader for ZarrCube {
    fn shape(&self) -> Shape4 {
        self.shape
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn info(&self) -> SourceInfo {
        self.info.clone()
    }
    fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> Result<()> {
        slab.check_read(self.shape, self.dtype, out.len(), &self.path.display())?;
        let range = |axis: usize| {
            let o = slab.origin[axis] as u64;
            o..o + slab.extent[axis] as u64
        };
        let ranges: Vec<std::ops::Range<u64>> = if self.spectra {
            vec![range(0), range(1), range(3)]
        } else {
            (0..4).map(range).collect()
        };
        if let Some(inner) = &self.inner {
            let itemsize = self.dtype.itemsize();
            let (array, path) = (&self.array, &self.path);
            let read = move || {
                let out = out;
                read_inner_chunks(array, inner, &ranges, itemsize, out, path)
            };
            return match &self.pool {
                Some(pool) => pool.install(read),
                None => read(),
            };
        }
        let subset = ArraySubset::new_with_ranges(&ranges);
        // Decoded straight into `out` (one copy of the slab in memory, not two): a view of all
        // of it, shaped as the slab.
        let shape: Vec<u64> = ranges.iter().map(|r| r.end - r.start).collect();
        let whole = ArraySubset::new_with_shape(shape.clone());
        let itemsize = self.dtype.itemsize();
        let (array, options, path) = (&self.array, &self.options, &self.path);
        let read = move || {
            // SAFETY: the one view of `out` there is; no other view of these bytes exists
            // while it lives, so no two views overlap.
            let mut view = unsafe {
                ArrayBytesFixedDisjointView::new(UnsafeCellSlice::new(out), itemsize, &shape, whole)
            }
            .map_err(|e| DataError::format(path, format!("Zarr decode target: {e}")))?;
            array
                .retrieve_array_subset_into_opt(&subset, (&mut view).into(), options)
                .map_err(|e| DataError::format(path, format!("reading Zarr chunks: {e}")))
        };
        match &self.pool {
            Some(pool) => pool.install(read),
            None => read(),
        }
    }
}

/// Decode every inner chunk the array region `ranges` meets and copy its part into `out` (the
/// region, C order). Each shard is read whole (one read); on the current rayon pool the shards,
/// and the inner chunks of each, run side by side, each chunk writing rows no other writes.
fn read_inner_chunks(
    array: &Array<FilesystemStore>,
    inner: &InnerChunks,
    ranges: &[Range<u64>],
    itemsize: usize,
    out: &mut [u8],
    path: &Path,
) -> Result<()> {
    let chunk: Vec<u64> = inner.shape.iter().map(|c| c.get()).collect();
    let extent: Vec<u64> = ranges.iter().map(|r| r.end - r.start).collect();
    let span = |per: &[u64]| -> (Vec<u64>, Vec<u64>) {
        let first = ranges.iter().zip(per).map(|(r, c)| r.start / c).collect();
        let last = ranges
            .iter()
            .zip(per)
            .map(|(r, c)| (r.end.max(1) - 1) / c)
            .collect();
        (first, last)
    };
    let shard: Vec<u64> = chunk
        .iter()
        .zip(&inner.per_shard)
        .map(|(c, k)| c * k)
        .collect();
    let fill = array.fill_value().as_ne_bytes().to_vec();
    let chunk_bytes = chunk.iter().product::<u64>() as usize * itemsize;
    let options = CodecOptions::default().with_concurrent_target(1);
    let out = UnsafeCellSlice::new(out);
    let (first, last) = span(&shard);
    // The inner chunks that meet the region, over all shards.
    let (cf, cl) = span(&chunk);
    let read_shard = |shard_index: &Vec<u64>| -> Result<()> {
        let damaged =
            |what: String| DataError::format(path, format!("Zarr shard {shard_index:?}: {what}"));
        let bytes = array
            .retrieve_encoded_chunk(shard_index)
            .map_err(|e| damaged(format!("cannot be read: {e}")))?;
        let index = match &bytes {
            Some(b) => Some(shard_index_of(inner, b).map_err(damaged)?),
            None => None,
        };
        // The inner chunks of this shard that meet the region.
        let lo: Vec<u64> = (0..chunk.len())
            .map(|d| cf[d].max(shard_index[d] * inner.per_shard[d]))
            .collect();
        let hi: Vec<u64> = (0..chunk.len())
            .map(|d| cl[d].min((shard_index[d] + 1) * inner.per_shard[d] - 1))
            .collect();
        let decode = |ci: &Vec<u64>| -> Result<()> {
            // Its entry in the shard index: C order over the shard's inner chunks.
            let entry =
                ci.iter()
                    .zip(shard_index.iter())
                    .zip(&inner.per_shard)
                    .fold(0u64, |acc, ((c, s), k)| acc * k + (c - s * k)) as usize;
            let stored = match (&bytes, &index) {
                (Some(b), Some(ix)) => match (ix[2 * entry], ix[2 * entry + 1]) {
                    (EMPTY, EMPTY) => None,
                    (offset, size) => {
                        let range = offset
                            .checked_add(size)
                            .filter(|&end| end <= b.len() as u64)
                            .map(|end| offset as usize..end as usize)
                            .ok_or_else(|| {
                                damaged(format!(
                                    "its index places inner chunk {ci:?} at {offset}+{size}, \
                                     past the shard's {} bytes",
                                    b.len()
                                ))
                            })?;
                        Some(&b[range])
                    }
                },
                _ => None,
            };
            let decoded = match stored {
                Some(enc) => {
                    let why = |e: &dyn std::fmt::Display| {
                        damaged(format!("inner chunk {ci:?} cannot be decoded: {e}"))
                    };
                    let b = inner
                        .codecs
                        .decode(
                            enc.into(),
                            &inner.shape,
                            array.data_type(),
                            array.fill_value(),
                            &options,
                        )
                        .map_err(|e| why(&e))?
                        .into_fixed()
                        .map_err(|e| why(&e))?;
                    if b.len() != chunk_bytes {
                        return Err(why(&format!("{} bytes, expected {chunk_bytes}", b.len())));
                    }
                    Some(b)
                }
                None => None,
            };
            let origin: Vec<u64> = ci.iter().zip(&chunk).map(|(i, c)| i * c).collect();
            for_each_row(
                &origin,
                &chunk,
                ranges,
                &extent,
                itemsize,
                |src, dst, len| {
                    // SAFETY: `dst..dst + len` lies in the part of the region this chunk covers,
                    // and chunks cover disjoint parts, so no other task writes these bytes, and no
                    // other reference to them exists while this one lives.
                    let row = unsafe { out.index_mut(dst..dst + len) };
                    match &decoded {
                        Some(b) => row.copy_from_slice(&b[src..src + len]),
                        // An inner chunk never written is the fill value throughout.
                        None => row
                            .iter_mut()
                            .zip(fill.iter().cycle())
                            .for_each(|(b, f)| *b = *f),
                    }
                },
            );
            Ok(())
        };
        let chunks = grid_indices(&lo, &hi);
        if rayon::current_num_threads() > 1 {
            chunks.par_iter().try_for_each(decode)
        } else {
            chunks.iter().try_for_each(decode)
        }
    };
    // With more than one thread, shards are read and decoded side by side too: one shard's read
    // overlaps another's decoding, and a region of few shards still has every thread busy.
    let shards = grid_indices(&first, &last);
    if rayon::current_num_threads() > 1 {
        shards.par_iter().try_for_each(read_shard)
    } else {
        shards.iter().try_for_each(read_shard)
    }
}

/// The decoded index of a shard (`bytes`, the whole stored shard): offset and length of each
/// inner chunk, C order, [`EMPTY`] twice for one never written.
fn shard_index_of(inner: &InnerChunks, bytes: &[u8]) -> std::result::Result<Vec<u64>, String> {
    let n = inner.index_bytes;
    if bytes.len() < n {
        return Err(format!(
            "{} bytes, shorter than its {n}-byte index",
            bytes.len()
        ));
    }
    let encoded = if inner.index_at_start {
        &bytes[..n]
    } else {
        &bytes[bytes.len() - n..]
    };
    let decoded = inner
        .index_codecs
        .decode(
            encoded.into(),
            &inner.index_shape,
            &zarrs::array::data_type::uint64(),
            &FillValue::from(EMPTY),
            &CodecOptions::default(),
        )
        .map_err(|e| format!("its index cannot be decoded: {e}"))?
        .into_fixed()
        .map_err(|e| format!("its index cannot be decoded: {e}"))?;
    let entries = inner.per_shard.iter().product::<u64>() as usize * 2;
    let index: Vec<u64> = decoded
        .chunks_exact(8)
        .map(|v| u64::from_ne_bytes(v.try_into().expect("8 bytes")))
        .collect();
    if index.len() != entries {
        return Err(format!(
            "its index holds {} entries, expected {entries}",
            index.len()
        ));
    }
    Ok(index)
}

/// Every index from `first` to `last` (inclusive, per dimension), in C order.
fn grid_indices(first: &[u64], last: &[u64]) -> Vec<Vec<u64>> {
    let mut all = vec![Vec::with_capacity(first.len())];
    for (&a, &b) in first.iter().zip(last) {
        all = all
            .into_iter()
            .flat_map(|prefix| {
                (a..=b).map(move |i| {
                    let mut v = prefix.clone();
                    v.push(i);
                    v
                })
            })
            .collect();
    }
    all
}

/// For the chunk at `origin` (shape `chunk`, C order) and the array region `ranges` (its buffer
/// shaped `extent`, C order): `copy(src, dst, len)` with the byte offsets in the chunk and in
/// the region, and the byte length, of every row of their overlap along the last dimension.
fn for_each_row(
    origin: &[u64],
    chunk: &[u64],
    ranges: &[Range<u64>],
    extent: &[u64],
    itemsize: usize,
    mut copy: impl FnMut(usize, usize, usize),
) {
    let n = chunk.len();
    let lo: Vec<u64> = (0..n).map(|d| origin[d].max(ranges[d].start)).collect();
    let hi: Vec<u64> = (0..n)
        .map(|d| (origin[d] + chunk[d]).min(ranges[d].end))
        .collect();
    if n == 0 || (0..n).any(|d| lo[d] >= hi[d]) {
        return;
    }
    // Element strides of the chunk and of the region's buffer.
    let strides = |shape: &[u64]| -> Vec<u64> {
        let mut s = vec![1u64; shape.len()];
        for d in (0..shape.len() - 1).rev() {
            s[d] = s[d + 1] * shape[d + 1];
        }
        s
    };
    let (cs, rs) = (strides(chunk), strides(extent));
    let len = (hi[n - 1] - lo[n - 1]) as usize * itemsize;
    // An odometer over the overlap's leading dimensions.
    let mut at = lo.clone();
    loop {
        let (mut src, mut dst) = (0u64, 0u64);
        for d in 0..n {
            src += (at[d] - origin[d]) * cs[d];
            dst += (at[d] - ranges[d].start) * rs[d];
        }
        copy(src as usize * itemsize, dst as usize * itemsize, len);
        let mut d = n - 1;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            at[d] += 1;
            if at[d] < hi[d] {
                break;
            }
            at[d] = lo[d];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows `for_each_row` names, applied to a chunk filled with its own element indices,
    /// rebuild the region exactly where they overlap.
    #[test]
    fn rows_of_a_chunk_land_where_the_region_holds_them() {
        let chunk = [2u64, 3, 4];
        let origin = [2u64, 3, 4];
        let ranges = [1u64..3, 4..9, 0..6];
        let extent: Vec<u64> = ranges.iter().map(|r| r.end - r.start).collect();
        let src: Vec<u16> = (0..24).collect();
        let mut out = vec![u16::MAX; extent.iter().product::<u64>() as usize];
        let mut rows = 0;
        for_each_row(&origin, &chunk, &ranges, &extent, 1, |s, d, len| {
            out[d..d + len].copy_from_slice(&src[s..s + len]);
            rows += 1;
        });
        // Overlap: y 2..3, x 4..6, z 4..6 — one y, two x rows of two elements.
        assert_eq!(rows, 2);
        for y in 1..3u64 {
            for x in 4..9u64 {
                for z in 0..6u64 {
                    let o = (((y - 1) * 5 + (x - 4)) * 6 + z) as usize;
                    let inside = (2..4).contains(&y) && (3..6).contains(&x) && (4..8).contains(&z);
                    let want = if inside {
                        (((y - 2) * 3 + (x - 3)) * 4 + (z - 4)) as u16
                    } else {
                        u16::MAX
                    };
                    assert_eq!(out[o], want, "at {y},{x},{z}");
                }
            }
        }
    }

    #[test]
    fn a_chunk_outside_the_region_gives_no_rows() {
        let mut rows = 0;
        for_each_row(&[4, 0], &[2, 2], &[0..4, 0..2], &[4, 2], 2, |_, _, _| {
            rows += 1
        });
        assert_eq!(rows, 0);
    }

    #[test]
    fn grid_indices_run_in_c_order() {
        assert_eq!(
            grid_indices(&[0, 1], &[1, 2]),
            vec![vec![0, 1], vec![0, 2], vec![1, 1], vec![1, 2]]
        );
    }
}
