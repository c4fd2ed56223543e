//! Figures 1–6 as SVG and PNG bytes, drawn with plotters.
//!
//! Text uses DejaVu Sans embedded from `assets/` (registered with plotters' `ab_glyph` font
//! table), never a system font, so the PNGs are byte-identical on every machine. Colours are
//! the Okabe–Ito colour-blind-safe palette. Sizes suit a 3.5 in column at 200 dpi (700 px).

use crate::{Analysed, ReportError, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeMap;
use stemz_analysis::aggregate::Aggregate;
use stemz_analysis::bounds::binary_entropy;
use stemz_analysis::record::Engine;

/// The Okabe–Ito palette (without black, used for text and fits).
pub const OKABE_ITO: [RGBColor; 7] = [
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xF0, 0xE4, 0x42),
];

/// The six implementations of Figures 2 and 4 (balanced chunking unless stated).
pub const KEY_METHODS: [&str; 6] = [
    "blosc_zstd",
    "blosc_zlib",
    "blosc_lz4",
    "gzip_6",
    "gzip_9",
    "szip",
];

const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn register_font() -> Result<()> {
    static DONE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *DONE.get_or_init(|| register_font_bytes().is_ok());
    if ok {
        Ok(())
    } else {
        Err(ReportError::Figure {
            figure: "all".into(),
            message: "the embedded DejaVu Sans font did not load".into(),
        })
    }
}

fn register_font_bytes() -> std::result::Result<(), ()> {
    plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).map_err(|_| ())
}

/// One rendered figure.
#[derive(Debug, Clone)]
pub struct Figure {
    /// File stem under `figures/`, e.g. `fig1_top10`.
    pub name: String,
    pub svg: Vec<u8>,
    pub png: Vec<u8>,
}

type Area<'a, DB> = DrawingArea<DB, Shift>;
type DrawResult = std::result::Result<(), String>;

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn render(
    name: &str,
    size: (u32, u32),
    draw: &dyn Fn(&Area<'_, SVGBackend<'_>>) -> DrawResult,
    draw_px: &dyn Fn(&Area<'_, BitMapBackend<'_>>) -> DrawResult,
) -> Result<Figure> {
    let fail = |message: String| ReportError::Figure {
        figure: name.to_string(),
        message,
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        draw(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        draw_px(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, size.0, size.1);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        // 200 dpi = 7874 pixels per metre, so the PNG prints at column width.
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: 7874,
            yppu: 7874,
            unit: png::Unit::Meter,
        }));
        let mut w = enc.write_header().map_err(|e| fail(e.to_string()))?;
        w.write_image_data(&rgb).map_err(|e| fail(e.to_string()))?;
    }
    Ok(Figure {
        name: name.to_string(),
        svg: svg.into_bytes(),
        png: png_bytes,
    })
}

/// Render every figure that the records support (Figure 6 needs both engines).
pub fn all_figures(a: &Analysed) -> Result<Vec<Figure>> {
    register_font()?;
    let mut out = Vec::new();
    let top = top10(a);
    out.push(render(
        "fig1_top10",
        (700, 1000),
        &|r| fig1(r, &top),
        &|r| fig1(r, &top),
    )?);
    let radar = radar_data(a);
    out.push(render(
        "fig2_radar",
        (700, 620),
        &|r| fig2(r, &radar),
        &|r| fig2(r, &radar),
    )?);
    out.push(render(
        "fig3_sparsity",
        (700, 520),
        &|r| fig3(r, a),
        &|r| fig3(r, a),
    )?);
    let chunk = chunking_data(a);
    out.push(render(
        "fig4_chunking",
        (700, 480),
        &|r| fig4(r, &chunk),
        &|r| fig4(r, &chunk),
    )?);
    let datasets: Vec<&str> = a.table3.iter().map(|r| r.dataset.as_str()).collect();
    let rows = 1 + datasets.len().saturating_sub(1) / 2;
    out.push(render(
        "fig5_pareto",
        (700, 320 * rows as u32),
        &|r| fig5(r, a, &datasets),
        &|r| fig5(r, a, &datasets),
    )?);
    if let Some(speed) = speedup_data(a) {
        out.push(render(
            "fig6_parallel",
            (700, 480),
            &|r| fig6(r, &speed),
            &|r| fig6(r, &speed),
        )?);
    }
    Ok(out)
}

