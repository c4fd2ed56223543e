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
//! Results in `data/runs/<id>/`: `perf.csv` (long format, one row per measurement),
//! `invocations.csv` (one row per process: wall time, peak RSS, stemz's timed regions) and
//! `perf.md`: per method and per configuration, throughputs and stemz/peer ratios with the
//! issue's targets marked, the Blosc methods against the `BLOSC_NTHREADS` peer, the wall times,
//! and the check that every implementation produced the same compression ratio.

use crate::flags::PerfArgs;
use crate::stages::{generated_dir, release_bin};
use crate::util::{exec, root};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use stemz_record::catalogue;

const ENGINES: [&str; 2] = ["serial", "parallel"];

/// One process of the run, timed from outside.
#[derive(Debug, Clone)]
struct Invocation {
    implementation: &'static str,
    rep: u32,
    wall_s: f64,
    /// Peak resident set in bytes (`/usr/bin/time`'s maximum RSS), when measurable.
    peak_rss: Option<u64>,
    /// stemz only: the sum of its timed regions, from its `run.toml`.
    timed_s: Option<f64>,
}

/// Run `cmd` as one timed invocation; under `/usr/bin/time` when present, for its peak RSS.
fn timed(
    mut cmd: Command,
    implementation: &'static str,
    rep: u32,
    work: &Path,
) -> Result<Invocation> {
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
        implementation,
        rep,
        wall_s,
        peak_rss,
        timed_s: None,
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
    let scratch = format!(
        "`{}` ({})",
        work.display(),
        crate::util::output(Command::new("stat").args(["-f", "-c", "%T"]).arg(&work))
            .map_or_else(|| "filesystem unknown".into(), |t| t.trim().to_string())
    );
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
            // user can give Blosc and Blosc2 every core. Only those methods are affected; only
            // they are run.
            let group_blosc: Vec<&str> = group
                .iter()
                .copied()
                .filter(|m| m.starts_with("blosc"))
                .collect();
            // Turns alternate direction from one group to the next and from one repetition to
            // the next, so no implementation always runs first or always follows the same one
            // (whose freed memory and deleted scratch file the next process inherits).
            let mut turns: Vec<usize> = vec![0, 3, 1, 2];
            if args.baseline.is_some() {
                turns.extend([4, 5]);
            }
            if (g + rep as usize) % 2 == 0 {
                turns.reverse();
            }
            for turn in turns {
                match turn {
                    0 => invocations.push(timed(
                        peer(&group_arg, &peer_csv, "h5py", rep),
                        IMPLS[0],
                        rep,
                        &work,
                    )?),
                    3 if !group_blosc.is_empty() => {
                        let mut c = peer(&group_blosc.join(","), &peer_mt_csv, "h5py-mt", rep);
                        c.env("BLOSC_NTHREADS", cores.to_string());
                        invocations.push(timed(c, IMPLS[3], rep, &work)?);
                    }
                    3 => {}
                    _ => {
                        // Turns 1, 2 and 4, 5: serial then parallel, in ENGINES order.
                        let engine = ENGINES[if turn >= 4 { turn - 4 } else { turn - 1 }];
                        let (bin, run_id) = match (&args.baseline, turn) {
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
                        let mut inv = timed(c, IMPLS[turn], rep, &work)?;
                        inv.timed_s =
                            Some(invocation_timed_s(&dir.join(&run_id).join("run.toml"))?);
                        invocations.push(inv);
                    }
                }
            }
        }
    }
    let mut rows = peer_rows(&peer_csv, IMPLS[0])?;
    for engine in ENGINES {
        rows.extend(stemz_rows(
            &dir.join(format!("stemz-{engine}/raw.csv")),
            "stemz",
        )?);
        if args.baseline.is_some() {
            rows.extend(stemz_rows(
                &dir.join(format!("baseline-{engine}/raw.csv")),
                "baseline",
            )?);
        }
    }
    if peer_mt_csv.exists() {
        rows.extend(peer_rows(&peer_mt_csv, IMPLS[3])?);
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
    write_csv(&dir.join("perf.csv"), &rows)?;
    write_invocations(&dir.join("invocations.csv"), &invocations)?;
    let table = render(
        &rows,
        &invocations,
        &RunLabels {
            id: &id,
            dataset: &args.dataset,
            scale: &args.scale,
            scratch: &scratch,
            interleave: &args.interleave,
            baseline: args.baseline.as_ref().map(|_| args.baseline_label.as_str()),
        },
    );
    std::fs::write(dir.join("perf.md"), &table)?;
    println!("{table}");
    Ok(())
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

#[derive(Debug, Clone)]
struct Row {
    implementation: String,
    method: String,
    chunking: String,
    rep: u32,
    write_s: f64,
    read_s: f64,
    uncompressed_bytes: u64,
    ratio: f64,
    lossless: bool,
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

fn peer_rows(peer: &Path, implementation: &str) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for r in read_table(peer)? {
        rows.push(Row {
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

fn stemz_rows(raw: &Path, prefix: &str) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for r in read_table(raw)? {
        rows.push(Row {
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

fn write_csv(path: &Path, rows: &[Row]) -> Result<()> {
    let mut s = String::from(
        "implementation,method,chunking,rep,write_s,read_s,uncompressed_bytes,ratio,lossless\n",
    );
    for r in rows {
        writeln!(
            s,
            "{},{},{},{},{:.6},{:.6},{},{:.6},{}",
            r.implementation,
            r.method,
            r.chunking,
            r.rep,
            r.write_s,
            r.read_s,
            r.uncompressed_bytes,
            r.ratio,
            r.lossless
        )?;
    }
    std::fs::write(path, s).with_context(|| path.display().to_string())
}

fn write_invocations(path: &Path, invocations: &[Invocation]) -> Result<()> {
    let mut s = String::from("implementation,rep,wall_s,timed_s,peak_rss_bytes\n");
    for i in invocations {
        writeln!(
            s,
            "{},{},{:.3},{},{}",
            i.implementation,
            i.rep,
            i.wall_s,
            i.timed_s.map(|t| format!("{t:.3}")).unwrap_or_default(),
            i.peak_rss.map(|b| b.to_string()).unwrap_or_default()
        )?;
    }
    std::fs::write(path, s).with_context(|| path.display().to_string())
}

const GIB: f64 = (1u64 << 30) as f64;
const IMPLS: [&str; 6] = [
    "h5py+hdf5plugin",
    "stemz-serial",
    "stemz-parallel",
    "h5py+hdf5plugin BLOSC_NTHREADS",
    "baseline-serial",
    "baseline-parallel",
];

/// The targets, as ratios stemz / peer.
const SERIAL_MIN: f64 = 0.97;
const PARALLEL_WRITE_MIN: f64 = 1.0;
/// Where the peer writes below `SLOW_PEER_GIB_S`, parallel must reach this.
const PARALLEL_WRITE_SLOW_PEER_MIN: f64 = 1.8;
const SLOW_PEER_GIB_S: f64 = 0.5;
const PARALLEL_READ_MIN: f64 = 1.8;
const PARALLEL_VS_MT_MIN: f64 = 1.0;

/// One implementation's totals for one method (or one configuration).
#[derive(Debug, Default)]
struct Totals {
    bytes: f64,
    write_s: f64,
    read_s: f64,
    ratios: Vec<f64>,
    lossy: bool,
}

impl Totals {
    fn add(&mut self, r: &Row) {
        self.bytes += r.uncompressed_bytes as f64;
        self.write_s += r.write_s;
        self.read_s += r.read_s;
        self.ratios.push(r.ratio);
        self.lossy |= !r.lossless;
    }
    fn write_gib_s(&self) -> f64 {
        self.bytes / GIB / self.write_s
    }
    fn read_gib_s(&self) -> f64 {
        self.bytes / GIB / self.read_s
    }
    fn mean_ratio(&self) -> f64 {
        self.ratios.iter().sum::<f64>() / self.ratios.len().max(1) as f64
    }
}

fn implementation(r: &Row) -> &'static str {
    IMPLS
        .iter()
        .find(|i| **i == r.implementation)
        .copied()
        .unwrap_or("?")
}

/// A ratio, marked ✗ when below its target.
fn mark(ratio: f64, min: f64) -> String {
    if ratio < min {
        format!("{ratio:.2}× ✗")
    } else {
        format!("{ratio:.2}×")
    }
}

/// Counts of configurations meeting one target.
#[derive(Default)]
struct Tally {
    met: usize,
    of: usize,
}

impl Tally {
    fn count(&mut self, ratio: f64, min: f64) {
        self.of += 1;
        self.met += usize::from(ratio >= min);
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.met, self.of)
    }
}

/// What `render` says about the run besides its measurements.
struct RunLabels<'a> {
    id: &'a str,
    dataset: &'a str,
    scale: &'a str,
    scratch: &'a str,
    interleave: &'a str,
    /// The baseline build's label, when one was measured.
    baseline: Option<&'a str>,
}

/// Per method (summed over chunkings and averaged over repetitions) and per configuration: write
/// and read GiB/s of each implementation and stemz/peer ratios with the targets marked; then the
/// Blosc methods against the `BLOSC_NTHREADS` peer and each invocation's wall time.
fn render(rows: &[Row], invocations: &[Invocation], ctx: &RunLabels) -> String {
    let RunLabels {
        id,
        dataset,
        scale,
        scratch,
        interleave,
        baseline,
    } = *ctx;
    let mut by_method: BTreeMap<(String, &str), Totals> = BTreeMap::new();
    let mut by_config: BTreeMap<(String, String, &str), Totals> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut configs: Vec<(String, String)> = Vec::new();
    for r in rows {
        if !order.contains(&r.method) {
            order.push(r.method.clone());
        }
        let c = (r.method.clone(), r.chunking.clone());
        if !configs.contains(&c) {
            configs.push(c);
        }
        let imp = implementation(r);
        by_method.entry((r.method.clone(), imp)).or_default().add(r);
        by_config
            .entry((r.method.clone(), r.chunking.clone(), imp))
            .or_default()
            .add(r);
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<!-- generated by `cargo xtask perf --scale {scale} --dataset {dataset} --interleave {interleave}`, do not edit -->"
    );
    let _ = writeln!(
        s,
        "### `{id}`: stemz vs h5py + hdf5plugin on {dataset} ({scale} scale), GiB/s; ratio = stemz / peer\n"
    );
    let _ = writeln!(
        s,
        "Targets: serial ≥ {SERIAL_MIN}× write and read; parallel write ≥ {PARALLEL_WRITE_MIN}× \
         (≥ {PARALLEL_WRITE_SLOW_PEER_MIN}× where the peer writes below {SLOW_PEER_GIB_S} GiB/s); \
         parallel read ≥ {PARALLEL_READ_MIN}×; parallel write ≥ {PARALLEL_VS_MT_MIN}× the \
         `BLOSC_NTHREADS` peer on the Blosc methods. ✗ marks a ratio below its target. \
         Scratch files: {scratch}. {}\n",
        if interleave == "method" {
            "The implementations took turns one method at a time (every chunking), \
             alternating their order from one method, and one repetition, to the next."
        } else {
            "Each implementation measured the whole matrix in one process per repetition."
        }
    );
    let _ = writeln!(s, "Per method, summed over chunkings:\n");
    let _ = writeln!(
        s,
        "| method | peer write | serial write | parallel write | serial/peer | parallel/peer | peer read | serial read | parallel read | serial/peer | parallel/peer | same ratio |"
    );
    let _ = writeln!(
        s,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for m in &order {
        let get = |imp: &'static str| by_method.get(&(m.clone(), imp));
        let (Some(p), Some(se), Some(pa)) = (get(IMPLS[0]), get(IMPLS[1]), get(IMPLS[2])) else {
            continue;
        };
        let tol = if m == catalogue::name::LZF {
            0.02
        } else {
            0.005
        };
        let same = [se, pa]
            .iter()
            .all(|x| (x.mean_ratio() / p.mean_ratio() - 1.0).abs() <= tol);
        let lossy = p.lossy || se.lossy || pa.lossy;
        let _ = writeln!(
            s,
            "| {m} | {:.3} | {:.3} | {:.3} | {:.2}× | {:.2}× | {:.3} | {:.3} | {:.3} | {:.2}× | {:.2}× | {}{} |",
            p.write_gib_s(),
            se.write_gib_s(),
            pa.write_gib_s(),
            se.write_gib_s() / p.write_gib_s(),
            pa.write_gib_s() / p.write_gib_s(),
            p.read_gib_s(),
            se.read_gib_s(),
            pa.read_gib_s(),
            se.read_gib_s() / p.read_gib_s(),
            pa.read_gib_s() / p.read_gib_s(),
            if same { "yes" } else { "NO" },
            if lossy { " (NOT lossless)" } else { "" }
        );
    }

    let _ = writeln!(s, "\nPer configuration:\n");
    let _ = writeln!(
        s,
        "| method | chunking | peer write | serial/peer | parallel/peer | parallel/peer-mt | peer read | serial/peer | parallel/peer |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let (mut sw, mut sr, mut pw, mut pr, mut mt) = Default::default();
    for (m, c) in &configs {
        let get = |imp: &'static str| by_config.get(&(m.clone(), c.clone(), imp));
        let (Some(p), Some(se), Some(pa)) = (get(IMPLS[0]), get(IMPLS[1]), get(IMPLS[2])) else {
            continue;
        };
        let serial_w = se.write_gib_s() / p.write_gib_s();
        let serial_r = se.read_gib_s() / p.read_gib_s();
        let par_w = pa.write_gib_s() / p.write_gib_s();
        let par_r = pa.read_gib_s() / p.read_gib_s();
        let par_w_min = if p.write_gib_s() < SLOW_PEER_GIB_S {
            PARALLEL_WRITE_SLOW_PEER_MIN
        } else {
            PARALLEL_WRITE_MIN
        };
        Tally::count(&mut sw, serial_w, SERIAL_MIN);
        Tally::count(&mut sr, serial_r, SERIAL_MIN);
        Tally::count(&mut pw, par_w, par_w_min);
        Tally::count(&mut pr, par_r, PARALLEL_READ_MIN);
        let vs_mt = get(IMPLS[3]).map(|q| pa.write_gib_s() / q.write_gib_s());
        if let Some(v) = vs_mt {
            Tally::count(&mut mt, v, PARALLEL_VS_MT_MIN);
        }
        let _ = writeln!(
            s,
            "| {m} | {c} | {:.3} | {} | {} | {} | {:.3} | {} | {} |",
            p.write_gib_s(),
            mark(serial_w, SERIAL_MIN),
            mark(par_w, par_w_min),
            vs_mt.map_or_else(|| "–".to_string(), |v| mark(v, PARALLEL_VS_MT_MIN)),
            p.read_gib_s(),
            mark(serial_r, SERIAL_MIN),
            mark(par_r, PARALLEL_READ_MIN),
        );
    }
    let _ = writeln!(
        s,
        "\nConfigurations meeting each target: serial write {sw}, serial read {sr}, parallel write {pw}, parallel read {pr}, parallel write vs the `BLOSC_NTHREADS` peer {mt}."
    );

    if let Some(label) = baseline {
        let _ = writeln!(
            s,
            "\nThe baseline ({label}) in the same turns, per configuration: each build's ratio to the peer, and after/before = this build / the baseline:\n"
        );
        let _ = writeln!(
            s,
            "| method | chunking | serial write: baseline | this | after/before | serial read: baseline | this | after/before | parallel write: baseline | this | parallel read: baseline | this |"
        );
        let _ = writeln!(
            s,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let (mut bsw, mut bsr, mut bpw, mut bpr) = Default::default();
        for (m, c) in &configs {
            let get = |imp: &'static str| by_config.get(&(m.clone(), c.clone(), imp));
            let (Some(p), Some(se), Some(pa), Some(bse), Some(bpa)) = (
                get(IMPLS[0]),
                get(IMPLS[1]),
                get(IMPLS[2]),
                get(IMPLS[4]),
                get(IMPLS[5]),
            ) else {
                continue;
            };
            let par_w_min = if p.write_gib_s() < SLOW_PEER_GIB_S {
                PARALLEL_WRITE_SLOW_PEER_MIN
            } else {
                PARALLEL_WRITE_MIN
            };
            let r = |x: &Totals, w: bool| {
                if w {
                    x.write_gib_s() / p.write_gib_s()
                } else {
                    x.read_gib_s() / p.read_gib_s()
                }
            };
            Tally::count(&mut bsw, r(bse, true), SERIAL_MIN);
            Tally::count(&mut bsr, r(bse, false), SERIAL_MIN);
            Tally::count(&mut bpw, r(bpa, true), par_w_min);
            Tally::count(&mut bpr, r(bpa, false), PARALLEL_READ_MIN);
            let _ = writeln!(
                s,
                "| {m} | {c} | {} | {} | {:.2}× | {} | {} | {:.2}× | {} | {} | {} | {} |",
                mark(r(bse, true), SERIAL_MIN),
                mark(r(se, true), SERIAL_MIN),
                se.write_gib_s() / bse.write_gib_s(),
                mark(r(bse, false), SERIAL_MIN),
                mark(r(se, false), SERIAL_MIN),
                se.read_gib_s() / bse.read_gib_s(),
                mark(r(bpa, true), par_w_min),
                mark(r(pa, true), par_w_min),
                mark(r(bpa, false), PARALLEL_READ_MIN),
                mark(r(pa, false), PARALLEL_READ_MIN),
            );
        }
        let _ = writeln!(
            s,
            "\nThe baseline's configurations meeting each target: serial write {bsw}, serial read {bsr}, parallel write {bpw}, parallel read {bpr}."
        );
    }

    let wall = |imp: &str| -> f64 {
        invocations
            .iter()
            .filter(|i| i.implementation == imp)
            .map(|i| i.wall_s)
            .sum()
    };
    let peer_wall = wall(IMPLS[0]);
    let _ = writeln!(
        s,
        "\nEach implementation's invocations as a whole (all repetitions{}; wall time includes loading the data and, for stemz, verifying every read and rendering its tables):\n",
        if interleave == "method" {
            ", one process per method: each loads the data once per method"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "| invocation | wall s | wall / peer's | timed regions s | outside timed regions | peak RSS GiB |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    for imp in IMPLS {
        let of: Vec<&Invocation> = invocations
            .iter()
            .filter(|i| i.implementation == imp)
            .collect();
        if of.is_empty() {
            continue;
        }
        let w = wall(imp);
        let timed: Option<f64> = of.iter().map(|i| i.timed_s).sum();
        let rss = of.iter().filter_map(|i| i.peak_rss).max();
        let name = match imp {
            "stemz-serial" => "`stemz bench --engines serial`",
            "stemz-parallel" => "`stemz bench --engines parallel`",
            "baseline-serial" => "the baseline, `--engines serial`",
            "baseline-parallel" => "the baseline, `--engines parallel`",
            "h5py+hdf5plugin" => {
                "h5py + hdf5plugin; zarr-python 3 for `zarr_*` methods (`xtask/perf/peer.py`)"
            }
            _ => "h5py + hdf5plugin, `BLOSC_NTHREADS` = cores (Blosc methods only)",
        };
        let _ = writeln!(
            s,
            "| {name} | {w:.1} | {} | {} | {} | {} |",
            if imp == IMPLS[3] {
                "–".to_string()
            } else {
                format!("{:.2}", w / peer_wall)
            },
            timed.map_or_else(|| "–".to_string(), |t| format!("{t:.1}")),
            timed.map_or_else(
                || "–".to_string(),
                |t| format!("{:.0} %", (1.0 - t / w).max(0.0) * 100.0)
            ),
            rss.map_or_else(|| "–".to_string(), |b| format!("{:.2}", b as f64 / GIB)),
        );
    }
    s
}
