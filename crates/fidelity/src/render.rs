//! The fidelity report: one row per candidate (stored bytes, reduction factor, each target's
//! error), rendered as a terminal table, CSV, Markdown and a Pareto figure (SVG). Renderers are
//! pure functions returning text.

use crate::eval::{CandidateErrors, Evaluation};
use crate::stored::Stored;
use plotters::prelude::*;
use serde::Serialize;
use std::fmt::Write;

/// One candidate with its stored bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub cand: CandidateErrors,
    pub stored: Stored,
    /// Raw bytes of the full data / stored bytes of this candidate.
    pub factor: f64,
    /// Worst error as a fraction of its tolerance.
    pub worst: f64,
    pub within: bool,
}

/// Everything the renderers show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub source: String,
    pub eval: Evaluation,
    pub rows: Vec<Row>,
    /// Relative tolerance of images and patterns.
    pub tolerance: f64,
    /// Centre-of-mass tolerance in pixels.
    pub com_tolerance: f64,
    /// Index of the smallest candidate within tolerance.
    pub best: Option<usize>,
}

impl Report {
    pub fn new(
        source: String,
        eval: Evaluation,
        stored: Vec<Stored>,
        tolerance: f64,
        com_tolerance: f64,
    ) -> Report {
        let raw = eval.raw_bytes as f64;
        let rows: Vec<Row> = eval
            .candidates
            .iter()
            .cloned()
            .zip(stored)
            .map(|(cand, stored)| {
                let worst = cand.worst_fraction(tolerance, com_tolerance);
                Row {
                    factor: raw / stored.bytes.max(1) as f64,
                    within: worst <= 1.0,
                    worst,
                    cand,
                    stored,
                }
            })
            .collect();
        let best = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.within)
            .min_by_key(|(_, r)| r.stored.bytes)
            .map(|(i, _)| i);
        Report {
            source,
            eval,
            rows,
            tolerance,
            com_tolerance,
            best,
        }
    }
}

fn mib(b: u64) -> String {
    format!("{:.2}", b as f64 / (1u64 << 20) as f64)
}

fn err_cell(e: &crate::TargetError) -> String {
    if e.exact {
        "exact".into()
    } else if e.unit == "px" {
        format!("{:.3} px", e.rms)
    } else {
        format!("{:.2e}", e.rms)
    }
}

fn shape(s: [usize; 4]) -> String {
    format!("{}x{}x{}x{}", s[0], s[1], s[2], s[3])
}

fn header(r: &Report) -> (Vec<String>, Vec<Vec<String>>) {
    let mut head: Vec<String> = [
        "candidate",
        "shape",
        "dtype",
        "stored MiB",
        "factor",
        "method",
        "measured",
    ]
    .map(String::from)
    .to_vec();
    for t in &r.eval.keep.0 {
        head.push(t.to_string());
    }
    head.push("worst/tol".into());
    head.push("ok".into());
    let rows = r
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut v = vec![
                row.cand.label.clone(),
                shape(row.cand.shape),
                row.cand.dtype.to_string(),
                mib(row.stored.bytes),
                format!("{:.1}x", row.factor),
                row.stored.method.clone(),
                if row.stored.whole() {
                    "whole".into()
                } else {
                    format!("{}/{} cols", row.stored.columns.0, row.stored.columns.1)
                },
            ];
            v.extend(row.cand.errors.iter().map(err_cell));
            v.push(format!("{:.3}", row.worst));
            v.push(
                match (row.within, r.best == Some(i)) {
                    (true, true) => "BEST",
                    (true, false) => "yes",
                    _ => "no",
                }
                .into(),
            );
            v
        })
        .collect();
    (head, rows)
}

fn summary(r: &Report) -> String {
    let mut s = String::new();
    let e = &r.eval;
    let _ = writeln!(
        s,
        "{}: {} {}, {} MiB raw; keep {}; tolerance {} relative RMS, CoM {} px",
        r.source,
        shape(e.shape),
        e.dtype,
        mib(e.raw_bytes),
        e.keep,
        r.tolerance,
        r.com_tolerance
    );
    if let Some(g) = &e.geometry {
        let adf = if e.keep.contains(crate::Target::Vadf) {
            format!(", ADF {:.3}..{:.3} px", g.adf_inner, g.adf_outer)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "geometry ({}): centre (row {:.3}, col {:.3}), BF radius {:.3} px{adf}",
            g.source, g.centre.0, g.centre.1, g.bf_radius
        );
    }
    match r.best {
        Some(i) => {
            let b = &r.rows[i];
            let _ = writeln!(
                s,
                "smallest within tolerance: {} ({} {}, {} MiB with {}, {:.1}x the raw bytes)",
                b.cand.label,
                shape(b.cand.shape),
                b.cand.dtype,
                mib(b.stored.bytes),
                b.stored.method,
                b.factor
            );
        }
        None => {
            let _ = writeln!(s, "no candidate is within tolerance");
        }
    }
    s
}

