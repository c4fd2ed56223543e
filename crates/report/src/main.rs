//! `stemz-report`: render every table, figure and `paper/REPORT.md`, writing them under the
//! workspace root or, with `--check`, failing when any is stale. The only file reading of the
//! report stage happens here.

use anyhow::{bail, Context, Result};
use clap::Parser;
use std::path::{Path, PathBuf};
use stemz_analysis::record::{read_datasets, read_measurements, Measurement};
use stemz_analysis::runinfo;
use stemz_analysis::study;
use stemz_report::{render_all, writer, Analysed, Catalogue, GENERATOR};

/// Render the study's tables and figures from records.
#[derive(Parser, Debug)]
#[command(name = "stemz-report")]
struct Args {
    /// The reference study's folder (all_runs_combined.csv, dataset_inventory.csv, …).
    /// Default: the files of the repository's data/study/, compiled in.
    #[arg(long)]
    study: Option<PathBuf>,
    /// A stemz run folder (raw.csv, datasets.csv, run.toml); without it the study's own
    /// records are reported.
    #[arg(long)]
    run: Option<PathBuf>,
    /// Output root (artifacts go to paper/ and figures/ under it).
    #[arg(long)]
    out: Option<PathBuf>,
    /// A paper-scale stemz run folder: REPORT.md compares the study with it, and `--run` (the
    /// small run) becomes its quick check.
    #[arg(long, requires = "run")]
    paper_run: Option<PathBuf>,
    /// README.md: its generated block of measured times (between the markers of
    /// `stemz_report::times`) is rendered from `--run`, `--paper-run` and `--clone-check`.
    #[arg(long, requires = "run")]
    readme: Option<PathBuf>,
    /// `data/runs/clone-check.toml` (written by `cargo xtask clone-check`), for `--readme`.
    #[arg(long, requires = "readme")]
    clone_check: Option<PathBuf>,
    /// Write nothing; fail when any artifact differs from what would be written.
    #[arg(long)]
    check: bool,
    /// A folder of `stemz fidelity --csv` records, `<dataset>.csv`: REPORT.md gains its
    /// "Beyond lossless" section.
    #[arg(long)]
    fidelity: Option<PathBuf>,
    /// A calibration record (`data/calibration/<scale>.toml`, written by `stemz calibrate`):
    /// `paper/calibration.md` is rendered from it.
    #[arg(long)]
    calibration: Option<PathBuf>,
    /// A folder of run folders (`data/runs`): every `cargo xtask perf` record in it (a folder
    /// with a `perf.csv`), by name, is rendered into `paper/PERF.md`.
    #[arg(long)]
    perf: Option<PathBuf>,
    /// A folder of run folders (`data/runs`): every `blosc2-*` `stemz bench` run in it
    /// (`raw.csv`, `datasets.csv`, `run.toml`), by name, is rendered into `paper/BLOSC2.md`.
    #[arg(long)]
    blosc2: Option<PathBuf>,
    /// The dataset manifest (`data/datasets.toml`): a run measured on stand-ins other than the
    /// ones it names says so in its provenance. Default: the repository's, compiled in.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Print the `paper/PERF.md` section of one `cargo xtask perf` record folder and exit
    /// (what `cargo xtask perf` shows when it has measured); nothing else is rendered.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["run", "check", "summary"])]
    perf_record: Option<PathBuf>,
    /// After writing, print where the artifacts are, the headline numbers, and every claim or
    /// fit that does not hold on the run's data.
    #[arg(long)]
    summary: bool,
}

fn open(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))
}

