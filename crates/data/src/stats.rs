//! Value statistics of a datacube in one streaming pass: sparsity, range, mean, bits used,
//! the value histogram and the entropy bounds on lossless compression derived from it.
//!
//! Every accumulator is an integer count or an integer sum, so [`CubeStats::update`] and
//! [`CubeStats::merge`] commute exactly: a parallel pass over parts gives bit-for-bit the same
//! result as one serial pass. For `float32`, the mean comes from exact per-exponent integer
//! sums of the significands (no floating-point accumulation whose rounding depends on order);
//! everything derived (mean, H0) is computed from those at the end in a fixed order.

use crate::cube::{CubeReader, DType, Hyperslab};
use crate::error::{DataError, Result};
use rayon::prelude::*;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// Distinct values kept in a sparse (u32/f32) histogram before giving up on it; beyond this the
/// histogram (and H0) is dropped to bound memory (~100 MB).
pub const MAX_DISTINCT: usize = 1 << 21;

/// Count of values per value: dense for 8/16-bit types, keyed by bit pattern for 32-bit ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Histogram {
    Dense(Vec<u64>),
    Sparse(BTreeMap<u32, u64>),
    /// More than [`MAX_DISTINCT`] distinct values were seen.
    TooManyValues,
}

impl Histogram {
    fn new(dtype: DType) -> Self {
        match dtype {
            DType::U8 => Histogram::Dense(vec![0; 1 << 8]),
            DType::U16 => Histogram::Dense(vec![0; 1 << 16]),
            DType::U32 | DType::F32 => Histogram::Sparse(BTreeMap::new()),
        }
    }

    fn merge(&mut self, other: &Histogram) {
        match (&mut *self, other) {
            (Histogram::Dense(a), Histogram::Dense(b)) => {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
            }
            (Histogram::Sparse(a), Histogram::Sparse(b)) => {
                for (k, v) in b {
                    *a.entry(*k).or_insert(0) += v;
                }
                if a.len() > MAX_DISTINCT {
                    *self = Histogram::TooManyValues;
                }
            }
            _ => *self = Histogram::TooManyValues,
        }
    }

    /// Counts in a fixed order (ascending value / bit pattern), zeros skipped.
    fn counts(&self) -> Option<Vec<u64>> {
        match self {
            Histogram::Dense(v) => Some(v.iter().copied().filter(|&c| c > 0).collect()),
            Histogram::Sparse(m) => Some(m.values().copied().collect()),
            Histogram::TooManyValues => None,
        }
    }
}

/// Streaming statistics of one datacube. Serializes as its [`StatsSummary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CubeStats {
    dtype: DType,
    count: u64,
    zeros: u64,
    nans: u64,
    above_4095: u64,
    above_16383: u64,
    /// Integers: min/max as u64. Floats: bit patterns of the min/max by `total_cmp`.
    min_bits: Option<u64>,
    max_bits: Option<u64>,
    int_sum: u128,
    /// float32: `[sign][biased exponent]` sums of the 24-bit significands.
    float_sums: Vec<u128>,
    histogram: Histogram,
}

/// The derived numbers, for printing and JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsSummary {
    pub dtype: DType,
    pub count: u64,
    pub zeros: u64,
    /// Fraction of zero elements.
    pub sparsity: f64,
    /// NaNs (float32 only); excluded from min/max/mean.
    pub nans: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    /// Bits needed for the largest value (integer types).
    pub bits_used: Option<u32>,
    pub above_4095: u64,
    pub above_16383: u64,
    /// Distinct values, when the histogram was kept.
    pub distinct_values: Option<u64>,
    /// Order-0 entropy of the values, bits per value.
    pub h0_bits: Option<f64>,
    /// Binary entropy of the zero/non-zero mask, bits per value.
    pub h2_bits: f64,
    /// `8·itemsize / H2`: ratio bound for coding the zero mask alone.
    pub bound_h2: Option<f64>,
    /// `8·itemsize / H0`: ratio bound for an order-0 entropy coder.
    pub bound_h0: Option<f64>,
}