/// (label, mean, min, max) over datasets.
type Bar = (String, f64, f64, f64);

fn stats(v: &[f64]) -> (f64, f64, f64) {
    let n = v.len().max(1) as f64;
    (
        v.iter().sum::<f64>() / n,
        v.iter().copied().fold(f64::INFINITY, f64::min),
        v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    )
}

/// (method, chunking) → per-dataset ratios, write and read throughputs.
type ConfigValues = BTreeMap<(String, String), [Vec<f64>; 3]>;

/// Per (method, chunking) over datasets: ratios, write and read throughputs.
fn per_config(a: &Analysed) -> ConfigValues {
    let mut m = ConfigValues::new();
    for g in a
        .primary
        .iter()
        .filter(|g| g.is_chunked() && g.method != "none")
    {
        let e = m.entry((g.method.clone(), g.chunking.clone())).or_default();
        e[0].push(g.ratio.mean);
        e[1].push(g.write_gib_s.map_or(f64::NAN, |s| s.mean));
        e[2].push(g.read_gib_s.map_or(f64::NAN, |s| s.mean));
    }
    m
}

/// The ten (method, chunking) configurations with the highest mean ratio over datasets.
pub fn top10(a: &Analysed) -> [Vec<Bar>; 3] {
    let mut rows: Vec<_> = per_config(a).into_iter().collect();
    rows.sort_by(|x, y| stats(&y.1[0]).0.total_cmp(&stats(&x.1[0]).0));
    rows.truncate(10);
    // Segment 0 is drawn at the bottom: reverse so the best configuration is on top.
    rows.reverse();
    let label = |m: &str, c: &str| format!("{m} ({})", c.replace('_', "-"));
    std::array::from_fn(|k| {
        rows.iter()
            .map(|((m, c), v)| {
                let (mean, lo, hi) = stats(&v[k]);
                (label(m, c), mean, lo, hi)
            })
            .collect()
    })
}

fn bar_panel<DB: DrawingBackend>(
    area: &Area<'_, DB>,
    title: &str,
    xlabel: &str,
    bars: &[Bar],
    color: RGBColor,
) -> DrawResult {
    let n = bars.len().max(1);
    let xmax = bars
        .iter()
        .map(|b| b.3.max(b.1))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.05;
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(232)
        .build_cartesian_2d(0f64..xmax, (0..n - 1).into_segmented())
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .disable_y_mesh()
        .x_desc(xlabel)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => bars.get(*i).map_or(String::new(), |b| b.0.clone()),
            _ => String::new(),
        })
        .draw()
        .map_err(err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let mut r = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(i)),
                    (b.1, SegmentValue::Exact(i + 1)),
                ],
                color.filled(),
            );
            r.set_margin(5, 5, 0, 0);
            r
        }))
        .map_err(err)?;
    chart
        .draw_series(
            bars.iter()
                .enumerate()
                .filter(|(_, b)| b.2.is_finite())
                .map(|(i, b)| {
                    PathElement::new(
                        vec![
                            (b.2, SegmentValue::CenterOf(i)),
                            (b.3, SegmentValue::CenterOf(i)),
                        ],
                        BLACK.stroke_width(2),
                    )
                }),
        )
        .map_err(err)?;
    Ok(())
}

