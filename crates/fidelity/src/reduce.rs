//! Candidate reductions and the streaming reader that applies one.
//!
//! A [`Reduction`] composes, in this order: a detector crop (a box of original pixels), a
//! detector bin of `b × b` pixels (`1 × b` along energy for a spectrum image, `det_y == 1`), and a
//! scan bin of `s × s` positions. Remainders that do not fill a whole bin are dropped (as
//! py4DSTEM's `bin_Q` / `bin_R` do). The bin's values are
//! - **summed** ([`Agg::Sum`]) into an integer type that cannot overflow: `u8 → u16` (up to
//!   257 values), `u16 → u32` whenever more than one value is summed, `u32 → u32` with every sum
//!   checked (an overflow is an error, never a wrap); float32 stays float32 (the sum is taken in
//!   float64 and rounded once);
//! - or **averaged** ([`Agg::Mean`]) into float32, as the study's binned datasets were: the sum
//!   in float64 divided by the number of values, rounded once to float32. For integer data
//!   whose bin sums stay below 2²⁴ and a power-of-two divisor (every `u16` bin up to 8 × 8 × 2 × 2)
//!   this rounding is exact, so the study's choice costs bytes (float32 compresses worse), not
//!   accuracy.
//!
//! [`ReducedReader`] is a [`CubeReader`] of the reduced cube: it reads the source in bounded
//! blocks of whole frames and reduces them, so the codec engine can stream any reduction into a
//! compressed file without it ever existing uncompressed.

use crate::target::Grid;
use crate::{FidelityError, Result};
use rayon::prelude::*;
use serde::Serialize;
use std::fmt;
use stemz_data::{CubeReader, DType, Hyperslab, Shape4, SourceInfo};

/// How the values of a bin are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Agg {
    Sum,
    Mean,
}

impl fmt::Display for Agg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Agg::Sum => "sum",
            Agg::Mean => "mean",
        })
    }
}

/// A detector box of original pixels, half-open: rows `y0..y1`, columns `x0..x1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Crop {
    pub y0: usize,
    pub y1: usize,
    pub x0: usize,
    pub x1: usize,
}

impl Crop {
    /// Parse `Y0:Y1,X0:X1`.
    pub fn parse(s: &str) -> Result<Crop> {
        let bad = || {
            FidelityError::invalid(format!(
                "--crop `{s}`: expected Y0:Y1,X0:X1 (half-open detector pixel ranges, Y0 < Y1, X0 < X1)"
            ))
        };
        let (a, b) = s.split_once(',').ok_or_else(bad)?;
        let range = |t: &str| -> Option<(usize, usize)> {
            let (p, q) = t.split_once(':')?;
            let (p, q) = (p.trim().parse().ok()?, q.trim().parse().ok()?);
            (p < q).then_some((p, q))
        };
        let (y0, y1) = range(a).ok_or_else(bad)?;
        let (x0, x1) = range(b).ok_or_else(bad)?;
        Ok(Crop { y0, y1, x0, x1 })
    }
}

impl fmt::Display for Crop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{},{}:{}", self.y0, self.y1, self.x0, self.x1)
    }
}

/// One candidate: crop, then detector bin, then scan bin (module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Reduction {
    pub crop: Option<Crop>,
    pub bin: usize,
    pub agg: Agg,
    pub scan_bin: usize,
}

impl Reduction {
    /// No reduction at all: the full data, stored as they are.
    pub fn identity() -> Reduction {
        Reduction {
            crop: None,
            bin: 1,
            agg: Agg::Sum,
            scan_bin: 1,
        }
    }

    /// Values combined per stored value (`by · bx · s²`).
    pub fn values_per_bin(&self, det: [usize; 2]) -> usize {
        let (by, bx) = self.det_bins(det);
        by * bx * self.scan_bin * self.scan_bin
    }

    /// Detector bin factors `(rows, columns)`: `(1, b)` for a spectrum image.
    pub fn det_bins(&self, det: [usize; 2]) -> (usize, usize) {
        if det[0] == 1 {
            (1, self.bin)
        } else {
            (self.bin, self.bin)
        }
    }

