//! Zarr v3 array stores on a file system (a directory with a `zarr.json`), read through
//! `zarrs`, the Rust reference implementation: any codec chain it decodes (sharding, blosc,
//! zstd, gzip, crc32c, bytes of either endianness), so stores written by zarr-python 3 read as
//! well as stemz's own.
//!
//! A store's array is `(scan_y, scan_x, det_y, det_x)`, or a 3D spectrum image `(sy, sx, E)`
//! read as `(sy, sx, 1, E)`. The array is the store's root, or the one named with `dataset`
//! (its path inside the store), or else the only 4D array of the hierarchy.

use crate::cube::{CubeReader, DType, Hyperslab, Shape4, SourceInfo};
use crate::error::{DataError, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use unsafe_cell_slice::UnsafeCellSlice;
use zarrs::array::{Array, ArrayBytesFixedDisjointView, ArraySubset, CodecOptions};
use zarrs::filesystem::FilesystemStore;

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
