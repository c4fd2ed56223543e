//! `stemz fidelity`: what each candidate reduction (detector crop, detector binning summed or
//! averaged, scan binning) costs each kept analysis target, and how many bytes it stores.
//!
//! Two streaming passes at most: the summed pattern (only when the bright-field disk must be
//! found), then every target on the full data and on every candidate at once
//! (`stemz_fidelity::eval`). Stored bytes come from the real codec engine, whole for inputs
//! up to 256 MiB, else from a stratified sample of chunk columns
//! (`stemz_fidelity::stored`). Prints the table; `--csv`, `--markdown`, `--figure` write files
//! atomically.

use crate::input::{open_input, parse_scan};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use stemz_codecs::Method;
use stemz_data::{AtomicFile, CubeReader};
use stemz_fidelity::eval::{candidates, evaluate, summed_pattern};
use stemz_fidelity::render::{self, Report};
use stemz_fidelity::stored;
use stemz_fidelity::target::find_disk;
use stemz_fidelity::{Geometry, Keep, Reduction};

/// What to keep and how to judge it; shared by `stemz fidelity` and `stemz reduce`.
#[derive(Debug, Clone, clap::Args)]
pub struct Select {
    /// Targets: vbf, vadf, com, mean, sum, spectrum, eels-window=LO:HI (comma-separated).
    /// Default: vbf,vadf,com,mean,sum (spectrum,sum for a spectrum image, det_y = 1).
    #[arg(long)]
    pub keep: Option<String>,
    /// Largest tolerated relative RMS error of images and patterns: a fraction or a percentage.
    #[arg(long, default_value = "1%", value_parser = parse_tolerance)]
    pub tolerance: f64,
    /// Largest tolerated RMS centre-of-mass error, in original detector pixels.
    #[arg(long, default_value_t = 0.1)]
    pub com_tolerance: f64,
    /// Bright-field disk CY,CX,R in detector pixels (row, column, radius); default: found
    /// from the mean pattern.
    #[arg(long)]
    pub bf_disk: Option<String>,
    /// Annular dark-field radii RI,RO around the disk centre; default 1.5·R .. min(3·R, edge).
    #[arg(long)]
    pub adf: Option<String>,
    /// Detector bin factors to try.
    #[arg(long, default_value = "1,2,4,8")]
    pub bins: String,
    /// Scan bin factors to try.
    #[arg(long, default_value = "1,2")]
    pub scan_bins: String,
    /// Do not try the detector crop to the kept targets' support.
    #[arg(long)]
    pub no_crop: bool,
    /// Lossless methods to measure stored bytes with (the smallest wins).
    #[arg(long, default_value = "blosc_zstd,blosc_zstd_bitshuffle")]
    pub methods: String,
    /// Fraction of chunk columns compressed when the input exceeds 256 MiB.
    #[arg(long, default_value_t = 0.05)]
    pub sample_fraction: f64,
    /// HDF5 input: path of the dataset (default: the file's only 4D dataset).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Scan shape SYxSX (.mib without .hdr; HDF5 3D frame stacks).
    #[arg(long, value_parser = parse_scan)]
    pub scan: Option<(usize, usize)>,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input datacube (EMD 1.0 / HDF5, Merlin .mib, NumPy .npy).
    pub input: PathBuf,
    #[command(flatten)]
    pub select: Select,
    /// Write the table as CSV.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Write the table as Markdown.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Write the Pareto figure (stored bytes vs worst error) as SVG.
    #[arg(long)]
    pub figure: Option<PathBuf>,
}

fn parse_tolerance(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("tolerance {s:?} is not a number or a percentage (e.g. 0.01 or 1%)"))?;
    if v.is_nan() || v <= 0.0 || v.is_infinite() {
        return Err(format!("tolerance {s:?} must be positive"));
    }
    Ok(v)
}

fn parse_list(flag: &str, s: &str) -> Result<Vec<usize>> {
    let mut v = Vec::new();
    for t in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        match t.parse::<usize>() {
            Ok(n) if n >= 1 => v.push(n),
            _ => bail!("{flag}: {t:?} is not a positive integer"),
        }
    }
    if v.is_empty() {
        bail!("{flag}: no value given");
    }
    Ok(v)
}