    /// Check the reduction against a cube of `shape`.
    pub fn check(&self, shape: Shape4) -> Result<()> {
        let det = [shape[2], shape[3]];
        if self.bin == 0 || self.scan_bin == 0 {
            return Err(FidelityError::invalid("bin factors must be at least 1"));
        }
        if let Some(c) = self.crop {
            if c.y1 > det[0] || c.x1 > det[1] {
                return Err(FidelityError::invalid(format!(
                    "--crop {c} exceeds the {}x{} detector",
                    det[0], det[1]
                )));
            }
        }
        let g = self.grid(det);
        if g.ny == 0 || g.nx == 0 {
            return Err(FidelityError::invalid(format!(
                "binning by {} leaves no detector pixel of the {}x{} {}",
                self.bin,
                det[0],
                det[1],
                if self.crop.is_some() {
                    "crop"
                } else {
                    "detector"
                }
            )));
        }
        if shape[0] / self.scan_bin == 0 || shape[1] / self.scan_bin == 0 {
            return Err(FidelityError::invalid(format!(
                "scan binning by {} leaves no position of the {}x{} scan",
                self.scan_bin, shape[0], shape[1]
            )));
        }
        Ok(())
    }

    /// The reduced detector grid.
    pub fn grid(&self, det: [usize; 2]) -> Grid {
        let (by, bx) = self.det_bins(det);
        let c = self.crop.unwrap_or(Crop {
            y0: 0,
            y1: det[0],
            x0: 0,
            x1: det[1],
        });
        Grid {
            y0: c.y0,
            x0: c.x0,
            by,
            bx,
            ny: (c.y1 - c.y0) / by,
            nx: (c.x1 - c.x0) / bx,
        }
    }

    /// The reduced cube's shape.
    pub fn out_shape(&self, shape: Shape4) -> Shape4 {
        let g = self.grid([shape[2], shape[3]]);
        [
            shape[0] / self.scan_bin,
            shape[1] / self.scan_bin,
            g.ny,
            g.nx,
        ]
    }

    /// The stored element type (module doc).
    pub fn out_dtype(&self, dtype: DType, det: [usize; 2]) -> DType {
        let n = self.values_per_bin(det);
        match (self.agg, dtype) {
            _ if n == 1 => dtype,
            (Agg::Mean, _) => DType::F32,
            (Agg::Sum, DType::U8) if n <= 257 => DType::U16,
            (Agg::Sum, DType::U8 | DType::U16 | DType::U32) => DType::U32,
            (Agg::Sum, DType::F32) => DType::F32,
        }
    }

    /// Factor from a stored value to counts of the original data (the mean's divisor).
    pub fn count_factor(&self, det: [usize; 2]) -> f64 {
        match self.agg {
            Agg::Sum => 1.0,
            Agg::Mean => self.values_per_bin(det) as f64,
        }
    }

    /// Short label, e.g. `crop+bin4-mean+scan2`, `full` for the identity.
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if self.crop.is_some() {
            parts.push("crop".to_string());
        }
        if self.bin > 1 {
            parts.push(format!("bin{}", self.bin));
        }
        if self.scan_bin > 1 {
            parts.push(format!("scan{}", self.scan_bin));
        }
        if parts.is_empty() {
            return "full".into();
        }
        let mut s = parts.join("+");
        if self.bin > 1 || self.scan_bin > 1 {
            s.push_str(&format!("-{}", self.agg));
        }
        s
    }

    /// Every operation with its parameters, in the order applied (for provenance).
    pub fn operations(&self, shape: Shape4, dtype: DType) -> Vec<String> {
        let det = [shape[2], shape[3]];
        let mut ops = Vec::new();
        if let Some(c) = self.crop {
            ops.push(format!(
                "crop detector rows {}:{} columns {}:{} (half-open, original pixels)",
                c.y0, c.y1, c.x0, c.x1
            ));
        }
        let (by, bx) = self.det_bins(det);
        if by * bx > 1 {
            ops.push(format!(
                "bin detector {by}x{bx} ({}), remainder dropped",
                self.agg
            ));
        }
        if self.scan_bin > 1 {
            ops.push(format!(
                "bin scan {s}x{s} ({}), remainder dropped",
                self.agg,
                s = self.scan_bin
            ));
        }
        ops.push(format!(
            "store {} (from {dtype})",
            self.out_dtype(dtype, det)
        ));
        ops
    }
}

