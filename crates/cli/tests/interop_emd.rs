//! An EMD 1.0 file written by `stemz convert` opens in the Python ecosystem: h5py, rosettasciio
//! and py4DSTEM read the same shape and values as the input. Run by `cargo xtask ci` with
//! `STEMZ_INTEROP_PYTHON` pointing at a Python with those packages.

use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> PathBuf {
    match std::env::var_os("STEMZ_INTEROP_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "STEMZ_INTEROP_PYTHON is not set: point it at a Python with h5py, rosettasciio and \
             py4DSTEM (e.g. the venv of `cargo xtask pyenv`)"
        ),
    }
}

/// A little-endian NumPy v1.0 file holding `values` with `shape` and type `descr` (`<u2`, ...).
fn write_npy(path: &Path, descr: &str, shape: [usize; 4], values: &[u8]) {
    let dict = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}, {}, {}, {}), }}",
        shape[0], shape[1], shape[2], shape[3]
    );
    let mut header = dict.into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(values);
    std::fs::write(path, bytes).unwrap();
}

fn convert_and_read_back(descr: &str, values: Vec<u8>, shape: [usize; 4]) {
    let py = python();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.npy");
    let output = dir.path().join("out.emd");
    write_npy(&input, descr, shape, &values);
    let st = Command::new(env!("CARGO_BIN_EXE_stemz"))
        .args(["convert", input.to_str().unwrap(), output.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success(), "stemz convert failed");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/read_emd.py");
    let out = Command::new(&py)
        .arg(script)
        .arg(&output)
        .arg(&input)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", py.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    for reader in ["h5py: ok", "rosettasciio: ok", "py4DSTEM: ok"] {
        assert!(text.contains(reader), "{reader} missing in: {text}");
    }
}

#[test]
#[ignore = "interop: run by cargo xtask ci"]
fn converted_u16_emd_opens_in_h5py_rosettasciio_and_py4dstem() {
    let shape = [3, 4, 5, 6];
    let n: usize = shape.iter().product();
    let values: Vec<u8> = (0..n)
        .flat_map(|i| (((i * 37) % 4099) as u16 * (i % 3 == 0) as u16).to_le_bytes())
        .collect();
    convert_and_read_back("<u2", values, shape);
}

#[test]
#[ignore = "interop: run by cargo xtask ci"]
fn converted_f32_emd_opens_in_h5py_rosettasciio_and_py4dstem() {
    let shape = [2, 3, 4, 5];
    let n: usize = shape.iter().product();
    let values: Vec<u8> = (0..n)
        .flat_map(|i| (i as f32 * 0.25 - 3.0).to_le_bytes())
        .collect();
    convert_and_read_back("<f4", values, shape);
}
