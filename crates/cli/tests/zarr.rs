//! `stemz compress … OUT.zarr`: sharded Zarr v3 stores, the same bytes from both engines, read
//! back bit-exactly by every command that opens an input, replaced only with `--force`, and
//! refused with one line wherever a Zarr store does not apply.

mod common;

use common::stemz_ok as ok;
use std::path::{Path, PathBuf};

/// A uint16 cube whose shape is no multiple of any study chunking (edge shards are padded),
/// sparse like detector data, with a few large counts.
fn source(dir: &Path) -> PathBuf {
    let p = dir.join("cube.npy");
    common::write_npy_u16(&p, [5, 7, 40, 36], |i| match i % 97 {
        0 => 60_000,
        k if k % 11 == 0 => (i % 13) as u16,
        _ => 0,
    });
    p
}

/// One line on stderr, exit 1.
fn refused(args: &[&str]) -> String {
    let out = common::stemz_output(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "stemz {args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}

/// Every object of a store, by its path inside it, with its bytes.
fn objects(store: &Path) -> Vec<(String, Vec<u8>)> {
    stemz_codecs::testing::store_objects(store).unwrap()
}

#[test]
fn both_engines_write_the_same_store_and_every_reader_gets_the_source_back() {
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    let s = src.to_str().unwrap();
    for chunking in ["real_space", "balanced", "single_frame"] {
        let mut stores = Vec::new();
        for engine in ["serial", "parallel"] {
            let store = dir.path().join(format!("{chunking}-{engine}.zarr"));
            let st = store.to_str().unwrap();
            let report = ok(&[
                "compress",
                s,
                st,
                "--chunking",
                chunking,
                "--engine",
                engine,
            ]);
            assert!(report.contains("lossless   yes"), "{report}");
            assert!(report.contains("zarr_blosc_zstd_bitshuffle"), "{report}");
            let meta: serde_json::Value =
                serde_json::from_slice(&std::fs::read(store.join("zarr.json")).unwrap()).unwrap();
            assert_eq!(meta["zarr_format"], 3);
            assert_eq!(meta["codecs"][0]["name"], "sharding_indexed");
            let v = ok(&["verify", st, "--against", s]);
            assert!(v.contains("matches the stored digest") && v.contains("bitwise equal"));
            stores.push(objects(&store));
        }
        assert_eq!(
            stores[0], stores[1],
            "{chunking}: engines wrote different stores"
        );
    }
    // Any command that opens an input reads a store: inspect, convert (then compared back).
    let store = dir.path().join("balanced-parallel.zarr");
    let st = store.to_str().unwrap();
    let i = ok(&["inspect", st]);
    assert!(
        i.contains("format    Zarr v3") && i.contains("shard shape"),
        "{i}"
    );
    let emd = dir.path().join("back.emd");
    ok(&["convert", st, emd.to_str().unwrap()]);
    let v = ok(&["verify", emd.to_str().unwrap(), "--against", s]);
    assert!(v.contains("bitwise equal"), "{v}");
}

#[test]
fn damage_is_found_and_stores_are_replaced_only_whole_and_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    let s = src.to_str().unwrap();
    let store = dir.path().join("c.zarr");
    let st = store.to_str().unwrap();
    ok(&["compress", s, st, "--method", "zarr_zstd_3", "--checksum"]);
    let err = refused(&["compress", s, st]);
    assert!(err.contains("already exists"), "{err}");
    // --force swaps the new store in: the old one's objects are gone, no temporary is left.
    ok(&["compress", s, st, "--method", "zarr_blosc_lz4", "--force"]);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join("zarr.json")).unwrap()).unwrap();
    let inner = &meta["codecs"][0]["configuration"]["codecs"];
    assert_eq!(inner[1]["configuration"]["cname"], "lz4", "{meta}");
    assert_eq!(
        inner.as_array().unwrap().len(),
        2,
        "no crc32c without --checksum: {meta}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // One changed byte in a shard: verify refuses the store.
    let (rel, mut bytes) = objects(&store)
        .into_iter()
        .find(|(n, _)| n.starts_with('c'))
        .unwrap();
    bytes[40] ^= 0x5a;
    std::fs::write(store.join(&rel), &bytes).unwrap();
    let err = refused(&["verify", st]);
    assert!(err.contains("c.zarr"), "{err}");
    // A shard cut short loses its index (at its end): one line naming the store and the shard.
    std::fs::write(store.join(&rel), &bytes[..bytes.len() / 2]).unwrap();
    let err = refused(&["verify", st]);
    assert!(
        err.contains("c.zarr") && err.contains("Zarr shard") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn zarr_options_that_do_not_apply_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path());
    let s = src.to_str().unwrap();
    let z = dir.path().join("x.zarr");
    let zs = z.to_str().unwrap();
    let h5 = dir.path().join("x.h5");
    let err = refused(&["compress", s, zs, "--method", "blosc_zstd"]);
    assert!(err.contains("choose a Zarr method"), "{err}");
    let err = refused(&[
        "compress",
        s,
        h5.to_str().unwrap(),
        "--method",
        "zarr_zstd_3",
    ]);
    assert!(err.contains("name the output *.zarr"), "{err}");
    let err = refused(&["compress", s, zs, "--emd"]);
    assert!(err.contains("--emd"), "{err}");
    // A directory that is not a store is neither an input nor an output to replace.
    let plain = dir.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    std::fs::write(plain.join("keep.txt"), "mine").unwrap();
    let p = plain.to_str().unwrap();
    let err = refused(&["inspect", p]);
    assert!(err.contains("nor a Zarr v3 store"), "{err}");
    let err = refused(&["compress", s, p, "--method", "zarr_zstd_3", "--force"]);
    assert!(err.contains("not a Zarr store"), "{err}");
    assert!(plain.join("keep.txt").exists());
    // Scan shapes come from the store itself.
    ok(&["compress", s, zs]);
    let err = refused(&["inspect", zs, "--scan", "5x7"]);
    assert!(err.contains("--scan does not apply"), "{err}");
}