/// Element values of `bytes` (native-endian `dtype`) added into `acc` as float64.
pub fn add_values(dtype: DType, bytes: &[u8], acc: &mut [f64]) {
    match dtype {
        DType::U8 => {
            for (a, &b) in acc.iter_mut().zip(bytes) {
                *a += b as f64;
            }
        }
        DType::U16 => {
            for (a, c) in acc.iter_mut().zip(bytes.chunks_exact(2)) {
                *a += u16::from_ne_bytes([c[0], c[1]]) as f64;
            }
        }
        DType::U32 => {
            for (a, c) in acc.iter_mut().zip(bytes.chunks_exact(4)) {
                *a += u32::from_ne_bytes([c[0], c[1], c[2], c[3]]) as f64;
            }
        }
        DType::F32 => {
            for (a, c) in acc.iter_mut().zip(bytes.chunks_exact(4)) {
                *a += f32::from_ne_bytes([c[0], c[1], c[2], c[3]]) as f64;
            }
        }
    }
}

/// Bin sums of a full frame `src` (`det` pixels, float64) onto `grid`, written to `out`.
pub fn bin_sums(src: &[f64], det: [usize; 2], grid: &Grid, out: &mut [f64]) {
    for i in 0..grid.ny {
        let row = &mut out[i * grid.nx..(i + 1) * grid.nx];
        row.fill(0.0);
        for a in 0..grid.by {
            let y = grid.y0 + grid.by * i + a;
            let line = &src[y * det[1]..(y + 1) * det[1]];
            for (j, o) in row.iter_mut().enumerate() {
                let x = grid.x0 + grid.bx * j;
                *o += line[x..x + grid.bx].iter().sum::<f64>();
            }
        }
    }
}

/// Turn bin sums into the values the reduced cube stores (as float64): integer sums as they
/// are, float32 sums rounded to float32, means divided and rounded to float32.
pub fn stored_values(sums: &mut [f64], agg: Agg, out_dtype: DType, per_bin: usize) {
    match (agg, out_dtype) {
        (Agg::Mean, _) if per_bin > 1 => {
            let n = per_bin as f64;
            for v in sums.iter_mut() {
                *v = ((*v / n) as f32) as f64;
            }
        }
        (_, DType::F32) => {
            for v in sums.iter_mut() {
                *v = (*v as f32) as f64;
            }
        }
        _ => {}
    }
}

/// Encode stored values (already exact in `dtype`) as native-endian bytes.
pub fn encode(values: &[f64], dtype: DType, out: &mut Vec<u8>) -> Result<()> {
    let max = match dtype {
        DType::U8 => u8::MAX as f64,
        DType::U16 => u16::MAX as f64,
        DType::U32 => u32::MAX as f64,
        DType::F32 => f64::INFINITY,
    };
    for &v in values {
        if v > max || v < 0.0 && !dtype.is_float() {
            return Err(FidelityError::invalid(format!(
                "a bin sum of {v} does not fit {dtype}: the summed reduction would overflow"
            )));
        }
        match dtype {
            DType::U8 => out.push(v as u8),
            DType::U16 => out.extend_from_slice(&(v as u16).to_ne_bytes()),
            DType::U32 => out.extend_from_slice(&(v as u32).to_ne_bytes()),
            DType::F32 => out.extend_from_slice(&(v as f32).to_ne_bytes()),
        }
    }
    Ok(())
}

/// Source bytes one read of [`ReducedReader`] may hold.
const SOURCE_BLOCK_BYTES: usize = 64 << 20;

/// The reduced cube as a [`CubeReader`], computed from the source on every read (module doc).
pub struct ReducedReader {
    source: Box<dyn CubeReader>,
    reduction: Reduction,
    shape: Shape4,
    dtype: DType,
}

impl ReducedReader {
    pub fn new(source: Box<dyn CubeReader>, reduction: Reduction) -> Result<Self> {
        let s = source.shape();
        reduction.check(s)?;
        let shape = reduction.out_shape(s);
        let dtype = reduction.out_dtype(source.dtype(), [s[2], s[3]]);
        Ok(ReducedReader {
            source,
            reduction,
            shape,
            dtype,
        })
    }

    pub fn reduction(&self) -> &Reduction {
        &self.reduction
    }

