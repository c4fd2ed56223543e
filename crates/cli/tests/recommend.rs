//! `stemz recommend` end to end: a real EMD file gets one recommendation per goal with a
//! `stemz compress` line and a full-file check; bad arguments end in one clear line.

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
        &["sparse_csr", "HDF5 methods only"],
    );
}
