//! `cargo xtask perf`: stemz (serial and parallel engines) against the Python peer, h5py +
//! hdf5plugin (zarr-python 3 for the Zarr methods, with stemz's codecs, inner chunks and shard
//! shape), on the same data, on the same machine, in the same run.
//!
//! The implementations take turns, by default one method (every chunking) at a time: the peer
//! on method 1, the peer with `BLOSC_NTHREADS`, `stemz bench --engines serial`, `--engines
//! parallel`; then the same four in reverse order on method 2, and so on; each repetition
//! starts in the order the previous one did not. Drift on a shared machine (a paper-scale
//! matrix takes over an hour) then hits every implementation alike: with whole-matrix turns,
//! the same stemz and peer blosc_blosclz write measured 25 minutes apart differed by more than
//! the target's margin. `--interleave
//! matrix` gives one process per implementation and repetition instead, for the wall time of
//! one whole matrix run. Each invocation is a process of its own, timed from outside (wall
//! time, and peak RSS where `/usr/bin/time` exists), so the wall-time comparison is what a user
//! waits for: loading the data, every write, read and verification.
//!
//! Results in `data/runs/<id>/` (the record's types: `stemz_record::perf`): `perf.csv` (long
//! format, one row per measurement), `invocations.csv` (one row per process: wall time, peak
//! RSS, stemz's timed regions) and `perf.toml` (dataset, scale, interleaving, scratch, baseline).
//!
//! The tables (per method and per configuration, throughputs and stemz/peer ratios with the
//! issue's targets marked, the Blosc methods against the `BLOSC_NTHREADS` peer, the wall times,
//! the check that every implementation produced the same compression ratio) are not written
//! here: `stemz-report` renders them from those files into `paper/PERF.md` (`cargo xtask
//! report`, kept fresh by `cargo xtask check`), and this command prints the record's section
//! through `stemz-report --perf-record`. The record keeps no rendered copy of its own: a
//! `perf.md` per record would repeat `paper/PERF.md` and need a freshness check of its own, and
//! rendering it here would pull the renderer (and polars) into xtask.

use crate::flags::PerfArgs;
use crate::stages::{generated_dir, release_bin};
use crate::util::{exec, root};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use stemz_record::catalogue;
use stemz_record::perf::{self as record, implementation as imp, Invocation, PerfInfo, PerfRow};

const ENGINES: [&str; 2] = ["serial", "parallel"];

/// zarr-python's worker threads in the peer's turn: one, as h5py's loop is single-threaded.
const ZARR_PEER_THREADS: u32 = 1;

/// Run `cmd` as one timed invocation; under `/usr/bin/time` when present, for its peak RSS.
fn timed(mut cmd: Command, implementation: &str, rep: u32, work: &Path) -> Result<Invocation> {
    let gnu_time = Path::new("/usr/bin/time");
    let rss_file = work.join("peak-rss.txt");
    let _ = std::fs::remove_file(&rss_file);
    if gnu_time.exists() {
        let mut wrapped = Command::new(gnu_time);
        wrapped.arg("-f").arg("%M").arg("-o").arg(&rss_file);
        wrapped.arg(cmd.get_program()).args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                wrapped.env(k, v);
            }
        }
        cmd = wrapped;
    }
    let start = Instant::now();
    exec(&mut cmd)?;
    let wall_s = start.elapsed().as_secs_f64();
    // GNU time reports kibibytes.
    let peak_rss = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse::<u64>().ok()))
        .map(|kib| kib * 1024);
    Ok(Invocation {
        implementation: implementation.into(),
        rep,
        wall_s,
        timed_s: None,
        peak_rss_bytes: peak_rss,
    })
}

