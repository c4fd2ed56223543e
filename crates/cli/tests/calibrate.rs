//! `stemz calibrate` end to end at `tiny` scale on a subset: the report is written with its
//! generated-file header and sane numbers, temporaries are cleaned up, and bad input is an error
//! naming the problem (while a failed criterion is not).

use std::path::Path;
use std::process::{Command, Output};
use stemz_analysis::calibration::{CalibrationRecord, CalibrationReport, StudyReference};
use stemz_report::calibration::{render, HEADER};

/// `stemz calibrate args` with the study's files by default: the repository's `data/study/`
/// (a `--study` in `args` takes precedence), whatever the caller's environment says.
fn calibrate(args: &[&str]) -> Output {
    calibrate_with_env(args, None)
}

/// `stemz calibrate args` with `STEMZ_STUDY_DIR` set to `study_env`, or unset for `None`.
fn calibrate_with_env(args: &[&str], study_env: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stemz"));
    cmd.arg("calibrate").env_remove("STEMZ_STUDY_DIR");
    if let Some(dir) = study_env {
        cmd.env("STEMZ_STUDY_DIR", dir);
    }
    cmd.args(args).output().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The `ours` column of `method` in the per-method table of `dataset`.
fn ratio(md: &str, dataset: &str, method: &str) -> f64 {
    let section = md
        .split(&format!("### {dataset}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no section for {dataset}"));
    let row = section
        .lines()
        .find(|l| l.starts_with(&format!("| {method} |")))
        .unwrap_or_else(|| panic!("no row for {method} in {dataset}"));
    row.split('|').nth(2).unwrap().trim().parse().unwrap()
}

#[test]
fn tiny_subset_writes_the_report_with_header_and_sane_ratios() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/calibration.md");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let o = calibrate(&[
        "--scale",
        "tiny",
        "--data",
        s(&dir.path().join("no-such-dir")),
        "--out",
        s(&out),
        "--tmp",
        s(&tmp),
        "--datasets",
        "4D_Diff",
        "3D_EELS",
        "--methods",
        "none,gzip_1,blosc_zstd",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // One line per dataset, plus the final one.
    assert!(
        stdout.lines().any(|l| l.starts_with("4D_Diff [tiny]:")),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("3D_EELS [tiny]:")),
        "{stdout}"
    );

    let md = std::fs::read_to_string(&out).unwrap();
    assert_eq!(md.lines().next(), Some(HEADER));
    assert!(md.contains("`tiny` scale"));
    assert!(
        !md.contains("| 4D_EELS |") && !md.contains("### 4D_EELS"),
        "only the chosen datasets are measured"
    );
    assert!(md.contains("| 4D_Diff | dtype | uint16 | uint16 | pass |"));
    assert!(md.contains("| 3D_EELS | Spearman ρ (3 methods) |"));
    for d in ["4D_Diff", "3D_EELS"] {
        let none = ratio(&md, d, "none");
        assert!((0.9..=1.0).contains(&none), "{d}: none ratio {none}");
        let zstd = ratio(&md, d, "blosc_zstd");
        assert!(zstd > 1.5 && zstd < 100.0, "{d}: blosc_zstd ratio {zstd}");
        assert!(ratio(&md, d, "gzip_1") > 1.2);
    }
    assert!(!md.contains("NaN") && !md.contains("inf"));
    // Temporaries are gone: no compressed file, no partial report.
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    let mut left: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["calibration.md", "calibration.toml"]);
    // The record beside it renders the very same report (what `stemz-report` checks).
    let record =
        CalibrationRecord::from_toml(&std::fs::read_to_string(out.with_extension("toml")).unwrap())
            .unwrap();
    assert_eq!(record.datasets.len(), 2);
    let study = StudyReference::load(&stemz_analysis::study::bundled_dir()).unwrap();
    let again = render(&CalibrationReport::evaluate(&record, &study).unwrap());
    assert_eq!(again, md);
}

#[test]
fn missing_study_files_and_unknown_methods_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.md");
    let base = [
        "--scale",
        "tiny",
        "--datasets",
        "3D_EELS",
        "--out",
        s(&out),
        "--tmp",
        s(dir.path()),
    ];
    let nope = dir.path().join("nope");
    let o = calibrate(&[&base[..], &["--study", s(&nope)][..]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("dataset_inventory.csv"), "{err}");
    // STEMZ_STUDY_DIR replaces the repository's data/study/, and --study replaces both.
    let env_nope = dir.path().join("env-nope");
    let o = calibrate_with_env(&base, Some(&env_nope));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("env-nope"), "{err}");
    let o = calibrate_with_env(
        &[&base[..], &["--study", s(&nope)][..]].concat(),
        Some(&env_nope),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("nope") && !err.contains("env-nope"), "{err}");

    let o = calibrate(&[&base[..], &["--methods", "sparse_csr"][..]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("sparse_csr") && err.contains("HDF5"), "{err}");

    let o = calibrate(&["--scale", "tiny", "--compare-paper", "--out", s(&out)]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--scale small"));
    assert!(!out.exists(), "no report on error");
}
