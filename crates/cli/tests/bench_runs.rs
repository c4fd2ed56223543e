//! `stemz bench` as a user runs it: a run killed mid-way resumes without losing or duplicating a
//! row, and shards merged equal the unsharded matrix.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use stemz_bench::record::read_measurements;
use stemz_data::npy::NpyWriter;
use stemz_data::{CubeWriter, DType, Hyperslab};

const METHODS: &str = "none,gzip_1,blosc_zstd,bitshuffle_lz4,zstd_3,sparse_csr,simple_gzip";

/// A sparse u16 cube as `.npy`: (6, 5, 32, 48), ~80 % zeros, counts up to a few hundred.
fn cube(dir: &Path) -> PathBuf {
    let shape = [6, 5, 32, 48];
    let n: usize = shape.iter().product();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let values: Vec<u16> = (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if state % 5 == 0 {
                (state >> 40) as u16 % 300
            } else {
                0
            }
        })
        .collect();
    let path = dir.join("cube.npy");
    let mut w = NpyWriter::create(&path, shape, DType::U16).unwrap();
    w.write_slab(&Hyperslab::full(shape), bytemuck::cast_slice(&values))
        .unwrap();
    Box::new(w).finish().unwrap();
    path
}

fn bench(input: &Path, out: &Path, work: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stemz"));
    c.arg("bench")
        .arg(input)
        .args([
            "--methods",
            METHODS,
            "--chunkings",
            "balanced,single_frame",
            "--quiet",
        ])
        .arg("--out")
        .arg(out)
        .arg("--workdir")
        .arg(work)
        .args(extra);
    c
}

fn keys(raw: &Path) -> Vec<String> {
    let rows = read_measurements(std::fs::File::open(raw).unwrap()).unwrap();
    rows.iter()
        .map(|m| {
            format!(
                "{} {} {} {} {}",
                m.dataset,
                m.method,
                m.chunking,
                m.engine.as_str(),
                m.run
            )
        })
        .collect()
}

fn rows_in(raw: &Path) -> usize {
    std::fs::read_to_string(raw)
        .map(|t| t.lines().count().saturating_sub(1))
        .unwrap_or(0)
}

#[test]
fn killed_run_resumes_without_losing_or_duplicating_rows() {
    let dir = tempfile::tempdir().unwrap();
    let input = cube(dir.path());
    let (out, work) = (dir.path().join("runs"), dir.path().join("work"));
    let raw = out.join("r/raw.csv");
    // 5 HDF5 methods × 2 chunkings × 2 engines + 2 others = 22 configurations, 3 runs.
    let expected = 22 * 3;

    let mut child = bench(&input, &out, &work, &["--runs", "3", "--run-id", "r"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while rows_in(&raw) < 10 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "bench made no progress"
        );
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().ok(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let before = rows_in(&raw);
    assert!(before >= 10, "the run was stopped after {before} rows");
    assert!(
        before < expected,
        "the run finished before it could be killed; make it longer"
    );

    // Without --resume an existing run is refused, never silently continued.
    let refused = bench(&input, &out, &work, &["--runs", "3", "--run-id", "r"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("pass --resume"));
    assert_eq!(rows_in(&raw), before, "a refused rerun measures nothing");

    let status = bench(
        &input,
        &out,
        &work,
        &["--runs", "3", "--run-id", "r", "--resume"],
    )
    .status()
    .unwrap();
    assert!(status.success());
    let k = keys(&raw);
    let unique: BTreeSet<_> = k.iter().collect();
    assert_eq!(k.len(), expected, "every configuration and run measured");
    assert_eq!(unique.len(), expected, "no row duplicated");
}

#[test]
fn shards_merged_equal_the_unsharded_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let input = cube(dir.path());
    let (out, work) = (dir.path().join("runs"), dir.path().join("work"));
    let ok = |c: &mut Command| assert!(c.stdout(Stdio::null()).status().unwrap().success());

    ok(&mut bench(
        &input,
        &out,
        &work,
        &["--runs", "1", "--run-id", "all"],
    ));
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let id = format!("s{k}");
        ok(&mut bench(
            &input,
            &out,
            &work,
            &["--runs", "1", "--shard", &shard, "--run-id", &id],
        ));
    }
    let mut merge = Command::new(env!("CARGO_BIN_EXE_stemz"));
    merge.arg("bench-merge");
    for k in 1..=3 {
        merge.arg(out.join(format!("s{k}")));
    }
    ok(merge.arg("--out").arg(out.join("merged")));

    let mut all = keys(&out.join("all/raw.csv"));
    let mut merged = keys(&out.join("merged/raw.csv"));
    all.sort();
    merged.sort();
    assert_eq!(merged, all);

    // Merging a shard twice is refused: the same rows would appear twice.
    let mut twice = Command::new(env!("CARGO_BIN_EXE_stemz"));
    twice
        .arg("bench-merge")
        .arg(out.join("s1"))
        .arg(out.join("s1"));
    let o = twice.arg("--out").arg(out.join("twice")).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("given twice"));
}

