//! The study's headline claims, recomputed as numbers from aggregates.
//!
//! [`ClaimNumbers::compute`] derives the quantities behind each claim (balanced chunking, per
//! dataset, then the range across datasets). [`compare`] sets them beside the stated values:
//! the abstract's "19–69× faster writes" (blosc_zstd vs gzip_9) is a stated number; for the
//! other claims the paper gives no single number here, so the stated value is the one computed
//! from the study's own records. Tolerances: stated integers hold within ±1 (they are rounded);
//! compression-ratio claims within 5 % relative (ratios are deterministic); speed claims within
//! 50 % relative (they depend on the machine); categorical claims exactly.

use crate::aggregate::Aggregate;
use crate::tables::mean_over_datasets;
use serde::Serialize;
use std::collections::BTreeMap;
use stemz_record::catalogue::{self, name as n};

/// A range across datasets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Range {
    pub lo: f64,
    pub hi: f64,
}

impl Range {
    fn of(v: &[f64]) -> Option<Range> {
        if v.is_empty() {
            return None;
        }
        Some(Range {
            lo: v.iter().copied().fold(f64::INFINITY, f64::min),
            hi: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }
}

/// The numbers behind the claims. `None` when the records lack a method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClaimNumbers {
    /// ratio(blosc_zstd) / ratio(gzip_9) per dataset.
    pub zstd_vs_gzip9_ratio: Option<Range>,
    /// write_s(gzip_9) / write_s(blosc_zstd) per dataset.
    pub zstd_vs_gzip9_write_speedup: Option<Range>,
    /// read_s(gzip_9) / read_s(blosc_zstd) per dataset.
    pub zstd_vs_gzip9_read_speedup: Option<Range>,
    /// write_s(gzip_9) / write_s(blosc_lz4) per dataset.
    pub lz4_vs_gzip9_write_speedup: Option<Range>,
    /// Geometric mean over datasets of the above.
    pub lz4_vs_gzip9_write_speedup_geomean: Option<f64>,
    /// Codec with the highest balanced mean ratio averaged over datasets, among the study's
    /// methods (so a run that adds newer codecs still answers the study's question).
    pub best_ratio_method: Option<String>,
}

const CHUNKING: &str = catalogue::BALANCED;

/// Per dataset, `f(numerator aggregate) / f(denominator aggregate)` for balanced chunking.
fn per_dataset(
    aggs: &[Aggregate],
    num: &str,
    den: &str,
    f: impl Fn(&Aggregate) -> Option<f64>,
) -> Vec<f64> {
    let mut by: BTreeMap<&str, (Option<f64>, Option<f64>)> = BTreeMap::new();
    for a in aggs.iter().filter(|a| a.chunking == CHUNKING) {
        let e = by.entry(a.dataset.as_str()).or_default();
        if a.method == num {
            e.0 = f(a);
        }
        if a.method == den {
            e.1 = f(a);
        }
    }
    by.values()
        .filter_map(|(n, d)| Some(n.as_ref()? / d.as_ref()?))
        .filter(|v| v.is_finite())
        .collect()
}

impl ClaimNumbers {
    /// Compute from (primary) aggregates.
    pub fn compute(aggs: &[Aggregate]) -> ClaimNumbers {
        let (gzip9, zstd, lz4) = (n::GZIP_9, n::BLOSC_ZSTD, n::BLOSC_LZ4);
        let lz4 = per_dataset(aggs, gzip9, lz4, |a| Some(a.write_s.mean));
        ClaimNumbers {
            zstd_vs_gzip9_ratio: Range::of(&per_dataset(aggs, zstd, gzip9, |a| Some(a.ratio.mean))),
            zstd_vs_gzip9_write_speedup: Range::of(&per_dataset(aggs, gzip9, zstd, |a| {
                Some(a.write_s.mean)
            })),
            zstd_vs_gzip9_read_speedup: Range::of(&per_dataset(aggs, gzip9, zstd, |a| {
                a.read_s.map(|s| s.mean)
            })),
            lz4_vs_gzip9_write_speedup: Range::of(&lz4),
            lz4_vs_gzip9_write_speedup_geomean: geomean(lz4.iter().copied()),
            best_ratio_method: {
                let study: Vec<String> = catalogue::study_hdf5()
                    .map(|m| m.name.to_string())
                    .collect();
                // A failed table query is a bug, not bad input: it leaves the claim unmeasured.
                mean_over_datasets(aggs, CHUNKING)
                    .unwrap_or_default()
                    .into_iter()
                    .find(|(m, _)| study.contains(m))
                    .map(|(m, _)| m)
            },
        }
    }
}

/// A claim's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ClaimValue {
    Range(Range),
    Number(f64),
    Label(String),
    Missing,
}