fn fig1<DB: DrawingBackend>(root: &Area<'_, DB>, top: &[Vec<Bar>; 3]) -> DrawResult {
    let panels = root.split_evenly((3, 1));
    let specs = [
        (
            "Compression ratio (top 10)",
            "ratio (mean over datasets; bar: min–max)",
        ),
        ("Write throughput", "GiB/s"),
        ("Read throughput", "GiB/s"),
    ];
    for (k, (p, (t, x))) in panels.iter().zip(specs).enumerate() {
        bar_panel(p, t, x, &top[k], OKABE_ITO[[3, 4, 2][k]])?;
    }
    Ok(())
}

/// Radar axes and, per key method, values normalised to the best method on each axis.
pub struct Radar {
    pub axes: Vec<String>,
    pub series: Vec<(String, Vec<f64>)>,
}

fn balanced_over_datasets(
    a: &Analysed,
    method: &str,
    f: &dyn Fn(&Aggregate) -> Option<f64>,
) -> Vec<f64> {
    a.primary
        .iter()
        .filter(|g| g.method == method && g.chunking == "balanced")
        .filter_map(f)
        .collect()
}

fn radar_data(a: &Analysed) -> Radar {
    let axes = vec![
        "mean ratio".to_string(),
        "worst-case ratio".to_string(),
        "write GiB/s".to_string(),
        "read GiB/s".to_string(),
    ];
    let raw: Vec<(String, Vec<f64>)> = KEY_METHODS
        .iter()
        .map(|m| {
            let r = balanced_over_datasets(a, m, &|g| Some(g.ratio.mean));
            let w = balanced_over_datasets(a, m, &|g| g.write_gib_s.map(|s| s.mean));
            let rd = balanced_over_datasets(a, m, &|g| g.read_gib_s.map(|s| s.mean));
            let (rm, rmin, _) = stats(&r);
            (m.to_string(), vec![rm, rmin, stats(&w).0, stats(&rd).0])
        })
        .filter(|(_, v)| v.iter().all(|x| x.is_finite()))
        .collect();
    let best: Vec<f64> = (0..axes.len())
        .map(|k| raw.iter().map(|s| s.1[k]).fold(0.0, f64::max))
        .collect();
    Radar {
        series: raw
            .into_iter()
            .map(|(m, v)| {
                let n = v
                    .iter()
                    .zip(&best)
                    .map(|(x, b)| if *b > 0.0 { x / b } else { 0.0 })
                    .collect();
                (m, n)
            })
            .collect(),
        axes,
    }
}

fn fig2<DB: DrawingBackend>(root: &Area<'_, DB>, r: &Radar) -> DrawResult {
    let root = root
        .titled(
            "Six key implementations (balanced), normalised to best",
            (FONT, 20),
        )
        .map_err(err)?;
    let (w, h) = root.dim_in_pixel();
    let (cx, cy) = (w as f64 * 0.40, h as f64 * 0.52);
    let radius = (h as f64 * 0.36).min(w as f64 * 0.25);
    let k = r.axes.len().max(1);
    let point = |axis: usize, v: f64| -> (i32, i32) {
        let ang = -std::f64::consts::FRAC_PI_2 + axis as f64 * std::f64::consts::TAU / k as f64;
        (
            (cx + radius * v * ang.cos()) as i32,
            (cy + radius * v * ang.sin()) as i32,
        )
    };
    let grey = RGBColor(0xBB, 0xBB, 0xBB);
    for ring in [0.25, 0.5, 0.75, 1.0] {
        let mut pts: Vec<(i32, i32)> = (0..k).map(|i| point(i, ring)).collect();
        pts.push(point(0, ring));
        root.draw(&PathElement::new(pts, grey.stroke_width(1)))
            .map_err(err)?;
    }
    for (i, name) in r.axes.iter().enumerate() {
        root.draw(&PathElement::new(vec![point(i, 0.0), point(i, 1.0)], grey))
            .map_err(err)?;
        let (x, y) = point(i, 1.06);
        // Anchor labels away from the centre so they never overlap the web.
        let dx = x as f64 - cx;
        let hpos = if dx > 5.0 {
            HPos::Left
        } else if dx < -5.0 {
            HPos::Right
        } else {
            HPos::Center
        };
        let vpos = if (y as f64) < cy - 5.0 {
            VPos::Bottom
        } else if (y as f64) > cy + 5.0 {
            VPos::Top
        } else {
            VPos::Center
        };
        let style = TextStyle::from((FONT, 15).into_font())
            .color(&BLACK)
            .pos(Pos::new(hpos, vpos));
        root.draw(&Text::new(name.clone(), (x, y), style))
            .map_err(err)?;
    }
    for (j, (m, v)) in r.series.iter().enumerate() {
        let c = OKABE_ITO[j % OKABE_ITO.len()];
        let pts: Vec<(i32, i32)> = v.iter().enumerate().map(|(i, x)| point(i, *x)).collect();
        root.draw(&Polygon::new(pts.clone(), c.mix(0.12).filled()))
            .map_err(err)?;
        let mut closed = pts;
        if let Some(first) = closed.first().copied() {
            closed.push(first);
        }
        root.draw(&PathElement::new(closed, c.stroke_width(3)))
            .map_err(err)?;
        let ly = 60 + 26 * j as i32;
        let lx = (w as f64 * 0.76) as i32;
        root.draw(&Rectangle::new(
            [(lx, ly - 6), (lx + 22, ly + 6)],
            c.filled(),
        ))
        .map_err(err)?;
        root.draw(&Text::new(
            m.clone(),
            (lx + 28, ly - 8),
            (FONT, 15).into_font(),
        ))
        .map_err(err)?;
    }
    Ok(())
}

