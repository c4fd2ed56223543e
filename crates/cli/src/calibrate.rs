//! `stemz calibrate`: measure the synthetic datasets against the study's published statistics,
//! write the measurements as a record (`data/calibration/<scale>.toml`) and the report
//! rendered from it (`paper/calibration.md`).
//!
//! This module owns the measuring (I/O): each dataset is read from `<data>/<name>.emd` when that
//! file exists, else generated on the fly by a `SynthReader` (same bytes, both stream); its value
//! statistics come from `cube_stats`, and its compression ratio per method from writing it with
//! the study's balanced chunking through the parallel engine into a temporary file that is
//! deleted right after. The criteria are `stemz_analysis::calibration`'s and the Markdown
//! `stemz_report::calibration`'s (both pure), so `stemz-report` re-renders the report from the
//! committed record and checks it is fresh.
//! A failed criterion is a result, written in the report, not an error: the command exits 0.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::time::Instant;
use stemz_analysis::calibration::{
    CalibrationRecord, CalibrationReport, Measured, MethodRatio, OtherScale, StudyReference,
};
use stemz_codecs::{write, Chunking, Engine, Layout, Method, WriteOptions};
use stemz_data::open::{open, OpenOptions};
use stemz_data::stats::cube_stats;
use stemz_data::synth::{DatasetSpec, Manifest, Scale, SynthReader};
use stemz_data::{AtomicFile, CubeReader};
use stemz_report::calibration::render;

/// The environment variable that names the study's published files when `--study` is not given.
pub const STUDY_ENV: &str = "STEMZ_STUDY_DIR";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset size to measure: tiny, small or paper.
    #[arg(long, default_value = "small", value_parser = crate::checks::parse_scale)]
    scale: Scale,
    /// Directory of generated datasets `<name>.emd` (default: data/generated/<scale>/ under the
    /// current directory); datasets missing there are generated on the fly.
    #[arg(long)]
    data: Option<PathBuf>,
    /// The study's published files (`statistics.csv`, …). Default: the directory named by the
    /// environment variable STEMZ_STUDY_DIR, else the files of the repository's data/study/
    /// compiled into stemz.
    #[arg(long)]
    study: Option<PathBuf>,
    /// Report to write (default: calibration.md in the current directory).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Record of the measurements to write (default: the report's path with `.toml`), from
    /// which `stemz-report` renders the report again.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Also compare `small` with `paper` scale (sparsity within 0.3 pp, best ratio within 3 %),
    /// for the datasets whose files exist in data/generated/{small,paper}/.
    #[arg(long)]
    compare_paper: bool,
    /// Datasets to measure (default: all five).
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    datasets: Vec<String>,
    /// Methods to measure (default: the study's 13 HDF5 methods).
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    methods: Vec<String>,
    /// Manifest to read (default: the one built into stemz).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Directory for the temporary compressed files (default: the system's temp directory).
    #[arg(long)]
    tmp: Option<PathBuf>,
}

/// The methods to measure: the study's HDF5 ones unless named.
fn selected_methods(names: &[String]) -> anyhow::Result<Vec<Method>> {
    let study: Vec<Method> = Method::study()
        .iter()
        .copied()
        .filter(|m| m.is_hdf5())
        .collect();
    if names.is_empty() {
        return Ok(study);
    }
    let mut out = Vec::new();
    for n in names {
        let m = Method::parse(n)?;
        if !study.contains(&m) {
            let valid: Vec<&str> = study.iter().map(|m| m.name()).collect();
            bail!(
                "method {m} is not one of the study's HDF5 methods ({})",
                valid.join(", ")
            );
        }
        if !out.contains(&m) {
            out.push(m);
        }
    }
    Ok(out)
}

/// Open the dataset from `<dir>/<name>.emd` if it exists (checking it is the manifest's shape
/// and dtype at `scale`), else a generator. Returns the reader and where it reads from.
fn source(
    spec: &DatasetSpec,
    scale: Scale,
    dir: &Path,
) -> anyhow::Result<(Box<dyn CubeReader>, String)> {
    let path = dir.join(format!("{}.emd", spec.name));
    if !path.exists() {
        let r = SynthReader::new(spec, scale)?;
        return Ok((Box::new(r), "generated on the fly".into()));
    }
    let r = open(&path, &OpenOptions::default())?;
    let want = spec.shape_at(scale)?;
    if r.shape() != want || r.dtype() != spec.dtype {
        bail!(
            "{}: holds a {:?} {} cube, but {} at `{scale}` scale is {:?} {} (stale file? \
             regenerate it with `stemz synth --scale {scale}`)",
            path.display(),
            r.shape(),
            r.dtype(),
            spec.name,
            want,
            spec.dtype
        );
    }
    Ok((r, path.display().to_string()))
}