/// The study's analysed runs from `--study DIR`, else from its files compiled in.
fn load_study(dir: Option<&Path>) -> Result<Analysed> {
    let (ds, rows) = match dir {
        Some(dir) => {
            let inv = dir.join("dataset_inventory.csv");
            let runs = dir.join("all_runs_combined.csv");
            let ds =
                study::read_inventory(open(&inv)?).with_context(|| inv.display().to_string())?;
            let rows =
                study::read_runs(open(&runs)?, &ds).with_context(|| runs.display().to_string())?;
            (ds, rows)
        }
        None => {
            let ds = study::read_inventory(study::bundled::INVENTORY.as_bytes())?;
            let rows = study::read_runs(study::bundled::RUNS.as_bytes(), &ds)?;
            (ds, rows)
        }
    };
    Ok(Analysed::new(ds, &rows, &Catalogue::study())?)
}

/// Flatten run.toml into `key = value` pairs (nested tables as `a.b`), in file order.
fn provenance(text: &str, path: &Path) -> Result<Vec<(String, String)>> {
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{}: not valid TOML", path.display()))?;
    fn walk(prefix: &str, t: &toml::Table, out: &mut Vec<(String, String)>) {
        for (k, v) in t {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(inner) => walk(&key, inner, out),
                toml::Value::String(s) => out.push((key, s.clone())),
                other => out.push((key, other.to_string())),
            }
        }
    }
    let mut out = Vec::new();
    walk("", &table, &mut out);
    Ok(out)
}

/// When more than one kind of machine or build measured a run (`--across-machines`), which
/// rows (1-based, raw.csv order) and datasets each measured; `None` for a run of one.
fn measured_by(text: &str, path: &Path, rows: &[Measurement]) -> Result<Option<String>> {
    let info: runinfo::RunInfo =
        toml::from_str(text).with_context(|| format!("{}: not a run.toml", path.display()))?;
    let segments = runinfo::segments(&info, rows.len());
    if segments.len() < 2 {
        return Ok(None);
    }
    let parts: Vec<String> = segments
        .iter()
        .map(|s| {
            let mut datasets: Vec<&str> = Vec::new();
            for m in &rows[s.rows.clone()] {
                if !datasets.contains(&m.dataset.as_str()) {
                    datasets.push(&m.dataset);
                }
            }
            let rev = s.git_revision.get(..7).unwrap_or(&s.git_revision);
            format!(
                "rows {}–{} ({}) on {}, {} cores, revision {rev}",
                s.rows.start + 1,
                s.rows.end,
                datasets.join(", "),
                s.cpu,
                s.cores
            )
        })
        .collect();
    Ok(Some(parts.join("; ")))
}

/// Which rows of a run were measured while the machine's 1-minute load exceeded its cores plus
/// one (something besides the benchmark ran), from the folder's `machine-load.csv` when it has
/// one.
fn under_load(dir: &Path, info: &runinfo::RunInfo, rows: usize) -> Result<Option<String>> {
    use stemz_analysis::load::{ranges, read_load, rows_under_load, MACHINE_LOAD_CSV};
    let path = dir.join(MACHINE_LOAD_CSV);
    if !path.is_file() {
        return Ok(None);
    }
    let samples = read_load(open(&path)?).with_context(|| path.display().to_string())?;
    let above = info.machine.cores as f64 + 1.0;
    let loaded = rows_under_load(&samples, above, rows);
    let Some(first) = samples.iter().map(|s| s.rows_done + 1).min() else {
        return Ok(None);
    };
    let sampled = format!("rows {first}–{rows} sampled, {MACHINE_LOAD_CSV}");
    Ok(Some(if loaded.is_empty() {
        format!("none: the 1-minute load never exceeded {above} ({sampled})")
    } else {
        format!(
            "{} rows had a 1-minute load above {above} at some sample while measured, something \
             else running on the machine ({sampled}): {}",
            loaded.len(),
            ranges(&loaded)
        )
    }))
}

/// A stemz run folder, analysed: the analysis, its provenance, its run.toml and rows.
struct Run {
    analysed: Analysed,
    provenance: Vec<(String, String)>,
    info: runinfo::RunInfo,
    rows: Vec<Measurement>,
}

