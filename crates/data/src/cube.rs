//! The datacube abstraction shared by every format: shape, element type, hyperslabs, and the
//! reader/writer traits.

use crate::error::{DataError, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Shape of a datacube: `[scan_y, scan_x, det_y, det_x]`.
pub type Shape4 = [usize; 4];

/// Element types a datacube may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    U8,
    U16,
    U32,
    F32,
}

impl DType {
    /// Bytes per element.
    pub fn itemsize(self) -> usize {
        match self {
            DType::U8 => 1,
            DType::U16 => 2,
            DType::U32 => 4,
            DType::F32 => 4,
        }
    }

    /// NumPy's name (`uint16`, `float32`, ...), as the study's records spell it.
    pub fn numpy_name(self) -> &'static str {
        match self {
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::F32 => "float32",
        }
    }

    /// Parse NumPy-style or short names: `uint16`, `u16`, `float32`, `f32`, ...
    pub fn parse(s: &str) -> Option<DType> {
        match s.to_ascii_lowercase().as_str() {
            "u8" | "uint8" => Some(DType::U8),
            "u16" | "uint16" => Some(DType::U16),
            "u32" | "uint32" => Some(DType::U32),
            "f32" | "float32" => Some(DType::F32),
            _ => None,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F32)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.numpy_name())
    }
}

/// A box-shaped region of a cube: `origin` and `extent` per axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hyperslab {
    pub origin: Shape4,
    pub extent: Shape4,
}

impl Hyperslab {
    /// The whole cube.
    pub fn full(shape: Shape4) -> Self {
        Hyperslab {
            origin: [0; 4],
            extent: shape,
        }
    }

    /// Whole frames `first..first+count` in scan order (row-major over `(sy, sx)`), as long as
    /// they form a box: either within one scan row, or whole scan rows.
    pub fn frames(shape: Shape4, first: usize, count: usize) -> Result<Self> {
        let sx = shape[1];
        let (y, x) = (first / sx.max(1), first % sx.max(1));
        if x + count <= sx {
            Ok(Hyperslab {
                origin: [y, x, 0, 0],
                extent: [1, count, shape[2], shape[3]],
            })
        } else if x == 0 && count % sx == 0 {
            Ok(Hyperslab {
                origin: [y, 0, 0, 0],
                extent: [count / sx, sx, shape[2], shape[3]],
            })
        } else {
            Err(DataError::Invalid(format!(
                "frames {first}..{} do not form a box in a scan of {}x{}",
                first + count,
                shape[0],
                shape[1]
            )))
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.extent.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Check that the slab lies inside a cube of `shape`.
    pub fn check_within(&self, shape: Shape4) -> Result<()> {
        for axis in 0..4 {
            if self.origin[axis] + self.extent[axis] > shape[axis] {
                return Err(DataError::Invalid(format!(
                    "hyperslab {:?}+{:?} exceeds cube shape {:?}",
                    self.origin, self.extent, shape
                )));
            }
        }
        Ok(())
    }

    /// Whole-frame slabs covering the cube in scan order, each at most `budget_bytes` (but at least
    /// one frame): whole scan rows when a row fits, else runs of frames within a row.
    pub fn frame_blocks(shape: Shape4, itemsize: usize, budget_bytes: usize) -> Vec<Hyperslab> {
        let [sy, sx, dy, dx] = shape;
        let frame = (dy * dx * itemsize).max(1);
        let mut out = Vec::new();
        if sy == 0 || sx == 0 {
            return out;
        }
        let row = frame * sx;
        if row <= budget_bytes {
            let rows = (budget_bytes / row).max(1);
            let mut y = 0;
            while y < sy {
                let n = rows.min(sy - y);
                out.push(Hyperslab {
                    origin: [y, 0, 0, 0],
                    extent: [n, sx, dy, dx],
                });
                y += n;
            }
        } else {
            let per = (budget_bytes / frame).max(1);
            for y in 0..sy {
                let mut x = 0;
                while x < sx {
                    let n = per.min(sx - x);
                    out.push(Hyperslab {
                        origin: [y, x, 0, 0],
                        extent: [1, n, dy, dx],
                    });
                    x += n;
                }
            }
        }
        out
    }

    /// Check a `read_slab` request: the slab lies inside `shape` and `out_len` bytes hold
    /// exactly its elements of `dtype`. `source` names the reader in the error.
    pub fn check_read(
        &self,
        shape: Shape4,
        dtype: DType,
        out_len: usize,
        source: &dyn fmt::Display,
    ) -> Result<()> {
        self.check_within(shape)?;
        let want = self.len() * dtype.itemsize();
        if out_len != want {
            return Err(DataError::Invalid(format!(
                "{source}: buffer of {out_len} bytes for a slab of {} {dtype} elements ({want} bytes)",
                self.len()
            )));
        }
        Ok(())
    }

    /// Chunk-aligned tiling of `shape` by `chunk` (edge tiles are clipped), in C order of the
    /// chunk grid.
    pub fn tiles(shape: Shape4, chunk: Shape4) -> impl Iterator<Item = Hyperslab> {
        let grid: Shape4 = std::array::from_fn(|i| shape[i].div_ceil(chunk[i].max(1)));
        let n: usize = grid.iter().product();
        (0..n).map(move |mut k| {
            let mut idx = [0usize; 4];
            for axis in (0..4).rev() {
                idx[axis] = k % grid[axis];
                k /= grid[axis];
            }
            let origin: Shape4 = std::array::from_fn(|i| idx[i] * chunk[i]);
            let extent: Shape4 = std::array::from_fn(|i| chunk[i].min(shape[i] - origin[i]));
            Hyperslab { origin, extent }
        })
    }
}

/// What a reader knows about where its data come from, for `stemz inspect`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceInfo {
    /// Format name: `EMD 1.0`, `HDF5`, `Merlin MIB`, `NumPy .npy`.
    pub format: String,
    /// Dataset path inside the file, where there is one.
    pub dataset: Option<String>,
    /// Chunk shape on disk, where chunked.
    pub chunks: Option<Vec<usize>>,
    /// Filters of the on-disk pipeline, e.g. `blosc (32001) cd_values=[2, 2, 2, ...]`.
    pub filters: Vec<String>,
    /// Format-specific facts (counter depth, header size, ...), as ordered key/value pairs.
    pub details: Vec<(String, String)>,
}

/// A readable datacube. Slabs come back as native-endian bytes in C order.
pub trait CubeReader: Send {
    fn shape(&self) -> Shape4;
    fn dtype(&self) -> DType;
    fn info(&self) -> SourceInfo;
    /// Fill `out` (exactly `slab.len() * itemsize` bytes) with the slab's elements.
    fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> Result<()>;

