//! The full matrix on the `tiny` synthetic datasets, as CI runs it: every method (the study's,
//! the new HDF5 ones and the Zarr stores) × the three chunkings × both engines, one run each. Every row must be a
//! bit-exact round trip, except `uint8_overflow` on float data, which is lossy by the study's
//! construction; no chunk may be stored raw on these data.

use std::process::Command;
use stemz_bench::record::read_measurements;

#[test]
fn tiny_full_matrix_is_lossless_with_no_raw_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("tiny");
    let stemz = env!("CARGO_BIN_EXE_stemz");
    let ok = |c: &mut Command| {
        let o = c.output().unwrap();
        assert!(
            o.status.success(),
            "{c:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    ok(Command::new(stemz)
        .args(["synth", "--scale", "tiny", "--out"])
        .arg(&data));
    let summary = ok(Command::new(stemz)
        .args([
            "bench", "--scale", "tiny", "--runs", "1", "--run-id", "tiny", "--quiet",
        ])
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(dir.path().join("runs"))
        .arg("--workdir")
        .arg(dir.path().join("work")));
    let raw = dir.path().join("runs/tiny/raw.csv");
    let rows = read_measurements(std::fs::File::open(&raw).unwrap()).unwrap();
    // 5 datasets × (24 HDF5 + 4 Zarr methods × 3 chunkings × 2 engines + 3 other methods).
    assert_eq!(rows.len(), 5 * (28 * 3 * 2 + 3), "{summary}");
    let zarr: Vec<_> = rows
        .iter()
        .filter(|r| r.method.starts_with("zarr_"))
        .collect();
    assert_eq!(zarr.len(), 5 * 4 * 3 * 2);
    // A store holds every inner chunk that is not all zeros, and is larger than its shards.
    assert!(zarr
        .iter()
        .all(|r| r.chunks.is_some_and(|c| c > 0) && r.payload_bytes < Some(r.file_bytes)));
    let floats = ["4D_Diff-2x2-binning", "4D_Diff-4x4-binning"];
    for r in &rows {
        let lossy_by_design = r.method == "uint8_overflow" && floats.contains(&r.dataset.as_str());
        assert_eq!(
            r.lossless,
            Some(!lossy_by_design),
            "{} {} {} {}",
            r.dataset,
            r.method,
            r.chunking,
            r.engine.as_str()
        );
        assert_eq!(
            r.chunks_stored_raw.unwrap_or(0),
            0,
            "{} {} {}",
            r.dataset,
            r.method,
            r.chunking
        );
        assert!(r.ratio > 0.0 && r.write_s > 0.0 && r.read_s.is_some_and(|s| s > 0.0));
    }
    assert!(summary.contains("chunks stored raw: 0"), "{summary}");
    // The run folder also holds the run's own tables and figures.
    assert!(dir
        .path()
        .join("runs/tiny/tables/Table3_dataset_summary.md")
        .exists());
    assert!(dir
        .path()
        .join("runs/tiny/figures/fig5_pareto.svg")
        .exists());
}