#[test]
fn a_run_made_by_another_machine_or_build_is_resumed_only_across_machines_and_then_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let input = cube(dir.path());
    let (out, work) = (dir.path().join("runs"), dir.path().join("work"));
    let first = bench(&input, &out, &work, &["--runs", "1", "--run-id", "r"])
        .output()
        .unwrap();
    assert!(first.status.success());
    let rows = rows_in(&out.join("r/raw.csv"));
    // Pretend the folder came with a clone: recorded by another build on a machine of the
    // same hostname (hostnames such as `vm` are not unique).
    let toml = out.join("r/run.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let edited: String = text
        .lines()
        .map(|l| {
            if l.starts_with("git_revision = ") {
                "git_revision = \"1340351a7f514792f0b65846a5a11e5d7ef5ea8f\"".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(edited, text);
    std::fs::write(&toml, edited).unwrap();
    let o = bench(
        &input,
        &out,
        &work,
        &["--runs", "2", "--run-id", "r", "--resume"],
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot resume") && err.contains("git_revision"),
        "{err}"
    );
    assert_eq!(rows_in(&out.join("r/raw.csv")), rows, "nothing measured");

    // Asked to, this build continues it here, and run.toml says who measured what.
    let across = bench(
        &input,
        &out,
        &work,
        &[
            "--runs",
            "2",
            "--run-id",
            "r",
            "--resume",
            "--across-machines",
        ],
    )
    .output()
    .unwrap();
    assert!(
        across.status.success(),
        "{}",
        String::from_utf8_lossy(&across.stderr)
    );
    assert_eq!(rows_in(&out.join("r/raw.csv")), 2 * rows);
    let info: toml::Table = std::fs::read_to_string(&toml).unwrap().parse().unwrap();
    assert_eq!(
        info["software"]["git_revision"].as_str(),
        Some("1340351a7f514792f0b65846a5a11e5d7ef5ea8f"),
        "the run keeps the build that started it"
    );
    let cont = &info["resumed"].as_array().unwrap()[0];
    assert_eq!(cont["rows_before"].as_integer(), Some(rows as i64));
    assert!(!cont["cpu"].as_str().unwrap().is_empty());
    assert_ne!(
        cont["git_revision"].as_str(),
        Some("1340351a7f514792f0b65846a5a11e5d7ef5ea8f")
    );

    // A new invocation without --run-id measures into a folder of its own.
    let fresh = bench(&input, &out, &work, &["--runs", "1"])
        .output()
        .unwrap();
    assert!(fresh.status.success());
    let stdout = String::from_utf8_lossy(&fresh.stdout);
    assert!(stdout.contains("rows measured now on"), "{stdout}");
    let folders = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(folders, 2, "the new run did not reuse the old folder");
}

#[test]
fn run_toml_records_wall_time_timed_regions_and_overhead() {
    let dir = tempfile::tempdir().unwrap();
    let input = cube(dir.path());
    let (out, work) = (dir.path().join("runs"), dir.path().join("work"));
    let o = bench(&input, &out, &work, &["--runs", "1", "--run-id", "t"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("timed regions") && stdout.contains("overhead"),
        "{stdout}"
    );
    let info: toml::Value =
        toml::from_str(&std::fs::read_to_string(out.join("t/run.toml")).unwrap()).unwrap();
    let t = &info["timing"];
    let (wall, timed) = (
        t["wall_s"].as_float().unwrap(),
        t["timed_s"].as_float().unwrap(),
    );
    assert_eq!(
        t["measured"].as_integer(),
        Some(rows_in(&out.join("t/raw.csv")) as i64)
    );
    assert!(timed > 0.0 && timed <= wall, "timed {timed} s of {wall} s");
    let overhead = t["overhead_fraction"].as_float().unwrap();
    assert!((overhead - (1.0 - timed / wall)).abs() < 1e-9);
}