fn fig3<DB: DrawingBackend>(root: &Area<'_, DB>, a: &Analysed) -> DrawResult {
    let pts: Vec<(String, f64, f64)> = a
        .table3
        .iter()
        .map(|r| (r.dataset.clone(), r.sparsity_pct / 100.0, r.best_ratio))
        .collect();
    let smin = pts.iter().map(|p| p.1).fold(1.0, f64::min);
    let smax = pts.iter().map(|p| p.1).fold(0.0, f64::max);
    let (x0, x1) = ((smin - 0.05).max(0.01), (smax + 0.04).min(0.99));
    let itemsizes: std::collections::BTreeSet<u32> =
        a.datasets.iter().map(|d| d.itemsize).collect();
    let bound = |s: f64, item: u32| 8.0 * item as f64 / binary_entropy(s);
    let ymax = pts.iter().map(|p| p.2).fold(0.0, f64::max) * 1.6;
    let mut chart = ChartBuilder::on(root)
        .caption("Best compression ratio vs sparsity", (FONT, 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(x0 * 100.0..x1 * 100.0, 0f64..ymax.max(1.0))
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("sparsity (% zeros)")
        .y_desc("best mean compression ratio")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()
        .map_err(err)?;
    let grid: Vec<f64> = (0..=200)
        .map(|i| x0 + (x1 - x0) * i as f64 / 200.0)
        .collect();
    for (j, item) in itemsizes.iter().enumerate() {
        let c = OKABE_ITO[[1, 2, 5][j % 3]];
        chart
            .draw_series(LineSeries::new(
                grid.iter()
                    .map(|&s| (s * 100.0, bound(s, *item)))
                    .filter(|p| p.1 <= ymax),
                c.stroke_width(2),
            ))
            .map_err(err)?
            .label(format!("sparsity-only bound, {}-bit", 8 * item))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    let h0: Vec<(f64, f64)> = a
        .bounds
        .iter()
        .filter_map(|b| b.h0_bound.map(|h| (b.sparsity * 100.0, h)))
        .filter(|p| p.1 <= ymax)
        .collect();
    if !h0.is_empty() {
        let c = OKABE_ITO[4];
        chart
            .draw_series(h0.iter().map(|&p| TriangleMarker::new(p, 7, c.filled())))
            .map_err(err)?
            .label("H0 bound (8·itemsize/H0)")
            .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 6, c.filled()));
    }
    if let Some(f) = &a.fit {
        let label = format!(
            "C = {:.2}·s^{:.3} + {:.3} (R² = {:.4})",
            f.a, f.b, f.c, f.r_squared
        );
        chart
            .draw_series(LineSeries::new(
                grid.iter().map(|&s| (s * 100.0, f.eval(s))),
                BLACK.stroke_width(2),
            ))
            .map_err(err)?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    }
    let c = OKABE_ITO[3];
    chart
        .draw_series(
            pts.iter()
                .map(|p| Circle::new((p.1 * 100.0, p.2), 6, c.filled())),
        )
        .map_err(err)?
        .label("best codec per dataset")
        .legend(move |(x, y)| Circle::new((x + 10, y), 5, c.filled()));
    // Neighbouring points (by sparsity) get their labels on alternate sides so they never
    // overlap, whatever the data.
    let mut order: Vec<usize> = (0..pts.len()).collect();
    order.sort_by(|&i, &j| pts[i].1.total_cmp(&pts[j].1));
    chart
        .draw_series(order.iter().enumerate().map(|(rank, &i)| {
            let p = &pts[i];
            let dy = if rank % 2 == 0 { 8 } else { -22 };
            EmptyElement::at((p.1 * 100.0, p.2))
                + Text::new(p.0.clone(), (8, dy), (FONT, 13).into_font())
        }))
        .map_err(err)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    Ok(())
}

/// Per key method, per chunking: mean ratio over datasets.
pub struct ChunkingData {
    pub methods: Vec<String>,
    pub chunkings: Vec<String>,
    pub values: Vec<Vec<f64>>,
}

fn chunking_data(a: &Analysed) -> ChunkingData {
    let chunkings: Vec<String> = stemz_analysis::study::CHUNKINGS
        .iter()
        .filter(|c| a.primary.iter().any(|g| g.chunking == **c))
        .map(|c| c.to_string())
        .collect();
    let values = KEY_METHODS
        .iter()
        .map(|m| {
            chunkings
                .iter()
                .map(|c| {
                    let v: Vec<f64> = a
                        .primary
                        .iter()
                        .filter(|g| g.method == *m && &g.chunking == c)
                        .map(|g| g.ratio.mean)
                        .collect();
                    if v.is_empty() {
                        0.0
                    } else {
                        stats(&v).0
                    }
                })
                .collect()
        })
        .collect();
    ChunkingData {
        methods: KEY_METHODS.iter().map(|s| s.to_string()).collect(),
        chunkings,
        values,
    }
}

fn fig4<DB: DrawingBackend>(root: &Area<'_, DB>, d: &ChunkingData) -> DrawResult {
    let n = d.methods.len().max(1);
    let ymax = d
        .values
        .iter()
        .flatten()
        .copied()
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.15;
    let mut chart = ChartBuilder::on(root)
        .caption("Chunking effect: mean ratio over datasets", (FONT, 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((0..n - 1).into_segmented(), 0f64..ymax)
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .disable_x_mesh()
        .y_desc("compression ratio")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .x_labels(n)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => d.methods.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .draw()
        .map_err(err)?;
    let (pw, _) = chart.plotting_area().dim_in_pixel();
    let seg = pw / n.max(1) as u32;
    let k = d.chunkings.len().max(1) as u32;
    let gap = seg / 8;
    let bw = (seg - 2 * gap) / k;
    for (j, c) in d.chunkings.iter().enumerate() {
        let color = OKABE_ITO[j % OKABE_ITO.len()];
        let j = j as u32;
        chart
            .draw_series((0..n).map(|i| {
                let mut r = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), d.values[i][j as usize]),
                    ],
                    color.filled(),
                );
                let left = gap + j * bw;
                r.set_margin(0, 0, left, seg.saturating_sub(left + bw));
                r
            }))
            .map_err(err)?
            .label(c.replace('_', "-"))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    Ok(())
}