/// The manifest's SHA-256 of every stand-in at every scale: the fields of `data/datasets.toml`
/// (`stemz_data::synth::Manifest`, which links HDF5) that the provenance needs.
#[derive(Debug, serde::Deserialize)]
struct Manifest {
    dataset: Vec<ManifestDataset>,
}

#[derive(Debug, serde::Deserialize)]
struct ManifestDataset {
    name: String,
    generator_version: u32,
    #[serde(default)]
    scales: std::collections::BTreeMap<String, ManifestScale>,
}

#[derive(Debug, serde::Deserialize)]
struct ManifestScale {
    sha256: Option<String>,
}

/// The manifest from `--manifest`, else the repository's, compiled in.
fn load_manifest(path: Option<&Path>) -> Result<Manifest> {
    let text = match path {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?
        }
        None => include_str!("../../../data/datasets.toml").to_string(),
    };
    let name = path.map_or("data/datasets.toml (compiled in)".into(), |p| {
        p.display().to_string()
    });
    toml::from_str(&text).with_context(|| format!("{name}: not a dataset manifest"))
}

/// The provenance line for a run whose synthetic datasets are not the manifest's at its scale
/// (the stand-ins changed after it was measured), or `None` when every one matches. Datasets the
/// manifest does not list (real files) are not synthetic and are left out.
fn stale_stand_ins(
    scale: &str,
    measured: &std::collections::BTreeMap<String, String>,
    manifest: &Manifest,
) -> Option<String> {
    let mut changed = Vec::new();
    let mut generator = 0;
    for d in &manifest.dataset {
        let Some(measured) = measured.get(&d.name) else {
            continue;
        };
        let now = d.scales.get(scale).and_then(|s| s.sha256.as_deref());
        if now.is_some_and(|now| now != measured) {
            changed.push(d.name.as_str());
            generator = generator.max(d.generator_version);
        }
    }
    (!changed.is_empty()).then(|| {
        format!(
            "{} measured on earlier stand-ins: the manifest's generator {generator} makes other \
             bytes for them at {} scale (data/datasets.toml), so their ratios describe the \
             earlier data",
            changed.join(", "),
            scale
        )
    })
}

