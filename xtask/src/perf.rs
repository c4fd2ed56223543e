//! `cargo xtask perf`: stemz (serial and parallel engines) against the Python peer, h5py +
//! hdf5plugin, on the same data, on the same machine, in the same run.
//!
//! Repetitions are interleaved: peer rep 1, stemz rep 1 (both engines), peer rep 2, … so drift
//! hits all three alike. Results: `data/runs/<id>/perf.csv` (long format, one row per
//! measurement) and `perf.md` (per method: throughputs, stemz/peer ratios, the whole-matrix
//! wall-time ratio, and the check that all three produce the same compression ratio).

use crate::flags::PerfArgs;
use crate::stages::{generated_dir, release_bin};
use crate::util::{exec, root};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

const STUDY_HDF5: &[&str] = &[
    "none",
    "gzip_1",
    "gzip_6",
    "gzip_9",
    "lzf",
    "szip",
    "blosc_blosclz",
    "blosc_lz4",
    "blosc_lz4hc",
    "blosc_zlib",
    "blosc_zstd",
    "lz4_hdf5",
    "bitshuffle_lz4",
];
const NEW_HDF5: &[&str] = &[
    "zstd_3",
    "zstd_9",
    "bitshuffle_zstd",
    "blosc_zstd_bitshuffle",
    "blosc_lz4_bitshuffle",
];
const CHUNKINGS: &str = "real_space,balanced,single_frame";

pub fn run(args: &PerfArgs) -> Result<()> {
    let (methods, chunkings): (Vec<&str>, &str) = match args.what.as_str() {
        "matrix" => (STUDY_HDF5.to_vec(), CHUNKINGS),
        "codecs" => (
            STUDY_HDF5.iter().chain(NEW_HDF5).copied().collect(),
            "balanced",
        ),
        other => bail!("unknown perf target `{other}`: expected `matrix` or `codecs`"),
    };
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
    let id = format!("perf-{}-{}-{}", args.what, args.scale, args.dataset);
    let dir = root().join("data/runs").join(&id);
    let work = root().join("target/perf-work");
    std::fs::create_dir_all(&work)?;
    let peer_csv = dir.join("peer.csv");
    let peer_mt_csv = dir.join("peer-blosc-nthreads.csv");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| dir.display().to_string())?;
    }
    std::fs::create_dir_all(&dir)?;
    let methods_arg = methods.join(",");
    for rep in 1..=args.reps {
        eprintln!("perf: repetition {rep}/{}", args.reps);
        exec(
            Command::new(&python)
                .arg(root().join("xtask/perf/peer.py"))
                .arg("--input")
                .arg(&input)
                .args(["--methods", &methods_arg, "--chunkings", chunkings])
                .args(["--rep", &rep.to_string()])
                .arg("--workdir")
                .arg(&work)
                .arg("--out")
                .arg(&peer_csv),
        )?;
        // The strongest Python peer: hdf5plugin's Blosc honours BLOSC_NTHREADS, so a Python user
        // can give Blosc every core. Only the Blosc methods are affected; only they are run.
        let blosc: Vec<&str> = methods.iter().copied().filter(|m| m.starts_with("blosc_")).collect();
        if !blosc.is_empty() {
            exec(
                Command::new(&python)
                    .arg(root().join("xtask/perf/peer.py"))
                    .arg("--input")
                    .arg(&input)
                    .args(["--methods", &blosc.join(","), "--chunkings", chunkings])
                    .args(["--rep", &rep.to_string()])
                    .args(["--impl", "h5py-mt"])
                    .arg("--workdir")
                    .arg(&work)
                    .arg("--out")
                    .arg(&peer_mt_csv)
                    .env("BLOSC_NTHREADS", cores.to_string()),
            )?;
        }
        exec(
            Command::new(&stemz)
                .arg("bench")
                .arg(&input)
                .args(["--methods", &methods_arg, "--chunkings", chunkings])
                .args(["--engines", "serial,parallel", "--runs", &rep.to_string()])
                .args(["--run-id", "stemz"])
                .args((rep > 1).then_some("--resume"))
                .arg("--out")
                .arg(&dir)
                .arg("--workdir")
                .arg(&work)
                .arg("--quiet"),
        )?;
    }
    let mut rows = collect(&peer_csv, &dir.join("stemz/raw.csv"))?;
    if peer_mt_csv.exists() {
        rows.extend(peer_rows(&peer_mt_csv, IMPLS[3])?);
    }
    write_csv(&dir.join("perf.csv"), &rows)?;
    let table = render(&rows, &id);
    std::fs::write(dir.join("perf.md"), &table)?;
    println!("{table}");
    Ok(())
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

