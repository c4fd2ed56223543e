//! Tables 1–5 as text: one [`Table`] of formatted cells, rendered to CSV (the study's column
//! names and printed precision: 6 decimals, sparsity 3), Markdown and LaTeX. Every output
//! starts with a generator line in the format's comment syntax.

use crate::{Analysed, Catalogue, ReportError, Result, GENERATOR};
use stemz_analysis::study::format_tuple;

/// A table of formatted cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// File stem under `paper/tables/`, e.g. `Table3_dataset_summary`.
    pub name: String,
    pub caption: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

fn f6(x: f64) -> String {
    format!("{x:.6}")
}

fn f3(x: f64) -> String {
    format!("{x:.3}")
}

/// `2.0 GiB` at or above 1 GiB, else `8.0 MiB`: the study's Table 1 spelling.
pub fn human_size(bytes: u64) -> String {
    let gib = bytes as f64 / (1u64 << 30) as f64;
    if gib >= 1.0 {
        format!("{gib:.1} GiB")
    } else {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Table 1: datasets.
pub fn table1(a: &Analysed) -> Table {
    Table {
        name: "Table1_datasets".into(),
        caption: "Datasets, most sparse first".into(),
        headers: strings(&["dataset", "shape", "size", "sparsity_pct", "description"]),
        rows: a
            .table1
            .iter()
            .map(|r| {
                vec![
                    r.dataset.clone(),
                    format_tuple(&r.shape),
                    human_size(r.uncompressed_bytes),
                    f3(r.sparsity_pct),
                    r.description.clone(),
                ]
            })
            .collect(),
    }
}

/// Table 2: compression methods (static catalogue).
pub fn table2(cat: &Catalogue) -> Table {
    Table {
        name: "Table2_methods".into(),
        caption: "Compression methods: family, HDF5 filter id, settings".into(),
        headers: strings(&["method", "family", "filter_id", "settings"]),
        rows: cat
            .methods
            .iter()
            .map(|m| {
                vec![
                    m.method.clone(),
                    m.family.clone(),
                    m.filter_id.map_or("-".into(), |i| i.to_string()),
                    m.settings.clone(),
                ]
            })
            .collect(),
    }
}

/// Table 3: best ratio per dataset.
pub fn table3(a: &Analysed) -> Table {
    Table {
        name: "Table3_dataset_summary".into(),
        caption: "Best mean compression ratio per dataset (all HDF5 methods and chunkings)".into(),
        headers: strings(&[
            "dataset",
            "size_gib",
            "sparsity_pct",
            "best_ratio",
            "implementation",
            "file_size_mib",
        ]),
        rows: a
            .table3
            .iter()
            .map(|r| {
                vec![
                    r.dataset.clone(),
                    f6(r.size_gib),
                    f3(r.sparsity_pct),
                    f6(r.best_ratio),
                    r.implementation.clone(),
                    f6(r.file_size_mib),
                ]
            })
            .collect(),
    }
}

/// Table 4: implementation families, balanced chunking, over datasets.
pub fn table4(a: &Analysed) -> Table {
    Table {
        name: "Table4_implementation_families".into(),
        caption: "Implementation families: balanced chunking, mean/min/max over datasets".into(),
        headers: strings(&[
            "family",
            "mean_ratio",
            "min_ratio",
            "max_ratio",
            "mean_write_s",
        ]),
        rows: a
            .table4
            .iter()
            .map(|r| {
                vec![
                    r.family.clone(),
                    f6(r.mean_ratio),
                    f6(r.min_ratio),
                    f6(r.max_ratio),
                    f6(r.mean_write_s),
                ]
            })
            .collect(),
    }
}

/// Table 5: chunking strategies for one dataset, mean over codecs.
pub fn table5(a: &Analysed, cat: &Catalogue) -> Table {
    Table {
        name: "Table5_chunking_summary".into(),
        caption: format!(
            "Chunking strategies for {}: mean over all HDF5 codecs",
            cat.table5_dataset
        ),
        headers: strings(&[
            "strategy",
            "chunk_size",
            "mean_ratio",
            "mean_write_gbs",
            "mean_read_gbs",
            "n_methods",
        ]),
        rows: a
            .table5
            .iter()
            .map(|r| {
                vec![
                    r.strategy.clone(),
                    format_tuple(&r.chunk_shape),
                    f6(r.mean_ratio),
                    f6(r.mean_write_gbs),
                    f6(r.mean_read_gbs),
                    r.n_methods.to_string(),
                ]
            })
            .collect(),
    }
}

/// Tables 1–5 in order.
pub fn all_tables(a: &Analysed, cat: &Catalogue) -> Vec<Table> {
    vec![table1(a), table2(cat), table3(a), table4(a), table5(a, cat)]
}

fn latex_escape(s: &str) -> String {
    // Cells may carry LaTeX math on purpose (`2$\times$2`), so `$` and `\` pass through.
    s.replace('_', "\\_")
        .replace('%', "\\%")
        .replace('&', "\\&")
        .replace('#', "\\#")
}

fn markdown_cell(s: &str) -> String {
    s.replace("$\\times$", "×").replace('|', "\\|")
}

impl Table {
    /// CSV with a leading `#` generator line; the rest is byte-compatible with pandas'
    /// `to_csv(index=False)` (quotes only where needed, `\n` line ends).
    pub fn to_csv(&self) -> Result<Vec<u8>> {
        let mut out = format!("# generated by `{GENERATOR}`, do not edit\n").into_bytes();
        let err = |e: csv::Error| ReportError::Render {
            what: format!("{}.csv", self.name),
            message: e.to_string(),
        };
        {
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(&mut out);
            w.write_record(&self.headers).map_err(err)?;
            for r in &self.rows {
                w.write_record(r).map_err(err)?;
            }
            w.flush().map_err(|e| err(e.into()))?;
        }
        Ok(out)
    }

    /// A GitHub-flavoured Markdown table under an HTML-comment generator line.
    pub fn to_markdown(&self) -> Vec<u8> {
        let mut s = format!("<!-- generated by `{GENERATOR}`, do not edit -->\n\n");
        s += &format!("**{}.** {}\n\n", self.name, self.caption);
        s += &format!("| {} |\n", self.headers.join(" | "));
        s += &format!("|{}\n", " --- |".repeat(self.headers.len()));
        for r in &self.rows {
            let cells: Vec<String> = r.iter().map(|c| markdown_cell(c)).collect();
            s += &format!("| {} |\n", cells.join(" | "));
        }
        s.into_bytes()
    }

    /// A `tabular` in a `table` float (booktabs rules) under a `%` generator line.
    pub fn to_latex(&self) -> Vec<u8> {
        let mut s = format!("% generated by `{GENERATOR}`, do not edit\n");
        s += "\\begin{table}\n\\centering\n";
        s += &format!("\\caption{{{}}}\n", latex_escape(&self.caption));
        s += &format!("\\label{{tab:{}}}\n", self.name);
        s += &format!(
            "\\begin{{tabular}}{{{}}}\n\\toprule\n",
            "l".repeat(self.headers.len())
        );
        let head: Vec<String> = self.headers.iter().map(|h| latex_escape(h)).collect();
        s += &format!("{} \\\\\n\\midrule\n", head.join(" & "));
        for r in &self.rows {
            let cells: Vec<String> = r.iter().map(|c| latex_escape(c)).collect();
            s += &format!("{} \\\\\n", cells.join(" & "));
        }
        s += "\\bottomrule\n\\end{tabular}\n\\end{table}\n";
        s.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_size_switches_to_mib_below_one_gib() {
        assert_eq!(human_size(8 << 30), "8.0 GiB");
        assert_eq!(human_size(8 << 20), "8.0 MiB");
    }

    #[test]
    fn latex_escapes_underscores_but_keeps_math() {
        assert_eq!(latex_escape("4D_Diff 2$\\times$2"), "4D\\_Diff 2$\\times$2");
    }
}
