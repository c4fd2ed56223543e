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

pub fn datasets(args: &DatasetsArgs) -> Result<()> {
    check_scale(&args.scale)?;
    let stemz = release_bin("stemz")?;
    let out = generated_dir(&args.scale);
    std::fs::create_dir_all(&out).with_context(|| out.display().to_string())?;
    let mut synth = Command::new(&stemz);
    synth
        .args(["synth", "--scale", &args.scale, "--out"])
        .arg(&out);
    if args.verify {
        synth.arg("--verify");
    }
    exec(&mut synth)?;
    if args.calibrate {
        exec(
            Command::new(&stemz)
                .args(["calibrate", "--scale", &args.scale, "--data"])
                .arg(&out)
                .arg("--out")
                .arg(root().join("paper/calibration.md")),
        )?;
    }
    Ok(())
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    let stemz = release_bin("stemz")?;
    exec(Command::new(stemz).arg("bench").args(&args.args))
}

/// The committed reference run that `report` and `check` render.
fn reference_run() -> Result<PathBuf> {
    let pointer = root().join("data/runs/REFERENCE");
    let id = std::fs::read_to_string(&pointer)
        .with_context(|| format!("{}: names the committed reference run", pointer.display()))?;
    Ok(root().join("data/runs").join(id.trim()))
}

fn report_cmd(check: bool) -> Result<()> {
    let run = reference_run()?;
    let study = root().join("../shared/reference/paper");
    let mut cmd = cargo();
    cmd.args(["run", "--quiet", "-p", "stemz-report", "--"])
        .arg("--run")
        .arg(&run);
    if study.is_dir() {
        cmd.arg("--study").arg(&study);
    }
    cmd.arg("--out").arg(root());
    if check {
        cmd.arg("--check");
    }
    exec(&mut cmd)
}

pub fn report() -> Result<()> {
    crate::setup::run()?;
    report_cmd(false)
}

pub fn check() -> Result<()> {
    crate::setup::run()?;
    report_cmd(true)
}

pub fn reproduce(args: &ReproduceArgs) -> Result<()> {
    check_scale(&args.scale)?;
    let started = std::time::Instant::now();
    datasets(&DatasetsArgs {
        scale: args.scale.clone(),
        verify: false,
        calibrate: true,
    })?;
    let run_id = format!("reproduce-{}", args.scale);
    let stemz = release_bin("stemz")?;
    exec(
        Command::new(&stemz)
            .args([
                "bench",
                "--scale",
                &args.scale,
                "--runs",
                &args.runs.to_string(),
            ])
            .arg("--data")
            .arg(generated_dir(&args.scale))
            .args(["--run-id", &run_id])
            .arg("--out")
            .arg(root().join("data/runs")),
    )?;
    let run = root().join("data/runs").join(&run_id);
    let report = release_bin("stemz-report")?;
    exec(
        Command::new(report)
            .arg("--run")
            .arg(&run)
            .arg("--study")
            .arg(root().join("../shared/reference/paper"))
            .arg("--out")
            .arg(root())
            .arg("--summary"),
    )?;
    eprintln!(
        "reproduce: done in {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}
