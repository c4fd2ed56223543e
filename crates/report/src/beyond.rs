//! The report's "Beyond lossless" section, from the CSVs `stemz fidelity --csv` wrote for each
//! dataset (a committed record, like `raw.csv`): the study's binning example re-measured, and
//! per dataset the smallest representation whose every kept target stays within tolerance.
//!
//! Pure: CSV texts in, Markdown out. This crate does not link the fidelity stage (it needs
//! HDF5); the CSV columns are its interface (`candidate`, `stored_bytes`, `factor`,
//! `<target>_rms_<unit>`, `within_tolerance`, `best`, …).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One candidate row of a fidelity CSV, as column → text.
type Row = BTreeMap<String, String>;

/// One dataset's fidelity table.
#[derive(Debug, Clone, PartialEq)]
pub struct FidelityTable {
    pub dataset: String,
    /// Kept targets with their error column and unit (`rel` or `px`), in CSV order.
    pub targets: Vec<(String, String)>,
    rows: Vec<Row>,
}

impl FidelityTable {
    /// Parse the CSV text of `stemz fidelity --csv` for `dataset`.
    pub fn parse(dataset: &str, text: &str) -> Result<FidelityTable, String> {
        let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let header: Vec<String> = r
            .headers()
            .map_err(|e| format!("{dataset}: {e}"))?
            .iter()
            .map(str::to_string)
            .collect();
        for need in [
            "candidate",
            "stored_bytes",
            "factor",
            "within_tolerance",
            "best",
        ] {
            if !header.iter().any(|h| h == need) {
                return Err(format!("{dataset}: no column `{need}`"));
            }
        }
        let targets = header
            .iter()
            .filter_map(|h| {
                let (name, unit) = h.split_once("_rms_")?;
                Some((name.to_string(), unit.to_string()))
            })
            .collect();
        let mut rows = Vec::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| format!("{dataset}: {e}"))?;
            rows.push(
                header
                    .iter()
                    .cloned()
                    .zip(rec.iter().map(str::to_string))
                    .collect(),
            );
        }
        Ok(FidelityTable {
            dataset: dataset.to_string(),
            targets,
            rows,
        })
    }

    fn row(&self, candidate: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r["candidate"] == candidate)
    }

    fn best(&self) -> Option<&Row> {
        self.rows.iter().find(|r| r["best"] == "true")
    }
}

fn mib(row: &Row) -> String {
    row["stored_bytes"]
        .parse::<f64>()
        .map_or("–".into(), |b| format!("{:.2}", b / (1u64 << 20) as f64))
}

fn factor(row: &Row) -> String {
    row["factor"]
        .parse::<f64>()
        .map_or("–".into(), |f| format!("{f:.1}×"))
}

/// A target's RMS error as printed: `exact`, or three significant digits with its unit.
fn error(row: &Row, target: &str, unit: &str) -> String {
    if row
        .get(&format!("{target}_exact"))
        .is_some_and(|e| e == "true")
    {
        return "exact".into();
    }
    match row
        .get(&format!("{target}_rms_{unit}"))
        .and_then(|v| v.parse::<f64>().ok())
    {
        Some(v) if v.is_infinite() => "∞".into(),
        Some(v) if unit == "px" => format!("{v:.3} px"),
        Some(v) => format!("{:.3} %", 100.0 * v),
        None => "–".into(),
    }
}

/// The study's example: 2×2 and 4×4 detector binning of 4D_Diff, summed and averaged.
const EXAMPLE: [&str; 4] = ["bin2-sum", "bin2-mean", "bin4-sum", "bin4-mean"];

/// The Markdown section (empty when there are no tables).
pub fn section(tables: &[FidelityTable], command: &str) -> String {
    let mut s = String::new();
    if tables.is_empty() {
        return s;
    }
    let _ = writeln!(s, "## Beyond lossless\n");
    let _ = writeln!(
        s,
        "What each reduction costs each analysis, measured by `stemz fidelity` on the `small` \
         synthetic datasets (records made by `{command}`). \
         Stored bytes are after the best lossless method, through the real engine; errors are \
         RMS against the full data (relative, or pixels for the centre of mass).\n"
    );
    if let Some(t) = tables.iter().find(|t| t.dataset == "4D_Diff") {
        let _ = writeln!(
            s,
            "### The study's binning example on 4D_Diff\n\nThe study binned 4D_Diff 4×4 into \
             float32 means and called it adequate for virtual BF/ADF; here 2×2 and 4×4 bins, \
             summed into an integer type and averaged into float32, side by side:\n"
        );
        let mut head = "| candidate | stored MiB | reduction |".to_string();
        let mut rule = "| --- | ---: | ---: |".to_string();
        for (name, _) in &t.targets {
            let _ = write!(head, " {name} |");
            rule.push_str(" ---: |");
        }
        let _ = writeln!(s, "{head}\n{rule}");
        for c in std::iter::once("full").chain(EXAMPLE) {
            if let Some(r) = t.row(c) {
                let mut line = format!("| {c} | {} | {} |", mib(r), factor(r));
                for (name, unit) in &t.targets {
                    let _ = write!(line, " {} |", error(r, name, unit));
                }
                let _ = writeln!(s, "{line}");
            }
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "### The least that suffices, per dataset\n\nThe smallest candidate whose every kept \
         target is within tolerance (1 % relative RMS, 0.1 px for the centre of mass):\n"
    );
    let _ = writeln!(
        s,
        "| dataset | kept targets | candidate | stored MiB | reduction |"
    );
    let _ = writeln!(s, "| --- | --- | --- | ---: | ---: |");
    for t in tables {
        let kept: Vec<&str> = t.targets.iter().map(|(n, _)| n.as_str()).collect();
        match t.best() {
            Some(r) => {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    t.dataset,
                    kept.join(", "),
                    r["candidate"],
                    mib(r),
                    factor(r)
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "| {} | {} | none within tolerance | – | – |",
                    t.dataset,
                    kept.join(", ")
                );
            }
        }
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "candidate,stored_bytes,factor,vbf_rms_rel,vbf_exact,com_rms_px,com_exact,within_tolerance,best\n\
full,1048576,10.0,0e0,true,0e0,true,true,false\n\
bin2-sum,524288,20.0,5e-3,false,4e-3,false,true,true\n\
bin4-mean,262144,40.0,2e-2,false,inf,false,false,false\n";

    #[test]
    fn the_section_shows_the_example_and_the_best_within_tolerance() {
        let t = FidelityTable::parse("4D_Diff", CSV).unwrap();
        assert_eq!(
            t.targets,
            vec![("vbf".into(), "rel".into()), ("com".into(), "px".into())]
        );
        let s = section(&[t], "stemz fidelity");
        assert!(s.contains("| full | 1.00 | 10.0× | exact | exact |"), "{s}");
        assert!(
            s.contains("| bin2-sum | 0.50 | 20.0× | 0.500 % | 0.004 px |"),
            "{s}"
        );
        assert!(
            s.contains("| bin4-mean | 0.25 | 40.0× | 2.000 % | ∞ |"),
            "{s}"
        );
        assert!(
            s.contains("| 4D_Diff | vbf, com | bin2-sum | 0.50 | 20.0× |"),
            "{s}"
        );
        assert!(section(&[], "x").is_empty());
    }

    #[test]
    fn a_csv_without_the_interface_columns_is_an_error() {
        let e = FidelityTable::parse("x", "candidate,factor\nfull,1\n").unwrap_err();
        assert!(e.contains("stored_bytes"), "{e}");
    }
}