pub fn run(args: &PerfArgs) -> Result<()> {
    let names = |m: &'static catalogue::MethodEntry| m.name;
    let study_chunkings = catalogue::CHUNKINGS.join(",");
    let (default_methods, chunkings): (Vec<&str>, &str) = match args.what.as_str() {
        "matrix" => (
            catalogue::study_hdf5().map(names).collect(),
            &study_chunkings,
        ),
        "codecs" => (
            catalogue::study_hdf5()
                .chain(catalogue::new_hdf5())
                .map(names)
                .collect(),
            catalogue::BALANCED,
        ),
        other => bail!("unknown perf target `{other}`: expected `matrix` or `codecs`"),
    };
    let methods: Vec<&str> = match &args.methods {
        Some(list) => list.split(',').map(str::trim).collect(),
        None => default_methods,
    };
    let chunkings = args.chunkings.as_deref().unwrap_or(chunkings);
    let stemz = release_bin("stemz")?;
    let baseline = match (&args.baseline, &args.baseline_rev) {
        (Some(bin), _) => Some(bin.clone()),
        (None, Some(rev)) => Some(baseline_build(rev)?),
        (None, None) => None,
    };
    let python = crate::pyenv::ensure()?;
    let input = generated_dir(&args.scale).join(format!("{}.emd", args.dataset));
    if !input.exists() {
        crate::stages::datasets(&crate::flags::DatasetsArgs {
            scale: args.scale.clone(),
            verify: false,
            calibrate: false,
        })?;
    }
    let id = match &args.id {
        Some(id) => id.clone(),
        None => format!("perf-{}-{}-{}", args.what, args.scale, args.dataset),
    };
    let dir = root().join("data/runs").join(&id);
    let input_bytes = std::fs::metadata(&input)
        .with_context(|| input.display().to_string())?
        .len();
    let work = match &args.workdir {
        Some(dir) => dir.clone(),
        None => default_workdir(input_bytes),
    };
    std::fs::create_dir_all(&work).with_context(|| work.display().to_string())?;
    let scratch_fs = crate::util::output(Command::new("stat").args(["-f", "-c", "%T"]).arg(&work))
        .map(|t| t.trim().to_string());
    let peer_csv = dir.join("peer.csv");
    let peer_mt_csv = dir.join("peer-blosc-nthreads.csv");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| dir.display().to_string())?;
    }
    std::fs::create_dir_all(&dir)?;
    // The peer holds the whole cube in memory (as the study did); so does stemz: preload it.
    let preload_mib = (input_bytes >> 20) + 1;
    let peer = |methods: &str, out: &Path, implementation: &str, rep: u32| {
        let mut c = Command::new(&python);
        c.arg(root().join("xtask/perf/peer.py"))
            .arg("--input")
            .arg(&input)
            .args(["--methods", methods, "--chunkings", chunkings])
            .args(["--rep", &rep.to_string()])
            .args(["--impl", implementation])
            .arg("--workdir")
            .arg(&work)
            .arg("--out")
            .arg(out);
        c
    };
    // What one process measures: one method (every chunking) or the whole matrix.
    let groups: Vec<Vec<&str>> = match args.interleave.as_str() {
        "method" => methods.iter().map(|m| vec![*m]).collect(),
        "matrix" => vec![methods.clone()],
        other => bail!("unknown --interleave `{other}`: expected `method` or `matrix`"),
    };
    let mut invocations = Vec::new();
    // Per turn (1, 2: stemz serial, parallel; 4, 5: the baseline's): its run folder exists.
    let mut engine_started = [false; 6];
    for rep in 1..=args.reps {
        for (g, group) in groups.iter().enumerate() {
            eprintln!(
                "perf: repetition {rep}/{}, {} ({}/{})",
                args.reps,
                group.join(","),
                g + 1,
                groups.len()
            );
            let group_arg = group.join(",");
            // The strongest Python peer: hdf5plugin's Blosc honours BLOSC_NTHREADS, so a Python
            // user can give Blosc and Blosc2 every core, and zarr-python codes chunks on a pool
            // of one worker per core. Only those methods are affected; only they are run.
            let group_mt: Vec<&str> = group
                .iter()
                .copied()
                .filter(|&m| {
                    m.starts_with("blosc")
                        || catalogue::method(m).is_some_and(|e| e.kind == catalogue::Kind::Zarr)
                })
                .collect();
            // Turns alternate direction from one group to the next and from one repetition to
            // the next, so no implementation always runs first or always follows the same one
            // (whose freed memory and deleted scratch file the next process inherits).
            let mut turns: Vec<usize> = vec![0, 3, 1, 2];
            if baseline.is_some() {
                turns.extend([4, 5]);
            }
            if (g + rep as usize) % 2 == 0 {
                turns.reverse();
            }
            for turn in turns {
                match turn {
                    0 => {
                        // Single-threaded, as the study's loop: zarr-python on one worker.
                        let mut c = peer(&group_arg, &peer_csv, "h5py", rep);
                        c.args(["--zarr-threads", &ZARR_PEER_THREADS.to_string()]);
                        invocations.push(timed(c, imp::PEER, rep, &work)?);
                    }
                    3 if !group_mt.is_empty() => {
                        let mut c = peer(&group_mt.join(","), &peer_mt_csv, "h5py-mt", rep);
                        c.env("BLOSC_NTHREADS", cores.to_string());
                        invocations.push(timed(c, imp::PEER_MT, rep, &work)?);
                    }
                    3 => {}
                    _ => {
                        // Turns 1, 2 and 4, 5: serial then parallel, in ENGINES order.
                        let engine = ENGINES[if turn >= 4 { turn - 4 } else { turn - 1 }];
                        let (bin, run_id) = match (&baseline, turn) {
                            (Some(b), 4 | 5) => (b, format!("baseline-{engine}")),
                            _ => (&stemz, format!("stemz-{engine}")),
                        };
                        let mut c = Command::new(bin);
                        c.arg("bench")
                            .arg(&input)
                            .args(["--methods", &group_arg, "--chunkings", chunkings])
                            .args(["--engines", engine, "--runs", &rep.to_string()])
                            .args(["--run-id", &run_id])
                            .args(["--preload-mib", &preload_mib.to_string()])
                            .args(engine_started[turn].then_some("--resume"))
                            .arg("--out")
                            .arg(&dir)
                            .arg("--workdir")
                            .arg(&work)
                            .arg("--quiet");
                        engine_started[turn] = true;
                        // `implementation::ALL` lists the implementations in turn order.
                        let mut inv = timed(c, imp::ALL[turn], rep, &work)?;
                        inv.timed_s =
                            Some(invocation_timed_s(&dir.join(&run_id).join("run.toml"))?);
                        invocations.push(inv);
                    }
                }
            }
        }
    }
    let mut rows = peer_rows(&peer_csv, imp::PEER)?;
    for engine in ENGINES {
        rows.extend(stemz_rows(
            &dir.join(format!("stemz-{engine}/raw.csv")),
            "stemz",
        )?);
        if baseline.is_some() {
            rows.extend(stemz_rows(
                &dir.join(format!("baseline-{engine}/raw.csv")),
                "baseline",
            )?);
        }
    }
    if peer_mt_csv.exists() {
        rows.extend(peer_rows(&peer_mt_csv, imp::PEER_MT)?);
    }
    // The records are what is kept; the tables and figures `stemz bench` rendered from them
    // (megabytes of PNG) are not committed.
    for run in [
        "stemz-serial",
        "stemz-parallel",
        "baseline-serial",
        "baseline-parallel",
    ] {
        for generated in ["tables", "figures"] {
            let d = dir.join(run).join(generated);
            if d.is_dir() {
                std::fs::remove_dir_all(&d).with_context(|| d.display().to_string())?;
            }
        }
    }
    let info = PerfInfo {
        dataset: args.dataset.clone(),
        scale: args.scale.clone(),
        interleave: args.interleave.clone(),
        scratch_dir: work.display().to_string(),
        scratch_fs,
        baseline: match (&baseline, &args.baseline_label) {
            (None, _) => None,
            (Some(_), Some(label)) => Some(label.clone()),
            (Some(_), None) => Some(baseline_label(args.baseline_rev.as_deref(), &dir)?),
        },
        zarr_peer_threads: Some(ZARR_PEER_THREADS),
    };
    write_record(&dir, &rows, &invocations, &info)?;
    // Built with `stemz` by `release_bin` above.
    exec(
        Command::new(root().join("target/release/stemz-report"))
            .arg("--perf-record")
            .arg(&dir),
    )?;
    eprintln!("perf: records in data/runs/{id}/; run `cargo xtask report` to render them into paper/PERF.md, and commit");
    Ok(())
}

