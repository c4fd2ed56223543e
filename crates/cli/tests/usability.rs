//! One list syntax for every multi-value flag (commas, spaces, or both), and summaries that
//! name only what ran.

use std::path::{Path, PathBuf};
use std::process::Command;

fn npy(dir: &Path) -> PathBuf {
    let mut header =
        "{'descr': '<u2', 'fortran_order': False, 'shape': (2, 2, 8, 8), }".to_string();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for i in 0..256u16 {
        bytes.extend_from_slice(&(if i % 4 == 0 { i } else { 0 }).to_le_bytes());
    }
    let p = dir.join("cube.npy");
    std::fs::write(&p, bytes).unwrap();
    p
}

/// `stemz bench` of `input` with `methods` as separate arguments; (rows, stdout).
fn bench(input: &Path, dir: &Path, id: &str, methods: &[&str]) -> (usize, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_stemz"))
        .arg("bench")
        .arg(input)
        .arg("--methods")
        .args(methods)
        .args([
            "--chunkings",
            "balanced",
            "--engines",
            "serial",
            "--runs",
            "1",
        ])
        .args(["--quiet", "--run-id", id])
        .arg("--out")
        .arg(dir.join("runs"))
        .arg("--workdir")
        .arg(dir.join("work"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let raw = std::fs::read_to_string(dir.join("runs").join(id).join("raw.csv")).unwrap();
    (
        raw.lines().count() - 1,
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn lists_take_commas_spaces_or_both() {
    let dir = tempfile::tempdir().unwrap();
    let input = npy(dir.path());
    let (commas, _) = bench(&input, dir.path(), "c", &["none,gzip_1,zstd_3"]);
    let (spaces, _) = bench(&input, dir.path(), "s", &["none", "gzip_1", "zstd_3"]);
    let (mixed, _) = bench(&input, dir.path(), "m", &["none,gzip_1", "zstd_3"]);
    assert_eq!((commas, spaces, mixed), (3, 3, 3));
}

#[test]
fn the_bench_summary_names_only_what_ran() {
    let dir = tempfile::tempdir().unwrap();
    let input = npy(dir.path());
    let (_, out) = bench(&input, dir.path(), "r", &["gzip_1"]);
    assert!(out.contains("rows measured now"), "{out}");
    assert!(!out.contains("uint8_overflow"), "{out}");
}