/// A stemz run folder (raw.csv, datasets.csv, run.toml), analysed, with its provenance.
fn load_run(dir: &Path, manifest: &Manifest) -> Result<Run> {
    let raw = dir.join("raw.csv");
    let dsf = dir.join("datasets.csv");
    let rows = read_measurements(open(&raw)?).with_context(|| raw.display().to_string())?;
    let mut ds = read_datasets(open(&dsf)?).with_context(|| dsf.display().to_string())?;
    let toml_path = dir.join("run.toml");
    let text = std::fs::read_to_string(&toml_path)
        .with_context(|| format!("{}: cannot read", toml_path.display()))?;
    let info: runinfo::RunInfo = toml::from_str(&text)
        .with_context(|| format!("{}: not a run.toml", toml_path.display()))?;
    let partial = info.expected_rows.filter(|&n| rows.len() < n);
    if partial.is_some() {
        // A run still being measured is reported on the datasets it has reached.
        ds.retain(|d| {
            rows.iter().any(|r| {
                r.dataset == d.dataset && r.chunking != stemz_analysis::record::NO_CHUNKING
            })
        });
    }
    let mut cat = Catalogue::study();
    if !ds.iter().any(|d| d.dataset == cat.table5_dataset) {
        // Table 5 summarises the study's 4D_Diff; otherwise use the largest dataset.
        if let Some(d) = ds.iter().max_by_key(|d| d.uncompressed_bytes) {
            cat.table5_dataset = d.dataset.clone();
        }
    }
    let a = Analysed::new(ds, &rows, &cat)?;
    let mut prov = provenance(&text, &toml_path)?;
    if let Some(line) = measured_by(&text, &toml_path, &rows)? {
        prov.push(("measured by".into(), line));
    }
    if let Some(line) = under_load(dir, &info, rows.len())? {
        prov.push(("measured under load".into(), line));
    }
    if let Some(line) = stale_stand_ins(&info.scale, &info.datasets, manifest) {
        prov.push(("stand-ins".into(), line));
    }
    if let Some(expected) = partial {
        prov.push((
            "rows".into(),
            format!(
                "{} of {expected} (the run is still being measured)",
                rows.len()
            ),
        ));
    }
    // The folder's name only: the report must not depend on where the checkout is.
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    prov.insert(
        0,
        (
            "run folder".into(),
            format!("data/runs/{}", name.unwrap_or_default()),
        ),
    );
    Ok(Run {
        analysed: a,
        provenance: prov,
        info,
        rows,
    })
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(dir) = &args.perf_record {
        print!("{}", stemz_report::perf::section(&perf_record(dir)?));
        return Ok(());
    }
    let study = load_study(args.study.as_deref())?;
    let manifest = load_manifest(args.manifest.as_deref())?;
    let small = args
        .run
        .as_deref()
        .map(|d| load_run(d, &manifest))
        .transpose()?;
    let (ours, prov) = match &small {
        None => (
            study.clone(),
            vec![
                (
                    "records".to_string(),
                    "the reference study's published measurements".to_string(),
                ),
                (
                    "source".to_string(),
                    "ondrejdyck/4d-stem-compression-benchmark-public @ 8a543cd".to_string(),
                ),
            ],
        ),
        Some(run) => (run.analysed.clone(), run.provenance.clone()),
    };
    let paper = args
        .paper_run
        .as_deref()
        .map(|d| load_run(d, &manifest))
        .transpose()?;
    let paper_ref = paper
        .as_ref()
        .map(|r| (&r.analysed, r.provenance.as_slice()));
    let mut files = render_all(&study, &ours, &Catalogue::study(), &prov, paper_ref)?;
    if let Some(dir) = &args.fidelity {
        let section = beyond_lossless(dir)?;
        if let Some((_, report)) = files.iter_mut().find(|(p, _)| p.ends_with("REPORT.md")) {
            report.extend_from_slice(section.as_bytes());
        }
    }
    if let Some(path) = &args.calibration {
        files.push((
            PathBuf::from("paper/calibration.md"),
            calibration(path, args.study.as_deref())?,
        ));
    }
    if let Some(path) = &args.readme {
        files.push((
            PathBuf::from("README.md"),
            readme(
                path,
                args.clone_check.as_deref(),
                small.as_ref(),
                paper.as_ref(),
            )?,
        ));
    }
    if let Some(dir) = &args.perf {
        files.push((PathBuf::from("paper/PERF.md"), perf_journal(dir)?));
    }
    if let Some(dir) = &args.blosc2 {
        files.push((PathBuf::from("paper/BLOSC2.md"), blosc2(dir)?));
    }
    let summary = args.summary.then(|| summarize(&study, &ours));
    let root = args
        .out
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    let changed = writer::write_or_check(&root, &files, args.check)?;
    if args.check {
        if !changed.is_empty() {
            let list: Vec<String> = changed.iter().map(|p| p.display().to_string()).collect();
            bail!(
                "stale generated files: {}\nrun `{GENERATOR}` and commit",
                list.join(", ")
            );
        }
        println!("{} generated files up to date", files.len());
    } else {
        println!("{} files rendered, {} changed", files.len(), changed.len());
    }
    if let Some(text) = summary {
        print!("{text}");
    }
    Ok(())
}

