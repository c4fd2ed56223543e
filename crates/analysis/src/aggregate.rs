//! Per-configuration statistics over repeated runs: the study's `statistics.csv`.
//!
//! Groups are keyed by (dataset, method, chunking, engine, threads, cache) in a `BTreeMap`, so
//! the output order is deterministic. Statistics follow pandas: sample standard deviation
//! (ddof = 1, NaN for one value), median averaging the two middle values, CV % = std / mean ·
//! 100. The mean is a Kahan-compensated sum like pandas' groupby mean; values agree with
//! pandas to ~1e-15 relative. Where every value of a group is identical pandas' variance
//! algorithm may leave a residue of ~1e-16 relative (e.g. 9.36e-16) where we return exactly 0.

use crate::record::{Cache, Engine, Measurement};
use crate::study::join_method;
use serde::Serialize;
use std::collections::BTreeMap;

/// Summary statistics of one metric over the runs of one configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (ddof = 1); NaN when `n < 2`.
    pub std: f64,
    pub min: f64,
    pub max: f64,
    pub median: f64,
    /// `std / mean · 100`; NaN when undefined.
    pub cv_percent: f64,
}

impl Summary {
    /// Summarise values; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Summary> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = kahan_sum(values) / n as f64;
        let std = if n < 2 {
            f64::NAN
        } else {
            let ss: Vec<f64> = values.iter().map(|v| (v - mean) * (v - mean)).collect();
            (kahan_sum(&ss) / (n - 1) as f64).sqrt()
        };
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Summary {
            n,
            mean,
            std,
            min: sorted[0],
            max: sorted[n - 1],
            median,
            cv_percent: std / mean * 100.0,
        })
    }
}

fn kahan_sum(values: &[f64]) -> f64 {
    let (mut sum, mut comp) = (0.0f64, 0.0f64);
    for &v in values {
        let y = v - comp;
        let t = sum + y;
        comp = (t - sum) - y;
        sum = t;
    }
    sum
}

/// The statistics of one configuration over its runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aggregate {
    pub dataset: String,
    /// Codec name (`blosc_zstd`), without the chunking.
    pub method: String,
    pub chunking: String,
    /// Chunk shape of the first run (`16x16x128x128`), empty when not chunked.
    pub chunk_shape: String,
    pub engine: Engine,
    pub threads: u32,
    pub cache: Cache,
    pub uncompressed_bytes: u64,
    /// Number of runs.
    pub n_runs: usize,
    pub ratio: Summary,
    pub file_mib: Summary,
    pub write_s: Summary,
    pub read_s: Option<Summary>,
    pub write_gib_s: Option<Summary>,
    pub read_gib_s: Option<Summary>,
    /// `Some(false)` when any run failed verification; `None` when no run was verified.
    pub lossless: Option<bool>,
}

impl Aggregate {
    /// The study's method name, `<chunking>_<codec>`.
    pub fn study_method(&self) -> String {
        join_method(&self.chunking, &self.method)
    }

    /// Whether this configuration writes HDF5 chunks.
    pub fn is_chunked(&self) -> bool {
        self.chunking != crate::record::NO_CHUNKING
    }
}

type Key = (String, String, String, Engine, u32, Cache);

/// Aggregate measurements per (dataset, method, chunking, engine, threads, cache), sorted by
/// dataset, then the study's method name, then engine/threads/cache.
pub fn aggregate(rows: &[Measurement]) -> Vec<Aggregate> {
    let mut groups: BTreeMap<Key, Vec<&Measurement>> = BTreeMap::new();
    for m in rows {
        let key = (
            m.dataset.clone(),
            join_method(&m.chunking, &m.method),
            m.chunking.clone(),
            m.engine,
            m.threads,
            m.cache,
        );
        groups.entry(key).or_default().push(m);
    }
    let mut out = Vec::with_capacity(groups.len());
    for (_, runs) in groups {
        let first = runs[0];
        let col = |f: &dyn Fn(&Measurement) -> Option<f64>| -> Vec<f64> {
            runs.iter().filter_map(|m| f(m)).collect()
        };
        let required = |f: &dyn Fn(&Measurement) -> f64| -> Summary {
            let v: Vec<f64> = runs.iter().map(|m| f(m)).collect();
            // A group has at least one run, so a required column always summarises.
            Summary::of(&v).unwrap_or(Summary {
                n: 0,
                mean: f64::NAN,
                std: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
                median: f64::NAN,
                cv_percent: f64::NAN,
            })
        };
        let verified: Vec<bool> = runs.iter().filter_map(|m| m.lossless).collect();
        out.push(Aggregate {
            dataset: first.dataset.clone(),
            method: first.method.clone(),
            chunking: first.chunking.clone(),
            chunk_shape: first.chunk_shape.clone(),
            engine: first.engine,
            threads: first.threads,
            cache: first.cache,
            uncompressed_bytes: first.uncompressed_bytes,
            n_runs: runs.len(),
            ratio: required(&|m| m.ratio),
            file_mib: required(&|m| m.file_mib()),
            write_s: required(&|m| m.write_s),
            read_s: Summary::of(&col(&|m| m.read_s)),
            write_gib_s: Summary::of(&col(&|m| m.write_gib_s)),
            read_gib_s: Summary::of(&col(&|m| m.read_gib_s)),
            lossless: if verified.is_empty() {
                None
            } else {
                Some(verified.iter().all(|&v| v))
            },
        });
    }
    out
}

/// One aggregate per (dataset, method, chunking): the serial, warm-cache, fewest-threads
/// configuration when several exist — the study's conditions, so tables stay comparable.
pub fn primary(aggs: &[Aggregate]) -> Vec<Aggregate> {
    let mut best: BTreeMap<(String, String, String), &Aggregate> = BTreeMap::new();
    for a in aggs {
        let key = (a.dataset.clone(), a.study_method(), a.chunking.clone());
        let rank = |x: &Aggregate| (x.engine, x.cache, x.threads);
        match best.get(&key) {
            Some(b) if rank(b) <= rank(a) => {}
            _ => {
                best.insert(key, a);
            }
        }
    }
    best.into_values().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_matches_pandas_conventions() {
        let s = Summary::of(&[1.0, 2.0, 3.0, 10.0]).unwrap();
        assert_eq!(s.mean, 4.0);
        assert_eq!(s.median, 2.5);
        assert!((s.std - 4.08248290463863).abs() < 1e-14);
        assert!((s.cv_percent - 102.06207261596575).abs() < 1e-10);
        let one = Summary::of(&[5.0]).unwrap();
        assert!(one.std.is_nan());
        assert_eq!(one.median, 5.0);
        assert!(Summary::of(&[]).is_none());
    }
}
