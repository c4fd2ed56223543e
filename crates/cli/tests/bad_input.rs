//! Bad inputs end in one clear stderr line naming the file and the problem, a non-zero exit,
//! no panic, and no output file left behind.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Outcome {
    stderr: String,
    success: bool,
}

fn stemz(args: &[&str]) -> Outcome {
    let out = Command::new(env!("CARGO_BIN_EXE_stemz"))
        .args(args)
        .output()
        .expect("the stemz binary runs");
    Outcome {
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        success: out.status.success(),
    }
}

/// Assert a clean failure whose one stderr line names `file` and contains `problem`.
fn assert_clean_failure(o: &Outcome, file: &str, problem: &str) {
    assert!(!o.success, "expected failure, stderr: {}", o.stderr);
    assert!(!o.stderr.contains("panicked"), "panic: {}", o.stderr);
    let lines: Vec<&str> = o.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {:?}", o.stderr);
    assert!(
        lines[0].contains(file),
        "{:?} does not name {file}",
        lines[0]
    );
    assert!(
        lines[0].to_lowercase().contains(&problem.to_lowercase()),
        "{:?} does not say {problem}",
        lines[0]
    );
}

/// Inspect and convert must both fail cleanly, and convert must leave no output.
fn check_both(input: &Path, extra: &[&str], problem: &str) {
    let name = input.file_name().unwrap().to_str().unwrap();
    let inp = input.to_str().unwrap();
    let mut args = vec!["inspect", inp];
    args.extend_from_slice(extra);
    assert_clean_failure(&stemz(&args), name, problem);

    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("out.emd");
    let mut args = vec!["convert", inp, out.to_str().unwrap()];
    args.extend_from_slice(extra);
    assert_clean_failure(&stemz(&args), name, problem);
    assert_eq!(
        std::fs::read_dir(out_dir.path()).unwrap().count(),
        0,
        "output left behind"
    );
}

fn h5_with(dir: &Path, name: &str, build: impl FnOnce(&hdf5::File)) -> PathBuf {
    let p = dir.join(name);
    let f = hdf5::File::create(&p).unwrap();
    build(&f);
    f.close().unwrap();
    p
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    check_both(&dir.path().join("nothere.emd"), &[], "does not exist");
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.h5");
    std::fs::write(&p, b"").unwrap();
    check_both(&p, &[], "empty");
}

#[test]
fn not_hdf5() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.h5");
    std::fs::write(&p, b"just some text, not a datacube\n").unwrap();
    check_both(&p, &[], "unknown file format");
}

#[test]
fn hdf5_without_a_4d_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let p = h5_with(dir.path(), "image.h5", |f| {
        f.new_dataset::<u16>()
            .shape([8, 8])
            .create("image")
            .unwrap();
    });
    check_both(&p, &[], "no 4D");
}

#[test]
fn several_4d_candidates_without_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let p = h5_with(dir.path(), "two.h5", |f| {
        f.new_dataset::<u16>()
            .shape([1, 1, 2, 2])
            .create("a")
            .unwrap();
        f.new_dataset::<u16>()
            .shape([1, 1, 2, 2])
            .create("b")
            .unwrap();
    });
    check_both(&p, &[], "--dataset");
}

#[test]
fn rank_2_and_rank_5_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let p = h5_with(dir.path(), "ranks.h5", |f| {
        f.new_dataset::<u16>().shape([4, 4]).create("flat").unwrap();
        f.new_dataset::<u16>()
            .shape([1, 1, 1, 2, 2])
            .create("five")
            .unwrap();
    });
    check_both(&p, &["--dataset", "/flat"], "rank 2");
    check_both(&p, &["--dataset", "/five"], "rank 5");
}

#[test]
fn unsupported_element_types() {
    let dir = tempfile::tempdir().unwrap();
    let p = h5_with(dir.path(), "types.h5", |f| {
        f.new_dataset::<i64>()
            .shape([1, 1, 2, 2])
            .create("i64")
            .unwrap();
        f.new_dataset::<f64>()
            .shape([1, 1, 2, 2])
            .create("f64")
            .unwrap();
    });
    check_both(&p, &["--dataset", "i64"], "int64");
    check_both(&p, &["--dataset", "f64"], "float64");
}

#[test]
fn missing_dataset_path() {
    let dir = tempfile::tempdir().unwrap();
    let p = h5_with(dir.path(), "one.h5", |f| {
        f.new_dataset::<u16>()
            .shape([1, 1, 2, 2])
            .create("a")
            .unwrap();
    });
    check_both(&p, &["--dataset", "/nope"], "/nope");
}

#[test]
fn npy_with_bad_magic_or_header() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad_magic.npy");
    std::fs::write(&p, b"\x93NUMPX\x01\x00garbage").unwrap();
    check_both(&p, &[], "unknown file format");
    let p = dir.path().join("bad_header.npy");
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"not a dict     \n");
    std::fs::write(&p, &bytes).unwrap();
    let o = stemz(&["inspect", p.to_str().unwrap()]);
    assert_clean_failure(&o, "bad_header.npy", "bad_header.npy");
}

#[test]
fn output_in_a_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let p = h5_with(dir.path(), "ok.h5", |f| {
        f.new_dataset::<u16>()
            .shape([1, 1, 2, 2])
            .create("a")
            .unwrap();
    });
    let out = dir.path().join("no/such/dir/out.emd");
    let o = stemz(&["convert", p.to_str().unwrap(), out.to_str().unwrap()]);
    assert_clean_failure(&o, "out.emd", "does not exist");
    assert!(!dir.path().join("no").exists());
}

fn mib_frame(frame_no: usize, pixels: &[u8]) -> Vec<u8> {
    let text = format!(
        "MQ1,{frame_no:06},00384,01,0004,0004,U08,   1x1,01,2021-04-15 14:43:47.008505,\
         0.001000,0,0,0,2.000000E+0,5.110000E+2,0.000000E+0,0.000000E+0,3RX,011,511,000,\
         MQ1A,2021-04-15T13:43:47.008505401Z,1000000ns,6,"
    );
    let mut b = text.into_bytes();
    b.resize(384, 0);
    b.extend_from_slice(pixels);
    b
}

#[test]
fn corrupt_mib_header() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("corrupt.mib");
    let mut bytes = b"MQ1,zzzz,not,a,header".to_vec();
    bytes.resize(400, 0);
    std::fs::write(&p, &bytes).unwrap();
    check_both(&p, &["--scan", "1x1"], "corrupt.mib");
}

#[test]
fn mib_with_a_truncated_last_frame() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.mib");
    let mut bytes = mib_frame(1, &[1; 16]);
    bytes.extend(mib_frame(2, &[2; 16]));
    bytes.truncate(bytes.len() - 5);
    std::fs::write(&p, &bytes).unwrap();
    check_both(&p, &["--scan", "1x2"], "cut.mib");
    // Sanity: the untruncated file is accepted, so the failure above is about truncation.
    let good = dir.path().join("whole.mib");
    let mut bytes = mib_frame(1, &[1; 16]);
    bytes.extend(mib_frame(2, &[2; 16]));
    std::fs::write(&good, &bytes).unwrap();
    let o = stemz(&["inspect", good.to_str().unwrap(), "--scan", "1x2"]);
    assert!(o.success, "{}", o.stderr);
}
