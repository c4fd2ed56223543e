//! `paper/REPORT.md`: every table and figure with the study's value beside ours and the
//! difference, Equation 1 theirs vs ours, each headline claim with its numbers, and the run's
//! provenance. Written for a reviewer who has not read the code.

use crate::{Analysed, GENERATOR};
use std::fmt::Write;
use stemz_analysis::claims::{compare, Claim, ClaimValue};

fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "–".into()
    }
}

fn diff(theirs: f64, ours: f64) -> String {
    let d = ours - theirs;
    if !d.is_finite() {
        return "–".into();
    }
    if theirs != 0.0 && theirs.is_finite() {
        format!("{d:+.3} ({:+.1} %)", d / theirs.abs() * 100.0)
    } else {
        format!("{d:+.3}")
    }
}

/// (column, study value, our value).
type Cell<'a> = (&'a str, Option<f64>, Option<f64>);

/// One comparison line: label, then (column, theirs, ours) triples.
fn compare_table(out: &mut String, key: &str, rows: &[(String, Vec<Cell<'_>>)]) {
    let Some((_, first)) = rows.first() else {
        out.push_str("_No rows._\n\n");
        return;
    };
    let mut head = format!("| {key} |");
    let mut rule = String::from("| --- |");
    for (col, _, _) in first {
        let _ = write!(head, " {col}: study | ours | Δ |");
        rule.push_str(" ---: | ---: | --- |");
    }
    let _ = writeln!(out, "{head}\n{rule}");
    for (label, cells) in rows {
        let mut line = format!("| {label} |");
        for (_, t, o) in cells {
            let t_s = t.map_or("–".into(), num);
            let o_s = o.map_or("–".into(), num);
            let d = match (t, o) {
                (Some(t), Some(o)) => diff(*t, *o),
                _ => "–".into(),
            };
            let _ = write!(line, " {t_s} | {o_s} | {d} |");
        }
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
}

/// A claim's value as the report prints it: numbers as numbers, ranges as `lo–hi`.
pub fn value(v: &ClaimValue) -> String {
    match v {
        ClaimValue::Range(r) => format!("{}–{}", num(r.lo), num(r.hi)),
        ClaimValue::Number(x) => num(*x),
        ClaimValue::Label(s) => format!("`{s}`"),
        ClaimValue::Missing => "not measured".into(),
    }
}

/// Per dataset: the best ratio among the study's methods and the best among every method this
/// run measured (HDF5 filters, any chunking), with both throughputs (serial, warm cache).
fn beyond_the_study(o: &mut String, ours: &Analysed) {
    let best = |ds: &str, only_study: bool| ours.best_ratio(ds, only_study);
    let mut rows = Vec::new();
    for d in &ours.datasets {
        if let (Some(s), Some(b)) = (best(&d.dataset, true), best(&d.dataset, false)) {
            rows.push((d.dataset.clone(), s, b));
        }
    }
    if rows.is_empty() {
        return;
    }
    o.push_str(
        "## Beyond the study

",
    );
    o.push_str(
        "Per dataset, the highest mean ratio among the study's methods and among every HDF5 \
         method of this run (any chunking; serial engine, warm cache), with write and read \
         throughput in GiB/s. Every method here is readable by a stock h5py + hdf5plugin. \
         Figure 5 marks both on each dataset's ratio–speed plane.\n\n",
    );
    o.push_str("| dataset | study's best | ratio | write | read | stemz's best | ratio | write | read | gain |\n");
    o.push_str("| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |\n");
    let gib =
        |s: &Option<stemz_analysis::aggregate::Summary>| s.map_or("–".into(), |s| num(s.mean));
    for (ds, s, b) in rows {
        let _ = writeln!(
            o,
            "| {ds} | {} | {} | {} | {} | {} | {} | {} | {} | {}× |",
            s.study_method(),
            num(s.ratio.mean),
            gib(&s.write_gib_s),
            gib(&s.read_gib_s),
            b.study_method(),
            num(b.ratio.mean),
            gib(&b.write_gib_s),
            gib(&b.read_gib_s),
            num(b.ratio.mean / s.ratio.mean)
        );
    }
    o.push('\n');
}

/// Per dataset and Zarr method: the store at its best chunking beside the HDF5 file of the same
/// codec and settings at its own best chunking (serial engine, warm cache), when the run
/// measured Zarr stores.
pub fn hdf5_vs_zarr(o: &mut String, ours: &Analysed) {
    let mut rows = Vec::new();
    for d in &ours.datasets {
        let mut zarr: Vec<&str> = ours
            .primary
            .iter()
            .filter(|a| {
                a.dataset == d.dataset
                    && a.method.starts_with(stemz_analysis::aggregate::ZARR_PREFIX)
            })
            .map(|a| a.method.as_str())
            .collect();
        zarr.sort();
        zarr.dedup();
        for m in zarr {
            let twin = &m[stemz_analysis::aggregate::ZARR_PREFIX.len()..];
            if let (Some(h), Some(z)) =
                (ours.best_of(&d.dataset, twin), ours.best_of(&d.dataset, m))
            {
                rows.push((d.dataset.clone(), twin.to_string(), h, z));
            }
        }
    }
    if rows.is_empty() {
        return;
    }
    o.push_str("## HDF5 or Zarr\n\n");
    o.push_str(
        "Per dataset and codec, the HDF5 file and the sharded Zarr v3 store (`zarr_<codec>`: the \
         same codec and settings on the same inner chunks) at the chunking where each stores \
         least: mean ratio, write and read throughput in GiB/s (serial engine, warm cache), and \
         the files or objects the output is (a store: its shards and `zarr.json`).\n\n",
    );
    o.push_str("| dataset | codec | HDF5 chunking | ratio | write | read | Zarr chunking | ratio | write | read | objects | Zarr / HDF5 ratio |\n");
    o.push_str(
        "| --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let gib =
        |s: &Option<stemz_analysis::aggregate::Summary>| s.map_or("–".into(), |s| num(s.mean));
    for (ds, codec, h, z) in rows {
        let key = (ds.clone(), z.method.clone(), z.chunking.clone());
        let objects = ours.objects.get(&key).map_or("–".into(), |n| n.to_string());
        let _ = writeln!(
            o,
            "| {ds} | {codec} | {} | {} | {} | {} | {} | {} | {} | {} | {objects} | {} |",
            h.chunking,
            num(h.ratio.mean),
            gib(&h.write_gib_s),
            gib(&h.read_gib_s),
            z.chunking,
            num(z.ratio.mean),
            gib(&z.write_gib_s),
            gib(&z.read_gib_s),
            num(z.ratio.mean / h.ratio.mean)
        );
    }
    o.push('\n');
}

fn holds(c: &Claim) -> &'static str {
    if c.holds {
        "**holds**"
    } else {
        "**does not hold**"
    }
}

/// The claims table: the stated value, ours, and, with a quick check, the quick check's.
fn claims_section(out: &mut String, claims: &[Claim], quick: Option<&[Claim]>) {
    match quick {
        None => {
            out.push_str("| claim | source | stated | ours | tolerance | holds |\n");
            out.push_str("| --- | --- | ---: | ---: | --- | --- |\n");
        }
        Some(_) => {
            out.push_str(
                "| claim | source | stated | paper scale | holds | small scale (quick check) | holds | tolerance |\n",
            );
            out.push_str("| --- | --- | ---: | ---: | --- | ---: | --- | --- |\n");
        }
    }
    for (i, c) in claims.iter().enumerate() {
        let (statement, source, stated) = (&c.statement, &c.source, value(&c.stated));
        let _ = match quick.and_then(|q| q.get(i)) {
            None => writeln!(
                out,
                "| {statement} | {source} | {stated} | {} | {} | {} |",
                value(&c.ours),
                c.tolerance,
                holds(c)
            ),
            Some(q) => writeln!(
                out,
                "| {statement} | {source} | {stated} | {} | {} | {} | {} | {} |",
                value(&c.ours),
                holds(c),
                value(&q.ours),
                holds(q),
                c.tolerance
            ),
        };
    }
    out.push('\n');
}

/// A provenance value by key, `–` when the run does not record it.
fn prov<'a>(provenance: &'a [(String, String)], key: &str) -> &'a str {
    provenance
        .iter()
        .find(|(k, _)| k == key)
        .map_or("–", |(_, v)| v.as_str())
}

/// `x` as a factor (`×1.23`), `–` when unknown.
fn factor(x: Option<f64>) -> String {
    x.filter(|x| x.is_finite())
        .map_or("–".into(), |x| format!("×{x:.2}"))
}

/// Sparsity fractions of each dataset, for [`why`](stemz_analysis::claims::why).
fn sparsities(a: &Analysed) -> Vec<(String, f64)> {
    a.datasets
        .iter()
        .map(|d| (d.dataset.clone(), d.sparsity))
        .collect()
}

/// For every claim that does not hold: the measurements behind it, per dataset, ours beside the
/// study's, and what they say (the machine moves throughputs; ratios move only with the data).
fn why_section(
    o: &mut String,
    claims: &[Claim],
    study: &Analysed,
    ours: &Analysed,
    provenance: &[(String, String)],
) {
    let failing: Vec<&Claim> = claims.iter().filter(|c| !c.holds).collect();
    if failing.is_empty() {
        return;
    }
    o.push_str("### Why a claim does not hold\n\n");
    if provenance.iter().any(|(k, _)| k == "machine.cpu") {
        let _ = write!(
            o,
            "Measured on {} ({} cores) with HDF5 {} ({}), scratch files on {}, {} page cache \
             between write and read; the study's published files do not record its machine or \
             HDF5 version. ",
            prov(provenance, "machine.cpu"),
            prov(provenance, "machine.cores"),
            prov(provenance, "software.libraries.hdf5"),
            prov(provenance, "software.libraries.hdf5-build"),
            prov(provenance, "scratch_fs"),
            prov(provenance, "cache"),
        );
    }
    let _ = writeln!(
        o,
        "Throughputs depend on the machine, ratios only on the data and the codec: a \
         speed claim that moves with one method's throughput and not the other's is the \
         machine's; a ratio claim that moves is the data's. Balanced chunking, serial engine; \
         × is ours / the study's.\n"
    );
    let best = (
        study.claims.best_ratio_method.as_deref(),
        ours.claims.best_ratio_method.as_deref(),
    );
    for c in failing {
        let Some(w) = stemz_analysis::claims::why(
            &c.id,
            (&study.primary, &sparsities(study)),
            (&ours.primary, &sparsities(ours)),
            best,
        ) else {
            continue;
        };
        let _ = write!(
            o,
            "**{}** (stated {}, ours {}).",
            c.statement,
            value(&c.stated),
            value(&c.ours)
        );
        if c.source == "abstract" {
            let records = study
                .claims
                .zstd_vs_gzip9_write_speedup
                .map_or(ClaimValue::Missing, ClaimValue::Range);
            let _ = write!(
                o,
                " The abstract rounds the study's own records, {}; ours are held to its \
                 integers within ±1.",
                value(&records)
            );
        }
        o.push('\n');
        let (n, d, q) = (&w.numerator, &w.denominator, w.quantity);
        let verdict = if q == "ratio" {
            format!(
                "{n}'s ratio is {} the study's and {d}'s {} (geometric means over datasets): \
                 ratios do not depend on the machine, so the difference is the data's (compare \
                 the sparsities).",
                factor(w.num_factor),
                factor(w.den_factor)
            )
        } else {
            let moved = match (w.num_factor, w.den_factor) {
                (Some(a), Some(b)) => Some(a / b),
                _ => None,
            };
            let per: Vec<f64> = w.rows.iter().filter_map(|r| r.quotient_factor()).collect();
            let span = if per.is_empty() {
                String::new()
            } else {
                let lo = per.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = per.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                format!(", per dataset {}–{}", factor(Some(lo)), factor(Some(hi)))
            };
            let reading = match (moved, w.num_factor, w.den_factor) {
                (Some(m), Some(a), Some(b)) if m.ln().abs() < 0.1_f64.ln_1p() => format!(
                    "Both moved alike (this machine is {} for both codecs), so the average \
                     quotient is the study's within 10 %: the claim turns on how it spreads \
                     over the datasets.",
                    match (a * b).sqrt() {
                        g if g.ln().abs() < 0.1_f64.ln_1p() => "about as fast as the study's",
                        g if g < 1.0 => "slower",
                        _ => "faster",
                    }
                ),
                (Some(m), Some(_), Some(_)) => format!(
                    "{} gained more here than {}: this machine (CPU, library builds) favours it, \
                     or its speed depends on data that differ from the study's (the ratios \
                     say).",
                    if m > 1.0 { n } else { d },
                    if m > 1.0 { d } else { n }
                ),
                _ => String::new(),
            };
            let mut text = format!(
                "Here {n} runs at {} the study's {q} and {d} at {} (geometric means over \
                 datasets): the quotient is {} the study's on average{span}. {reading}",
                factor(w.num_factor),
                factor(w.den_factor),
                factor(moved)
            );
            // The dataset whose quotient departs most from the average one: what the machine
            // alone does not explain.
            let furthest = w
                .rows
                .iter()
                .filter_map(|r| Some((r, (r.quotient_factor()? / moved?).ln().abs())))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((r, _)) = furthest.filter(|(_, dev)| *dev > 0.1_f64.ln_1p()) {
                let f = |(s, o): (Option<f64>, Option<f64>)| match (s, o) {
                    (Some(s), Some(o)) => factor(Some(o / s)),
                    _ => "–".into(),
                };
                let _ = write!(
                    text,
                    " The dataset furthest from that average ({}: {n} {}, {d} {}) is where one \
                     codec's speed on this data differs from the study's; its ratios ({n} {}, \
                     {d} {}) say how far the data differ.",
                    r.dataset,
                    f(r.num),
                    f(r.den),
                    f(r.num_ratio),
                    f(r.den_ratio)
                );
            }
            text
        };
        let _ = writeln!(o, "{verdict}\n");
        let _ = writeln!(
            o,
            "| dataset | sparsity: study | ours | {n} {q}: study | ours | × | {d} {q}: study | ours | × |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        let opt = |x: Option<f64>| x.map_or("–".into(), num);
        let ratio = |(s, o): (Option<f64>, Option<f64>)| match (s, o) {
            (Some(s), Some(o)) => factor(Some(o / s)),
            _ => "–".into(),
        };
        for r in &w.rows {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.dataset,
                opt(r.sparsity.0),
                opt(r.sparsity.1),
                opt(r.num.0),
                opt(r.num.1),
                ratio(r.num),
                opt(r.den.0),
                opt(r.den.1),
                ratio(r.den)
            );
        }
        o.push('\n');
    }
}

/// The small-scale run beside a paper-scale one: its claims and provenance.
pub struct QuickCheck<'a> {
    pub run: &'a Analysed,
    pub provenance: &'a [(String, String)],
}

