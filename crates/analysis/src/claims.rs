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
            lz4_vs_gzip9_write_speedup_geomean: if lz4.is_empty() {
                None
            } else {
                Some((lz4.iter().map(|v| v.ln()).sum::<f64>() / lz4.len() as f64).exp())
            },
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