/// `--baseline-rev`: revision `rev` built in its worktree by that revision's own set-up and
/// cargo (a revision before HDF5 was built in installs Debian's `libhdf5-dev`); its `stemz`.
fn baseline_build(rev: &str) -> Result<std::path::PathBuf> {
    let worktree = crate::util::revision_worktree(rev)?;
    exec(crate::util::cargo_in(&worktree).args(["xtask", "setup"]))?;
    exec(crate::util::cargo_in(&worktree).args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "stemz-cli",
    ]))?;
    Ok(worktree.join("target/release/stemz"))
}

/// The baseline's name in paper/PERF.md when none was given: its revision (or "baseline") and
/// the HDF5 its own records name (`baseline-serial/run.toml`).
fn baseline_label(rev: Option<&str>, dir: &Path) -> Result<String> {
    let (_, info) = crate::util::read_run_info(&dir.join("baseline-serial/run.toml"))?;
    let libs = &info.software.libraries;
    let hdf5 = match (libs.get("hdf5"), libs.get("hdf5-build")) {
        (Some(v), Some(build)) => format!("HDF5 {v}, {build}"),
        (Some(v), None) => format!("HDF5 {v}, the system's"),
        _ => "HDF5 not recorded".to_string(),
    };
    let what = match rev {
        Some(_) => {
            let r = &info.software.git_revision;
            let dirty = if r.ends_with("+dirty") { "+dirty" } else { "" };
            format!("revision {}{dirty}", &r[..r.len().min(7)])
        }
        None => "baseline".to_string(),
    };
    Ok(format!("{what} ({hdf5})"))
}

