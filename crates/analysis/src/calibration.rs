//! Calibration of the synthetic datasets against the study: the study's reference numbers, the
//! criteria a synthetic dataset must meet, and the calibration record.
//!
//! Pure, like the rest of this crate. The study's files are read by [`crate::study`]'s readers
//! (the one reader of them, and its one sparsity definition: zero count / element count). The
//! measurements come in as a [`CalibrationRecord`], the machine-independent numbers `stemz
//! calibrate` measured (statistics and compressed sizes, no timings), committed as
//! `data/calibration/<scale>.toml`; [`CalibrationReport::evaluate`] applies the criteria, and
//! `stemz-report` renders the result as `paper/calibration.md` (and checks it is fresh).
//!
//! The criteria (issue "calibration"):
//! - sparsity within ±0.5 pp of `dataset_inventory.csv`;
//! - dtype and maximum equal to the study's;
//! - best compression ratio over the study's HDF5 methods with balanced chunking within ±20 % of
//!   Table 3's best (which is over all chunkings; the study's balanced best is shown beside it);
//! - Spearman rank correlation ≥ 0.8 between our ratios and the study's balanced mean ratios;
//! - optionally, `small` against `paper` scale: sparsity within 0.3 pp, best ratio within 3 %.

use crate::study::{read_balanced_means, read_inventory, read_table3_best};
use crate::{AnalysisError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Sparsity tolerance against the study, in fractions (0.5 percentage points).
pub const SPARSITY_TOLERANCE: f64 = 0.005;
/// Relative tolerance of the best ratio against Table 3.
pub const BEST_RATIO_TOLERANCE: f64 = 0.20;
/// Minimum Spearman rank correlation with the study's balanced ratios.
pub const MIN_SPEARMAN: f64 = 0.8;
/// `small` vs `paper` scale: sparsity tolerance (0.3 pp) and best-ratio relative tolerance.
pub const SCALE_SPARSITY_TOLERANCE: f64 = 0.003;
pub const SCALE_BEST_RATIO_TOLERANCE: f64 = 0.03;

/// The study's file names inside its directory.
pub const INVENTORY_CSV: &str = "dataset_inventory.csv";
pub const TABLE3_CSV: &str = "Table3_dataset_summary.csv";
pub const STATISTICS_CSV: &str = "statistics.csv";

/// What the study published about one dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyDataset {
    pub name: String,
    /// The study's dtype spelling (`uint16`, `float32`).
    pub dtype: String,
    pub n_elements: u64,
    /// Zero fraction.
    pub sparsity: f64,
    pub max_value: f64,
    pub count_gt_4095: u64,
    pub count_gt_16383: u64,
    /// Table 3's best mean ratio (over all chunkings) and the method that reached it.
    pub table3_best: f64,
    pub table3_method: String,
    /// Mean compression ratio per codec with balanced chunking (`statistics.csv`,
    /// `balanced_<codec>` rows), keyed by codec name (`blosc_zstd`).
    pub balanced: BTreeMap<String, f64>,
}

impl StudyDataset {
    /// The study's best balanced ratio and its codec.
    pub fn balanced_best(&self) -> Option<(&str, f64)> {
        best_of(self.balanced.iter().map(|(k, v)| (k.as_str(), *v)))
    }
}

/// The study's reference numbers for all its datasets, in inventory order.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyReference {
    pub datasets: Vec<StudyDataset>,
}