/// One headline claim: what is stated, what the records give, and whether it holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claim {
    pub id: String,
    pub statement: String,
    /// Where the stated value comes from: `abstract` or `study records`.
    pub source: String,
    pub stated: ClaimValue,
    pub ours: ClaimValue,
    /// Human-readable tolerance rule.
    pub tolerance: String,
    pub holds: bool,
}

fn range_v(r: Option<Range>) -> ClaimValue {
    r.map_or(ClaimValue::Missing, ClaimValue::Range)
}

fn num_v(x: Option<f64>) -> ClaimValue {
    x.map_or(ClaimValue::Missing, ClaimValue::Number)
}

fn rel_close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs()
}

fn holds_rel(stated: &ClaimValue, ours: &ClaimValue, rel: f64) -> bool {
    match (stated, ours) {
        (ClaimValue::Range(s), ClaimValue::Range(o)) => {
            rel_close(o.lo, s.lo, rel) && rel_close(o.hi, s.hi, rel)
        }
        (ClaimValue::Number(s), ClaimValue::Number(o)) => rel_close(*o, *s, rel),
        (ClaimValue::Label(s), ClaimValue::Label(o)) => s == o,
        _ => false,
    }
}

/// The abstract's stated write speed-up of blosc_zstd over gzip_9.
pub const ABSTRACT_WRITE_SPEEDUP: Range = Range { lo: 19.0, hi: 69.0 };

/// Set `ours` beside the stated values (`study`: the numbers from the study's records).
pub fn compare(study: &ClaimNumbers, ours: &ClaimNumbers) -> Vec<Claim> {
    let mut out = Vec::new();
    let mut push =
        |id: &str, statement: &str, source: &str, stated, ours, tolerance: &str, holds| {
            out.push(Claim {
                id: id.into(),
                statement: statement.into(),
                source: source.into(),
                stated,
                ours,
                tolerance: tolerance.into(),
                holds,
            })
        };
    let ours_w = range_v(ours.zstd_vs_gzip9_write_speedup);
    let abstract_holds = ours.zstd_vs_gzip9_write_speedup.is_some_and(|o| {
        (o.lo - ABSTRACT_WRITE_SPEEDUP.lo).abs() <= 1.0
            && (o.hi - ABSTRACT_WRITE_SPEEDUP.hi).abs() <= 1.0
    });
    push(
        "zstd-write-speedup-abstract",
        "Blosc-zstd writes 19–69× faster than gzip-9 (balanced chunking, range over datasets)",
        "abstract",
        ClaimValue::Range(ABSTRACT_WRITE_SPEEDUP),
        ours_w.clone(),
        "each end within ±1 (stated values are rounded integers)",
        abstract_holds,
    );
    let specs: [(&str, &str, ClaimValue, ClaimValue, f64); 5] = [
        (
            "zstd-write-speedup",
            "Blosc-zstd write speed-up over gzip-9 (range over datasets)",
            range_v(study.zstd_vs_gzip9_write_speedup),
            ours_w,
            0.5,
        ),
        (
            "zstd-ratio-vs-gzip9",
            "Blosc-zstd compresses as well as gzip-9 (ratio of ratios, range over datasets)",
            range_v(study.zstd_vs_gzip9_ratio),
            range_v(ours.zstd_vs_gzip9_ratio),
            0.05,
        ),
        (
            "zstd-read-speedup",
            "Blosc-zstd read speed-up over gzip-9 (range over datasets)",
            range_v(study.zstd_vs_gzip9_read_speedup),
            range_v(ours.zstd_vs_gzip9_read_speedup),
            0.5,
        ),
        (
            "lz4-write-speedup",
            "Blosc-lz4 write speed-up over gzip-9 (range over datasets)",
            range_v(study.lz4_vs_gzip9_write_speedup),
            range_v(ours.lz4_vs_gzip9_write_speedup),
            0.5,
        ),
        (
            "lz4-write-speedup-geomean",
            "Blosc-lz4 write speed-up over gzip-9 (geometric mean over datasets)",
            num_v(study.lz4_vs_gzip9_write_speedup_geomean),
            num_v(ours.lz4_vs_gzip9_write_speedup_geomean),
            0.5,
        ),
    ];
    for (id, statement, stated, ours_v, rel) in specs {
        let holds = holds_rel(&stated, &ours_v, rel);
        push(
            id,
            statement,
            "study records",
            stated,
            ours_v,
            &format!("within {:.0} % relative", rel * 100.0),
            holds,
        );
    }
    let label = |m: &Option<String>| m.clone().map_or(ClaimValue::Missing, ClaimValue::Label);
    let (s, o) = (
        label(&study.best_ratio_method),
        label(&ours.best_ratio_method),
    );
    let holds = holds_rel(&s, &o, 0.0);
    push(
        "best-ratio-method",
        "Highest mean compression ratio over datasets (balanced chunking)",
        "study records",
        s,
        o,
        "same method",
        holds,
    );
    out
}