/// The Pareto front (maximising both) of (write GiB/s, ratio) points, sorted by throughput.
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut p: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|q| q.0.is_finite() && q.1.is_finite())
        .collect();
    p.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.total_cmp(&a.1)));
    let mut front = Vec::new();
    let mut best = f64::NEG_INFINITY;
    for q in p {
        if q.1 > best {
            best = q.1;
            front.push(q);
        }
    }
    front.reverse();
    front
}

fn fig5<DB: DrawingBackend>(root: &Area<'_, DB>, a: &Analysed, datasets: &[&str]) -> DrawResult {
    let rows = 1 + datasets.len().saturating_sub(1) / 2;
    let panels = root.split_evenly((rows, 2));
    for (panel, ds) in panels.iter().zip(datasets) {
        let pts: Vec<(f64, f64)> = a
            .primary
            .iter()
            .filter(|g| g.dataset == *ds && g.is_chunked())
            .filter_map(|g| Some((g.write_gib_s?.mean, g.ratio.mean)))
            .filter(|p| p.0 > 0.0)
            .collect();
        if pts.is_empty() {
            continue;
        }
        let xmin = pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min) / 1.5;
        let xmax = pts.iter().map(|p| p.0).fold(0.0, f64::max) * 1.5;
        let ymax = pts.iter().map(|p| p.1).fold(0.0, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(panel)
            .caption(*ds, (FONT, 16))
            .margin(6)
            .x_label_area_size(34)
            .y_label_area_size(40)
            .build_cartesian_2d((xmin..xmax).log_scale(), 0f64..ymax)
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .x_desc("write GiB/s (log)")
            .y_desc("ratio")
            .x_labels(4)
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .draw()
            .map_err(err)?;
        let grey = RGBColor(0x88, 0x88, 0x88);
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, grey.filled())))
            .map_err(err)?;
        let front = pareto_front(&pts);
        chart
            .draw_series(LineSeries::new(front.clone(), OKABE_ITO[4].stroke_width(2)))
            .map_err(err)?;
        chart
            .draw_series(
                front
                    .iter()
                    .map(|&p| Circle::new(p, 4, OKABE_ITO[4].filled())),
            )
            .map_err(err)?;
    }
    Ok(())
}

