//! Interop of the engines with h5py + hdf5plugin (run by `cargo xtask ci`; needs
//! STEMZ_INTEROP_PYTHON pointing at a Python with numpy, h5py and hdf5plugin):
//!
//! (a) h5py + hdf5plugin read stemz's files (both engines) bit-exactly;
//! (b) stemz reads (both read paths) the files h5py + hdf5plugin write with the study's calls;
//! (c) stored chunk payloads are byte-identical to hdf5plugin's — except LZF, whose compressor
//!     build differs (equal decoded data, payload within 2 %).

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use stemz_codecs::engine::{self, Engine, Layout, WriteOptions};
use stemz_codecs::testing::MemCube;
use stemz_codecs::{Chunking, Method};
use stemz_data::npy::npy_header;

const SHAPE: [usize; 4] = [5, 7, 24, 40];

/// The tests of this file run one at a time: libhdf5 opens files without `O_CLOEXEC`, so a
/// Python child spawned by one test inherits the descriptor (and the HDF5 file lock) of a file
/// the other test is writing, and reopening that file for verification then fails with EAGAIN.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn python() -> PathBuf {
    match std::env::var_os("STEMZ_INTEROP_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "STEMZ_INTEROP_PYTHON is not set: point it at a Python with numpy, h5py and hdf5plugin \
             (e.g. STEMZ_INTEROP_PYTHON=/tmp/pyv/bin/python)"
        ),
    }
}

fn write_npy(cube: &MemCube, path: &Path) {
    let mut bytes = npy_header(cube.shape, cube.dtype);
    bytes.extend_from_slice(&cube.data);
    std::fs::write(path, bytes).unwrap();
}