/// Statistics and balanced-chunking ratios of one dataset.
fn measure(
    spec: &DatasetSpec,
    scale: Scale,
    reader: &mut dyn CubeReader,
    methods: &[Method],
    tmp: &Path,
) -> anyhow::Result<Measured> {
    let stats = cube_stats(reader)
        .with_context(|| format!("{} [{scale}]: statistics", spec.name))?
        .summary();
    let mut ratios = Vec::new();
    for &m in methods {
        let out = tmp.join(format!("{}_{}.h5", spec.name, m.name()));
        let mut opts = WriteOptions::new(
            m,
            Chunking::Balanced,
            Engine::Parallel { threads: 0 },
            Layout::hdf5_default(),
        );
        // Only the size matters here; the engines' losslessness is the codec tests' and the
        // benchmark's to check, and reading back would double the time.
        opts.verify = false;
        let report = write(reader, &out, &opts)
            .with_context(|| format!("{} [{scale}]: writing with {m}", spec.name))?;
        std::fs::remove_file(&out)
            .with_context(|| format!("removing temporary file {}", out.display()))?;
        ratios.push(MethodRatio {
            method: m.name().to_owned(),
            ratio: report.ratio(),
        });
    }
    Ok(Measured {
        name: spec.name.clone(),
        scale: scale.name().to_owned(),
        shape: reader.shape(),
        dtype: stats.dtype.numpy_name().to_owned(),
        count: stats.count,
        sparsity: stats.sparsity,
        max: stats.max,
        above_4095: stats.above_4095,
        above_16383: stats.above_16383,
        ratios,
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let scale = args.scale;
    if args.compare_paper && scale == Scale::Tiny {
        bail!("--compare-paper compares `small` with `paper` scale; use --scale small or paper");
    }
    let manifest = Manifest::load_or_embedded(args.manifest.as_deref())?;
    let generated = PathBuf::from("data/generated");
    let data_dir = args
        .data
        .clone()
        .unwrap_or_else(|| generated.join(scale.name()));
    let study_dir = match (&args.study, std::env::var_os(STUDY_ENV)) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(d)) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => None,
    };
    let study = match &study_dir {
        Some(dir) => StudyReference::load(dir)
            .with_context(|| format!("reading the study's files in {}", dir.display()))?,
        None => StudyReference::bundled().context("the study's compiled-in files")?,
    };
    let out_path = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("calibration.md"));
    let methods = selected_methods(&args.methods)?;
    let specs = manifest.selected(&args.datasets)?;
    let tmp = crate::checks::scratch_dir(
        &args.tmp.clone().unwrap_or_else(std::env::temp_dir),
        "calibrate",
    )?;

    let record_path = args
        .record
        .clone()
        .unwrap_or_else(|| out_path.with_extension("toml"));
    let mut record = CalibrationRecord {
        scale: scale.name().to_owned(),
        datasets: Vec::new(),
        comparison: args.compare_paper.then(Vec::new),
    };
    for spec in specs {
        let t = Instant::now();
        // Fail before measuring a dataset the study does not know.
        study.dataset(&spec.name)?;
        let (mut reader, from) = source(spec, scale, &data_dir)?;
        let measured = measure(spec, scale, reader.as_mut(), &methods, tmp.path())?;
        drop(reader);
        let one = CalibrationRecord {
            scale: record.scale.clone(),
            datasets: vec![measured.clone()],
            comparison: None,
        };
        let line = CalibrationReport::evaluate(&one, &study)?.datasets[0].summary_line();
        outln!("{line} ({from}, {:.1}s)", t.elapsed().as_secs_f64());
        if let Some(cmp) = record.comparison.as_mut() {
            cmp.push(measure_other_scale(
                spec,
                scale,
                &generated,
                &methods,
                tmp.path(),
            )?);
        }
        record.datasets.push(measured);
    }

    let report = CalibrationReport::evaluate(&record, &study)?;
    write_atomically(&record_path, &record.to_toml()?)?;
    let written = write_atomically(&out_path, &render(&report))?;
    let (passed, total) = report.tally();
    outln!(
        "{passed}/{total} criteria pass; wrote {} and {} in {:.1}s",
        record_path.display(),
        written.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Write `text` to `path` through a temporary file renamed into place.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<PathBuf> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating directory {}", parent.display()))?;
    }
    let file = AtomicFile::new(path)?;
    std::fs::write(file.temp_path(), text)
        .with_context(|| format!("writing {}", file.temp_path().display()))?;
    Ok(file.commit()?)
}

/// The other scale (`paper` for `small` and the reverse) of one dataset, for the comparison.
/// It is read only from its generated file: generating a paper-scale cube on the fly 13 times
/// over would take hours.
fn measure_other_scale(
    spec: &DatasetSpec,
    scale: Scale,
    generated: &Path,
    methods: &[Method],
    tmp: &Path,
) -> anyhow::Result<OtherScale> {
    let other = if scale == Scale::Paper {
        Scale::Small
    } else {
        Scale::Paper
    };
    let dir = generated.join(other.name());
    if !dir.join(format!("{}.emd", spec.name)).exists() {
        return Ok(OtherScale {
            dataset: spec.name.clone(),
            other: None,
            skipped: Some(format!(
                "no `{other}` file (run `stemz synth --scale {other}`)"
            )),
        });
    }
    let t = Instant::now();
    let (mut reader, from) = source(spec, other, &dir)?;
    let m_other = measure(spec, other, reader.as_mut(), methods, tmp)?;
    outln!(
        "{} at `{other}` scale measured ({from}, {:.1}s)",
        spec.name,
        t.elapsed().as_secs_f64()
    );
    Ok(OtherScale {
        dataset: spec.name.clone(),
        other: Some(m_other),
        skipped: None,
    })
}
