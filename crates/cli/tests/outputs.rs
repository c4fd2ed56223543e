//! Outputs: never the input, an existing file only with `--force`, nothing left behind when
//! the write fails (full disk, file-size limit), is interrupted, or stdout is full.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const STEMZ: &str = env!("CARGO_BIN_EXE_stemz");

struct Outcome {
    stderr: String,
    code: Option<i32>,
}

fn run(cmd: &mut Command) -> Outcome {
    let out = cmd.output().expect("stemz runs");
    Outcome {
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
}

fn stemz(args: &[&str]) -> Outcome {
    run(Command::new(STEMZ).args(args))
}

/// Exit 1, one stderr line containing every one of `needles`, no panic.
fn assert_fails(o: &Outcome, needles: &[&str]) {
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    let lines: Vec<&str> = o.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {:?}", o.stderr);
    for n in needles {
        assert!(lines[0].contains(n), "{:?} does not say {n:?}", lines[0]);
    }
}

/// A uint16 `.npy` cube of `shape` with pseudo-random values (xorshift, seeded).
fn write_npy(path: &Path, shape: [usize; 4]) {
    let mut header = format!(
        "{{'descr': '<u2', 'fortran_order': False, 'shape': ({}, {}, {}, {}), }}",
        shape[0], shape[1], shape[2], shape[3]
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..shape.iter().product::<usize>() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&((x % 1000) as u16).to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

fn small_input(dir: &Path) -> PathBuf {
    let p = dir.join("in.npy");
    write_npy(&p, [2, 2, 16, 16]);
    p
}

/// Names in `dir` other than `keep`.
fn others(dir: &Path, keep: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect();
    v.sort();
    v
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn compress_refuses_to_write_over_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let inp = small_input(dir.path());
    let before = std::fs::read(&inp).unwrap();
    let o = stemz(&["compress", s(&inp), s(&inp), "--force"]);
    assert_fails(&o, &["in.npy", "is the input"]);
    assert_eq!(std::fs::read(&inp).unwrap(), before, "input changed");
    assert!(others(dir.path(), &["in.npy"]).is_empty());
}

#[test]
fn convert_refuses_a_symlink_to_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let inp = small_input(dir.path());
    let link = dir.path().join("link.emd");
    std::os::unix::fs::symlink(&inp, &link).unwrap();
    let o = stemz(&["convert", s(&inp), s(&link), "--force"]);
    assert_fails(&o, &["link.emd", "is the input"]);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(others(dir.path(), &["in.npy", "link.emd"]).is_empty());
}

#[test]
fn compress_refuses_a_hard_link_to_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let inp = small_input(dir.path());
    let hard = dir.path().join("hard.npy");
    std::fs::hard_link(&inp, &hard).unwrap();
    let o = stemz(&["compress", s(&inp), s(&hard), "--force"]);
    assert_fails(&o, &["hard.npy", "is the input"]);
    assert!(others(dir.path(), &["in.npy", "hard.npy"]).is_empty());
}

#[test]
fn an_existing_output_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let inp = small_input(dir.path());
    let out = dir.path().join("out.h5");
    std::fs::write(&out, b"keep me").unwrap();
    for sub in ["compress", "convert"] {
        let o = stemz(&[sub, s(&inp), s(&out)]);
        assert_fails(&o, &["out.h5", "already exists", "--force"]);
        assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    }
    let o = stemz(&["compress", s(&inp), s(&out), "--force"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_ne!(std::fs::read(&out).unwrap(), b"keep me");
    assert!(others(dir.path(), &["in.npy", "out.h5"]).is_empty());
}

#[test]
fn output_names_of_up_to_255_bytes_work() {
    let dir = tempfile::tempdir().unwrap();
    let inp = small_input(dir.path());
    for len in [240, 253, 255] {
        let name = format!("{}.h5", "n".repeat(len - 3));
        let out = dir.path().join(&name);
        let o = stemz(&["compress", s(&inp), s(&out), "--method", "gzip_1"]);
        assert_eq!(o.code, Some(0), "{len}: {}", o.stderr);
        assert!(out.exists());
        std::fs::remove_file(&out).unwrap();
    }
    assert!(others(dir.path(), &["in.npy"]).is_empty());
}

#[test]
fn a_file_size_limit_is_reported_as_such_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("in.npy");
    write_npy(&inp, [4, 4, 64, 64]);
    let out = dir.path().join("out.h5");
    // 64 blocks of 512 bytes: far less than the 128 KiB uncompressed output.
    for engine in ["serial", "parallel"] {
        let o = run(Command::new("sh").arg("-c").arg(format!(
            "ulimit -f 64; exec {STEMZ} compress {} {} --method none --engine {engine}",
            s(&inp),
            s(&out)
        )));
        assert_fails(&o, &["out.h5", "file too large"]);
        assert!(others(dir.path(), &["in.npy"]).is_empty(), "{engine}");
    }
}

#[test]
fn a_full_stdout_is_an_error_not_a_panic() {
    let full = std::fs::File::create("/dev/full").expect("/dev/full exists");
    let o = run(Command::new(STEMZ).arg("methods").stdout(Stdio::from(full)));
    assert_fails(&o, &["stdout", "No space left on device"]);
}

/// Start a compress slow enough to interrupt, wait for its temporary file, send `signal`,
/// and check that it died of it and left nothing but the input.
fn interrupted_compress_leaves_nothing(signal: &str, status: i32) {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("in.npy");
    write_npy(&inp, [16, 16, 64, 64]);
    let out = dir.path().join("out.h5");
    let mut child = Command::new(STEMZ)
        .args([
            "compress",
            s(&inp),
            s(&out),
            "--method",
            "gzip_9",
            "--engine",
            "serial",
        ])
        .args(["--chunking", "1x1x64x64"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while others(dir.path(), &["in.npy"]).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no temporary appeared"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the signal"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid = child.id().to_string();
    let k = Command::new("kill").args([signal, &pid]).status().unwrap();
    assert!(k.success());
    let st = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(status), "{st:?}");
    assert!(others(dir.path(), &["in.npy"]).is_empty(), "left behind");
}

#[test]
fn sigterm_during_compress_leaves_nothing() {
    interrupted_compress_leaves_nothing("-TERM", 15);
}

#[test]
fn sigint_during_compress_leaves_nothing() {
    interrupted_compress_leaves_nothing("-INT", 2);
}
