//! `stemz fidelity` and `stemz reduce` from the command line: reports and files on a small
//! cube, provenance of a reduced file, and bad input (one stderr line naming the file, exit 1,
//! no output left behind, the input never replaced).

// HDF5 here is stemz-data's static one: linking stemz-data brings its szip (libaec) and the
// zlib functions HDF5's deflate filter calls (see crates/data/build.rs and src/zlib.rs).
use stemz_data as _;

use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Output};

fn stemz(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stemz"))
        .args(args)
        .output()
        .expect("the stemz binary runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A little-endian NumPy v1.0 u16 file.
fn write_npy_u16(path: &Path, shape: [usize; 4], values: &[u16]) {
    let dict = format!(
        "{{'descr': '<u2', 'fortran_order': False, 'shape': ({}, {}, {}, {}), }}",
        shape[0], shape[1], shape[2], shape[3]
    );
    let mut header = dict.into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(&header);
    bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(path, bytes).unwrap();
}

/// A 4×4 scan of 16×16 patterns with a bright disk of radius 3 at (7.4, 8.2).
fn disk_cube(dir: &Path) -> std::path::PathBuf {
    let shape = [4, 4, 16, 16];
    let mut v = Vec::new();
    for p in 0..16 {
        for i in 0..16 {
            for j in 0..16 {
                let d2 = (i as f64 - 7.4).powi(2) + (j as f64 - 8.2).powi(2);
                v.push(if d2 < 9.0 {
                    500 + p as u16
                } else {
                    ((i * j + p) % 5) as u16
                });
            }
        }
    }
    let path = dir.join("cube.npy");
    write_npy_u16(&path, shape, &v);
    path
}

fn assert_one_line_failure(o: &Output, names: &str, says: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "expected failure: {err}");
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    assert!(
        lines[0].contains(names),
        "{:?} does not name {names}",
        lines[0]
    );
    assert!(
        lines[0].to_lowercase().contains(&says.to_lowercase()),
        "{:?} does not say {says}",
        lines[0]
    );
}

#[test]
fn fidelity_prints_every_candidate_and_writes_csv_markdown_and_figure() {
    let dir = tempfile::tempdir().unwrap();
    let input = disk_cube(dir.path());
    let (csv, md, svg) = (
        dir.path().join("f.csv"),
        dir.path().join("f.md"),
        dir.path().join("f.svg"),
    );
    let o = stemz(&[
        "fidelity",
        s(&input),
        "--keep",
        "vbf,com,sum",
        "--bins",
        "1,2",
        "--scan-bins",
        "1,2",
        "--csv",
        s(&csv),
        "--markdown",
        s(&md),
        "--figure",
        s(&svg),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("smallest within tolerance"), "{out}");
    assert!(
        out.contains("bin2-sum") && out.contains("scan2-mean"),
        "{out}"
    );
    let csv = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("candidate,crop,det_bin"), "{}", rows[0]);
    assert!(rows[0].contains("com_rms_px") && rows[0].contains("vbf_exact"));
    // full, bin2 sum/mean, crop (+bins), scan2 variants: at least 6 candidates.
    assert!(rows.len() >= 7, "{csv}");
    assert!(
        rows.iter().filter(|r| r.ends_with(",true")).count() == 1,
        "exactly one best: {csv}"
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("| candidate |"), "{md}");
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("Pareto front"),
        "{svg:.200}"
    );
}

#[test]
fn reduce_writes_the_bin_sums_with_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let input = disk_cube(dir.path());
    let out = dir.path().join("r.emd");
    let o = stemz(&[
        "reduce",
        s(&input),
        s(&out),
        "--bin",
        "2",
        "--keep",
        "vbf,sum",
        "--bf-disk",
        "7.4,8.2,3",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f = hdf5::File::open(&out).unwrap();
    let attr = |n: &str| -> String {
        let v: hdf5::types::VarLenUnicode = f.attr(n).unwrap().read_scalar().unwrap();
        v.as_str().to_string()
    };
    let sha: String = Sha256::digest(std::fs::read(&input).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(attr("stemz_source_sha256"), sha);
    let ops = attr("stemz_operations");
    assert!(
        ops.contains("bin detector 2x2 (sum)") && ops.contains("store uint32"),
        "{ops}"
    );
    let errs = attr("stemz_target_errors");
    assert!(
        errs.contains("\"target\":\"sum\"") && errs.contains("\"exact\":true"),
        "{errs}"
    );
    assert!(attr("stemz_version").starts_with("stemz "));
    let ds = f
        .dataset("version_1/data/datacubes/datacube_000/data")
        .unwrap();
    assert_eq!(ds.shape(), vec![4, 4, 8, 8]);
    let data: Vec<u32> = ds.read_raw().unwrap();
    // Position 0, binned pixel (0, 0): original pixels (0..2, 0..2) of frame 0.
    let v0 = |i: usize, j: usize| ((i * j) % 5) as u32;
    assert_eq!(data[0], v0(0, 0) + v0(0, 1) + v0(1, 0) + v0(1, 1));
}

#[test]
fn fidelity_on_a_missing_file_fails_with_one_line() {
    let o = stemz(&["fidelity", "/nonexistent/cube.emd"]);
    assert_one_line_failure(&o, "/nonexistent/cube.emd", "does not exist");
}

#[test]
fn fidelity_names_the_file_and_the_unknown_target() {
    let dir = tempfile::tempdir().unwrap();
    let input = disk_cube(dir.path());
    let o = stemz(&["fidelity", s(&input), "--keep", "vbf,haadf"]);
    assert_one_line_failure(&o, "cube.npy", "unknown target `haadf`");
}

#[test]
fn fidelity_without_a_disk_asks_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("zeros.npy");
    write_npy_u16(&input, [2, 2, 8, 8], &[0; 256]);
    let o = stemz(&["fidelity", s(&input), "--keep", "vbf"]);
    assert_one_line_failure(&o, "zeros.npy", "--bf-disk");
}

#[test]
fn reduce_refuses_to_replace_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = disk_cube(dir.path());
    let before = std::fs::read(&input).unwrap();
    let o = stemz(&[
        "reduce",
        s(&input),
        s(&input),
        "--bin",
        "2",
        "--keep",
        "sum",
    ]);
    assert_one_line_failure(&o, "cube.npy", "must not replace the input");
    assert_eq!(std::fs::read(&input).unwrap(), before);
}

#[test]
fn reduce_with_a_crop_outside_the_detector_fails_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = disk_cube(dir.path());
    let out = dir.path().join("r.emd");
    let o = stemz(&[
        "reduce",
        s(&input),
        s(&out),
        "--crop",
        "0:8,4:40",
        "--keep",
        "sum",
    ]);
    assert_one_line_failure(&o, "cube.npy", "exceeds the 16x16 detector");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the input"
    );
}

#[test]
fn reduce_with_no_candidate_within_tolerance_fails_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = disk_cube(dir.path());
    let out = dir.path().join("r.emd");
    let o = stemz(&[
        "reduce",
        s(&input),
        s(&out),
        "--keep",
        "mean",
        "--bins",
        "2",
        "--scan-bins",
        "1",
        "--no-crop",
        "--tolerance",
        "1e-9",
    ]);
    assert_one_line_failure(&o, "cube.npy", "no candidate keeps every target");
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the input"
    );
}
