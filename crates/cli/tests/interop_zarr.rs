//! Interop with zarr-python 3 (pinned in the interop venv): it opens the sharded Zarr v3 stores
//! `stemz compress` writes and reads them bit-exactly, and stemz reads a sharded Blosc store
//! that zarr-python wrote.

mod common;

use std::path::Path;
use std::process::Command;

fn python() -> String {
    std::env::var("STEMZ_INTEROP_PYTHON").unwrap_or_else(|_| {
        panic!(
            "STEMZ_INTEROP_PYTHON is not set: point it at the interop venv (cargo xtask ci does)"
        )
    })
}

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/zarr_stores.py");

fn zarr_python(args: &[&Path]) -> serde_json::Value {
    let out = common::output_of(Command::new(python()).arg(SCRIPT).args(args));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "zarr-python {args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

#[test]
#[ignore = "interop: run by cargo xtask ci"]
fn small_4d_diff_as_zarr_opens_in_zarr_python_with_sharding_and_equals_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    common::stemz_ok(&[
        "synth",
        "--scale",
        "small",
        "--datasets",
        "4D_Diff",
        "--out",
        d,
    ]);
    let source = dir.path().join("4D_Diff.emd");
    let cases = [
        ("zarr_blosc_zstd", "balanced", "parallel", &[][..]),
        (
            "zarr_blosc_zstd_bitshuffle",
            "single_frame",
            "serial",
            &["--checksum"][..],
        ),
        ("zarr_zstd_3", "real_space", "parallel", &[][..]),
    ];
    for (method, chunking, engine, extra) in cases {
        let store = dir.path().join(format!("{method}-{chunking}.zarr"));
        let mut args = vec![
            "compress",
            source.to_str().unwrap(),
            store.to_str().unwrap(),
        ];
        args.extend([
            "--method",
            method,
            "--chunking",
            chunking,
            "--engine",
            engine,
        ]);
        args.extend(extra);
        let report = common::stemz_ok(&args);
        assert!(report.contains("lossless   yes"), "{report}");
        let r = zarr_python(&[Path::new("read"), &store, &source]);
        assert_eq!(r["zarr_format"], 3, "{r}");
        assert_eq!(r["sharded"], true, "{r}");
        assert_eq!(r["equal"], true, "{method} {chunking}: {r}");
        assert_eq!(r["attributes"]["stemz"]["method"], method, "{r}");
        // stemz's own check of the digest it stored.
        let v = common::stemz_ok(&["verify", store.to_str().unwrap()]);
        assert!(v.contains("matches the stored digest"), "{v}");
    }
}

#[test]
#[ignore = "interop: run by cargo xtask ci"]
fn stemz_reads_a_sharded_blosc_store_written_by_zarr_python() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("by-zarr-python.zarr");
    let npy = dir.path().join("data.npy");
    let w = zarr_python(&[Path::new("write"), &store, &npy]);
    assert_eq!(w["shards"], serde_json::json!([2, 5, 24, 20]), "{w}");
    let (s, n) = (store.to_str().unwrap(), npy.to_str().unwrap());
    let v = common::stemz_ok(&["verify", s, "--against", n]);
    assert!(v.contains("bitwise equal"), "{v}");
    let i = common::stemz_ok(&["inspect", s]);
    assert!(i.contains("Zarr v3") && i.contains("blosc"), "{i}");
    // And through every stemz format: a stemz store of zarr-python's data, read back by it.
    let again = dir.path().join("again.zarr");
    common::stemz_ok(&["compress", s, again.to_str().unwrap()]);
    let r = zarr_python(&[Path::new("read"), &again, &npy]);
    assert_eq!(r["equal"], true, "{r}");
}
