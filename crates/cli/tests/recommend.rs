//! `stemz recommend` end to end: a real EMD file gets one recommendation per goal with a
//! `stemz compress` line and a full-file check; Zarr candidates project the store `stemz
//! compress` writes, and a Zarr winner's command writes it; bad arguments end in one clear line.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

/// py4DSTEM's small EMD file, a real instrument fixture.
fn py4dstem() -> String {
    common::realdata("py4DSTEM_size2x3x4x5.h5")
        .to_str()
        .unwrap()
        .to_string()
}

struct Outcome {
    stdout: String,
    stderr: String,
    success: bool,
    code: Option<i32>,
}

fn stemz(args: &[&str]) -> Outcome {
    let out = Command::new(env!("CARGO_BIN_EXE_stemz"))
        .arg("recommend")
        .args(args)
        .output()
        .expect("the stemz binary runs");
    Outcome {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        success: out.status.success(),
        code: out.status.code(),
    }
}

/// One non-empty stderr line containing every one of `words`, non-zero exit, no panic.
fn assert_fails_saying(o: &Outcome, words: &[&str]) {
    assert!(!o.success, "expected failure, stdout: {}", o.stdout);
    assert!(!o.stderr.contains("panicked"), "panic: {}", o.stderr);
    let lines: Vec<&str> = o.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {:?}", o.stderr);
    for w in words {
        assert!(lines[0].contains(w), "{:?} does not say {w:?}", lines[0]);
    }
}

