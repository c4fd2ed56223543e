//! Per-configuration statistics over repeated runs: the study's `statistics.csv`.
//!
//! A polars query says what the table is: the measurements become a frame, grouped by
//! (dataset, method, chunking, engine, threads, cache), aggregated (n, mean, std, min, max,
//! median, CV per metric) and sorted by the key, so the output order is deterministic.
//! Statistics follow pandas: sample standard deviation (ddof = 1, NaN for one value), median
//! averaging the two middle values, CV % = std / mean · 100; the golden tests check every value of
//! the study's `statistics.csv` to 1e-9 relative. [`Summary::of`] is the same statistics on a
//! plain slice, for callers with a handful of values.

use crate::names::join_method;
use crate::record::{Cache, Engine, Measurement};
use polars::prelude::*;
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
    /// No values (a required metric of an empty group, which aggregation never makes).
    const EMPTY: Summary = Summary {
        n: 0,
        mean: f64::NAN,
        std: f64::NAN,
        min: f64::NAN,
        max: f64::NAN,
        median: f64::NAN,
        cv_percent: f64::NAN,
    };

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

/// Method names of the Zarr stores start with this; the rest is their HDF5 twin's name
/// (`zarr_blosc_zstd` ↔ `blosc_zstd`: the same codec with the same settings).
pub const ZARR_PREFIX: &str = "zarr_";

impl Aggregate {
    /// The study's method name, `<chunking>_<codec>`.
    pub fn study_method(&self) -> String {
        join_method(&self.chunking, &self.method)
    }

    /// Whether this configuration writes chunks (an HDF5 file or a Zarr store).
    pub fn is_chunked(&self) -> bool {
        self.chunking != crate::record::NO_CHUNKING
    }

    /// Whether this configuration writes an HDF5 file with chunks (what the study measured).
    pub fn is_hdf5(&self) -> bool {
        self.is_chunked() && !self.method.starts_with(ZARR_PREFIX)
    }
}

// Column names of the measurement frame, named once.
const DATASET: &str = "dataset";
const STUDY_METHOD: &str = "study_method";
const METHOD: &str = "method";
const CHUNKING: &str = "chunking";
const CHUNK_SHAPE: &str = "chunk_shape";
const ENGINE: &str = "engine";
const THREADS: &str = "threads";
const CACHE: &str = "cache";
const UNCOMPRESSED: &str = "uncompressed_bytes";
const LOSSLESS: &str = "lossless";
const RUNS: &str = "n_runs";
const VERIFIED: &str = "n_verified";
/// The summarised metrics, in [`Aggregate`]'s field order.
const METRICS: [&str; 6] = [
    "ratio",
    "file_mib",
    "write_s",
    "read_s",
    "write_gib_s",
    "read_gib_s",
];
/// The group key, in sort order (engines and caches sort by their enum order, as ranks).
const KEYS: [&str; 6] = [DATASET, STUDY_METHOD, CHUNKING, ENGINE, THREADS, CACHE];

fn engine_rank(e: Engine) -> u32 {
    match e {
        Engine::Serial => 0,
        Engine::Parallel => 1,
    }
}

fn cache_rank(c: Cache) -> u32 {
    match c {
        Cache::Warm => 0,
        Cache::Cold => 1,
    }
}

/// The measurements as a polars frame: one row per run, the group keys and the metrics.
fn frame(rows: &[Measurement]) -> PolarsResult<DataFrame> {
    let strs = |f: &dyn Fn(&Measurement) -> String| -> Vec<String> { rows.iter().map(f).collect() };
    let num = |f: &dyn Fn(&Measurement) -> Option<f64>| -> Vec<Option<f64>> {
        rows.iter().map(f).collect()
    };
    let columns = vec![
        Column::new(DATASET.into(), strs(&|m| m.dataset.clone())),
        Column::new(
            STUDY_METHOD.into(),
            strs(&|m| join_method(&m.chunking, &m.method)),
        ),
        Column::new(METHOD.into(), strs(&|m| m.method.clone())),
        Column::new(CHUNKING.into(), strs(&|m| m.chunking.clone())),
        Column::new(CHUNK_SHAPE.into(), strs(&|m| m.chunk_shape.clone())),
        Column::new(
            ENGINE.into(),
            rows.iter()
                .map(|m| engine_rank(m.engine))
                .collect::<Vec<u32>>(),
        ),
        Column::new(
            THREADS.into(),
            rows.iter().map(|m| m.threads).collect::<Vec<u32>>(),
        ),
        Column::new(
            CACHE.into(),
            rows.iter()
                .map(|m| cache_rank(m.cache))
                .collect::<Vec<u32>>(),
        ),
        Column::new(
            UNCOMPRESSED.into(),
            rows.iter()
                .map(|m| m.uncompressed_bytes)
                .collect::<Vec<u64>>(),
        ),
        Column::new(METRICS[0].into(), num(&|m| Some(m.ratio))),
        Column::new(METRICS[1].into(), num(&|m| Some(m.file_mib()))),
        Column::new(METRICS[2].into(), num(&|m| Some(m.write_s))),
        Column::new(METRICS[3].into(), num(&|m| m.read_s)),
        Column::new(METRICS[4].into(), num(&|m| m.write_gib_s)),
        Column::new(METRICS[5].into(), num(&|m| m.read_gib_s)),
        Column::new(
            LOSSLESS.into(),
            rows.iter()
                .map(|m| m.lossless)
                .collect::<Vec<Option<bool>>>(),
        ),
    ];
    DataFrame::new(rows.len(), columns)
}

