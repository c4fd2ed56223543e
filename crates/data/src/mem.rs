//! A datacube held in memory: for samples (`stemz recommend`), tests and examples. Everything
//! else streams; this is the one place a cube is whole in memory, so callers keep it small.

use crate::cube::{CubeReader, DType, Hyperslab, Shape4, SourceInfo};
use crate::error::{DataError, Result};

/// A datacube held in memory (native-endian bytes, C order).
#[derive(Debug, Clone, PartialEq)]
pub struct MemCube {
    pub shape: Shape4,
    pub dtype: DType,
    pub data: Vec<u8>,
}

impl MemCube {
    /// Wrap bytes; `data.len()` must be `shape` elements of `dtype`.
    pub fn new(shape: Shape4, dtype: DType, data: Vec<u8>) -> Result<Self> {
        let want = shape.iter().product::<usize>() * dtype.itemsize();
        if data.len() != want {
            return Err(DataError::Invalid(format!(
                "MemCube: {} bytes given, shape {shape:?} of {dtype} needs {want}",
                data.len()
            )));
        }
        Ok(MemCube { shape, dtype, data })
    }

    /// Read all of `reader` into memory.
    pub fn read_all(reader: &mut dyn CubeReader) -> Result<Self> {
        let shape = reader.shape();
        let mut data = vec![0u8; reader.nbytes() as usize];
        reader.read_slab(&Hyperslab::full(shape), &mut data)?;
        MemCube::new(shape, reader.dtype(), data)
    }

    /// The bytes of one slab, for comparisons in tests.
    pub fn slab_bytes(&self, slab: &Hyperslab) -> Vec<u8> {
        let mut out = vec![0u8; slab.len() * self.dtype.itemsize()];
        copy_slab(
            self.shape,
            self.dtype.itemsize(),
            &self.data,
            slab,
            &mut out,
        );
        out
    }
}

impl CubeReader for MemCube {
    fn shape(&self) -> Shape4 {
        self.shape
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn info(&self) -> SourceInfo {
        SourceInfo {
            format: "memory".into(),
            ..SourceInfo::default()
        }
    }
    fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> Result<()> {
        self.read_into(slab, out)
    }
    fn in_memory(&self) -> Option<&[u8]> {
        Some(&self.data)
    }
}

impl MemCube {
    /// Copy `slab` into `out` without needing `&mut` (so one cube can serve many readers).
    pub fn read_into(&self, slab: &Hyperslab, out: &mut [u8]) -> Result<()> {
        slab.check_read(self.shape, self.dtype, out.len(), &"in-memory cube")?;
        copy_slab(self.shape, self.dtype.itemsize(), &self.data, slab, out);
        Ok(())
    }
}

/// Copy `slab` out of a C-order cube of `shape` into the packed buffer `out`.
fn copy_slab(shape: Shape4, item: usize, data: &[u8], slab: &Hyperslab, out: &mut [u8]) {
    let [o0, o1, o2, o3] = slab.origin;
    let [e0, e1, e2, e3] = slab.extent;
    let row = e3 * item;
    let mut w = 0;
    for a in o0..o0 + e0 {
        for b in o1..o1 + e1 {
            for c in o2..o2 + e2 {
                let start = (((a * shape[1] + b) * shape[2] + c) * shape[3] + o3) * item;
                out[w..w + row].copy_from_slice(&data[start..start + row]);
                w += row;
            }
        }
    }
}