fn floats<const N: usize>(flag: &str, s: &str) -> Result<[f64; N]> {
    let v: Vec<f64> = s
        .split(',')
        .map(|t| t.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .ok()
        .filter(|v: &Vec<f64>| v.len() == N && v.iter().all(|x| x.is_finite()))
        .with_context(|| format!("{flag} {s:?}: expected {N} comma-separated numbers"))?;
    let mut out = [0.0; N];
    out.copy_from_slice(&v);
    Ok(out)
}

/// The resolved selection: targets, geometry and a way to reopen the input.
pub struct Resolved {
    pub keep: Keep,
    pub geometry: Option<Geometry>,
    pub methods: Vec<Method>,
}

/// Open the input again (each measurement streams it from the start).
pub fn opener(
    input: &Path,
    sel: &Select,
) -> impl Fn() -> stemz_fidelity::Result<Box<dyn CubeReader>> {
    let (input, dataset, scan) = (input.to_path_buf(), sel.dataset.clone(), sel.scan);
    move || {
        open_input(&input, dataset.clone(), scan, false)
            .map_err(|e| stemz_fidelity::FidelityError::Invalid(format!("{e:#}")))
    }
}

/// Parse the targets and find (or take) the detector geometry; one pass over the input when
/// the disk must be found. Errors do not name the file: callers add it.
pub fn resolve(sel: &Select, reader: &mut dyn CubeReader) -> Result<Resolved> {
    let shape = reader.shape();
    let det = [shape[2], shape[3]];
    let keep = match &sel.keep {
        Some(k) => Keep::parse(k)?,
        None => Keep::default_for(det),
    };
    keep.check(det)?;
    let methods = sel
        .methods
        .split(',')
        .map(|m| Method::parse(m.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    if sel.com_tolerance.is_nan() || sel.com_tolerance <= 0.0 {
        bail!("--com-tolerance must be positive");
    }
    if sel.sample_fraction.is_nan() || sel.sample_fraction <= 0.0 || sel.sample_fraction > 1.0 {
        bail!("--sample-fraction must be in (0, 1]");
    }
    let geometry = if keep.needs_disk() {
        let (centre, r, source) = match &sel.bf_disk {
            Some(s) => {
                let [cy, cx, r] = floats::<3>("--bf-disk", s)?;
                ((cy, cx), r, "given")
            }
            None => {
                let dp = summed_pattern(reader)?;
                let (c, r) = find_disk(&dp, det).context(
                    "no bright-field disk found in the mean pattern; give --bf-disk CY,CX,R",
                )?;
                (c, r, "mean pattern")
            }
        };
        let mut g = Geometry::around_disk(centre, r, det, source);
        if let Some(s) = &sel.adf {
            let [ri, ro] = floats::<2>("--adf", s)?;
            g.adf_inner = ri;
            g.adf_outer = ro;
        }
        g.check(keep.contains(stemz_fidelity::Target::Vadf))
            .context("detector geometry")?;
        Some(g)
    } else {
        None
    };
    Ok(Resolved {
        keep,
        geometry,
        methods,
    })
}

/// Measure every candidate of `sel` on `input`: the report (`stemz fidelity`, and `stemz reduce
/// --keep`).
pub fn study(input: &Path, sel: &Select) -> Result<Report> {
    let open = opener(input, sel);
    let mut reader = open_input(input, sel.dataset.clone(), sel.scan, false)?;
    let res = resolve(sel, reader.as_mut()).with_context(|| input.display().to_string())?;
    let shape = reader.shape();
    let bins = parse_list("--bins", &sel.bins).with_context(|| input.display().to_string())?;
    let scan_bins =
        parse_list("--scan-bins", &sel.scan_bins).with_context(|| input.display().to_string())?;
    let cands: Vec<Reduction> = candidates(
        shape,
        &res.keep,
        res.geometry.as_ref(),
        &bins,
        &scan_bins,
        !sel.no_crop,
    );
    if cands.is_empty() {
        bail!(
            "{}: no candidate reduction fits a {shape:?} cube with --bins {} --scan-bins {}",
            input.display(),
            sel.bins,
            sel.scan_bins
        );
    }
    let eval = evaluate(reader.as_mut(), &res.keep, res.geometry, &cands)
        .with_context(|| input.display().to_string())?;
    drop(reader);
    let work = tempfile::Builder::new()
        .prefix(".stemz-fidelity-")
        .tempdir()
        .context("creating a temporary directory")?;
    let mut measured = Vec::with_capacity(cands.len());
    for c in &cands {
        let s = stored::measure(&open, *c, &res.methods, sel.sample_fraction, work.path())
            .with_context(|| format!("{}: measuring {}", input.display(), c.label()))?;
        measured.push(s);
    }
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Report::new(
        name,
        eval,
        measured,
        sel.tolerance,
        sel.com_tolerance,
    ))
}

/// Write `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let a = AtomicFile::new(path)?;
    std::fs::write(a.temp_path(), bytes).with_context(|| path.display().to_string())?;
    a.commit()?;
    Ok(())
}

pub fn run(args: Args) -> Result<()> {
    for out in [&args.csv, &args.markdown, &args.figure]
        .into_iter()
        .flatten()
    {
        if same_file(out, &args.input) {
            bail!("{}: an output must not replace the input", out.display());
        }
    }
    let report = study(&args.input, &args.select)?;
    out!("{}", render::table(&report));
    if let Some(p) = &args.csv {
        write_atomic(p, render::csv(&report).as_bytes())?;
    }
    if let Some(p) = &args.markdown {
        write_atomic(p, render::markdown(&report).as_bytes())?;
    }
    if let Some(p) = &args.figure {
        let svg =
            render::figure_svg(&report).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        write_atomic(p, svg.as_bytes())?;
    }
    Ok(())
}

/// Whether two paths name the same existing file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