impl StudyReference {
    /// Read `dataset_inventory.csv`, `Table3_dataset_summary.csv` and `statistics.csv` from the
    /// study's directory.
    pub fn load(dir: &Path) -> Result<StudyReference> {
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read_to_string(&p)
                .map_err(|e| AnalysisError::Study(format!("{}: {e}", p.display())))
        };
        StudyReference::parse(
            &read(INVENTORY_CSV)?,
            &read(TABLE3_CSV)?,
            &read(STATISTICS_CSV)?,
        )
    }

    /// The study's files compiled into this build ([`crate::study::bundled`]).
    pub fn bundled() -> Result<StudyReference> {
        use crate::study::bundled;
        StudyReference::parse(bundled::INVENTORY, bundled::TABLE3, bundled::STATISTICS)
    }

    /// Parse the three files' texts. Every inventory dataset must have a Table 3 row and
    /// balanced rows in the statistics.
    pub fn parse(inventory: &str, table3: &str, statistics: &str) -> Result<StudyReference> {
        let mut best = read_table3_best(table3.as_bytes())?;
        let mut balanced = read_balanced_means(statistics.as_bytes())?;
        let mut datasets = Vec::new();
        for rec in read_inventory(inventory.as_bytes())? {
            let name = rec.dataset;
            let (table3_best, table3_method) = best.remove(&name).ok_or_else(|| {
                AnalysisError::Study(format!("{TABLE3_CSV}: no row for dataset {name}"))
            })?;
            let bal = balanced.remove(&name).ok_or_else(|| {
                AnalysisError::Study(format!(
                    "{STATISTICS_CSV}: no balanced_* rows for dataset {name}"
                ))
            })?;
            datasets.push(StudyDataset {
                dtype: rec.dtype,
                n_elements: rec.uncompressed_bytes / u64::from(rec.itemsize.max(1)),
                sparsity: rec.sparsity,
                max_value: rec.max,
                count_gt_4095: rec.count_gt_4095,
                count_gt_16383: rec.count_gt_16383,
                table3_best,
                table3_method,
                balanced: bal,
                name,
            });
        }
        if datasets.is_empty() {
            return Err(AnalysisError::Study(format!(
                "{INVENTORY_CSV}: no datasets"
            )));
        }
        Ok(StudyReference { datasets })
    }

    pub fn dataset(&self, name: &str) -> Result<&StudyDataset> {
        self.datasets
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| AnalysisError::Study(format!("{INVENTORY_CSV}: no dataset {name}")))
    }
}

/// One method's measured compression ratio (uncompressed bytes / file bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodRatio {
    /// The study's codec name (`blosc_zstd`).
    pub method: String,
    pub ratio: f64,
}

/// What was measured on one synthetic dataset at one scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    pub name: String,
    pub scale: String,
    pub shape: [usize; 4],
    /// NumPy's name of the element type (`uint16`, `float32`), as the study spells it.
    pub dtype: String,
    pub count: u64,
    /// Zero fraction: zero count / element count.
    pub sparsity: f64,
    pub max: Option<f64>,
    pub above_4095: u64,
    pub above_16383: u64,
    /// Balanced chunking, in the order measured.
    pub ratios: Vec<MethodRatio>,
}

impl Measured {
    /// The best measured ratio and its method.
    pub fn best(&self) -> Option<(&str, f64)> {
        best_of(self.ratios.iter().map(|r| (r.method.as_str(), r.ratio)))
    }
}

/// The largest value and its key; the first one on ties, NaNs skipped.
fn best_of<'a>(it: impl Iterator<Item = (&'a str, f64)>) -> Option<(&'a str, f64)> {
    it.filter(|(_, v)| !v.is_nan())
        .fold(None, |acc, (k, v)| match acc {
            Some((_, b)) if b >= v => acc,
            _ => Some((k, v)),
        })
}

/// Ranks 1..=n of `x` in ascending order, ties getting the average of their ranks.
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        // Positions i..=j share the mean of ranks i+1..=j+1.
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

/// Spearman's rank correlation: Pearson's correlation of the average ranks (so ties are handled
/// exactly). `None` when the lengths differ, there are fewer than two pairs, or one side is
/// constant (undefined).
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 2 || a.iter().chain(b).any(|v| v.is_nan()) {
        return None;
    }
    let (ra, rb) = (average_ranks(a), average_ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    if va == 0.0 || vb == 0.0 {
        return None;
    }
    Some(cov / (va * vb).sqrt())
}

/// One criterion's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Criterion {
    pub name: String,
    pub target: String,
    pub achieved: String,
    pub pass: bool,
}

/// A value with enough digits to show small differences, without trailing noise.
pub fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

pub fn signed_num(v: f64) -> String {
    if v >= 0.0 {
        format!("+{}", num(v))
    } else {
        num(v)
    }
}

pub fn pct(fraction: f64) -> String {
    format!("{:.2} %", 100.0 * fraction)
}

pub fn signed_pct(rel: f64) -> String {
    format!("{:+.1} %", 100.0 * rel)
}