#[test]
#[ignore = "interop: run by cargo xtask ci"]
fn engines_interoperate_with_h5py_and_hdf5plugin() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let py = python();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Chunkings with partial edge chunks on this shape, plus the study's three.
    let chunkings = [
        Chunking::RealSpace,
        Chunking::Balanced,
        Chunking::SingleFrame,
        Chunking::Explicit([2, 3, 16, 24]),
    ];
    let mut cases = Vec::new();
    // The third cube has detector-sized frames: LZF's 2 % criterion is judged on its chunks of
    // 32 KiB and up, because on tiny chunks (2 KiB) the two liblzf builds differ by 3-4 %.
    // The fourth has the block shapes that Blosc2 needs reordered.
    let cubes = [
        stemz_codecs::testing::sparse_u16(SHAPE, 21),
        stemz_codecs::testing::sparse_f32(SHAPE, 22),
        stemz_codecs::testing::sparse_u16([4, 4, 128, 128], 23),
        // The tiny 4D_Diff's geometry: its balanced (8, 8, 128, 128) chunks get (8, 8, 64, 128)
        // Blosc2 blocks at LZ4 clevel 9, which c-blosc2 2.15's fast path would store in C order
        // and hdf5plugin would then read wrong (see csrc/stemz_blosc2.c).
        stemz_codecs::testing::sparse_u16([8, 8, 256, 256], 24),
        // One real_space chunk of 5.5 MB, the whole cube: many Blosc blocks in one chunk, where
        // c-blosc's threads would lay them out in the order they finish (see filters/blosc.rs).
        stemz_codecs::testing::sparse_u16([20, 18, 96, 80], 25),
    ];
    for (k, cube) in cubes.iter().enumerate() {
        let npy = d.join(format!("cube{k}.npy"));
        write_npy(cube, &npy);
        let methods = match k {
            0 | 1 => Method::hdf5(),
            2 => vec![Method::Lzf],
            3 => vec![Method::Blosc2Lz4Bitshuffle9, Method::Blosc2Lz4Shuffle9],
            _ => Method::hdf5()
                .into_iter()
                .filter(|m| m.name().starts_with("blosc_"))
                .collect(),
        };
        for method in methods {
            for chunking in chunkings {
                let tag = format!("cube{k}-{}-{}-{}", cube.dtype, method, chunking);
                let mut stemz = serde_json::Map::new();
                for e in [Engine::Serial, Engine::Parallel { threads: 2 }] {
                    let path = d.join(format!("{tag}-{}.h5", e.name()));
                    let opts = WriteOptions::new(method, chunking, e, Layout::hdf5_default());
                    engine::write(&mut cube.clone(), &path, &opts)
                        .unwrap_or_else(|err| panic!("{tag}: {err}"));
                    stemz.insert(e.name().into(), json!(path));
                }
                cases.push(json!({
                    "cube": k,
                    "method": method.name(),
                    "chunking": chunking.name(),
                    "chunks": chunking.shape(cube.shape),
                    "dtype": cube.dtype.numpy_name(),
                    "npy": npy,
                    "stemz": stemz,
                    "h5py": d.join(format!("{tag}-h5py.h5")),
                }));
            }
        }
    }
    let manifest = d.join("manifest.json");
    let results = d.join("results.json");
    std::fs::write(
        &manifest,
        serde_json::to_vec(&json!({ "cases": cases })).unwrap(),
    )
    .unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/engine_interop.py"
    );
    let out = Command::new(&py)
        .arg(script)
        .arg(&manifest)
        .arg(&results)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", py.display()));
    assert!(
        out.status.success(),
        "engine_interop.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&results).unwrap()).unwrap();
    let rows = report["results"].as_array().unwrap();
    assert_eq!(rows.len(), cases.len());

    let mut failures = Vec::new();
    let mut c_pass: std::collections::BTreeMap<String, bool> = Default::default();
    for (case, row) in cases.iter().zip(rows) {
        let method = Method::parse(case["method"].as_str().unwrap()).unwrap();
        let tag = format!("{} {} {}", case["dtype"], case["method"], case["chunking"]);
        // (a)
        for e in ["serial", "parallel"] {
            if row[format!("a_{e}")] != json!(true) {
                failures.push(format!(
                    "(a) h5py cannot read stemz's {e} file bit-exactly: {tag} {}",
                    row
                ));
            }
        }
        // (b): stemz reads h5py's file through both read paths.
        let h5py_file = PathBuf::from(case["h5py"].as_str().unwrap());
        let cube = &cubes[case["cube"].as_u64().unwrap() as usize];
        for e in [Engine::Serial, Engine::Parallel { threads: 2 }] {
            match engine::read_verify(
                &mut cube.clone(),
                &h5py_file,
                method,
                &Layout::hdf5_default(),
                e,
            ) {
                Ok(r) if r.verify.lossless => {}
                Ok(r) => failures.push(format!(
                    "(b) {tag} {}: {:?}",
                    e.name(),
                    r.verify.first_mismatch
                )),
                Err(err) => failures.push(format!("(b) {tag} {}: {err}", e.name())),
            }
        }
        // (c)
        let identical = ["serial", "parallel"]
            .iter()
            .all(|e| row[format!("c_{e}_identical")] == json!(true));
        let entry = c_pass.entry(method.name().to_string()).or_insert(true);
        *entry &= identical;
        if !identical {
            if method == Method::Lzf {
                let ours = row["c_serial_bytes"].as_f64().unwrap();
                let theirs = row["c_h5py_bytes"].as_f64().unwrap();
                let apart = (ours / theirs - 1.0).abs();
                eprintln!(
                    "(c) {tag}: LZF payload {ours} vs h5py {theirs} ({:.2} %)",
                    apart * 100.0
                );
                let chunk_elems: u64 = case["chunks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap())
                    .product();
                // Judged on detector-sized chunks only (>= 32 KiB), see `cubes` above.
                if chunk_elems * 2 >= 32 << 10 && apart > 0.02 {
                    failures.push(format!(
                        "(c) {tag}: LZF payload {ours} vs h5py {theirs}, more than 2 % apart"
                    ));
                }
            } else {
                failures.push(format!(
                    "(c) {tag}: chunk payloads differ from hdf5plugin's: {row}"
                ));
            }
        }
    }
    eprintln!(
        "h5py's HDF5 {}, hdf5plugin {}",
        report["hdf5_version"], report["hdf5plugin"]
    );
    for (m, ok) in &c_pass {
        eprintln!(
            "(c) {m:<22} {}",
            if *ok { "byte-identical" } else { "differs" }
        );
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `simple_gzip` is byte-identical to Python's `gzip.GzipFile` + `np.save` (the study's
/// `gzip.open` + `np.save`, minus the time stamp and file name in the header).
#[test]
#[ignore = "interop: run by cargo xtask ci"]
fn simple_gzip_is_byte_identical_to_pythons_gzip_of_np_save() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let py = python();
    let dir = tempfile::tempdir().unwrap();
    for cube in [
        stemz_codecs::testing::sparse_u16(SHAPE, 31),
        stemz_codecs::testing::sparse_f32(SHAPE, 32),
    ] {
        let npy = dir.path().join("in.npy");
        write_npy(&cube, &npy);
        let theirs = dir.path().join("theirs.npy.gz");
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/interop/engine_npy_gzip.py"
        );
        let out = Command::new(&py)
            .arg(script)
            .arg(&npy)
            .arg(&theirs)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", py.display()));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = dir.path().join("ours.npy.gz");
        stemz_codecs::nonhdf5::write(Method::SimpleGzip, &mut cube.clone(), &ours).unwrap();
        let (a, b) = (
            std::fs::read(&ours).unwrap(),
            std::fs::read(&theirs).unwrap(),
        );
        assert!(a == b, "{}: {} vs {} bytes", cube.dtype, a.len(), b.len());
    }
}