/// The terminal table (aligned columns) with the summary lines.
pub fn table(r: &Report) -> String {
    let (head, rows) = header(r);
    let mut width: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let mut s = summary(r);
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let _ = writeln!(s, "{}", line(&head));
    for row in &rows {
        let _ = writeln!(s, "{}", line(row));
    }
    s
}

/// Markdown: the summary as a paragraph, then the table.
pub fn markdown(r: &Report) -> String {
    let (head, rows) = header(r);
    let mut s = String::new();
    for l in summary(r).lines() {
        let _ = writeln!(s, "{l}  ");
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "| {} |", head.join(" | "));
    let _ = writeln!(
        s,
        "|{}|",
        head.iter()
            .enumerate()
            .map(|(i, _)| if (3..5).contains(&i) { "---:" } else { "---" })
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in rows {
        let _ = writeln!(s, "| {} |", row.join(" | "));
    }
    let _ = writeln!(
        s,
        "\nErrors: relative RMS error against the full data (`exact`: bitwise equal); CoM: RMS \
         distance in original detector pixels. `worst/tol` ≤ 1 means every kept target is within \
         tolerance."
    );
    s
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV, one row per candidate; units in the column names.
pub fn csv(r: &Report) -> String {
    let mut head: Vec<String> = [
        "candidate",
        "crop",
        "det_bin",
        "agg",
        "scan_bin",
        "shape",
        "dtype",
        "raw_bytes",
        "stored_bytes",
        "factor",
        "method",
        "columns_measured",
        "columns_total",
    ]
    .map(String::from)
    .to_vec();
    for t in &r.eval.keep.0 {
        let u = if matches!(t, crate::Target::Com) {
            "px"
        } else {
            "rel"
        };
        let n = t.to_string();
        head.push(format!("{n}_rms_{u}"));
        head.push(format!("{n}_max_{u}"));
        head.push(format!("{n}_exact"));
    }
    head.extend(["worst_over_tolerance", "within_tolerance", "best"].map(String::from));
    let mut s = head
        .iter()
        .map(|h| csv_field(h))
        .collect::<Vec<_>>()
        .join(",");
    s.push('\n');
    for (i, row) in r.rows.iter().enumerate() {
        let red = &row.cand.reduction;
        let mut v = vec![
            row.cand.label.clone(),
            red.crop.map(|c| c.to_string()).unwrap_or_default(),
            red.bin.to_string(),
            red.agg.to_string(),
            red.scan_bin.to_string(),
            shape(row.cand.shape),
            row.cand.dtype.to_string(),
            row.cand.raw_bytes.to_string(),
            row.stored.bytes.to_string(),
            format!("{:.4}", row.factor),
            row.stored.method.clone(),
            row.stored.columns.0.to_string(),
            row.stored.columns.1.to_string(),
        ];
        for e in &row.cand.errors {
            v.push(format!("{:e}", e.rms));
            v.push(format!("{:e}", e.max));
            v.push(e.exact.to_string());
        }
        v.push(format!("{:e}", row.worst));
        v.push(row.within.to_string());
        v.push((r.best == Some(i)).to_string());
        s.push_str(&v.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
        s.push('\n');
    }
    s
}

const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../report/assets/DejaVuSans.ttf");

fn register_font() -> bool {
    static DONE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DONE
        .get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok())
}

/// Okabe–Ito colours, as the report's figures.
const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
const GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
const VERMILION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);

/// Errors below this fraction of the tolerance (exact ones included) are drawn on the floor.
const FLOOR: f64 = 1e-6;

/// The Pareto figure: stored MiB (log) against the worst error over tolerance (log); the
/// tolerance line; the Pareto front; the best candidate within tolerance.
pub fn figure_svg(r: &Report) -> Result<String, String> {
    if !register_font() {
        return Err("the embedded DejaVu Sans font did not load".into());
    }
    // Infinite errors (a target that is zero on the full data but not on the candidate) are
    // drawn on a ceiling above every finite one, so the axes stay finite.
    let finite_max = r
        .rows
        .iter()
        .map(|row| row.worst)
        .filter(|w| w.is_finite())
        .fold(10.0, f64::max);
    let ceil = finite_max * 10.0;
    let pts: Vec<(f64, f64, bool, &str)> = r
        .rows
        .iter()
        .map(|row| {
            let w = if row.worst.is_finite() {
                row.worst.max(FLOOR)
            } else {
                ceil
            };
            (
                row.stored.bytes as f64 / (1u64 << 20) as f64,
                w,
                row.within,
                row.cand.label.as_str(),
            )
        })
        .collect();
    let xmin = pts
        .iter()
        .map(|p| p.0)
        .fold(f64::INFINITY, f64::min)
        .max(1e-6);
    let xmax = pts.iter().map(|p| p.0).fold(0.0, f64::max).max(xmin * 10.0);
    let ymax = ceil * 3.0;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        let e = |x: &dyn std::fmt::Display| x.to_string();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{}: stored bytes vs worst target error", r.source),
                (FONT, 20),
            )
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (xmin / 1.5..xmax * 1.5).log_scale(),
                (FLOOR / 2.0..ymax).log_scale(),
            )
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .x_desc("stored MiB after the best lossless method (log)")
            .y_desc("worst error / tolerance (log; floor = exact)")
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(|x| e(&x))?;
        chart
            .draw_series(LineSeries::new(
                [(xmin / 1.5, 1.0), (xmax * 1.5, 1.0)],
                VERMILION.stroke_width(2),
            ))
            .map_err(|x| e(&x))?
            .label("tolerance")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], VERMILION.stroke_width(2))
            });
        // Pareto front: sorted by bytes, keep points whose error beats every smaller one.
        let mut order: Vec<usize> = (0..pts.len()).collect();
        order.sort_by(|&a, &b| pts[a].0.total_cmp(&pts[b].0));
        let mut front = Vec::new();
        let mut best_err = f64::INFINITY;
        for &i in &order {
            if pts[i].1 < best_err {
                best_err = pts[i].1;
                front.push((pts[i].0, pts[i].1));
            }
        }
        chart
            .draw_series(LineSeries::new(front, GREEN.stroke_width(2)))
            .map_err(|x| e(&x))?
            .label("Pareto front")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN.stroke_width(2)));
        chart
            .draw_series(pts.iter().map(|p| {
                let c = if p.2 { BLUE } else { ORANGE };
                Circle::new((p.0, p.1), 5, c.filled())
            }))
            .map_err(|x| e(&x))?;
        chart
            .draw_series(
                pts.iter()
                    .map(|p| Text::new(p.3.to_string(), (p.0, p.1), (FONT, 11).into_font())),
            )
            .map_err(|x| e(&x))?;
        if let Some(i) = r.best {
            let p = pts[i];
            chart
                .draw_series(std::iter::once(Circle::new(
                    (p.0, p.1),
                    10,
                    BLACK.stroke_width(2),
                )))
                .map_err(|x| e(&x))?
                .label(format!("smallest within tolerance: {}", p.3))
                .legend(|(x, y)| Circle::new((x + 10, y), 6, BLACK.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FONT, 13))
            .draw()
            .map_err(|x| e(&x))?;
        root.present().map_err(|x| e(&x))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{CandidateErrors, Evaluation};
    use crate::stored::Stored;
    use crate::{Keep, Reduction, Target, TargetError};
    use stemz_data::DType;

    fn report(worsts: &[f64]) -> Report {
        let cands: Vec<CandidateErrors> = worsts
            .iter()
            .enumerate()
            .map(|(i, &w)| CandidateErrors {
                reduction: Reduction {
                    bin: 1 << i,
                    ..Reduction::identity()
                },
                label: format!("c{i}"),
                shape: [2, 2, 8, 8],
                dtype: DType::U32,
                raw_bytes: 1024,
                errors: vec![TargetError {
                    target: "vbf".into(),
                    rms: w * 0.01,
                    max: w * 0.01,
                    unit: "relative",
                    exact: w == 0.0,
                }],
            })
            .collect();
        let stored = worsts
            .iter()
            .enumerate()
            .map(|(i, _)| Stored {
                bytes: 4096 >> i,
                method: "blosc_zstd".into(),
                per_method: vec![],
                columns: (1, 1),
                chunk: [2, 2, 8, 8],
            })
            .collect();
        let eval = Evaluation {
            shape: [2, 2, 8, 8],
            dtype: DType::U16,
            raw_bytes: 512,
            keep: Keep(vec![Target::Vbf]),
            geometry: None,
            candidates: cands,
        };
        Report::new("t".into(), eval, stored, 0.01, 0.1)
    }

    #[test]
    fn best_is_the_smallest_candidate_within_tolerance() {
        let r = report(&[0.0, 0.5, 2.0]);
        assert_eq!(r.best, Some(1));
        assert!(csv(&r).lines().nth(2).unwrap().ends_with(",true,true"));
        assert!(table(&r).contains("smallest within tolerance: c1"));
    }

    #[test]
    fn figure_renders_with_an_infinite_error() {
        let r = report(&[0.0, f64::INFINITY, 3.0]);
        let svg = figure_svg(&r).unwrap();
        assert!(svg.starts_with("<svg") && !svg.contains("NaN") && !svg.contains("inf"));
    }
}