/// Which side of a claim a measurement stands on: its numerator or denominator method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhyRow {
    pub dataset: String,
    /// Sparsity fraction of the study's dataset and of ours.
    pub sparsity: (Option<f64>, Option<f64>),
    /// The numerator method's quantity: (study, ours).
    pub num: (Option<f64>, Option<f64>),
    /// The denominator method's quantity: (study, ours).
    pub den: (Option<f64>, Option<f64>),
    /// The two methods' compression ratios, (study, ours) each: how alike the data are.
    pub num_ratio: (Option<f64>, Option<f64>),
    pub den_ratio: (Option<f64>, Option<f64>),
}

impl WhyRow {
    /// The claim's quotient here over the study's on this dataset (ours / study's of
    /// numerator / denominator).
    pub fn quotient_factor(&self) -> Option<f64> {
        let f = |(s, o): (Option<f64>, Option<f64>)| Some(o? / s?);
        Some(f(self.num)? / f(self.den)?).filter(|x| x.is_finite())
    }
}

/// The measurements behind a claim, per dataset, ours beside the study's, and what they say
/// about why the claim's numbers differ: the machine (throughputs) or the data (ratios).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Why {
    pub claim_id: String,
    /// The quantity compared, with its unit (`write GiB/s`, `ratio`).
    pub quantity: &'static str,
    /// The methods whose quotient the claim is (numerator / denominator of `quantity`).
    pub numerator: String,
    pub denominator: String,
    pub rows: Vec<WhyRow>,
    /// Geometric means over datasets of ours / study's, for the numerator and denominator.
    pub num_factor: Option<f64>,
    pub den_factor: Option<f64>,
}

fn geomean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let logs: Vec<f64> = v
        .filter(|x| x.is_finite() && *x > 0.0)
        .map(f64::ln)
        .collect();
    (!logs.is_empty()).then(|| (logs.iter().sum::<f64>() / logs.len() as f64).exp())
}