/// README.md with its block of measured times rendered from the runs and the clone check.
fn readme(
    path: &Path,
    clone_check: Option<&Path>,
    small: Option<&Run>,
    paper: Option<&Run>,
) -> Result<Vec<u8>> {
    use stemz_report::times::{block, splice, RunTimes, BEGIN, END};
    let text = read_text(path)?;
    let clone: Option<runinfo::CloneCheck> = clone_check
        .map(|p| {
            toml::from_str(&read_text(p)?)
                .with_context(|| format!("{}: not a clone-check record", p.display()))
        })
        .transpose()?;
    fn times(r: &Run) -> RunTimes<'_> {
        RunTimes {
            info: &r.info,
            rows: &r.rows,
        }
    }
    let new = block(clone.as_ref(), small.map(times), paper.map(times));
    match splice(&text, &new) {
        Some(out) => Ok(out.into_bytes()),
        None => bail!(
            "{}: no block of measured times to render (a line `{BEGIN}`, later one `{END}`)",
            path.display()
        ),
    }
}

/// The folder name of `dir`, as its record id.
fn folder_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// One `cargo xtask perf` record folder, parsed.
fn perf_record(dir: &Path) -> Result<stemz_report::perf::PerfRecord> {
    use stemz_analysis::perf::{self, PerfInfo};
    let path = |name: &str| dir.join(name);
    let rows = perf::read_rows(open(&path(perf::PERF_CSV))?)
        .with_context(|| path(perf::PERF_CSV).display().to_string())?;
    let invocations = perf::read_invocations(open(&path(perf::INVOCATIONS_CSV))?)
        .with_context(|| path(perf::INVOCATIONS_CSV).display().to_string())?;
    let info = PerfInfo::from_toml(&read_text(&path(perf::PERF_TOML))?)
        .with_context(|| path(perf::PERF_TOML).display().to_string())?;
    Ok(stemz_report::perf::PerfRecord {
        id: folder_name(dir),
        info,
        rows,
        invocations,
    })
}

