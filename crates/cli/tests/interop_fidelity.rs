//! Interop: stemz's full-data fidelity targets (virtual BF / ADF, centre of mass, mean pattern,
//! the bright-field disk found in it, total counts) agree with py4DSTEM 0.14.18's own on the
//! same cube, and py4DSTEM opens what `stemz reduce` writes. Run by `cargo xtask ci` with
//! `STEMZ_INTEROP_PYTHON` pointing at the pinned venv.

use std::path::{Path, PathBuf};
use std::process::Command;
use stemz_data::npy::NpyReader;
use stemz_fidelity::eval::{full_targets, summed_pattern};
use stemz_fidelity::target::find_disk;
use stemz_fidelity::{Geometry, Keep, Target};

fn python() -> PathBuf {
    match std::env::var_os("STEMZ_INTEROP_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "STEMZ_INTEROP_PYTHON is not set: point it at a Python with py4DSTEM and hdf5plugin \
             (e.g. the venv of `cargo xtask pyenv`)"
        ),
    }
}

/// A little-endian NumPy v1.0 file of `descr` values with `shape`.
fn write_npy(path: &Path, descr: &str, shape: &[usize], values: &[u8]) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let dict = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({},), }}",
        dims.join(", ")
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

/// A 5×6 scan of 32×32 u16 patterns: a bright disk (radius 6) whose centre drifts with the
/// position (so the CoM maps vary), a dim halo and deterministic speckle.
fn cube() -> ([usize; 4], Vec<u16>) {
    let shape = [5, 6, 32, 32];
    let mut v = Vec::with_capacity(shape.iter().product());
    let mut s = 11u64;
    for y in 0..5 {
        for x in 0..6 {
            let (cy, cx) = (15.3 + 0.2 * y as f64, 16.1 - 0.15 * x as f64);
            for i in 0..32 {
                for j in 0..32 {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let noise = ((s >> 40) % 7) as f64;
                    let d2 = (i as f64 - cy).powi(2) + (j as f64 - cx).powi(2);
                    let val = if d2 < 36.0 {
                        900.0 + noise * 10.0
                    } else {
                        2000.0 / (1.0 + d2) + if noise > 5.0 { 3.0 } else { 0.0 }
                    };
                    v.push(val.round() as u16);
                }
            }
        }
    }
    (shape, v)
}

#[test]
#[ignore = "interop: run by cargo xtask ci"]
fn fidelity_targets_agree_with_py4dstem_and_py4dstem_opens_reduce_output() {
    let py = python();
    let dir = tempfile::tempdir().unwrap();
    let (shape, values) = cube();
    let input = dir.path().join("cube.npy");
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_npy(&input, "<u2", &shape, &bytes);

    let mut reader = NpyReader::open(&input).unwrap();
    let dp = summed_pattern(&mut reader).unwrap();
    let (centre, r) = find_disk(&dp, [32, 32]).expect("a disk");
    let g = Geometry::around_disk(centre, r, [32, 32], "mean pattern");
    let keep = Keep(vec![Target::Vbf, Target::Vadf]);
    let (cols, pattern) = full_targets(&mut reader, &keep, Some(g)).unwrap();
    let ours = dir.path().join("ours");
    std::fs::create_dir(&ours).unwrap();
    let n = (shape[0] * shape[1]) as f64;
    let mean: Vec<f64> = pattern.iter().map(|v| v / n).collect();
    for (name, data, dims) in [
        ("vbf", &cols[0], vec![5, 6]),
        ("vadf", &cols[1], vec![5, 6]),
        ("sum", &cols[2], vec![5, 6]),
        ("comy", &cols[3], vec![5, 6]),
        ("comx", &cols[4], vec![5, 6]),
        ("mean", &mean, vec![32, 32]),
    ] {
        let b: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        write_npy(&ours.join(format!("{name}.npy")), "<f8", &dims, &b);
    }

    let reduced = dir.path().join("reduced.emd");
    let out = Command::new(env!("CARGO_BIN_EXE_stemz"))
        .arg("reduce")
        .arg(&input)
        .arg(&reduced)
        .args(["--bin", "2", "--sum", "--keep", "vbf,vadf,com,sum"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stemz reduce failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/fidelity_py4dstem.py"
    );
    let out = Command::new(&py)
        .arg(script)
        .arg(&input)
        .arg(&ours)
        .args([centre.0, centre.1, r, g.adf_inner, g.adf_outer].map(|v| format!("{v:.17e}")))
        .arg(&reduced)
        .arg("2")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", py.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    for check in [
        "mean pattern: ok",
        "disk from the mean pattern (r, x0, y0): ok",
        "virtual bright-field: ok",
        "virtual annular dark-field: ok",
        "centre of mass (row): ok",
        "centre of mass (column): ok",
        "total counts: ok",
        "py4DSTEM opens stemz reduce output: ok",
        "provenance: ok",
    ] {
        assert!(text.contains(check), "{check} missing in: {text}");
    }
}