/// The evidence behind claim `id` from the study's and our (primary) aggregates and dataset
/// sparsities (`(dataset, sparsity fraction)`); `None` for a claim without a per-dataset
/// quotient.
pub fn why(
    id: &str,
    study: (&[Aggregate], &[(String, f64)]),
    ours: (&[Aggregate], &[(String, f64)]),
    best_methods: (Option<&str>, Option<&str>),
) -> Option<Why> {
    let write = |a: &Aggregate| a.write_gib_s.map(|s| s.mean);
    let read = |a: &Aggregate| a.read_gib_s.map(|s| s.mean);
    let ratio = |a: &Aggregate| Some(a.ratio.mean);
    type Get = fn(&Aggregate) -> Option<f64>;
    let (quantity, num, den, get): (&'static str, String, String, Get) = match id {
        "zstd-write-speedup-abstract" | "zstd-write-speedup" => {
            ("write GiB/s", n::BLOSC_ZSTD.into(), n::GZIP_9.into(), write)
        }
        "zstd-read-speedup" => ("read GiB/s", n::BLOSC_ZSTD.into(), n::GZIP_9.into(), read),
        "lz4-write-speedup" | "lz4-write-speedup-geomean" => {
            ("write GiB/s", n::BLOSC_LZ4.into(), n::GZIP_9.into(), write)
        }
        "zstd-ratio-vs-gzip9" => ("ratio", n::BLOSC_ZSTD.into(), n::GZIP_9.into(), ratio),
        "best-ratio-method" => {
            let (s, o) = best_methods;
            ("ratio", o?.to_string(), s?.to_string(), ratio)
        }
        _ => return None,
    };
    let value_of = |aggs: &[Aggregate], ds: &str, m: &str, get: Get| {
        aggs.iter()
            .find(|a| a.dataset == ds && a.method == m && a.chunking == CHUNKING)
            .and_then(get)
    };
    let value = |aggs: &[Aggregate], ds: &str, m: &str| value_of(aggs, ds, m, get);
    let sparsity = |s: &[(String, f64)], ds: &str| s.iter().find(|(d, _)| d == ds).map(|x| x.1);
    let mut datasets: Vec<&str> = ours
        .0
        .iter()
        .filter(|a| a.chunking == CHUNKING && (a.method == num || a.method == den))
        .map(|a| a.dataset.as_str())
        .collect();
    datasets.sort();
    datasets.dedup();
    let rows: Vec<WhyRow> = datasets
        .into_iter()
        .map(|ds| WhyRow {
            dataset: ds.to_string(),
            sparsity: (sparsity(study.1, ds), sparsity(ours.1, ds)),
            num: (value(study.0, ds, &num), value(ours.0, ds, &num)),
            den: (value(study.0, ds, &den), value(ours.0, ds, &den)),
            num_ratio: (
                value_of(study.0, ds, &num, ratio),
                value_of(ours.0, ds, &num, ratio),
            ),
            den_ratio: (
                value_of(study.0, ds, &den, ratio),
                value_of(ours.0, ds, &den, ratio),
            ),
        })
        .collect();
    let factor = |pick: fn(&WhyRow) -> (Option<f64>, Option<f64>)| {
        geomean(rows.iter().filter_map(|r| {
            let (s, o) = pick(r);
            Some(o? / s?)
        }))
    };
    Some(Why {
        claim_id: id.to_string(),
        quantity,
        num_factor: factor(|r| r.num),
        den_factor: factor(|r| r.den),
        numerator: num,
        denominator: den,
        rows,
    })
}

#[cfg(test)]
mod why_tests {
    use super::*;
    use crate::aggregate::Summary;
    use crate::record::{Cache, Engine};

    fn agg(ds: &str, method: &str, ratio: f64, write_gib_s: f64) -> Aggregate {
        let s = |mean: f64| Summary {
            n: 1,
            mean,
            std: f64::NAN,
            min: mean,
            max: mean,
            median: mean,
            cv_percent: f64::NAN,
        };
        Aggregate {
            dataset: ds.into(),
            method: method.into(),
            chunking: CHUNKING.into(),
            chunk_shape: String::new(),
            engine: Engine::Serial,
            threads: 1,
            cache: Cache::Warm,
            uncompressed_bytes: 1 << 30,
            n_runs: 1,
            ratio: s(ratio),
            file_mib: s(1024.0 / ratio),
            write_s: s(1.0 / write_gib_s),
            read_s: None,
            write_gib_s: Some(s(write_gib_s)),
            read_gib_s: None,
            lossless: Some(true),
        }
    }

    #[test]
    fn a_speed_claim_is_traced_to_each_methods_throughput_here_and_in_the_study() {
        let study = [
            agg("a", "gzip_9", 10.0, 0.05),
            agg("a", "blosc_zstd", 10.0, 2.0),
        ];
        // gzip-9 twice as fast here, blosc_zstd the same: the speed-up halves.
        let ours = [
            agg("a", "gzip_9", 10.0, 0.10),
            agg("a", "blosc_zstd", 9.0, 2.0),
        ];
        let sp = [("a".to_string(), 0.9)];
        let w = why(
            "zstd-write-speedup",
            (&study, &sp),
            (&ours, &sp),
            (None, None),
        )
        .unwrap();
        assert_eq!(
            (w.numerator.as_str(), w.denominator.as_str()),
            ("blosc_zstd", "gzip_9")
        );
        assert_eq!(w.rows.len(), 1);
        assert!((w.den_factor.unwrap() - 2.0).abs() < 1e-12);
        assert!((w.num_factor.unwrap() - 1.0).abs() < 1e-12);
        assert!((w.rows[0].quotient_factor().unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(w.rows[0].num_ratio, (Some(10.0), Some(9.0)));
        let r = why(
            "zstd-ratio-vs-gzip9",
            (&study, &sp),
            (&ours, &sp),
            (None, None),
        )
        .unwrap();
        assert_eq!(r.quantity, "ratio");
        assert!((r.num_factor.unwrap() - 0.9).abs() < 1e-12);
        assert!(why("no-such-claim", (&study, &sp), (&ours, &sp), (None, None)).is_none());
    }
}