impl CubeStats {
    pub fn new(dtype: DType) -> Self {
        CubeStats {
            dtype,
            count: 0,
            zeros: 0,
            nans: 0,
            above_4095: 0,
            above_16383: 0,
            min_bits: None,
            max_bits: None,
            int_sum: 0,
            float_sums: if dtype.is_float() {
                vec![0; 2 * 256]
            } else {
                Vec::new()
            },
            histogram: Histogram::new(dtype),
        }
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn histogram(&self) -> &Histogram {
        &self.histogram
    }

    /// Add the elements of `data` (native-endian bytes of `dtype`).
    pub fn update(&mut self, data: &[u8], dtype: DType) -> Result<()> {
        if dtype != self.dtype {
            return Err(DataError::Invalid(format!(
                "statistics of {} data cannot take {dtype} elements",
                self.dtype
            )));
        }
        let size = dtype.itemsize();
        if data.len() % size != 0 {
            return Err(DataError::Invalid(format!(
                "{} bytes are not a whole number of {dtype} elements",
                data.len()
            )));
        }
        match dtype {
            DType::U8 => self.update_ints(data.iter().map(|&b| b as u64)),
            DType::U16 => self.update_ints(
                data.chunks_exact(2)
                    .map(|c| u16::from_ne_bytes([c[0], c[1]]) as u64),
            ),
            DType::U32 => self.update_ints(
                data.chunks_exact(4)
                    .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]) as u64),
            ),
            DType::F32 => self.update_floats(data),
        }
        Ok(())
    }

    fn update_ints(&mut self, values: impl Iterator<Item = u64>) {
        let (mut lo, mut hi) = (u64::MAX, 0u64);
        let (mut n, mut zeros, mut a4, mut a16, mut sum) = (0u64, 0u64, 0u64, 0u64, 0u128);
        let mut sparse = BTreeMap::new();
        let keep_sparse = matches!(self.histogram, Histogram::Sparse(_));
        let mut dense = match &mut self.histogram {
            Histogram::Dense(v) => Some(v),
            _ => None,
        };
        for v in values {
            n += 1;
            zeros += (v == 0) as u64;
            a4 += (v > 4095) as u64;
            a16 += (v > 16383) as u64;
            sum += v as u128;
            lo = lo.min(v);
            hi = hi.max(v);
            if let Some(d) = dense.as_deref_mut() {
                d[v as usize] += 1;
            } else if keep_sparse {
                *sparse.entry(v as u32).or_insert(0u64) += 1;
            }
        }
        if n == 0 {
            return;
        }
        self.count += n;
        self.zeros += zeros;
        self.above_4095 += a4;
        self.above_16383 += a16;
        self.int_sum += sum;
        self.min_bits = Some(self.min_bits.map_or(lo, |m| m.min(lo)));
        self.max_bits = Some(self.max_bits.map_or(hi, |m| m.max(hi)));
        if keep_sparse {
            self.histogram.merge(&Histogram::Sparse(sparse));
        }
    }

    fn update_floats(&mut self, data: &[u8]) {
        let mut sparse = BTreeMap::new();
        let keep = matches!(self.histogram, Histogram::Sparse(_));
        let (mut lo, mut hi): (Option<f32>, Option<f32>) = (self.min_f32(), self.max_f32());
        for c in data.chunks_exact(4) {
            let bits = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
            let v = f32::from_bits(bits);
            self.count += 1;
            if keep {
                *sparse.entry(bits).or_insert(0u64) += 1;
            }
            if v.is_nan() {
                self.nans += 1;
                continue;
            }
            self.zeros += (v == 0.0) as u64;
            self.above_4095 += (v > 4095.0) as u64;
            self.above_16383 += (v > 16383.0) as u64;
            lo = Some(lo.map_or(v, |m| if v.total_cmp(&m).is_lt() { v } else { m }));
            hi = Some(hi.map_or(v, |m| if v.total_cmp(&m).is_gt() { v } else { m }));
            // value = ±significand · 2^(exp - 150), exactly; infinities land in exponent 255.
            let sign = (bits >> 31) as usize;
            let exp = ((bits >> 23) & 0xff) as usize;
            let frac = bits & 0x7f_ffff;
            let significand = if exp == 0 { frac } else { frac | 0x80_0000 };
            self.float_sums[sign * 256 + exp] += significand as u128;
        }
        self.min_bits = lo.map(|v| v.to_bits() as u64);
        self.max_bits = hi.map(|v| v.to_bits() as u64);
        if keep {
            self.histogram.merge(&Histogram::Sparse(sparse));
        }
    }

    fn min_f32(&self) -> Option<f32> {
        self.min_bits.map(|b| f32::from_bits(b as u32))
    }

    fn max_f32(&self) -> Option<f32> {
        self.max_bits.map(|b| f32::from_bits(b as u32))
    }

    /// Fold in the statistics of another part of the same cube.
    pub fn merge(&mut self, other: &CubeStats) -> Result<()> {
        if other.dtype != self.dtype {
            return Err(DataError::Invalid(format!(
                "cannot merge statistics of {} and {} data",
                self.dtype, other.dtype
            )));
        }
        self.count += other.count;
        self.zeros += other.zeros;
        self.nans += other.nans;
        self.above_4095 += other.above_4095;
        self.above_16383 += other.above_16383;
        self.int_sum += other.int_sum;
        for (a, b) in self.float_sums.iter_mut().zip(&other.float_sums) {
            *a += b;
        }
        if self.dtype.is_float() {
            let pick = |a: Option<f32>, b: Option<f32>, want_less: bool| match (a, b) {
                (Some(x), Some(y)) => {
                    let less = y.total_cmp(&x).is_lt();
                    Some(if less == want_less { y } else { x })
                }
                (x, y) => x.or(y),
            };
            let lo = pick(self.min_f32(), other.min_f32(), true);
            let hi = pick(self.max_f32(), other.max_f32(), false);
            self.min_bits = lo.map(|v| v.to_bits() as u64);
            self.max_bits = hi.map(|v| v.to_bits() as u64);
        } else {
            self.min_bits = match (self.min_bits, other.min_bits) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            self.max_bits = match (self.max_bits, other.max_bits) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
        self.histogram.merge(&other.histogram);
        Ok(())
    }

    /// The derived numbers.
    pub fn summary(&self) -> StatsSummary {
        let n = self.count;
        let sparsity = if n == 0 {
            0.0
        } else {
            self.zeros as f64 / n as f64
        };
        let (min, max, mean, bits_used) = if self.dtype.is_float() {
            let finite = n - self.nans;
            let mean = (finite > 0).then(|| {
                let mut total = 0.0f64;
                // Fixed order over the exact integer sums: deterministic.
                for sign in 0..2 {
                    for exp in 0..256usize {
                        let s = self.float_sums[sign * 256 + exp];
                        if s == 0 {
                            continue;
                        }
                        let v = if exp == 255 {
                            f64::INFINITY
                        } else {
                            s as f64 * 2f64.powi(exp.max(1) as i32 - 150)
                        };
                        total += if sign == 1 { -v } else { v };
                    }
                }
                total / finite as f64
            });
            (
                self.min_f32().map(f64::from),
                self.max_f32().map(f64::from),
                mean,
                None,
            )
        } else {
            let mean = (n > 0).then(|| self.int_sum as f64 / n as f64);
            let bits = self.max_bits.map(|m| 64 - m.leading_zeros());
            (
                self.min_bits.map(|v| v as f64),
                self.max_bits.map(|v| v as f64),
                mean,
                bits,
            )
        };
        let counts = self.histogram.counts();
        let distinct_values = counts.as_ref().map(|c| c.len() as u64);
        let h0_bits = counts.map(|c| entropy_of_counts(&c, n));
        let h2_bits = binary_entropy(sparsity);
        let bits = 8.0 * self.dtype.itemsize() as f64;
        let bound = |h: f64| (h > 0.0).then(|| bits / h);
        StatsSummary {
            dtype: self.dtype,
            count: n,
            zeros: self.zeros,
            sparsity,
            nans: self.nans,
            min,
            max,
            mean,
            bits_used,
            above_4095: self.above_4095,
            above_16383: self.above_16383,
            distinct_values,
            h0_bits,
            h2_bits,
            bound_h2: bound(h2_bits),
            bound_h0: h0_bits.and_then(bound),
        }
    }
}

