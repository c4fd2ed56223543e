//! Entropy bounds per dataset and how close the best codec comes to them.
//!
//! - Sparsity-only bound (the study's): a source that only knows which elements are zero needs
//!   at least H2(s) bits per element, H2 the binary entropy of the sparsity s, so the ratio is
//!   at most `8·itemsize / H2(s)`. It ignores the cost of the non-zero values, so real codecs
//!   can approach but, for data with information in the non-zeros, not reach it.
//! - Zeroth-order bound: `8·itemsize / H0`, H0 the entropy of the value histogram, for
//!   datasets where H0 was measured. Codecs exploiting correlations can exceed it.

use crate::aggregate::Aggregate;
use crate::record::DatasetRecord;
use crate::tables::best_for;
use serde::Serialize;

/// Binary entropy in bits of a Bernoulli(s) variable; 0 at s = 0 or 1.
pub fn binary_entropy(s: f64) -> f64 {
    let term = |p: f64| if p > 0.0 { -p * p.log2() } else { 0.0 };
    term(s) + term(1.0 - s)
}

/// Both bounds of one dataset and the best measured ratio against them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntropyBound {
    pub dataset: String,
    pub itemsize: u32,
    pub sparsity: f64,
    /// H2(sparsity) in bits per element.
    pub h2_bits: f64,
    /// `8·itemsize / H2`; infinite for an all-zero or no-zero dataset.
    pub sparsity_bound: f64,
    /// `8·itemsize / H0` when H0 is known.
    pub h0_bound: Option<f64>,
    /// Best mean ratio over HDF5 configurations; `None` without measurements.
    pub best_ratio: Option<f64>,
    pub best_method: Option<String>,
    /// `best_ratio / sparsity_bound`.
    pub fraction_of_sparsity_bound: Option<f64>,
    /// `best_ratio / h0_bound`.
    pub fraction_of_h0_bound: Option<f64>,
}

/// Bounds for every dataset, in the order given.
pub fn entropy_bounds(datasets: &[DatasetRecord], aggs: &[Aggregate]) -> Vec<EntropyBound> {
    datasets
        .iter()
        .map(|d| {
            let bits = 8.0 * d.itemsize as f64;
            let h2 = binary_entropy(d.sparsity);
            let sparsity_bound = bits / h2;
            let h0_bound = d.h0_bits.filter(|h| *h > 0.0).map(|h| bits / h);
            let best = best_for(aggs, &d.dataset);
            let best_ratio = best.map(|b| b.ratio.mean);
            EntropyBound {
                dataset: d.dataset.clone(),
                itemsize: d.itemsize,
                sparsity: d.sparsity,
                h2_bits: h2,
                sparsity_bound,
                h0_bound,
                best_ratio,
                best_method: best.map(|b| b.study_method()),
                fraction_of_sparsity_bound: best_ratio.map(|r| r / sparsity_bound),
                fraction_of_h0_bound: best_ratio.zip(h0_bound).map(|(r, h)| r / h),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_entropy_is_one_bit_at_half_and_zero_at_the_ends() {
        assert!((binary_entropy(0.5) - 1.0).abs() < 1e-15);
        assert_eq!(binary_entropy(0.0), 0.0);
        assert_eq!(binary_entropy(1.0), 0.0);
        assert!((binary_entropy(0.9) - 0.4689955935892812).abs() < 1e-15);
    }
}