/// Evaluate the calibration criteria of one measured dataset against the study.
pub fn evaluate(m: &Measured, s: &StudyDataset) -> Vec<Criterion> {
    let mut out = Vec::new();

    let dsp = m.sparsity - s.sparsity;
    out.push(Criterion {
        name: "sparsity".into(),
        target: format!("{} ± {:.1} pp", pct(s.sparsity), 100.0 * SPARSITY_TOLERANCE),
        achieved: format!("{} ({:+.3} pp)", pct(m.sparsity), 100.0 * dsp),
        // A hair of slack so that exactly 0.5 pp passes despite rounding.
        pass: dsp.abs() <= SPARSITY_TOLERANCE + 1e-12,
    });

    out.push(Criterion {
        name: "dtype".into(),
        target: s.dtype.clone(),
        achieved: m.dtype.clone(),
        pass: m.dtype == s.dtype,
    });

    let (achieved, pass) = match m.max {
        Some(v) if v == s.max_value => (format!("{} (exact)", num(v)), true),
        Some(v) => (
            format!("{} ({} vs study)", num(v), signed_num(v - s.max_value)),
            false,
        ),
        None => ("no values".to_owned(), false),
    };
    out.push(Criterion {
        name: "maximum".into(),
        target: num(s.max_value),
        achieved,
        pass,
    });

    let study_bal = s
        .balanced_best()
        .map(|(k, v)| format!("; study balanced best {v:.2} {k}"))
        .unwrap_or_default();
    let (achieved, pass) = match m.best() {
        Some((k, v)) => {
            let rel = v / s.table3_best - 1.0;
            (
                format!("{v:.2} {k} ({})", signed_pct(rel)),
                rel.abs() <= BEST_RATIO_TOLERANCE + 1e-12,
            )
        }
        None => ("no methods measured".to_owned(), false),
    };
    out.push(Criterion {
        name: "best ratio, balanced".into(),
        target: format!(
            "{:.2} ± {:.0} % (Table 3, {}{study_bal})",
            s.table3_best,
            100.0 * BEST_RATIO_TOLERANCE,
            s.table3_method
        ),
        achieved,
        pass,
    });

    let (ours, theirs) = paired_ratios(m, s);
    let rho = spearman(&ours, &theirs);
    out.push(Criterion {
        name: format!("Spearman ρ ({} methods)", ours.len()),
        target: format!("≥ {MIN_SPEARMAN:.2}"),
        achieved: rho.map_or_else(|| "undefined".to_owned(), |r| format!("{r:.3}")),
        pass: rho.is_some_and(|r| r >= MIN_SPEARMAN),
    });
    out
}

/// Our ratios and the study's balanced means for the methods both have, in measured order.
pub fn paired_ratios(m: &Measured, s: &StudyDataset) -> (Vec<f64>, Vec<f64>) {
    m.ratios
        .iter()
        .filter_map(|r| s.balanced.get(&r.method).map(|&t| (r.ratio, t)))
        .unzip()
}

/// `small` against `paper` scale of the same dataset: the statistics must not drift with scale.
pub fn compare_scales(small: &Measured, paper: &Measured) -> Vec<Criterion> {
    let dsp = small.sparsity - paper.sparsity;
    let mut out = vec![Criterion {
        name: "sparsity, small vs paper".into(),
        target: format!("± {:.1} pp", 100.0 * SCALE_SPARSITY_TOLERANCE),
        achieved: format!(
            "{} vs {} ({:+.3} pp)",
            pct(small.sparsity),
            pct(paper.sparsity),
            100.0 * dsp
        ),
        pass: dsp.abs() <= SCALE_SPARSITY_TOLERANCE + 1e-12,
    }];
    let (achieved, pass) = match (small.best(), paper.best()) {
        (Some((ks, s)), Some((kp, p))) => {
            let rel = s / p - 1.0;
            (
                format!("{s:.2} {ks} vs {p:.2} {kp} ({})", signed_pct(rel)),
                rel.abs() <= SCALE_BEST_RATIO_TOLERANCE + 1e-12,
            )
        }
        _ => ("no methods measured".to_owned(), false),
    };
    out.push(Criterion {
        name: "best ratio, small vs paper".into(),
        target: format!("± {:.0} %", 100.0 * SCALE_BEST_RATIO_TOLERANCE),
        achieved,
        pass,
    });
    out
}