/// `n`, mean, std (ddof = 1), min, max, median and CV % of `metric` over a group's non-null
/// values, as columns `<metric>_<stat>`.
fn summary_exprs(metric: &str) -> Vec<Expr> {
    let c = || col(metric);
    vec![
        c().count().alias(format!("{metric}_n")),
        c().mean().alias(format!("{metric}_mean")),
        c().std(1).alias(format!("{metric}_std")),
        c().min().alias(format!("{metric}_min")),
        c().max().alias(format!("{metric}_max")),
        c().median().alias(format!("{metric}_median")),
        (c().std(1) / c().mean() * lit(100.0)).alias(format!("{metric}_cv")),
    ]
}

/// The per-configuration statistics as a frame, one row per group, sorted by the key.
fn statistics(rows: &[Measurement]) -> PolarsResult<DataFrame> {
    let mut aggs = vec![
        len().alias(RUNS),
        col(METHOD).first(),
        col(CHUNK_SHAPE).first(),
        col(UNCOMPRESSED).first(),
        col(LOSSLESS).count().alias(VERIFIED),
        col(LOSSLESS).drop_nulls().all(true).alias(LOSSLESS),
    ];
    for m in METRICS {
        aggs.extend(summary_exprs(m));
    }
    frame(rows)?
        .lazy()
        .group_by(KEYS.map(col))
        .agg(aggs)
        .sort(
            KEYS,
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .collect()
}

/// Aggregate measurements per (dataset, method, chunking, engine, threads, cache), sorted by
/// dataset, then the study's method name, then engine/threads/cache.
pub fn aggregate(rows: &[Measurement]) -> Vec<Aggregate> {
    if rows.is_empty() {
        return Vec::new();
    }
    // The frame is built from typed records, so a polars error here is a bug, not bad input.
    let df = statistics(rows).expect("aggregating well-typed records");
    let s = |name: &str| -> Vec<String> {
        let c = df.column(name).expect("column present");
        c.str()
            .expect("a string column")
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect()
    };
    let u = |name: &str| -> Vec<u64> {
        let c = df
            .column(name)
            .expect("column present")
            .cast(&DataType::UInt64)
            .expect("unsigned");
        c.u64()
            .expect("u64")
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect()
    };
    let f = |name: &str| -> Vec<f64> {
        let c = df
            .column(name)
            .expect("column present")
            .cast(&DataType::Float64)
            .expect("float");
        c.f64()
            .expect("f64")
            .iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect()
    };
    let lossless: Vec<Option<bool>> = df
        .column(LOSSLESS)
        .expect("column present")
        .bool()
        .expect("a boolean column")
        .iter()
        .collect();
    let (dataset, method, chunking, chunk_shape) =
        (s(DATASET), s(METHOD), s(CHUNKING), s(CHUNK_SHAPE));
    let (engine, threads, cache) = (u(ENGINE), u(THREADS), u(CACHE));
    let (uncompressed, runs, verified) = (u(UNCOMPRESSED), u(RUNS), u(VERIFIED));
    let stats: Vec<Vec<Option<Summary>>> = METRICS
        .iter()
        .map(|m| {
            let n = u(&format!("{m}_n"));
            let [mean, std, min, max, median, cv] =
                ["mean", "std", "min", "max", "median", "cv"].map(|st| f(&format!("{m}_{st}")));
            (0..df.height())
                .map(|i| {
                    (n[i] > 0).then(|| Summary {
                        n: n[i] as usize,
                        mean: mean[i],
                        std: std[i],
                        min: min[i],
                        max: max[i],
                        median: median[i],
                        cv_percent: cv[i],
                    })
                })
                .collect()
        })
        .collect();
    let required = |m: usize, i: usize| stats[m][i].unwrap_or(Summary::EMPTY);
    (0..df.height())
        .map(|i| Aggregate {
            dataset: dataset[i].clone(),
            method: method[i].clone(),
            chunking: chunking[i].clone(),
            chunk_shape: chunk_shape[i].clone(),
            engine: if engine[i] == 0 {
                Engine::Serial
            } else {
                Engine::Parallel
            },
            threads: threads[i] as u32,
            cache: if cache[i] == 0 {
                Cache::Warm
            } else {
                Cache::Cold
            },
            uncompressed_bytes: uncompressed[i],
            n_runs: runs[i] as usize,
            ratio: required(0, i),
            file_mib: required(1, i),
            write_s: required(2, i),
            read_s: stats[3][i],
            write_gib_s: stats[4][i],
            read_gib_s: stats[5][i],
            lossless: if verified[i] == 0 { None } else { lossless[i] },
        })
        .collect()
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