    /// Reduced frames `(y, x0..x1)` in order, each as stored bytes of the full reduced frame.
    fn frames(&mut self, y: usize, x0: usize, x1: usize) -> Result<Vec<Vec<u8>>> {
        let src = self.source.shape();
        let det = [src[2], src[3]];
        let sdt = self.source.dtype();
        let s = self.reduction.scan_bin;
        let grid = self.reduction.grid(det);
        let per_bin = self.reduction.values_per_bin(det);
        let frame = det[0] * det[1] * sdt.itemsize();
        let per_read = (SOURCE_BLOCK_BYTES / (frame * s * s).max(1)).max(1);
        let mut out = Vec::with_capacity(x1 - x0);
        let mut x = x0;
        while x < x1 {
            let n = per_read.min(x1 - x);
            let slab = Hyperslab {
                origin: [y * s, x * s, 0, 0],
                extent: [s, n * s, det[0], det[1]],
            };
            let mut buf = vec![0u8; slab.len() * sdt.itemsize()];
            self.source.read_slab(&slab, &mut buf)?;
            let (agg, dtype) = (self.reduction.agg, self.dtype);
            let encoded: Vec<Result<Vec<u8>>> = (0..n)
                .into_par_iter()
                .map(|k| {
                    let mut full = vec![0.0f64; det[0] * det[1]];
                    for a in 0..s {
                        for b in 0..s {
                            let idx = a * (n * s) + k * s + b;
                            add_values(sdt, &buf[idx * frame..(idx + 1) * frame], &mut full);
                        }
                    }
                    let mut sums = vec![0.0f64; grid.len()];
                    bin_sums(&full, det, &grid, &mut sums);
                    stored_values(&mut sums, agg, dtype, per_bin);
                    let mut bytes = Vec::with_capacity(grid.len() * dtype.itemsize());
                    encode(&sums, dtype, &mut bytes)?;
                    Ok(bytes)
                })
                .collect();
            for e in encoded {
                out.push(e?);
            }
            x += n;
        }
        Ok(out)
    }
}

impl CubeReader for ReducedReader {
    fn shape(&self) -> Shape4 {
        self.shape
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn info(&self) -> SourceInfo {
        SourceInfo {
            format: format!("reduced ({})", self.reduction.label()),
            ..SourceInfo::default()
        }
    }
    fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> stemz_data::Result<()> {
        slab.check_read(self.shape, self.dtype, out.len(), &"reduced cube")?;
        let item = self.dtype.itemsize();
        let [_, _, ny, nx] = self.shape;
        let [o0, o1, o2, o3] = slab.origin;
        let [e0, e1, e2, e3] = slab.extent;
        let mut w = 0;
        for y in o0..o0 + e0 {
            let frames = self
                .frames(y, o1, o1 + e1)
                .map_err(|e| stemz_data::DataError::Invalid(e.to_string()))?;
            for f in &frames {
                debug_assert_eq!(f.len(), ny * nx * item);
                for i in o2..o2 + e2 {
                    let start = (i * nx + o3) * item;
                    out[w..w + e3 * item].copy_from_slice(&f[start..start + e3 * item]);
                    w += e3 * item;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summed_u16_bins_widen_to_u32_and_means_to_f32() {
        let r = |bin, agg, scan_bin| Reduction {
            crop: None,
            bin,
            agg,
            scan_bin,
        };
        let det = [8, 8];
        assert_eq!(r(1, Agg::Sum, 1).out_dtype(DType::U16, det), DType::U16);
        assert_eq!(r(2, Agg::Sum, 1).out_dtype(DType::U16, det), DType::U32);
        assert_eq!(r(1, Agg::Sum, 2).out_dtype(DType::U16, det), DType::U32);
        assert_eq!(r(8, Agg::Sum, 1).out_dtype(DType::U8, det), DType::U16);
        assert_eq!(r(2, Agg::Mean, 1).out_dtype(DType::U16, det), DType::F32);
        assert_eq!(r(4, Agg::Sum, 1).out_dtype(DType::F32, det), DType::F32);
    }

    #[test]
    fn encode_refuses_a_sum_that_overflows_instead_of_wrapping() {
        let mut out = Vec::new();
        assert!(encode(&[u32::MAX as f64 + 1.0], DType::U32, &mut out).is_err());
        assert!(encode(&[u32::MAX as f64], DType::U32, &mut out).is_ok());
    }

    #[test]
    fn spectrum_images_bin_along_energy_only() {
        let r = Reduction {
            crop: None,
            bin: 4,
            agg: Agg::Sum,
            scan_bin: 1,
        };
        assert_eq!(r.out_shape([3, 3, 1, 10]), [3, 3, 1, 2]);
        assert_eq!(r.values_per_bin([1, 10]), 4);
    }

    #[test]
    fn crop_parses_half_open_ranges() {
        assert_eq!(
            Crop::parse("2:10,0:8").unwrap(),
            Crop {
                y0: 2,
                y1: 10,
                x0: 0,
                x1: 8
            }
        );
        assert!(Crop::parse("10:2,0:8").is_err());
        assert!(Crop::parse("0:8").is_err());
    }
}
