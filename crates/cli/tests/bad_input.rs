//! Bad inputs end in one clear stderr line naming the file and the problem, a non-zero exit,
//! no panic, and no output file left behind.

// HDF5 here is stemz-data's static one: linking stemz-data brings its szip (libaec) and the
// zlib functions HDF5's deflate filter calls (see crates/data/build.rs and src/zlib.rs).
use stemz_data as _;

mod common;

use common::{hdf5_turn, stemz_output, write_npy_f32, write_npy_u16};
use std::path::{Path, PathBuf};

struct Outcome {
    stderr: String,
    success: bool,
}

fn stemz(args: &[&str]) -> Outcome {
    let out = stemz_output(args);
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
    let _turn = hdf5_turn();
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

// ---- no file lies about what it is, no silent guess, no misleading message ----

/// Exit 1 (not merely non-zero), one line naming `file` and saying `problem`.
fn assert_exit_1(args: &[&str], file: &str, problem: &str) {
    let out = stemz_output(args);
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    let o = Outcome {
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        success: out.status.success(),
    };
    assert_clean_failure(&o, file, problem);
}

/// A uint16 `.npy` cube (2, 2, 4, 4), or float32 when `float`.
fn npy(dir: &Path, name: &str, float: bool) -> PathBuf {
    let p = dir.join(name);
    if float {
        write_npy_f32(&p, [2, 2, 4, 4], |i| i as f32 * 0.5);
    } else {
        write_npy_u16(&p, [2, 2, 4, 4], |i| i as u16 * 300);
    }
    p
}

/// Files in `dir` other than `keep`.
fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect()
}

#[test]
fn non_hdf5_methods_refuse_hdf5_names_and_name_their_extension() {
    let dir = tempfile::tempdir().unwrap();
    let inp = npy(dir.path(), "in.npy", false);
    for (method, bad, ext) in [
        ("sparse_csr", "out.h5", "*.csr"),
        ("simple_gzip", "out.emd", "*.npy.gz"),
        ("uint8_overflow", "out.h5", "*.u8o"),
    ] {
        let out = dir.path().join(bad);
        let args = [
            "compress",
            inp.to_str().unwrap(),
            out.to_str().unwrap(),
            "--method",
            method,
        ];
        assert_exit_1(&args, bad, ext);
        assert_eq!(leftovers(dir.path(), &["in.npy"]), Vec::<String>::new());
    }
}

#[test]
fn non_hdf5_methods_write_under_their_own_extension() {
    let dir = tempfile::tempdir().unwrap();
    let inp = npy(dir.path(), "in.npy", false);
    for (method, name) in [
        ("sparse_csr", "out.csr"),
        ("simple_gzip", "out.npy.gz"),
        ("uint8_overflow", "out.u8o"),
    ] {
        let out = dir.path().join(name);
        let o = stemz(&[
            "compress",
            inp.to_str().unwrap(),
            out.to_str().unwrap(),
            "--method",
            method,
        ]);
        assert!(o.success, "{method}: {}", o.stderr);
        assert!(out.exists(), "{method}");
    }
}

#[test]
fn a_lossy_method_on_float_data_needs_allow_lossy() {
    let dir = tempfile::tempdir().unwrap();
    let inp = npy(dir.path(), "f.npy", true);
    let out = dir.path().join("out.u8o");
    let args = [
        "compress",
        inp.to_str().unwrap(),
        out.to_str().unwrap(),
        "--method",
        "uint8_overflow",
    ];
    assert_exit_1(&args, "f.npy", "--allow-lossy");
    assert_eq!(leftovers(dir.path(), &["f.npy"]), Vec::<String>::new());
    let mut allowed = args.to_vec();
    allowed.push("--allow-lossy");
    let o = stemz(&allowed);
    assert!(o.success, "{}", o.stderr);
    assert!(out.exists());
}

#[test]
fn a_3d_hdf5_dataset_is_not_guessed() {
    let dir = tempfile::tempdir().unwrap();
    let p = h5_with(dir.path(), "stack.h5", |f| {
        f.new_dataset::<u16>()
            .shape([4, 8, 8])
            .create("frames")
            .unwrap();
    });
    check_both(&p, &[], "--spectrum-image");
    check_both(&p, &[], "--scan");
    // Either choice, made explicitly, is accepted.
    let inp = p.to_str().unwrap();
    assert!(stemz(&["inspect", inp, "--scan", "2x2"]).success);
    assert!(stemz(&["inspect", inp, "--spectrum-image"]).success);
}

