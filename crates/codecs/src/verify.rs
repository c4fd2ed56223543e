//! Verification: a written file decoded back and compared, bitwise and streaming, with the
//! original. Bitwise means NaN payloads and `-0.0` must survive: a float comparison would call
//! `-0.0 == 0.0` lossless and every NaN a mismatch.

use crate::error::Result;
use std::fmt;
use stemz_data::{CubeReader, DataError, Hyperslab, Shape4};

/// The first element that differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch {
    /// `(scan_y, scan_x, det_y, det_x)` of the element.
    pub index: Shape4,
    /// The original element's bits (zero-extended).
    pub expected_bits: u64,
    /// The decoded element's bits.
    pub found_bits: u64,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "first mismatch at {:?}: expected bits {:#x}, found {:#x}",
            self.index, self.expected_bits, self.found_bits
        )
    }
}

/// The outcome of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Every element bitwise equal.
    pub lossless: bool,
    pub first_mismatch: Option<Mismatch>,
    /// Elements compared.
    pub elements: u64,
    /// Elements that differ.
    pub mismatches: u64,
}

/// Compare two cubes slab by slab (`slab` tiles the cube in C order, so sequential decoders are
/// read in scan order when `slab` is whole scan rows). Memory: two slabs.
pub fn compare(
    original: &mut dyn CubeReader,
    written: &mut dyn CubeReader,
    slab: Shape4,
) -> Result<VerifyReport> {
    let shape = original.shape();
    if written.shape() != shape || written.dtype() != original.dtype() {
        return Err(DataError::Invalid(format!(
            "written cube is {:?} {}, the original {:?} {}",
            written.shape(),
            written.dtype(),
            shape,
            original.dtype()
        ))
        .into());
    }
    let item = shape_item(original);
    let mut a = Vec::new();
    let mut b = Vec::new();
    let mut report = VerifyReport {
        lossless: true,
        first_mismatch: None,
        elements: 0,
        mismatches: 0,
    };
    for tile in Hyperslab::tiles(shape, slab) {
        let n = tile.len() * item;
        a.resize(n, 0);
        b.resize(n, 0);
        original.read_slab(&tile, &mut a)?;
        written.read_slab(&tile, &mut b)?;
        report.elements += tile.len() as u64;
        if a == b {
            continue;
        }
        for (k, (x, y)) in a.chunks_exact(item).zip(b.chunks_exact(item)).enumerate() {
            if x != y {
                report.mismatches += 1;
                if report.first_mismatch.is_none() {
                    report.first_mismatch = Some(Mismatch {
                        index: unravel_in(&tile, k),
                        expected_bits: bits(x),
                        found_bits: bits(y),
                    });
                }
            }
        }
    }
    report.lossless = report.mismatches == 0;
    Ok(report)
}

fn shape_item(c: &dyn CubeReader) -> usize {
    c.dtype().itemsize()
}

fn bits(e: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b[..e.len()].copy_from_slice(e);
    u64::from_le_bytes(b) // element bytes are native-endian; on little-endian this is the value
}

fn unravel_in(tile: &Hyperslab, mut k: usize) -> Shape4 {
    let mut idx = [0usize; 4];
    for axis in (0..4).rev() {
        idx[axis] = tile.origin[axis] + k % tile.extent[axis];
        k /= tile.extent[axis];
    }
    idx
}