impl Serialize for CubeStats {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.summary().serialize(s)
    }
}

/// Shannon entropy in bits of a distribution given by counts summing to `n`.
pub fn entropy_of_counts(counts: &[u64], n: u64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let n_f = n as f64;
    let h = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n_f;
            -p * p.log2()
        })
        .sum::<f64>();
    h.max(0.0)
}

/// Binary entropy `H2(p)` in bits.
pub fn binary_entropy(p: f64) -> f64 {
    if p <= 0.0 || p >= 1.0 {
        0.0
    } else {
        -(p * p.log2() + (1.0 - p) * (1.0 - p).log2())
    }
}

/// Memory per block read by [`cube_stats`].
const BLOCK_BYTES: usize = 32 << 20;
/// Blocks smaller than this are not worth splitting across threads.
const PARALLEL_MIN_BYTES: usize = 4 << 20;

/// Statistics of a whole cube, reading it block by block (bounded memory); each block's
/// elements are tallied in parallel parts and merged, which is exact (see the module docs).
pub fn cube_stats(reader: &mut dyn CubeReader) -> Result<CubeStats> {
    let dtype = reader.dtype();
    let size = dtype.itemsize();
    let mut total = CubeStats::new(dtype);
    let mut buf = Vec::new();
    for slab in Hyperslab::frame_blocks(reader.shape(), dtype.itemsize(), BLOCK_BYTES) {
        buf.resize(slab.len() * size, 0u8);
        reader.read_slab(&slab, &mut buf)?;
        if buf.len() < PARALLEL_MIN_BYTES {
            total.update(&buf, dtype)?;
            continue;
        }
        let parts = rayon::current_num_threads().max(1);
        let part_bytes = buf.len().div_ceil(parts).div_ceil(size) * size;
        let block = buf
            .par_chunks(part_bytes)
            .map(|part| {
                let mut s = CubeStats::new(dtype);
                s.update(part, dtype).map(|()| s)
            })
            .try_reduce(
                || CubeStats::new(dtype),
                |mut a, b| {
                    a.merge(&b)?;
                    Ok(a)
                },
            )?;
        total.merge(&block)?;
    }
    Ok(total)
}
