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
        exec(Command::new(&stemz).args([
            "synth",
            "--scale",
            &args.scale,
            "--verify",
            "--manifest",
            "data/datasets.toml",
        ]))?;
    }
    // Files are written atomically, so a present file is a complete one: a rerun resumes.
    let present = DATASETS
        .iter()
        .all(|d| root().join(&out).join(format!("{d}.emd")).exists());
    if present {
        eprintln!("datasets: {out}/ already holds all five datasets");
    } else {
        exec(Command::new(&stemz).args([
            "synth",
            "--scale",
            &args.scale,
            "--out",
            &out,
            "--manifest",
            "data/datasets.toml",
        ]))?;
    }
    if args.calibrate {
        let record = format!("data/calibration/{}.toml", args.scale);
        exec(Command::new(&stemz).args([
            "calibrate",
            "--scale",
            &args.scale,
            "--data",
            &out,
            "--out",
            "paper/calibration.md",
            "--record",
            &record,
            "--study",
            STUDY,
            "--manifest",
            "data/datasets.toml",
        ]))?;
    }
    Ok(())
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    let stemz = release_bin("stemz")?;
    exec(Command::new(stemz).arg("bench").args(&args.args))
}

/// The committed reference run (`data/runs/REFERENCE` holds its folder name), relative to the
/// workspace root, refused unless [`check_reference`] accepts it.
pub fn reference_run() -> Result<String> {
    let pointer = root().join("data/runs/REFERENCE");
    let id = std::fs::read_to_string(&pointer)
        .with_context(|| format!("{}: names the committed reference run", pointer.display()))?;
    let run = format!("data/runs/{}", id.trim());
    check_reference(&run)?;
    Ok(run)
}

/// The committed paper-scale reference run (`data/runs/REFERENCE-paper` holds its folder name)
/// when there is one, refused unless [`check_reference`] accepts it.
pub fn paper_reference_run() -> Result<Option<String>> {
    let pointer = root().join(PAPER_REFERENCE);
    let Ok(id) = std::fs::read_to_string(&pointer) else {
        return Ok(None);
    };
    let run = format!("data/runs/{}", id.trim());
    check_reference(&run)?;
    Ok(Some(run))
}

/// Names the paper-scale reference run beside `data/runs/REFERENCE`'s small one.
pub const PAPER_REFERENCE: &str = "data/runs/REFERENCE-paper";

/// A reference run must say which sources made it and where, in words another machine can
/// use: a committed revision (not `+dirty`, not `unknown`) and no absolute path of the machine
/// that ran it in its `run.toml`.
fn check_reference(run: &str) -> Result<()> {
    let (text, info) = crate::util::read_run_info(&root().join(run).join("run.toml"))?;
    let continued = info.resumed.iter().map(|r| &r.git_revision);
    for rev in
        std::iter::once(&info.software.git_revision).chain(continued.filter(|r| !r.is_empty()))
    {
        if !crate::util::is_commit(rev) {
            bail!("{run}: recorded by a build of revision `{rev}`, not a commit; a reference must be measured from a committed tree");
        }
    }
    if let Some(p) = ["/work/", "/tmp/", "/root/", "/home/"]
        .iter()
        .find(|p| text.contains(*p))
    {
        bail!("{run}/run.toml: names a path under {p} of the machine that ran it; a reference must not");
    }
    Ok(())
}

/// The committed `stemz fidelity` records behind REPORT.md's "Beyond lossless" section.
const FIDELITY: &str = "data/runs/fidelity-small";

/// Measure what each reduction costs each analysis on every dataset of `data` into `out`
/// (`<dataset>.csv`, as `stemz fidelity --csv` writes them).
fn fidelity(stemz: &std::path::Path, data: &str, out: &str) -> Result<()> {
    std::fs::create_dir_all(root().join(out))?;
    for d in DATASETS {
        // Diffraction: the imaging analyses the study says binning may serve (virtual BF/ADF,
        // centre of mass, total counts); EELS: the tool's default targets.
        let keep = d
            .starts_with("4D_Diff")
            .then_some(["--keep", "vbf,vadf,com,sum"]);
        exec(
            Command::new(stemz)
                .args(["fidelity", &format!("{data}/{d}.emd")])
                .args(["--csv", &format!("{out}/{d}.csv")])
                .args(keep.into_iter().flatten()),
        )?;
    }
    Ok(())
}

