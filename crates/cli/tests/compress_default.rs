//! `stemz compress` without `--method` writes the default, Blosc2 (filter 32026, zstd clevel 1,
//! bitshuffle), and the file holds exactly the data of an uncompressed write.

mod common;

use std::process::Command;

fn compress(input: &std::path::Path, output: &std::path::Path, extra: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_stemz"))
        .arg("compress")
        .arg(input)
        .arg(output)
        .args(["--scan", "3x3"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stemz compress {extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn realdata_compress_defaults_to_blosc2_zstd_bitshuffle_and_keeps_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let mibs = common::extract_mibs("Merlin_Single_Quad.zip", dir.path());
    let mib = mibs
        .iter()
        .find(|p| p.ends_with("Quad_9_Frame_CounterDepth_12_Rows_256.mib"))
        .unwrap();
    let (default, plain) = (dir.path().join("default.h5"), dir.path().join("none.h5"));
    compress(mib, &default, &[]);
    compress(mib, &plain, &["--method", "none"]);

    // This test process reads through libhdf5 too: it needs stemz's filters registered.
    stemz_codecs::filters::register_all().unwrap();
    let f = hdf5::File::open(&default).unwrap();
    let d = f.dataset("data").unwrap();
    let dcpl = d.dcpl().unwrap();
    let ids: Vec<u32> = dcpl.filters().iter().map(|f| f.id() as u32).collect();
    assert_eq!(ids, vec![32026], "filters of the default method");
    let ours: Vec<u16> = d.read_raw().unwrap();
    let reference: Vec<u16> = hdf5::File::open(&plain)
        .unwrap()
        .dataset("data")
        .unwrap()
        .read_raw()
        .unwrap();
    assert_eq!(ours.len(), 9 * 512 * 512);
    assert!(ours == reference, "the default method changed values");
    assert!(
        ours.iter().any(|&v| v != 0),
        "an all-zero fixture proves nothing"
    );
}
