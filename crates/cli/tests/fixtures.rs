//! `stemz inspect` on every real instrument and third-party file in
//! `../shared/reference/realdata/`: Merlin `.mib` (both zips), the EMD files of prismatic and
//! py4DSTEM, and the DECTRIS ARINA master file (bitshuffle-LZ4 through an external link).

use std::path::Path;
use std::process::Command;

mod common;

use common::{extract_mibs, realdata};

fn inspect_json(path: &Path, extra: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_stemz"))
        .arg("inspect")
        .arg(path)
        .args(extra)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stemz inspect {} {extra:?} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: inspect --json is not JSON ({e}): {}",
            path.display(),
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The frame count of a `.mib` name like `Quad_9_Frame_…`; the ROI fixtures are 8 frames.
fn frames_in_name(path: &Path) -> usize {
    let name = path.file_name().unwrap().to_string_lossy();
    if name.contains("_9_Frame") {
        9
    } else if name.contains("_1_Frame") {
        1
    } else {
        8
    }
}

#[test]
fn realdata_inspect_reads_every_merlin_fixture() {
    let mut seen = 0;
    for zip_name in [
        "Merlin_Single_Quad.zip",
        "Merlin_navigation4x2_signalNx256_ROI.zip",
    ] {
        let dir = tempfile::tempdir().unwrap();
        for mib in extract_mibs(zip_name, dir.path()) {
            let frames = frames_in_name(&mib);
            // Nine-frame recordings say nothing of their scan: give it, as a user would.
            let extra: &[&str] = if frames == 9 { &["--scan", "3x3"] } else { &[] };
            let v = inspect_json(&mib, extra);
            let text = v.to_string();
            assert!(text.contains("Merlin"), "{}: {text}", mib.display());
            let shape: Vec<u64> = v["shape"]
                .as_array()
                .unwrap_or_else(|| panic!("{}: no shape in {text}", mib.display()))
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect();
            assert_eq!(
                shape[0] * shape[1],
                frames as u64,
                "{}: {shape:?}",
                mib.display()
            );
            assert!(
                shape[2] >= 64 && shape[3] >= 64,
                "{}: {shape:?}",
                mib.display()
            );
            let sparsity = v["stats"]["sparsity"]
                .as_f64()
                .unwrap_or_else(|| panic!("{text}"));
            assert!(
                (0.5..=1.0).contains(&sparsity),
                "{}: sparsity {sparsity}",
                mib.display()
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 22, "20 single/quad files and 2 ROI files");
}

#[test]
fn realdata_inspect_reads_the_emd_files_of_other_software() {
    let v = inspect_json(&realdata("py4DSTEM_size2x3x4x5.h5"), &[]);
    assert_eq!(v["shape"], serde_json::json!([2, 3, 4, 5]));
    assert_eq!(v["dtype"], "float32");

    // prismatic's file holds two 4D cubes: the user names one.
    let emd = realdata("Si100_4D.emd");
    let listed = Command::new(env!("CARGO_BIN_EXE_stemz"))
        .arg("inspect")
        .arg(&emd)
        .output()
        .unwrap();
    assert!(!listed.status.success());
    let err = String::from_utf8_lossy(&listed.stderr).to_string();
    let first = err
        .split_whitespace()
        .find(|w| w.starts_with('/') && w.ends_with("/datacube"))
        .unwrap_or_else(|| panic!("the error lists no candidate: {err}"));
    assert!(
        err.contains("CBED_array_depth0001"),
        "both candidates listed: {err}"
    );
    let v = inspect_json(&emd, &["--dataset", first]);
    assert_eq!(v["shape"][0], 11, "{v}");
    assert_eq!(v["dtype"], "float32");
}

#[test]
fn realdata_inspect_reads_the_dectris_arina_master_file_through_bitshuffle() {
    realdata("test_00_data_000001.h5"); // where the master's external link leads
    let v = inspect_json(&realdata("test_00_master.h5"), &["--scan", "4x4"]);
    let text = v.to_string();
    assert_eq!(v["shape"], serde_json::json!([4, 4, 192, 192]), "{text}");
    assert_eq!(v["dtype"], "uint32");
    assert!(
        text.contains("32008"),
        "the bitshuffle filter is listed: {text}"
    );
    assert_eq!(
        v["stats"]["sparsity"].as_f64(),
        Some(1.0),
        "the data file is all zeros"
    );
}

#[test]
fn a_missing_fixture_fails_the_test_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let message = |folder: &Path| {
        let folder = folder.to_path_buf();
        let panic = std::panic::catch_unwind(|| common::realdata_in(&folder, "test_00_master.h5"))
            .expect_err("a missing fixture fails the test");
        panic.downcast_ref::<String>().cloned().unwrap()
    };
    for (folder, missing) in [
        (
            dir.path().to_path_buf(),
            dir.path().join("test_00_master.h5"),
        ),
        (dir.path().join("realdata"), dir.path().join("realdata")),
    ] {
        let m = message(&folder);
        assert_eq!(m.lines().count(), 1, "{m}");
        assert!(
            m.starts_with("the real instrument fixtures are missing: ")
                && m.contains(&missing.display().to_string())
                && m.ends_with("(this test needs the artifact's shared/ beside the checkout)"),
            "{m}"
        );
    }
}