#[test]
fn spectrum_image_on_4d_data_and_together_with_scan_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = h5_with(dir.path(), "cube.h5", |f| {
        f.new_dataset::<u16>()
            .shape([2, 2, 4, 4])
            .create("cube")
            .unwrap();
        f.new_dataset::<u16>()
            .shape([4, 8, 8])
            .create("stack")
            .unwrap();
    });
    check_both(&p, &["--dataset", "cube", "--spectrum-image"], "only to 3D");
    check_both(
        &p,
        &["--dataset", "stack", "--spectrum-image", "--scan", "2x2"],
        "exclude each other",
    );
}

#[test]
fn scan_on_a_4d_npy_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = npy(dir.path(), "four.npy", false);
    check_both(&p, &["--scan", "2x2"], "--scan does not apply");
}

#[test]
fn chunking_larger_than_the_cube_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let inp = npy(dir.path(), "in.npy", false);
    let out = dir.path().join("out.h5");
    let args = [
        "compress",
        inp.to_str().unwrap(),
        out.to_str().unwrap(),
        "--chunking",
        "1x1x8x4",
    ];
    assert_exit_1(&args, "in.npy", "larger than the cube 2x2x4x4");
    assert_eq!(leftovers(dir.path(), &["in.npy"]), Vec::<String>::new());
}

#[test]
fn out_dataset_with_emd_output_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let inp = npy(dir.path(), "in.npy", false);
    let out = dir.path().join("out.emd");
    let args = [
        "compress",
        inp.to_str().unwrap(),
        out.to_str().unwrap(),
        "--out-dataset",
        "/x",
    ];
    assert_exit_1(&args, "out.emd", "--out-dataset does not apply");
    assert_eq!(leftovers(dir.path(), &["in.npy"]), Vec::<String>::new());
}

#[test]
fn recommend_with_zero_repeats_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let inp = npy(dir.path(), "in.npy", false);
    let o = stemz(&["recommend", inp.to_str().unwrap(), "--repeats", "0"]);
    assert!(!o.success);
    assert!(o.stderr.contains("--repeats 0"), "{}", o.stderr);
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
}

#[test]
fn absurd_thread_counts_are_capped_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let inp = npy(dir.path(), "in.npy", false);
    let out = dir.path().join("out.h5");
    let start = std::time::Instant::now();
    let o = stemz(&[
        "compress",
        inp.to_str().unwrap(),
        out.to_str().unwrap(),
        "--threads",
        "10000",
    ]);
    assert!(o.success, "{}", o.stderr);
    assert!(
        o.stderr.contains("--threads 10000 capped at"),
        "{}",
        o.stderr
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn bool_and_compound_types_are_named_as_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let p = h5_with(dir.path(), "kinds.h5", |f| {
        f.new_dataset::<bool>()
            .shape([1, 1, 2, 2])
            .create("flags")
            .unwrap();
    });
    check_both(&p, &["--dataset", "flags"], "element type bool");
    // Without --dataset: not "no 4D datacube", but which 4D dataset and why not.
    check_both(&p, &[], "/flags [1, 1, 2, 2] is bool");
}

#[test]
fn a_symlink_loop_is_called_a_loop() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.h5");
    let b = dir.path().join("b.h5");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    check_both(&a, &[], "symbolic link loop");
}

#[test]
fn a_dangling_symlink_is_called_dangling() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("gone.h5");
    std::os::unix::fs::symlink(dir.path().join("nothing"), &a).unwrap();
    check_both(&a, &[], "dangling symbolic link");
}

#[test]
fn a_shape_whose_byte_count_overflows_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = h5_with(dir.path(), "vast.h5", |f| {
        f.new_dataset::<u16>()
            // 2^63 elements of 2 bytes: the element count fits in 64 bits, the bytes do not.
            .shape([1 << 16, 1 << 16, 1 << 16, 1 << 15])
            .chunk([1, 1, 4, 4])
            .create("vast")
            .unwrap();
    });
    check_both(&p, &[], "overflows 64 bits");
}

#[test]
fn a_truncated_mib_does_not_advise_a_nonexistent_flag() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("short.mib");
    let mut bytes = mib_frame(1, &[1; 16]);
    bytes.extend(mib_frame(2, &[2; 16]));
    bytes.truncate(bytes.len() - 5);
    std::fs::write(&p, &bytes).unwrap();
    let o = stemz(&["inspect", p.to_str().unwrap(), "--scan", "1x2"]);
    assert_clean_failure(&o, "short.mib", "truncate -s 400");
    assert!(!o.stderr.contains("--drop-truncated"), "{}", o.stderr);
}

#[test]
fn recommend_refuses_a_chunking_larger_than_the_cube() {
    let dir = tempfile::tempdir().unwrap();
    let inp = npy(dir.path(), "in.npy", false);
    let args = [
        "recommend",
        inp.to_str().unwrap(),
        "--chunkings",
        "4x4x4x4",
        "--methods",
        "gzip_1",
    ];
    assert_exit_1(&args, "in.npy", "larger than the cube 2x2x4x4");
}