/// The record's three files (`stemz_record::perf`).
fn write_record(
    dir: &Path,
    rows: &[PerfRow],
    invocations: &[Invocation],
    info: &PerfInfo,
) -> Result<()> {
    let create = |name: &str| {
        let path = dir.join(name);
        std::fs::File::create(&path).with_context(|| path.display().to_string())
    };
    record::write_rows(create(record::PERF_CSV)?, rows).context(record::PERF_CSV)?;
    record::write_invocations(create(record::INVOCATIONS_CSV)?, invocations)
        .context(record::INVOCATIONS_CSV)?;
    let path = dir.join(record::PERF_TOML);
    std::fs::write(&path, info.to_toml()?).with_context(|| path.display().to_string())
}

/// The scratch directory when none is given: a tmpfs, so the timed writes measure the codecs
/// and HDF5 rather than this machine's disk writeback, which hits whichever implementation is
/// writing when it starts (one blosc_lz4 balanced write on the paper-scale
/// 4D_Diff-4x4-binning ran at 0.21, 0.54 and 1.02 GiB/s in three runs on disk, 0.92–1.09 on
/// tmpfs). Used only with room for three copies of the dataset (the largest output is one
/// uncompressed copy; the peer and stemz never hold two at once).
fn default_workdir(dataset_bytes: u64) -> std::path::PathBuf {
    let shm = Path::new("/dev/shm");
    let avail = crate::util::output(Command::new("df").args(["-B1", "--output=avail"]).arg(shm))
        .and_then(|out| {
            out.lines()
                .nth(1)
                .and_then(|l| l.trim().parse::<u64>().ok())
        });
    match avail {
        Some(free) if free >= dataset_bytes.saturating_mul(3) => shm.join("stemz-perf"),
        _ => root().join("target/perf-work"),
    }
}

/// The sum of the timed regions of the last `stemz bench` invocation of a run.
fn invocation_timed_s(run_toml: &Path) -> Result<f64> {
    let (_, info) = crate::util::read_run_info(run_toml)?;
    info.timing
        .map(|t| t.timed_s)
        .with_context(|| format!("{}: no [timing] section", run_toml.display()))
}

fn read_table(path: &Path) -> Result<Vec<BTreeMap<String, String>>> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().context("empty CSV")?.split(',').collect();
    Ok(lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            header
                .iter()
                .map(|h| h.to_string())
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect())
}

fn num<T: std::str::FromStr>(row: &BTreeMap<String, String>, col: &str) -> Result<T> {
    row.get(col)
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("column `{col}` missing or not a number in {row:?}"))
}

fn peer_rows(peer: &Path, implementation: &str) -> Result<Vec<PerfRow>> {
    let mut rows = Vec::new();
    for r in read_table(peer)? {
        rows.push(PerfRow {
            implementation: implementation.into(),
            method: r["method"].clone(),
            chunking: r["chunking"].clone(),
            rep: num(&r, "rep")?,
            write_s: num(&r, "write_s")?,
            read_s: num(&r, "read_s")?,
            uncompressed_bytes: num(&r, "uncompressed_bytes")?,
            ratio: num(&r, "ratio")?,
            lossless: r["lossless"] == "True",
        });
    }
    Ok(rows)
}

fn stemz_rows(raw: &Path, prefix: &str) -> Result<Vec<PerfRow>> {
    let mut rows = Vec::new();
    for r in read_table(raw)? {
        rows.push(PerfRow {
            implementation: format!("{prefix}-{}", r["engine"]),
            method: r["method"].clone(),
            chunking: r["chunking"].clone(),
            rep: num(&r, "run")?,
            write_s: num(&r, "write_s")?,
            read_s: num(&r, "read_s")?,
            uncompressed_bytes: num(&r, "uncompressed_bytes")?,
            ratio: num(&r, "ratio")?,
            lossless: r["lossless"] == "true",
        });
    }
    Ok(rows)
}