/// Per method (balanced): mean over datasets of parallel / serial write throughput.
fn speedup_data(a: &Analysed) -> Option<Vec<Bar>> {
    // (method, dataset) → (serial, parallel) mean write throughput.
    type Pair = (Option<f64>, Option<f64>);
    let mut by: BTreeMap<(&str, &str), Pair> = BTreeMap::new();
    for g in a.all.iter().filter(|g| g.chunking == "balanced") {
        let e = by
            .entry((g.method.as_str(), g.dataset.as_str()))
            .or_default();
        let t = g.write_gib_s.map(|s| s.mean);
        match g.engine {
            Engine::Serial => e.0 = e.0.or(t),
            Engine::Parallel => e.1 = e.1.or(t),
        }
    }
    let mut per: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for ((m, _), (s, p)) in by {
        if let (Some(s), Some(p)) = (s, p) {
            if s > 0.0 {
                per.entry(m).or_default().push(p / s);
            }
        }
    }
    if per.is_empty() {
        return None;
    }
    Some(
        per.into_iter()
            .map(|(m, v)| {
                let (mean, lo, hi) = stats(&v);
                (m.to_string(), mean, lo, hi)
            })
            .collect(),
    )
}

fn fig6<DB: DrawingBackend>(root: &Area<'_, DB>, bars: &[Bar]) -> DrawResult {
    bar_panel(
        root,
        "Parallel vs serial write speed-up (balanced)",
        "speed-up (mean over datasets; bar: min–max)",
        bars,
        OKABE_ITO[2],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pareto_front_keeps_only_undominated_points() {
        let f = pareto_front(&[(1.0, 5.0), (2.0, 4.0), (0.5, 4.5), (3.0, 1.0), (2.5, 0.5)]);
        assert_eq!(f, vec![(1.0, 5.0), (2.0, 4.0), (3.0, 1.0)]);
    }
}
