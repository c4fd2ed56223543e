//! An installed `stemz` (`cargo install --path crates/cli`) must work from any directory: no
//! command may depend on the build tree's paths.

use std::process::Command;

#[test]
fn synth_runs_from_any_directory_with_the_built_in_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_stemz"))
        .current_dir(dir.path())
        .args([
            "synth",
            "--scale",
            "tiny",
            "--datasets",
            "3D_EELS",
            "4D_Diff",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for name in ["3D_EELS", "4D_Diff"] {
        assert!(dir
            .path()
            .join(format!("data/generated/tiny/{name}.emd"))
            .is_file());
    }
    assert_eq!(stdout.matches("matches manifest").count(), 2, "{stdout}");
}

#[test]
fn calibrate_from_any_directory_uses_the_study_files_built_in() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_stemz"))
        .current_dir(dir.path())
        .env_remove("STEMZ_STUDY_DIR")
        .args(["calibrate", "--scale", "tiny", "--datasets", "3D_EELS"])
        .args(["--methods", "blosc_lz4,gzip_1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let md = std::fs::read_to_string(dir.path().join("calibration.md")).unwrap();
    // The study's own number for the dataset, from the compiled-in files.
    assert!(md.contains("| 3D_EELS |"), "{md}");
}

#[test]
fn the_built_in_manifest_is_never_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_stemz"))
        .current_dir(dir.path())
        .args([
            "synth",
            "--scale",
            "tiny",
            "--datasets",
            "3D_EELS",
            "--update-manifest",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--manifest"));
}