/// One dataset's measurement, the study's numbers and the criteria.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetCalibration {
    pub measured: Measured,
    pub study: StudyDataset,
    pub criteria: Vec<Criterion>,
}

impl DatasetCalibration {
    pub fn new(measured: Measured, study: StudyDataset) -> Self {
        let criteria = evaluate(&measured, &study);
        DatasetCalibration {
            measured,
            study,
            criteria,
        }
    }

    pub fn passed(&self) -> usize {
        self.criteria.iter().filter(|c| c.pass).count()
    }

    /// One line for the terminal.
    pub fn summary_line(&self) -> String {
        let failed: Vec<&str> = self
            .criteria
            .iter()
            .filter(|c| !c.pass)
            .map(|c| c.name.as_str())
            .collect();
        let best = self
            .measured
            .best()
            .map(|(k, v)| format!("{v:.2} {k}"))
            .unwrap_or_else(|| "-".into());
        format!(
            "{} [{}]: sparsity {} (study {}), best ratio {best} (Table 3 {:.2}); {}/{} criteria pass{}",
            self.measured.name,
            self.measured.scale,
            pct(self.measured.sparsity),
            pct(self.study.sparsity),
            self.study.table3_best,
            self.passed(),
            self.criteria.len(),
            if failed.is_empty() {
                String::new()
            } else {
                format!(" (fail: {})", failed.join(", "))
            }
        )
    }
}

/// The small-vs-paper comparison of one dataset, or why it was not made.
#[derive(Debug, Clone, PartialEq)]
pub enum ScaleComparison {
    Compared {
        dataset: String,
        paper: Measured,
        criteria: Vec<Criterion>,
    },
    Skipped {
        dataset: String,
        reason: String,
    },
}

/// Everything `paper/calibration.md` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationReport {
    pub scale: String,
    pub datasets: Vec<DatasetCalibration>,
    /// Present when `--compare-paper` was asked for.
    pub comparison: Option<Vec<ScaleComparison>>,
}

/// The other scale of one dataset in a record: its measurement, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OtherScale {
    pub dataset: String,
    /// The dataset measured at the other scale (`paper` for a `small` record and the reverse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<Measured>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// What `stemz calibrate` measured: machine-independent numbers only, so the same data give
/// the same record on any machine (committed as `data/calibration/<scale>.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationRecord {
    pub scale: String,
    pub datasets: Vec<Measured>,
    /// Present when `--compare-paper` was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Vec<OtherScale>>,
}

impl CalibrationRecord {
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self)
            .map_err(|e| AnalysisError::Missing(format!("calibration record: {e}")))
    }

    pub fn from_toml(text: &str) -> Result<CalibrationRecord> {
        toml::from_str(text).map_err(|e| AnalysisError::Missing(format!("calibration record: {e}")))
    }
}