#[test]
fn realdata_recommend_prints_every_goal_with_a_compress_line_and_a_full_file_check() {
    let work = tempfile::tempdir().unwrap();
    let o = stemz(&[
        &py4dstem(),
        "--methods",
        "blosc_lz4,zstd_3,gzip_6",
        "--chunkings",
        "single_frame,balanced",
        "--repeats",
        "1",
        "--verify-full",
        "--no-prune",
        "--json",
        "--workdir",
        work.path().to_str().unwrap(),
    ]);
    assert!(o.success, "stderr: {}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("one JSON object");
    assert_eq!(v["shape"], serde_json::json!([2, 3, 4, 5]));
    assert_eq!(v["candidates"].as_array().unwrap().len(), 6);
    assert_eq!(
        v["pruned"],
        serde_json::json!([]),
        "--no-prune prunes nothing"
    );
    let recs = v["recommendations"].as_array().unwrap();
    let goals: Vec<&str> = recs.iter().map(|r| r["goal"].as_str().unwrap()).collect();
    assert_eq!(
        goals,
        ["smallest", "fastest-write", "fastest-read", "balanced"]
    );
    for r in recs {
        let cmd = r["command"].as_str().unwrap();
        assert!(cmd.starts_with("stemz compress "), "{cmd}");
        assert!(
            cmd.contains(&format!("--method {}", r["method"].as_str().unwrap())),
            "{cmd}"
        );
        assert!(
            cmd.contains(&format!("--chunking {}", r["chunking"].as_str().unwrap())),
            "{cmd}"
        );
        assert_eq!(r["full"]["lossless"], true);
        // single_frame samples 5 of the 6 frames (a real interval); balanced is one chunk
        // column, sampled whole (a zero-width interval): either way lo <= ratio <= hi.
        let p = &r["projection"];
        let (lo, mid, hi) = (
            p["ratio_lo"].as_f64().unwrap(),
            p["ratio"].as_f64().unwrap(),
            p["ratio_hi"].as_f64().unwrap(),
        );
        assert!(lo <= mid && mid <= hi, "{lo} {mid} {hi}");
    }
    // The smallest pick has the highest projected ratio of all candidates.
    let best = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["projection"]["ratio"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(recs[0]["projection"]["ratio"].as_f64().unwrap(), best);
    // Scratch files are gone.
    let left: Vec<_> = std::fs::read_dir(work.path()).unwrap().collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");
}

#[test]
fn realdata_pruned_methods_are_measured_on_the_scout_chunking_only_and_listed() {
    let o = stemz(&[
        &py4dstem(),
        "--methods",
        "blosc_lz4,zstd_3,gzip_6",
        "--chunkings",
        "single_frame,balanced",
        "--repeats",
        "1",
        "--json",
    ]);
    assert!(o.success, "stderr: {}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("one JSON object");
    let candidates = v["candidates"].as_array().unwrap();
    let pruned = v["pruned"].as_array().unwrap();
    // Which methods the timings prune varies; the bookkeeping does not: every method is
    // measured on the scout (single_frame, the smaller chunks), a pruned one nowhere else.
    let on = |chunking: &str| -> Vec<&str> {
        candidates
            .iter()
            .filter(|c| c["chunking"] == chunking)
            .map(|c| c["method"].as_str().unwrap())
            .collect()
    };
    assert_eq!(on("single_frame"), ["blosc_lz4", "zstd_3", "gzip_6"]);
    for p in pruned {
        assert_eq!(p["chunking"], "single_frame");
        assert!(!p["reason"].as_str().unwrap().is_empty());
        assert!(
            !on("balanced").contains(&p["method"].as_str().unwrap()),
            "{p}"
        );
    }
    assert_eq!(candidates.len() + pruned.len(), 6);
}

#[test]
fn realdata_recommend_with_one_goal_prints_only_that_goal() {
    let o = stemz(&[
        &py4dstem(),
        "--goal",
        "smallest",
        "--methods",
        "lz4_hdf5,zstd_9",
        "--chunkings",
        "single_frame",
        "--repeats",
        "1",
    ]);
    assert!(o.success, "stderr: {}", o.stderr);
    assert!(o.stdout.contains("smallest"), "{}", o.stdout);
    assert!(!o.stdout.contains("fastest-write"), "{}", o.stdout);
    assert!(
        o.stdout.contains("apply      stemz compress"),
        "{}",
        o.stdout
    );
}

#[test]
fn recommend_on_a_missing_file_names_it() {
    let o = stemz(&["/nonexistent/scan.h5"]);
    assert_fails_saying(&o, &["/nonexistent/scan.h5", "does not exist"]);
}

#[test]
fn realdata_recommend_rejects_a_sample_fraction_outside_zero_to_one() {
    for bad in ["0", "1.5", "-0.1", "NaN"] {
        let o = stemz(&[&py4dstem(), &format!("--sample={bad}")]);
        assert_fails_saying(&o, &["--sample", "(0, 1]"]);
    }
}

#[test]
fn realdata_recommend_rejects_unknown_goals_methods_and_chunkings() {
    assert_fails_saying(
        &stemz(&[&py4dstem(), "--goal", "tiniest"]),
        &["unknown goal `tiniest`", "fastest-write"],
    );
    assert_fails_saying(
        &stemz(&[&py4dstem(), "--methods", "blosc_lz4,bzip3"]),
        &["unknown method `bzip3`"],
    );
    assert_fails_saying(
        &stemz(&[&py4dstem(), "--chunkings", "balanced,2x3"]),
        &["unknown chunking `2x3`"],
    );
    assert_fails_saying(
        &stemz(&[&py4dstem(), "--methods", "sparse_csr"]),
        &["sparse_csr", "HDF5 and Zarr methods only"],
    );
}

/// A uint16 `.npy` cube, 12x10 scan, 48x40 detector (450 KiB), sparse like counting-detector
/// data, with a count density that grows over the scan (2 to 27 in 97, as with a specimen's
/// thickness), so that sampled frames differ in ratio and a sample's projection has a real
/// interval.
fn synthetic(dir: &Path) -> PathBuf {
    let p = dir.join("cube.npy");
    let frame = 48 * 40;
    common::write_npy_u16(&p, [12, 10, 48, 40], |i| {
        let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
        let (y, x) = ((i / frame / 10) as u64, (i / frame % 10) as u64);
        if h % 97 < 2 + 2 * y + x / 3 {
            (h % 4096) as u16
        } else {
            0
        }
    });
    p
}

/// Bytes of every object of a store.
fn store_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                total += e.metadata().unwrap().len();
            }
        }
    }
    total
}