/// `cargo xtask fidelity`: the committed fidelity records, from the small datasets.
pub fn fidelity_records() -> Result<()> {
    datasets(&DatasetsArgs {
        scale: "small".into(),
        verify: false,
        calibrate: false,
    })?;
    fidelity(&release_bin("stemz")?, "data/generated/small", FIDELITY)
}

/// The study's published measurements, committed with their provenance (`data/study/PROVENANCE.md`).
const STUDY: &str = "data/study";

/// The committed calibration record that `paper/calibration.md` is rendered from.
const CALIBRATION: &str = "data/calibration/small.toml";

fn report_cmd(check: bool) -> Result<()> {
    let run = reference_run()?;
    let paper = paper_reference_run()?;
    if !root().join(STUDY).is_dir() {
        bail!("{STUDY}: the study's published measurements are missing from the checkout (see data/study/PROVENANCE.md)");
    }
    let fidelity = root().join(FIDELITY);
    exec(
        cargo()
            .args(["run", "--quiet", "-p", "stemz-report", "--"])
            .args(["--study", STUDY, "--run", &run, "--out", "."])
            .args(paper.iter().flat_map(|p| ["--paper-run", p.as_str()]))
            .args([
                "--perf",
                "data/runs",
                "--blosc2",
                "data/runs",
                "--readme",
                "README.md",
            ])
            .args(
                root()
                    .join(crate::clone_check::RECORD)
                    .is_file()
                    .then_some(["--clone-check", crate::clone_check::RECORD])
                    .into_iter()
                    .flatten(),
            )
            .args(
                fidelity
                    .is_dir()
                    .then_some(["--fidelity", FIDELITY])
                    .into_iter()
                    .flatten(),
            )
            .args(
                root()
                    .join(CALIBRATION)
                    .is_file()
                    .then_some(["--calibration", CALIBRATION])
                    .into_iter()
                    .flatten(),
            )
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

/// A new run folder for every `reproduce`: `reproduce-<scale>-<host>-<UTC time>`, the same
/// rule `stemz bench` uses for its own runs (`stemz_record::runinfo::new_run_id`). A committed
/// or earlier run is resumed only when named with `--resume`, and `stemz bench` refuses that when
/// the run was made on another machine or by another build, so a fresh clone always measures.
fn reproduce_run_id(scale: &str) -> String {
    stemz_record::runinfo::new_run_id(&format!("reproduce-{scale}"))
}

/// The revision that made run `id`, when this checkout is not at it (or has uncommitted
/// changes): that revision checked out in `target/worktrees/<revision>`, sharing this
/// checkout's generated datasets and the run folder, so that every row of a run is measured by
/// one build. `None` when this checkout is the run's revision.
fn run_revision_worktree(id: &str) -> Result<Option<PathBuf>> {
    let root = root();
    let run_dir = root.join("data/runs").join(id);
    let toml_path = run_dir.join("run.toml");
    let (_, info) = crate::util::read_run_info(&toml_path)
        .with_context(|| format!("{id}: the run to resume"))?;
    let rev = info.software.git_revision;
    if !crate::util::is_commit(&rev) {
        bail!("{id}: recorded by a build of revision `{rev}`, which cannot be checked out again; measure a new run");
    }
    let git = |dir: &std::path::Path, args: &[&str]| {
        crate::util::output(Command::new("git").arg("-C").arg(dir).args(args))
    };
    let head = git(&root, &["rev-parse", "HEAD"]).unwrap_or_default();
    // The sources a build compiles, not the records: a resumed run rewrites its own raw.csv.
    let mut status = vec!["status", "--porcelain", "--untracked-files=no", "--"];
    status.extend(stemz_record::sources::SOURCES);
    let dirty = git(&root, &status).is_some_and(|s| !s.is_empty());
    if head == rev && !dirty {
        return Ok(None);
    }
    let worktree = crate::util::revision_worktree(&rev)?;
    // Shared, not copied: the datasets (regenerated here if missing, same bytes) and the run.
    let link = |target: PathBuf, at: PathBuf| -> Result<()> {
        if at.symlink_metadata().is_err() {
            if let Some(parent) = at.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::os::unix::fs::symlink(&target, &at)
                .with_context(|| format!("linking {} to {}", at.display(), target.display()))?;
        }
        Ok(())
    };
    std::fs::create_dir_all(root.join("data/generated"))?;
    link(root.join("data/generated"), worktree.join("data/generated"))?;
    link(run_dir, worktree.join("data/runs").join(id))?;
    eprintln!(
        "reproduce: {id} was started by revision {rev}; continuing it with that revision in {}",
        worktree.display()
    );
    Ok(Some(worktree))
}

fn rows_in(raw: &std::path::Path) -> usize {
    std::fs::read_to_string(raw)
        .map(|t| t.lines().count().saturating_sub(1))
        .unwrap_or(0)
}

pub fn reproduce(args: &ReproduceArgs) -> Result<()> {
    check_scale(&args.scale)?;
    if let Some(id) = &args.resume {
        if let Some(worktree) = run_revision_worktree(id)? {
            // The run's own revision continues it, with its own xtask and build, on whatever
            // machine --across-machines allows: every row of a run is measured by one build.
            return exec(
                crate::util::cargo_in(&worktree)
                    .args(["xtask", "reproduce", "--scale", &args.scale])
                    .args(["--runs", &args.runs.to_string(), "--resume", id])
                    .args(args.across_machines.then_some("--across-machines")),
            );
        }
    }
    let started = std::time::Instant::now();
    let paper = args.scale == "paper";
    // The paper scale is the study's own matrix on its own data sizes: hours on 2 cores, so no
    // calibration, fidelity or report of its own here (the small run is the quick check).
    datasets(&DatasetsArgs {
        scale: args.scale.clone(),
        verify: false,
        calibrate: !paper,
    })?;
    let run_id = match &args.resume {
        Some(id) => id.clone(),
        None => reproduce_run_id(&args.scale),
    };
    let stemz = release_bin("stemz")?;
    let data = format!("data/generated/{}", args.scale);
    let raw = root().join("data/runs").join(&run_id).join("raw.csv");
    let before = rows_in(&raw);
    let mut bench = Command::new(&stemz);
    bench
        .args([
            "bench",
            "--scale",
            &args.scale,
            "--runs",
            &args.runs.to_string(),
        ])
        .args(["--data", &data, "--run-id", &run_id, "--out", "data/runs"])
        .args(["--manifest", "data/datasets.toml"])
        .args(args.resume.is_some().then_some("--resume"))
        .args(args.across_machines.then_some("--across-machines"));
    if paper {
        // The study's 16 methods (42 configurations), each dataset held in memory as the
        // study's h5py loop held it (the largest is 8 GiB), scratch files on disk
        // (target/bench-work), reads from a warm page cache, as the study's.
        let largest_mib = DATASETS
            .iter()
            .filter_map(|d| std::fs::metadata(root().join(&data).join(format!("{d}.emd"))).ok())
            .map(|m| m.len() >> 20)
            .max()
            .unwrap_or(0);
        bench
            .args(["--methods", "study"])
            .args(["--preload-mib", &(largest_mib + 64).to_string()]);
    }
    exec(&mut bench)?;
    let measured_now = rows_in(&raw) - before;
    if paper {
        eprintln!(
            "reproduce: done in {:.1} min; {measured_now} rows measured now ({before} resumed); records in data/runs/{run_id}/",
            started.elapsed().as_secs_f64() / 60.0
        );
        return Ok(());
    }
    let fidelity_dir = format!("data/runs/{run_id}/fidelity");
    fidelity(&stemz, &data, &fidelity_dir)?;
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
            .args(["--fidelity", &fidelity_dir])
            // The committed paper-scale run, when there is one, as the report's main columns
            // (this run is then its quick check).
            .args(
                paper_reference_run()?
                    .iter()
                    .flat_map(|p| ["--paper-run".to_string(), p.clone()]),
            )
            .arg("--summary"),
    )?;
    eprintln!(
        "reproduce: done in {:.1} min; {measured_now} rows measured now on this machine ({before} resumed); records in data/runs/{run_id}/, calibration in paper/calibration.md",
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}