fn collect(peer: &Path, stemz: &Path) -> Result<Vec<Row>> {
    let mut rows = peer_rows(peer, IMPLS[0])?;
    for r in read_table(stemz)? {
        rows.push(Row {
            implementation: format!("stemz-{}", r["engine"]),
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

const GIB: f64 = (1u64 << 30) as f64;
const IMPLS: [&str; 4] = [
    "h5py+hdf5plugin",
    "stemz-serial",
    "stemz-parallel",
    "h5py+hdf5plugin BLOSC_NTHREADS",
];

/// One implementation's totals for one method.
#[derive(Debug, Default)]
struct Totals {
    bytes: f64,
    write_s: f64,
    read_s: f64,
    ratios: Vec<f64>,
    lossy: bool,
}

impl Totals {
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

/// Per method (summed over chunkings and averaged over repetitions): write and read GiB/s of
/// each implementation and stemz/peer ratios; then the whole-matrix wall time per implementation.
fn render(rows: &[Row], id: &str) -> String {
    let mut agg: BTreeMap<(String, &str), Totals> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for r in rows {
        if !order.contains(&r.method) {
            order.push(r.method.clone());
        }
        let imp = IMPLS
            .iter()
            .find(|i| **i == r.implementation)
            .copied()
            .unwrap_or("?");
        let t = agg.entry((r.method.clone(), imp)).or_default();
        t.bytes += r.uncompressed_bytes as f64;
        t.write_s += r.write_s;
        t.read_s += r.read_s;
        t.ratios.push(r.ratio);
        t.lossy |= !r.lossless;
    }
    let mut s = String::new();
    let _ = writeln!(s, "<!-- generated by `cargo xtask perf`, do not edit -->");
    let _ = writeln!(
        s,
        "### `{id}`: stemz vs h5py + hdf5plugin (GiB/s; ratio = stemz / peer)\n"
    );
    let _ = writeln!(
        s,
        "| method | peer write | serial write | parallel write | serial/peer | parallel/peer | peer read | serial read | parallel read | serial/peer | parallel/peer | same ratio |"
    );
    let _ = writeln!(
        s,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for m in &order {
        let get = |imp: &'static str| agg.get(&(m.clone(), imp));
        let (Some(p), Some(se), Some(pa)) = (get(IMPLS[0]), get(IMPLS[1]), get(IMPLS[2])) else {
            continue;
        };
        let tol = if m == "lzf" { 0.02 } else { 0.005 };
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
    // The Blosc methods against the multi-threaded Python peer.
    let mt: Vec<&String> = order
        .iter()
        .filter(|m| agg.contains_key(&((*m).clone(), IMPLS[3])))
        .collect();
    if !mt.is_empty() {
        let _ = writeln!(
            s,
            "\nBlosc methods against h5py + hdf5plugin with `BLOSC_NTHREADS` = cores (the best a Python user can do):\n"
        );
        let _ = writeln!(s, "| method | peer-mt write | parallel write | parallel/peer-mt | peer-mt read | parallel read | parallel/peer-mt |");
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
        for m in mt {
            let (Some(p), Some(pa)) = (agg.get(&(m.clone(), IMPLS[3])), agg.get(&(m.clone(), IMPLS[2]))) else {
                continue;
            };
            let _ = writeln!(
                s,
                "| {m} | {:.3} | {:.3} | {:.2}× | {:.3} | {:.3} | {:.2}× |",
                p.write_gib_s(),
                pa.write_gib_s(),
                pa.write_gib_s() / p.write_gib_s(),
                p.read_gib_s(),
                pa.read_gib_s(),
                pa.read_gib_s() / p.read_gib_s()
            );
        }
    }
    let wall = |imp: &str| -> f64 {
        rows.iter()
            .filter(|r| r.implementation == imp)
            .map(|r| r.write_s + r.read_s)
            .sum()
    };
    let peer = wall(IMPLS[0]);
    let _ = writeln!(
        s,
        "\nWhole matrix (write + read, all repetitions): peer {:.1} s, stemz serial {:.1} s ({:.2}× faster), stemz parallel {:.1} s ({:.2}× faster).",
        peer,
        wall(IMPLS[1]),
        peer / wall(IMPLS[1]),
        wall(IMPLS[2]),
        peer / wall(IMPLS[2])
    );
    s
}