/// The run folders under `dir` that hold `file`, in name order.
fn folders_with(dir: &Path, file: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?
    {
        let path = entry?.path();
        if path.join(file).is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// `paper/PERF.md` from every perf record under `dir`, in name order.
fn perf_journal(dir: &Path) -> Result<Vec<u8>> {
    let records = folders_with(dir, stemz_analysis::perf::PERF_CSV)?
        .iter()
        .map(|d| perf_record(d))
        .collect::<Result<Vec<_>>>()?;
    Ok(stemz_report::perf::journal(&records).into_bytes())
}

/// `paper/BLOSC2.md` from every `blosc2-*` run folder under `dir`, in name order.
fn blosc2(dir: &Path) -> Result<Vec<u8>> {
    use stemz_report::blosc2::{render, Blosc2Record};
    let mut records = Vec::new();
    for run in folders_with(dir, "raw.csv")? {
        let id = folder_name(&run);
        if !id.starts_with("blosc2-") {
            continue;
        }
        let raw = run.join("raw.csv");
        let dsf = run.join("datasets.csv");
        let toml_path = run.join("run.toml");
        records.push(Blosc2Record {
            rows: read_measurements(open(&raw)?).with_context(|| raw.display().to_string())?,
            datasets: read_datasets(open(&dsf)?).with_context(|| dsf.display().to_string())?,
            info: toml::from_str(&read_text(&toml_path)?)
                .with_context(|| format!("{}: not a run.toml", toml_path.display()))?,
            id,
        });
    }
    Ok(render(&records).into_bytes())
}

/// `paper/calibration.md` from a calibration record and the study's published files.
fn calibration(record: &Path, study: Option<&Path>) -> Result<Vec<u8>> {
    use stemz_analysis::calibration::{CalibrationRecord, CalibrationReport, StudyReference};
    let text = std::fs::read_to_string(record)
        .with_context(|| format!("{}: cannot read", record.display()))?;
    let rec = CalibrationRecord::from_toml(&text).with_context(|| record.display().to_string())?;
    let reference = match study {
        Some(dir) => StudyReference::load(dir)?,
        None => StudyReference::bundled()?,
    };
    let report = CalibrationReport::evaluate(&rec, &reference)
        .with_context(|| record.display().to_string())?;
    Ok(stemz_report::calibration::render(&report).into_bytes())
}

/// The "Beyond lossless" section from every `<dataset>.csv` in `dir`, in name order.
fn beyond_lossless(dir: &Path) -> Result<String> {
    use stemz_report::beyond::{section, FidelityTable};
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list the fidelity records", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    paths.sort();
    let mut tables = Vec::new();
    for p in &paths {
        let name = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(p).with_context(|| p.display().to_string())?;
        tables.push(FidelityTable::parse(&name, &text).map_err(anyhow::Error::msg)?);
    }
    Ok(section(&tables, "cargo xtask fidelity"))
}

/// The end-of-run summary: where things are, Eq. 1 theirs vs ours, and each headline claim.
fn summarize(study: &Analysed, ours: &Analysed) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "\nArtifacts: paper/tables/ (Tables 1-5: CSV, Markdown, LaTeX), figures/ (SVG, PNG), paper/REPORT.md");
    let fit = |f: &Option<stemz_analysis::fit::PowerLawFit>| match f {
        Some(f) => format!(
            "a = {:.3}, b = {:.3}, c = {:.3}, R^2 = {:.4}",
            f.a, f.b, f.c, f.r_squared
        ),
        None => "not fitted (too few datasets)".to_string(),
    };
    let _ = writeln!(
        s,
        "Equation 1  study: {}\n            ours:  {}",
        fit(&study.fit),
        fit(&ours.fit)
    );
    for row in &ours.table3 {
        let _ = writeln!(
            s,
            "Best for {:<22} {:>7.2}x  {}",
            row.dataset, row.best_ratio, row.implementation
        );
    }
    let claims = stemz_analysis::claims::compare(&study.claims, &ours.claims);
    let failed: Vec<_> = claims.iter().filter(|c| !c.holds).collect();
    let _ = writeln!(
        s,
        "Claims: {} of {} hold on our data",
        claims.len() - failed.len(),
        claims.len()
    );
    for c in failed {
        let _ = writeln!(
            s,
            "  does not hold: {} (stated {}, ours {}; tolerance: {})",
            c.statement,
            stemz_report::markdown::value(&c.stated),
            stemz_report::markdown::value(&c.ours),
            c.tolerance
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
[[dataset]]
name = "4D_Diff"
generator_version = 2
[dataset.scales.paper]
sha256 = "new"
[dataset.scales.small]
sha256 = "same"

[[dataset]]
name = "3D_EELS"
generator_version = 2
[dataset.scales.paper]
sha256 = "eels"
"#;

    #[test]
    fn a_run_of_stand_ins_the_manifest_no_longer_makes_says_which() {
        let m: Manifest = toml::from_str(MANIFEST).unwrap();
        let run = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let line = stale_stand_ins(
            "paper",
            &run(&[("4D_Diff", "old"), ("3D_EELS", "eels")]),
            &m,
        )
        .expect("4D_Diff changed");
        assert!(
            line.starts_with("4D_Diff measured on earlier stand-ins"),
            "{line}"
        );
        assert!(
            line.contains("generator 2") && !line.contains("3D_EELS"),
            "{line}"
        );
        assert_eq!(
            stale_stand_ins("paper", &run(&[("4D_Diff", "new")]), &m),
            None
        );
        assert_eq!(
            stale_stand_ins("small", &run(&[("4D_Diff", "same")]), &m),
            None
        );
        // A real file the manifest does not list is not a stand-in.
        assert_eq!(
            stale_stand_ins("paper", &run(&[("scan.mib", "x")]), &m),
            None
        );
    }

    #[test]
    fn the_compiled_in_manifest_parses() {
        let m = load_manifest(None).unwrap();
        assert_eq!(m.dataset.len(), 5);
        assert!(m.dataset.iter().all(|d| d.scales.contains_key("paper")));
    }
}