/// Render `paper/REPORT.md`. `figures` are the figure stems present under `figures/`.
pub fn report(
    study: &Analysed,
    ours: &Analysed,
    provenance: &[(String, String)],
    figures: &[&str],
) -> String {
    report_scales(study, ours, provenance, None, figures)
}

/// Render `paper/REPORT.md` for `ours` (a paper-scale run, when `quick` is the small run beside
/// it); the figures are the quick check's when there is one.
pub fn report_scales(
    study: &Analysed,
    ours: &Analysed,
    provenance: &[(String, String)],
    quick: Option<QuickCheck<'_>>,
    figures: &[&str],
) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "<!-- generated by `{GENERATOR}`, do not edit -->\n");
    o.push_str("# Reproduction report\n\n");
    o.push_str(
        "Every number below is computed from raw records by `stemz-analysis`. \"Study\" is the \
         reference study's published measurements (`all_runs_combined.csv`) passed through the \
         same code; \"ours\" is the run named under Provenance. Δ is ours − study \
         (relative in parentheses). Ratios are uncompressed / file size; throughputs GiB/s; \
         times seconds.\n\n",
    );

    if quick.is_some() {
        o.push_str(
            "\"Ours\" is the paper-scale run: the study's data sizes, its 42 configurations, on \
             this machine. The small-scale run (1/64 of the data, minutes instead of hours) is \
             the quick check: its claims stand beside the paper-scale ones, and the figures and the \
             sections beyond the study are drawn from it (the paper-scale run measures the \
             study's methods only).\n\n",
        );
    }
    o.push_str("## Provenance\n\n| key | value |\n| --- | --- |\n");
    for (k, v) in provenance {
        let _ = writeln!(o, "| {k} | {} |", v.replace('|', "\\|"));
    }
    o.push('\n');
    if let Some(q) = &quick {
        o.push_str("### The quick check's run\n\n| key | value |\n| --- | --- |\n");
        for (k, v) in q.provenance {
            let _ = writeln!(o, "| {k} | {} |", v.replace('|', "\\|"));
        }
        o.push('\n');
    }

    o.push_str("## Table 1 — datasets\n\n");
    let t1: Vec<_> = ours
        .table1
        .iter()
        .map(|r| {
            let s = study.table1.iter().find(|t| t.dataset == r.dataset);
            (
                r.dataset.clone(),
                vec![
                    (
                        "sparsity %",
                        s.map(|s| s.sparsity_pct),
                        Some(r.sparsity_pct),
                    ),
                    (
                        "size GiB",
                        s.map(|s| s.uncompressed_bytes as f64 / (1u64 << 30) as f64),
                        Some(r.uncompressed_bytes as f64 / (1u64 << 30) as f64),
                    ),
                ],
            )
        })
        .collect();
    compare_table(&mut o, "dataset", &t1);

    o.push_str(
        "## Table 2 — methods\n\nStatic catalogue: see `paper/tables/Table2_methods.md`.\n\n",
    );

    o.push_str("## Table 3 — best ratio per dataset\n\n");
    let t3: Vec<_> = ours
        .table3
        .iter()
        .map(|r| {
            let s = study.table3.iter().find(|t| t.dataset == r.dataset);
            let who = format!(
                "{} — study: {}, ours: {}",
                r.dataset,
                s.map_or("–".into(), |s| format!("`{}`", s.implementation)),
                format_args!("`{}`", r.implementation)
            );
            (
                who,
                vec![
                    ("best ratio", s.map(|s| s.best_ratio), Some(r.best_ratio)),
                    (
                        "file MiB",
                        s.map(|s| s.file_size_mib),
                        Some(r.file_size_mib),
                    ),
                ],
            )
        })
        .collect();
    compare_table(&mut o, "dataset — best implementation", &t3);

    o.push_str("## Table 4 — implementation families (balanced chunking, over datasets)\n\n");
    let t4: Vec<_> = ours
        .table4
        .iter()
        .map(|r| {
            let s = study.table4.iter().find(|t| t.family == r.family);
            (
                r.family.clone(),
                vec![
                    ("mean ratio", s.map(|s| s.mean_ratio), Some(r.mean_ratio)),
                    (
                        "mean write s",
                        s.map(|s| s.mean_write_s),
                        Some(r.mean_write_s),
                    ),
                ],
            )
        })
        .collect();
    compare_table(&mut o, "family", &t4);

    o.push_str("## Table 5 — chunking strategies (mean over HDF5 codecs)\n\n");
    let t5: Vec<_> = ours
        .table5
        .iter()
        .map(|r| {
            let s = study.table5.iter().find(|t| t.chunking == r.chunking);
            (
                r.strategy.clone(),
                vec![
                    ("ratio", s.map(|s| s.mean_ratio), Some(r.mean_ratio)),
                    (
                        "write GiB/s",
                        s.map(|s| s.mean_write_gbs),
                        Some(r.mean_write_gbs),
                    ),
                    (
                        "read GiB/s",
                        s.map(|s| s.mean_read_gbs),
                        Some(r.mean_read_gbs),
                    ),
                ],
            )
        })
        .collect();
    compare_table(&mut o, "strategy", &t5);

    o.push_str("## Equation 1 — C = a·s^b + c\n\n");
    o.push_str(
        "Least squares over (sparsity fraction, best mean ratio per dataset), ratios rounded to \
         two decimals as the study did. The paper prints a = 49.91, b = 6.908, c = 5.001, \
         R² = 0.9911.\n\n",
    );
    let coef = |f: &Option<stemz_analysis::fit::PowerLawFit>| {
        f.as_ref().map(|f| {
            [
                (f.a, f.se_a),
                (f.b, f.se_b),
                (f.c, f.se_c),
                (f.r_squared, f64::NAN),
            ]
        })
    };
    let (cs, co) = (coef(&study.fit), coef(&ours.fit));
    o.push_str("| parameter | study | ours | Δ |\n| --- | ---: | ---: | --- |\n");
    for (i, name) in ["a", "b", "c", "R²"].iter().enumerate() {
        let fmt = |c: &Option<[(f64, f64); 4]>| {
            c.map_or("–".into(), |c| {
                if c[i].1.is_finite() {
                    format!("{:.4} ± {:.3}", c[i].0, c[i].1)
                } else {
                    format!("{:.4}", c[i].0)
                }
            })
        };
        let d = match (cs, co) {
            (Some(s), Some(c)) => diff(s[i].0, c[i].0),
            _ => "–".into(),
        };
        let _ = writeln!(o, "| {name} | {} | {} | {d} |", fmt(&cs), fmt(&co));
    }
    o.push('\n');

    o.push_str("## Entropy bounds\n\n");
    o.push_str(
        "Sparsity-only bound 8·itemsize / H2(s) (H2: binary entropy of the sparsity); H0 bound \
         8·itemsize / H0 where the value entropy is known. Fraction = best ratio / bound.\n\n",
    );
    o.push_str(
        "| dataset | sparsity-only bound | best ratio (ours) | fraction: study | ours | H0 bound | fraction of H0 |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for b in &ours.bounds {
        let s = study.bounds.iter().find(|x| x.dataset == b.dataset);
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            b.dataset,
            num(b.sparsity_bound),
            b.best_ratio.map_or("–".into(), num),
            s.and_then(|s| s.fraction_of_sparsity_bound)
                .map_or("–".into(), num),
            b.fraction_of_sparsity_bound.map_or("–".into(), num),
            b.h0_bound.map_or("–".into(), num),
            b.fraction_of_h0_bound.map_or("–".into(), num),
        );
    }
    o.push('\n');

    o.push_str("## Headline claims\n\n");
    let claims = compare(&study.claims, &ours.claims);
    let quick_claims = quick
        .as_ref()
        .map(|q| compare(&study.claims, &q.run.claims));
    claims_section(&mut o, &claims, quick_claims.as_deref());
    why_section(&mut o, &claims, study, ours, provenance);

    // The paper-scale run measures the study's methods only: what lies beyond them is the
    // quick check's.
    let wide = quick.as_ref().map_or(ours, |q| q.run);
    beyond_the_study(&mut o, wide);
    hdf5_vs_zarr(&mut o, wide);

    o.push_str("## Figures\n\n");
    if quick.is_some() {
        o.push_str("Drawn from the quick check's (small-scale) records.\n\n");
    }
    for f in figures {
        let caption = match *f {
            "fig1_top10" => "Figure 1 — the ten configurations with the highest mean ratio over datasets: ratio, write and read throughput; whiskers span min–max over datasets.",
            "fig2_radar" => "Figure 2 — six key implementations (balanced chunking) on four axes, each normalised to the best of the six.",
            "fig3_sparsity" => "Figure 3 — best ratio per dataset against sparsity, the Equation 1 fit, and the entropy bounds.",
            "fig4_chunking" => "Figure 4 — mean ratio over datasets of the six key implementations per chunking strategy.",
            "fig5_pareto" => "Figure 5 — per dataset, ratio against write throughput for every HDF5 configuration; the line joins the Pareto front.",
            "fig6_parallel" => "Figure 6 — write speed-up of the parallel engine over the serial one per method.",
            _ => "",
        };
        let _ = writeln!(o, "### {f}\n\n{caption}\n\n![{f}](../figures/{f}.png)\n");
        if *f == "fig4_chunking" {
            let rows: Vec<_> = wide
                .table5
                .iter()
                .map(|r| {
                    let s = study.table5.iter().find(|t| t.chunking == r.chunking);
                    (
                        r.strategy.clone(),
                        vec![("mean ratio", s.map(|s| s.mean_ratio), Some(r.mean_ratio))],
                    )
                })
                .collect();
            compare_table(&mut o, "chunking (Table 5 dataset)", &rows);
        }
        if *f == "fig3_sparsity" {
            o.push_str("Points and fit: see Table 3 and Equation 1 above.\n\n");
        }
    }
    o
}
