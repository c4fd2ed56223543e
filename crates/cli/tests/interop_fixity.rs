//! Interop: a `stemz compress --checksum` file carries HDF5's Fletcher-32 filter, so h5py +
//! hdf5plugin read it, and refuse loudly once a byte of a stored chunk is flipped — for the
//! serial engine (HDF5's checksum) and the parallel one (ours).

// HDF5 here is stemz-data's static one: linking stemz-data brings its szip (libaec) and the
// zlib functions HDF5's deflate filter calls (see crates/data/build.rs and src/zlib.rs).
use stemz_data as _;

use std::path::Path;
use std::process::Command;

fn npy(path: &Path) {
    let mut header =
        "{'descr': '<u2', 'fortran_order': False, 'shape': (4, 4, 32, 32), }".to_string();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for i in 0..(4 * 4 * 32 * 32u32) {
        let v = if i % 5 == 0 { (i % 300) as u16 } else { 0 };
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
#[ignore = "interop: run by cargo xtask ci"]
fn h5py_reads_a_checksummed_file_and_refuses_a_flipped_byte() {
    let python = std::env::var("STEMZ_INTEROP_PYTHON").unwrap_or_else(|_| {
        panic!(
            "STEMZ_INTEROP_PYTHON is not set: point it at the interop venv (cargo xtask ci does)"
        )
    });
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/read_checksummed.py"
    );
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.npy");
    npy(&input);
    for (method, engine) in [("bitshuffle_lz4", "serial"), ("blosc_lz4", "parallel")] {
        let out = dir.path().join(format!("{method}-{engine}.h5"));
        let o = Command::new(env!("CARGO_BIN_EXE_stemz"))
            .arg("compress")
            .arg(&input)
            .arg(&out)
            .args(["--method", method, "--engine", engine, "--checksum"])
            .args(["--chunking", "1x1x32x32"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let run = |mode: &str| {
            Command::new(&python)
                .arg(script)
                .arg(&out)
                .arg("data")
                .arg(mode)
                .output()
                .unwrap()
        };
        let ok = run("ok");
        assert!(
            ok.status.success(),
            "{method}: {}{}",
            String::from_utf8_lossy(&ok.stdout),
            String::from_utf8_lossy(&ok.stderr)
        );
        // Flip one byte in the middle of the chunk at (1, 2, 0, 0).
        let at = {
            let f = hdf5::File::open(&out).unwrap();
            let ds = f.dataset("data").unwrap();
            let c = (0..ds.num_chunks().unwrap())
                .map(|i| ds.chunk_info(i).unwrap())
                .find(|c| c.offset == [1, 2, 0, 0])
                .unwrap();
            (c.addr + c.size / 2) as usize
        };
        let mut bytes = std::fs::read(&out).unwrap();
        bytes[at] ^= 0x20;
        std::fs::write(&out, bytes).unwrap();
        let bad = run("damaged");
        assert!(
            bad.status.success(),
            "{method}: {}{}",
            String::from_utf8_lossy(&bad.stdout),
            String::from_utf8_lossy(&bad.stderr)
        );
        // stemz itself refuses the damaged file too.
        let o = Command::new(env!("CARGO_BIN_EXE_stemz"))
            .arg("inspect")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1));
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains("[1, 2, 0, 0]"), "{e}");
    }
}
