//! The pipeline stages as xtask commands. xtask itself stays light: it builds the `stemz` and
//! `stemz-report` binaries and runs them with paths rooted at the workspace.

use crate::flags::{BenchArgs, DatasetsArgs, ReproduceArgs};
use crate::util::{cargo, exec, root};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Command;

/// Build the release binaries once per invocation and return the path of `name`.
pub fn release_bin(name: &str) -> Result<PathBuf> {
    crate::setup::run()?;
    exec(cargo().args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "stemz-cli",
        "-p",
        "stemz-report",
    ]))?;
    Ok(root().join("target/release").join(name))
}

fn check_scale(scale: &str) -> Result<()> {
    if !matches!(scale, "tiny" | "small" | "paper") {
        bail!("unknown scale `{scale}`: expected tiny, small or paper");
    }
    Ok(())
}

pub fn generated_dir(scale: &str) -> PathBuf {
    root().join("data/generated").join(scale)
}

const DATASETS: [&str; 5] = [
    "4D_EELS",
    "4D_Diff",
    "4D_Diff-2x2-binning",
    "4D_Diff-4x4-binning",
    "3D_EELS",
];

pub fn datasets(args: &DatasetsArgs) -> Result<()> {
    check_scale(&args.scale)?;
    let stemz = release_bin("stemz")?;
    let out = format!("data/generated/{}", args.scale);
    if args.verify {
        // Regenerates in memory and compares every SHA-256 with data/datasets.toml.
        exec(Command::new(&stemz).args(["synth", "--scale", &args.scale, "--verify"]))?;
    }
    // Files are written atomically, so a present file is a complete one: a rerun resumes.
    let present = DATASETS
        .iter()
        .all(|d| root().join(&out).join(format!("{d}.emd")).exists());
    if present {
        eprintln!("datasets: {out}/ already holds all five datasets");
    } else {
        exec(Command::new(&stemz).args(["synth", "--scale", &args.scale, "--out", &out]))?;
    }
    if args.calibrate {
        exec(Command::new(&stemz).args([
            "calibrate",
            "--scale",
            &args.scale,
            "--data",
            &out,
            "--out",
            "paper/calibration.md",
        ]))?;
    }
    Ok(())
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    let stemz = release_bin("stemz")?;
    exec(Command::new(stemz).arg("bench").args(&args.args))
}

/// The committed reference run (`data/runs/REFERENCE` holds its folder name), relative to the
/// workspace root.
fn reference_run() -> Result<String> {
    let pointer = root().join("data/runs/REFERENCE");
    let id = std::fs::read_to_string(&pointer)
        .with_context(|| format!("{}: names the committed reference run", pointer.display()))?;
    Ok(format!("data/runs/{}", id.trim()))
}

/// The study's published measurements, beside the checkout (see README).
const STUDY: &str = "../shared/reference/paper";

fn report_cmd(check: bool) -> Result<()> {
    let run = reference_run()?;
    if !root().join(STUDY).is_dir() {
        bail!("{STUDY}: the study's published measurements are needed beside the checkout");
    }
    exec(
        cargo()
            .args(["run", "--quiet", "-p", "stemz-report", "--"])
            .args(["--study", STUDY, "--run", &run, "--out", "."])
            .args(check.then_some("--check")),
    )
}

pub fn report() -> Result<()> {
    crate::setup::run()?;
    report_cmd(false)
}

pub fn check() -> Result<()> {
    crate::setup::run()?;
    report_cmd(true)
}

/// The run folder `reproduce` measures into: per scale and machine, so a rerun on the same
/// machine resumes, and a fresh clone elsewhere measures anew instead of finding the committed
/// reference run complete.
fn reproduce_run_id(scale: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if host.is_empty() {
        format!("reproduce-{scale}")
    } else {
        format!("reproduce-{scale}-{host}")
    }
}

pub fn reproduce(args: &ReproduceArgs) -> Result<()> {
    check_scale(&args.scale)?;
    let started = std::time::Instant::now();
    datasets(&DatasetsArgs {
        scale: args.scale.clone(),
        verify: false,
        calibrate: true,
    })?;
    let run_id = reproduce_run_id(&args.scale);
    let stemz = release_bin("stemz")?;
    let data = format!("data/generated/{}", args.scale);
    exec(
        Command::new(&stemz)
            .args([
                "bench",
                "--scale",
                &args.scale,
                "--runs",
                &args.runs.to_string(),
            ])
            .args(["--data", &data, "--run-id", &run_id, "--out", "data/runs"]),
    )?;
    exec(
        Command::new(release_bin("stemz-report")?)
            .args([
                "--study",
                STUDY,
                "--run",
                &format!("data/runs/{run_id}"),
                "--out",
                ".",
            ])
            .arg("--summary"),
    )?;
    eprintln!(
        "reproduce: done in {:.1} min; records in data/runs/{run_id}/, calibration in paper/calibration.md",
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}