/// Run a printed `stemz compress …` line with the binary under test (its words need no
/// quoting here: the paths are a temporary folder's).
fn run_command(line: &str) -> std::process::Output {
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[..2], ["stemz", "compress"], "{line}");
    common::stemz_output(&words[1..])
}

/// How far a sampled (not census) projection may land from the store `stemz compress` writes,
/// relative: the sample of `synthetic` is 24 of 120 frames (measured: 0.45 % below). The
/// store's bytes besides its inner chunks are 5 % of it, so leaving them out fails this.
const SAMPLED_TOLERANCE: f64 = 0.02;

#[test]
fn recommend_projects_zarr_candidates_to_the_store_stemz_compress_writes() {
    let dir = tempfile::tempdir().unwrap();
    let src = synthetic(dir.path());
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let o = stemz(&[
        src.to_str().unwrap(),
        "--methods",
        "zarr_blosc_zstd,blosc_zstd",
        "--chunkings",
        "single_frame,balanced",
        "--sample",
        "0.2",
        "--repeats",
        "1",
        "--no-prune",
        "--verify-full",
        "--json",
        "--workdir",
        work.to_str().unwrap(),
    ]);
    assert!(o.success, "stderr: {}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("one JSON object");
    let candidates = v["candidates"].as_array().unwrap();
    let names: Vec<(&str, &str)> = candidates
        .iter()
        .map(|c| {
            (
                c["method"].as_str().unwrap(),
                c["chunking"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("zarr_blosc_zstd", "single_frame"),
            ("blosc_zstd", "single_frame"),
            ("zarr_blosc_zstd", "balanced"),
            ("blosc_zstd", "balanced"),
        ]
    );
    for c in candidates
        .iter()
        .filter(|c| c["method"] == "zarr_blosc_zstd")
    {
        let chunking = c["chunking"].as_str().unwrap();
        let store = dir.path().join(format!("{chunking}.zarr"));
        common::stemz_ok(&[
            "compress",
            src.to_str().unwrap(),
            store.to_str().unwrap(),
            "--method",
            "zarr_blosc_zstd",
            "--chunking",
            chunking,
        ]);
        let real = store_bytes(&store);
        let p = &c["projection"];
        let projected = p["file_bytes"].as_u64().unwrap();
        // The store's own bytes besides its inner chunks (zarr.json, one index per shard) are
        // computed, not sampled: exactly the real store's.
        let inner = serde_json::from_value(c["chunk_shape"].clone()).unwrap();
        let shape = [12, 10, 48, 40];
        let shard = stemz_codecs::zarr::shard_shape(shape, inner, 2);
        let chunks: u64 = stemz_codecs::zarr::stored_chunks(&store, shape, inner, shard)
            .unwrap()
            .iter()
            .map(|c| c.bytes)
            .sum();
        assert_eq!(
            p["overhead_bytes"].as_u64().unwrap(),
            real - chunks,
            "{chunking}"
        );
        let (lo, hi) = (
            p["file_bytes_lo"].as_u64().unwrap(),
            p["file_bytes_hi"].as_u64().unwrap(),
        );
        let err = (projected as f64 - real as f64).abs() / real as f64;
        if c["units_sampled"] == c["units_total"] {
            // balanced: one chunk column, sampled whole: the projection is the store.
            assert_eq!(chunking, "balanced");
            assert_eq!(projected, real, "a census projects the store exactly");
        } else {
            assert_eq!(c["units_sampled"], 24, "{chunking}");
            assert!(
                err < SAMPLED_TOLERANCE,
                "{chunking}: projected {projected}, stemz compress wrote {real}"
            );
            assert!(
                lo <= real && real <= hi,
                "{chunking}: {real} outside {lo}..{hi}"
            );
        }
        eprintln!("{chunking}: projected {projected} ({lo}..{hi}), real {real}, error {err:.4}");
    }
    let recs = v["recommendations"].as_array().unwrap();
    for r in recs {
        let cmd = r["command"].as_str().unwrap();
        let zarr = r["method"] == "zarr_blosc_zstd";
        let out = cmd.split_whitespace().nth(3).unwrap();
        assert_eq!(out.ends_with(".zarr"), zarr, "{cmd}");
        assert_eq!(out.ends_with(".h5"), !zarr, "{cmd}");
        assert_eq!(r["full"]["lossless"], true, "{cmd}");
        if zarr {
            assert_eq!(r["full"]["within_interval"], true, "{r}");
        }
    }
    // The store is smaller than the HDF5 file of the same codec (a 16-byte index entry per
    // chunk against HDF5's B-tree), so it wins `smallest`; its command writes what was projected.
    let smallest = &recs[0];
    assert_eq!(smallest["goal"], "smallest");
    assert_eq!(smallest["method"], "zarr_blosc_zstd", "{smallest}");
    assert_eq!(smallest["chunking"], "balanced", "{smallest}");
    let cmd = smallest["command"].as_str().unwrap();
    let out = run_command(cmd);
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = dir.path().join("cube_zarr_blosc_zstd_balanced.zarr");
    assert_eq!(
        store_bytes(&written),
        smallest["projection"]["file_bytes"].as_u64().unwrap(),
        "{cmd}"
    );
    let left: Vec<_> = std::fs::read_dir(&work).unwrap().collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");
}

#[test]
fn recommend_gives_a_zarr_winner_a_command_that_writes_the_store_it_checked() {
    let dir = tempfile::tempdir().unwrap();
    let src = synthetic(dir.path());
    let o = stemz(&[
        src.to_str().unwrap(),
        "--methods",
        "zarr_zstd_3",
        "--chunkings",
        "single_frame",
        "--goal",
        "balanced",
        "--engine",
        "serial",
        "--repeats",
        "1",
        "--verify-full",
        "--json",
    ]);
    assert!(o.success, "stderr: {}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("one JSON object");
    let r = &v["recommendations"][0];
    assert_eq!(r["method"], "zarr_zstd_3");
    let full = &r["full"];
    assert_eq!(full["lossless"], true, "{r}");
    assert_eq!(full["within_interval"], true, "{r}");
    let cmd = r["command"].as_str().unwrap();
    let want = dir.path().join("cube_zarr_zstd_3_single_frame.zarr");
    assert!(
        cmd.ends_with(&format!(
            "{} --method zarr_zstd_3 --chunking single_frame --engine serial",
            want.display()
        )),
        "{cmd}"
    );
    let out = run_command(cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("lossless   yes"), "{stdout}");
    assert!(want.join("zarr.json").is_file(), "{cmd} wrote no store");
    assert_eq!(
        store_bytes(&want),
        full["file_bytes"].as_u64().unwrap(),
        "--verify-full writes the store the command writes"
    );
}

#[test]
fn recommend_rejects_unknown_and_whole_file_methods_beside_zarr_ones() {
    let dir = tempfile::tempdir().unwrap();
    let src = synthetic(dir.path());
    let src = src.to_str().unwrap();
    for (methods, words) in [
        (
            "zarr_blosc_zstd,zarr_bzip3",
            &["unknown method `zarr_bzip3`"][..],
        ),
        (
            "zarr,simple_gzip",
            &["simple_gzip", "HDF5 and Zarr methods only"][..],
        ),
    ] {
        let o = stemz(&[src, "--methods", methods]);
        assert_fails_saying(&o, words);
        assert_eq!(o.code, Some(1), "{methods}");
    }
}