    /// Total uncompressed size in bytes.
    fn nbytes(&self) -> u64 {
        self.shape().iter().product::<usize>() as u64 * self.dtype().itemsize() as u64
    }

    /// The whole cube (native-endian, C order) when this source already holds it in memory, so
    /// writers can use it in place instead of copying slabs out first; `None` for file readers.
    fn in_memory(&self) -> Option<&[u8]> {
        None
    }
}

/// A writable datacube. Writers write to a temporary file; only [`CubeWriter::finish`] makes the
/// output appear under its final name.
pub trait CubeWriter {
    /// Write `data` (native-endian bytes, C order, `slab.len() * itemsize` long) at `slab`.
    fn write_slab(&mut self, slab: &Hyperslab, data: &[u8]) -> Result<()>;
    /// Flush, close, and move the file into place.
    fn finish(self: Box<Self>) -> Result<std::path::PathBuf>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_cube_exactly_once_with_clipped_edges() {
        let shape = [5, 3, 7, 4];
        let chunk = [2, 2, 4, 4];
        let tiles: Vec<_> = Hyperslab::tiles(shape, chunk).collect();
        assert_eq!(tiles.len(), 3 * 2 * 2);
        assert_eq!(tiles.iter().map(|t| t.len()).sum::<usize>(), 5 * 3 * 7 * 4);
        let last = tiles.last().unwrap();
        assert_eq!(last.origin, [4, 2, 4, 0]);
        assert_eq!(last.extent, [1, 1, 3, 4]);
    }

    #[test]
    fn frames_must_form_a_box() {
        let shape = [4, 3, 2, 2];
        assert_eq!(Hyperslab::frames(shape, 3, 6).unwrap().extent, [2, 3, 2, 2]);
        assert_eq!(Hyperslab::frames(shape, 4, 2).unwrap().origin, [1, 1, 0, 0]);
        assert!(Hyperslab::frames(shape, 2, 2).is_err());
    }
}
