//! Interop: `stemz compress` of real Merlin recordings, opened by h5py + hdf5plugin (plain HDF5
//! and EMD 1.0, both engines) and compared value by value with rosettasciio's decoding.

mod common;

use std::process::Command;

#[test]
#[ignore = "interop: run by cargo xtask ci"]
fn realdata_compressed_mib_opens_in_h5py_and_equals_rosettasciio() {
    let python = std::env::var("STEMZ_INTEROP_PYTHON").unwrap_or_else(|_| {
        panic!(
            "STEMZ_INTEROP_PYTHON is not set: point it at the interop venv (cargo xtask ci does)"
        )
    });
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/read_compressed_mib.py"
    );
    let dir = tempfile::tempdir().unwrap();
    let mibs = common::extract_mibs("Merlin_Single_Quad.zip", dir.path());
    let pick = |name: &str| mibs.iter().find(|p| p.ends_with(name)).unwrap().clone();
    let cases = [
        (
            "Quad_9_Frame_CounterDepth_12_Rows_256.mib",
            "blosc_zstd",
            "parallel",
            "out.h5",
            32001,
        ),
        (
            "Quad_9_Frame_CounterDepth_12_Rows_256.mib",
            "bitshuffle_lz4",
            "serial",
            "out.emd",
            32008,
        ),
        (
            "Quad_9_Frame_CounterDepth_24_Rows_256.mib",
            "gzip_6",
            "parallel",
            "out24.emd",
            1,
        ),
        (
            "Single_1_Frame_CounterDepth_6_Rows_256.mib",
            "zstd_3",
            "parallel",
            "single.h5",
            32015,
        ),
        // No --method: the default, Blosc2 (filter 32026), in both engines.
        (
            "Quad_9_Frame_CounterDepth_12_Rows_256.mib",
            "",
            "parallel",
            "default.h5",
            32026,
        ),
        (
            "Quad_9_Frame_CounterDepth_24_Rows_256.mib",
            "",
            "serial",
            "default.emd",
            32026,
        ),
    ];
    for (mib, method, engine, out, filter) in cases {
        let input = pick(mib);
        let output = dir.path().join(format!("{method}-{out}"));
        let scan: &[&str] = if mib.contains("_9_Frame") {
            &["--scan", "3x3"]
        } else {
            &[]
        };
        let status = Command::new(env!("CARGO_BIN_EXE_stemz"))
            .arg("compress")
            .arg(&input)
            .arg(&output)
            .args(if method.is_empty() {
                vec![]
            } else {
                vec!["--method", method]
            })
            .args(["--engine", engine])
            .args(scan)
            .status()
            .unwrap();
        assert!(status.success(), "stemz compress {mib} --method {method}");
        let dataset = if out.ends_with(".emd") {
            "version_1/data/datacubes/datacube_000/data"
        } else {
            "data"
        };
        let o = Command::new(&python)
            .arg(script)
            .arg(&input)
            .arg(&output)
            .arg(dataset)
            .arg(filter.to_string())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{mib} → {method}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
