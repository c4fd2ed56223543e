//! Shards on a cluster: two shards never share a run folder, and `bench-merge` refuses a shard
//! still running, a shard that stopped early, and a set with shards missing (unless
//! `--partial`, which says what is missing). Shard folders are never altered by a merge.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use stemz_data::npy::NpyWriter;
use stemz_data::{CubeWriter, DType, Hyperslab};

const STEMZ: &str = env!("CARGO_BIN_EXE_stemz");

/// A sparse u16 cube as `.npy`: (6, 5, 32, 48).
fn cube(dir: &Path) -> PathBuf {
    let shape = [6, 5, 32, 48];
    let n: usize = shape.iter().product();
    let mut state = 0x2545_f491_4f6c_dd1du64;
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
    let mut c = Command::new(STEMZ);
    c.arg("bench")
        .arg(input)
        .args(["--methods", "none,gzip_1,gzip_9,zstd_3,blosc_zstd"])
        .args(["--chunkings", "balanced,single_frame", "--quiet"])
        .arg("--out")
        .arg(out)
        .arg("--workdir")
        .arg(work)
        .args(extra);
    c
}

fn merge(shards: &[PathBuf], out: &Path, extra: &[&str]) -> Output {
    Command::new(STEMZ)
        .arg("bench-merge")
        .args(shards)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn rows_in(raw: &Path) -> usize {
    std::fs::read_to_string(raw)
        .map(|t| t.lines().count().saturating_sub(1))
        .unwrap_or(0)
}

/// Start a long bench and wait until it has written `rows` rows.
fn running(cmd: &mut Command, raw: &Path, rows: usize) -> Child {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while rows_in(raw) < rows {
        assert!(start.elapsed() < Duration::from_secs(120), "no progress");
        assert!(child.try_wait().unwrap().is_none(), "finished too early");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_second_shard_on_the_same_run_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = cube(dir.path());
    let (out, work) = (dir.path().join("runs"), dir.path().join("work"));
    let raw = out.join("shared/raw.csv");
    let mut first = running(
        &mut bench(
            &input,
            &out,
            &work,
            &["--runs", "3", "--shard", "1/2", "--run-id", "shared"],
        ),
        &raw,
        1,
    );
    let toml_before = std::fs::read_to_string(out.join("shared/run.toml")).unwrap();
    for extra in [&[][..], &["--resume"][..]] {
        let args = [
            &["--runs", "3", "--shard", "2/2", "--run-id", "shared"][..],
            extra,
        ]
        .concat();
        let o = bench(&input, &out, &work, &args).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains("another stemz process is writing"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("shared/run.toml")).unwrap(),
        toml_before,
        "the refused shard touched run.toml"
    );
    first.kill().ok();
    first.wait().unwrap();
    let text = std::fs::read_to_string(&raw).unwrap();
    let headers = text.lines().filter(|l| l.starts_with("dataset,")).count();
    assert_eq!(headers, 1, "one header line in raw.csv");
}

#[test]
fn merging_a_shard_that_is_still_running_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = cube(dir.path());
    let (out, work) = (dir.path().join("runs"), dir.path().join("work"));
    let ok = bench(
        &input,
        &out,
        &work,
        &["--runs", "1", "--shard", "2/2", "--run-id", "s2"],
    )
    .output()
    .unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));
    let raw = out.join("s1/raw.csv");
    let mut child = running(
        &mut bench(
            &input,
            &out,
            &work,
            &["--runs", "3", "--shard", "1/2", "--run-id", "s1"],
        ),
        &raw,
        2,
    );
    for extra in [&[][..], &["--partial"][..]] {
        let o = merge(&[out.join("s1"), out.join("s2")], &out.join("m"), extra);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("still running"), "{}", stderr(&o));
        assert!(!out.join("m/raw.csv").exists(), "merged anyway");
    }
    child.kill().ok();
    child.wait().unwrap();
}

#[test]
fn merging_an_incomplete_or_partial_set_needs_partial_and_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let input = cube(dir.path());
    let (out, work) = (dir.path().join("runs"), dir.path().join("work"));
    let ok = bench(
        &input,
        &out,
        &work,
        &["--runs", "3", "--shard", "2/2", "--run-id", "s2"],
    )
    .output()
    .unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));

    // Shard 1 killed after a few rows: it stopped early.
    let raw1 = out.join("s1/raw.csv");
    let mut child = running(
        &mut bench(
            &input,
            &out,
            &work,
            &["--runs", "3", "--shard", "1/2", "--run-id", "s1"],
        ),
        &raw1,
        2,
    );
    child.kill().ok();
    child.wait().unwrap();
    let s1_before = std::fs::read(&raw1).unwrap();
    let have = rows_in(&raw1);

    let o = merge(&[out.join("s1"), out.join("s2")], &out.join("m"), &[]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("incomplete set of shards"), "{e}");
    assert!(e.contains(&format!("shard 1/2 holds {have} of its")), "{e}");
    assert!(e.contains("--partial"), "{e}");
    assert!(!out.join("m/raw.csv").exists());

    // Only one shard of two.
    let o = merge(&[out.join("s2")], &out.join("m"), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("shards 1/2 are missing"),
        "{}",
        stderr(&o)
    );
    assert!(!out.join("m/raw.csv").exists());

    // --partial merges what there is and says so.
    let o = merge(
        &[out.join("s1"), out.join("s2")],
        &out.join("m"),
        &["--partial"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("note: partial merge"), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("PARTIAL"));
    assert_eq!(
        rows_in(&out.join("m/raw.csv")),
        have + rows_in(&out.join("s2/raw.csv"))
    );
    // Merging only read the shards.
    assert_eq!(std::fs::read(&raw1).unwrap(), s1_before);
}