impl CalibrationReport {
    /// Apply the criteria to a record against the study's numbers.
    pub fn evaluate(record: &CalibrationRecord, study: &StudyReference) -> Result<Self> {
        let datasets = record
            .datasets
            .iter()
            .map(|m| {
                Ok(DatasetCalibration::new(
                    m.clone(),
                    study.dataset(&m.name)?.clone(),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let compare = |o: &OtherScale| {
            let here = record.datasets.iter().find(|m| m.name == o.dataset);
            match (&o.other, here) {
                (Some(other), Some(here)) => {
                    let (small, paper) = if record.scale == "paper" {
                        (other, here)
                    } else {
                        (here, other)
                    };
                    ScaleComparison::Compared {
                        dataset: o.dataset.clone(),
                        paper: paper.clone(),
                        criteria: compare_scales(small, paper),
                    }
                }
                _ => ScaleComparison::Skipped {
                    dataset: o.dataset.clone(),
                    reason: o.skipped.clone().unwrap_or_else(|| "not measured".into()),
                },
            }
        };
        let comparison = record
            .comparison
            .as_ref()
            .map(|others| others.iter().map(compare).collect());
        Ok(CalibrationReport {
            scale: record.scale.clone(),
            datasets,
            comparison,
        })
    }

    /// Criteria passed and in all.
    pub fn tally(&self) -> (usize, usize) {
        (
            self.datasets.iter().map(|d| d.passed()).sum(),
            self.datasets.iter().map(|d| d.criteria.len()).sum(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn study() -> StudyDataset {
        StudyDataset {
            name: "4D_X".into(),
            dtype: "uint16".into(),
            n_elements: 1000,
            sparsity: 0.75,
            max_value: 4016.0,
            count_gt_4095: 0,
            count_gt_16383: 0,
            table3_best: 10.0,
            table3_method: "blosc_zstd (real-space)".into(),
            balanced: [("none", 1.0), ("gzip_6", 6.0), ("blosc_zstd", 9.5)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        }
    }

    fn measured(sparsity: f64, max: f64, ratios: &[(&str, f64)]) -> Measured {
        Measured {
            name: "4D_X".into(),
            scale: "small".into(),
            shape: [2, 2, 4, 4],
            dtype: "uint16".into(),
            count: 64,
            sparsity,
            max: Some(max),
            above_4095: 0,
            above_16383: 0,
            ratios: ratios
                .iter()
                .map(|&(m, r)| MethodRatio {
                    method: m.into(),
                    ratio: r,
                })
                .collect(),
        }
    }

    fn by_name<'a>(c: &'a [Criterion], prefix: &str) -> &'a Criterion {
        c.iter().find(|c| c.name.starts_with(prefix)).unwrap()
    }

    #[test]
    fn average_ranks_share_tied_positions() {
        assert_eq!(average_ranks(&[3.0, 1.0, 2.0]), vec![3.0, 1.0, 2.0]);
        assert_eq!(
            average_ranks(&[5.0, 1.0, 5.0, 2.0, 5.0]),
            vec![4.0, 1.0, 4.0, 2.0, 4.0]
        );
    }

    #[test]
    fn spearman_handles_ties_and_degenerate_input() {
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), Some(1.0));
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        // Ranks a = (1, 2.5, 2.5, 4), b = (1, 2, 3, 4): ρ = 4.5 / sqrt(4.5·5) = 0.9487.
        let r = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!((r - 4.5 / (4.5f64 * 5.0).sqrt()).abs() < 1e-12, "{r}");
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
        assert_eq!(spearman(&[1.0], &[1.0]), None);
        assert_eq!(spearman(&[1.0, 2.0], &[1.0]), None);
        assert_eq!(spearman(&[1.0, f64::NAN], &[1.0, 2.0]), None);
    }

    #[test]
    fn a_record_round_trips_through_toml_and_evaluates_against_the_study() {
        let record = CalibrationRecord {
            scale: "small".into(),
            datasets: vec![measured(
                0.754,
                4016.0,
                &[("none", 1.0), ("gzip_6", 5.0), ("blosc_zstd", 8.5)],
            )],
            comparison: Some(vec![OtherScale {
                dataset: "4D_X".into(),
                other: None,
                skipped: Some("no `paper` file".into()),
            }]),
        };
        let text = record.to_toml().unwrap();
        assert_eq!(CalibrationRecord::from_toml(&text).unwrap(), record);
        let study = StudyReference {
            datasets: vec![study()],
        };
        let report = CalibrationReport::evaluate(&record, &study).unwrap();
        assert_eq!(report.tally(), (5, 5));
        assert!(matches!(
            &report.comparison.as_deref(),
            Some([ScaleComparison::Skipped { reason, .. }]) if reason.contains("paper")
        ));
        let mut other = record.clone();
        other.datasets[0].name = "4D_Y".into();
        assert!(
            CalibrationReport::evaluate(&other, &study).is_err(),
            "unknown to the study"
        );
    }

    #[test]
    fn criteria_pass_within_tolerance_and_fail_outside() {
        let s = study();
        let ok = evaluate(
            &measured(
                0.754,
                4016.0,
                &[("none", 1.0), ("gzip_6", 5.0), ("blosc_zstd", 8.5)],
            ),
            &s,
        );
        assert!(ok.iter().all(|c| c.pass), "{ok:#?}");
        assert!(by_name(&ok, "maximum").achieved.contains("exact"));
        assert!(by_name(&ok, "best ratio").achieved.contains("-15.0 %"));
        assert!(by_name(&ok, "best ratio")
            .target
            .contains("9.50 blosc_zstd"));

        let bad = evaluate(
            &measured(
                0.744,
                4095.0,
                &[("none", 1.0), ("gzip_6", 12.5), ("blosc_zstd", 8.0)],
            ),
            &s,
        );
        assert!(!by_name(&bad, "sparsity").pass);
        assert!(by_name(&bad, "sparsity").achieved.contains("-0.600 pp"));
        assert!(!by_name(&bad, "maximum").pass);
        assert!(by_name(&bad, "maximum").achieved.contains("+79"));
        let best = by_name(&bad, "best ratio");
        assert!(
            !best.pass && best.achieved.contains("12.50 gzip_6 (+25.0 %)"),
            "{best:?}"
        );
        // Ranks (1, 3, 2) vs (1, 2, 3): ρ = 0.5.
        let rho = by_name(&bad, "Spearman");
        assert!(!rho.pass && rho.achieved == "0.500", "{rho:?}");
        assert!(by_name(&bad, "dtype").pass);
    }

    #[test]
    fn dtype_mismatch_fails_and_methods_unknown_to_the_study_are_not_ranked() {
        let mut m = measured(
            0.75,
            4016.0,
            &[("none", 1.0), ("zstd_3", 7.0), ("gzip_6", 6.0)],
        );
        m.dtype = "float32".into();
        let c = evaluate(&m, &study());
        assert!(!by_name(&c, "dtype").pass);
        assert_eq!(by_name(&c, "Spearman").name, "Spearman ρ (2 methods)");
    }

    #[test]
    fn scale_comparison_uses_its_own_tolerances() {
        let small = measured(0.750, 0.0, &[("gzip_6", 10.2)]);
        let paper = measured(0.752, 0.0, &[("gzip_6", 10.0)]);
        let c = compare_scales(&small, &paper);
        assert!(c[0].pass && c[1].pass, "{c:#?}");
        let paper = measured(0.754, 0.0, &[("gzip_6", 9.8)]);
        let c = compare_scales(&small, &paper);
        assert!(!c[0].pass && !c[1].pass, "{c:#?}");
    }

    #[test]
    fn study_files_parse_and_missing_rows_are_named() {
        let inv = "dataset_id,shape,dtype,itemsize_bytes,n_elements,uncompressed_bytes,zero_count,max_value,max_bits_int,count_gt_4095,count_gt_16383\n\
                   A,\"(10, 10)\",float32,4,100,400,50,2.5,,0,0\n";
        let t3 = "dataset,size_gib,sparsity_pct,best_ratio,implementation,file_size_mib\n\
                  A,1,50,3.5,gzip_9,1\n";
        let st = "dataset,method,n_runs,compression_ratio_mean\n\
                  A,balanced_gzip_9,10,3.25\nA,real_space_gzip_9,10,3.5\nA,sparse_csr,10,2\n";
        let r = StudyReference::parse(inv, t3, st).unwrap();
        let a = r.dataset("A").unwrap();
        assert_eq!(a.balanced.len(), 1);
        assert_eq!(a.balanced_best(), Some(("gzip_9", 3.25)));
        assert_eq!((a.table3_best, a.count_gt_4095), (3.5, 0));
        let e = StudyReference::parse(inv, &t3.replace("\nA,", "\nB,"), st).unwrap_err();
        assert!(e.to_string().contains("Table3_dataset_summary.csv"), "{e}");
        assert!(r.dataset("B").is_err());
    }

    #[test]
    fn the_real_study_files_give_table3_and_thirteen_balanced_methods() {
        let r = StudyReference::load(&crate::study::bundled_dir()).unwrap();
        assert_eq!(
            r,
            StudyReference::bundled().unwrap(),
            "the compiled-in files are data/study/'s"
        );
        assert_eq!(r.datasets.len(), 5);
        for d in &r.datasets {
            assert_eq!(d.balanced.len(), 13, "{}", d.name);
        }
        let eels = r.dataset("4D_EELS").unwrap();
        assert!((eels.table3_best - 34.92).abs() < 0.01);
        // Sparsity from the exact counts (the file prints the fraction to 6 decimals).
        assert!((eels.sparsity - 0.928317).abs() < 1e-5);
        // Table 3's best for 4D_Diff is real-space; the balanced best is lower.
        let diff = r.dataset("4D_Diff").unwrap();
        assert!(diff.balanced_best().unwrap().1 < diff.table3_best);
    }
}
