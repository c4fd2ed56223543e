//! Helpers shared by the CLI's integration tests.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};

// The real instrument fixtures, as the data crate's tests find them (one copy of the helper).
#[path = "../../../data/tests/common/mod.rs"]
mod fixtures;
#[allow(unused_imports)] // realdata_in: only fixtures.rs tests the helper itself
pub use fixtures::{realdata, realdata_in};

/// Extract every member of a fixture zip into `dir`; returns the `.mib` paths, sorted.
pub fn extract_mibs(zip_name: &str, dir: &Path) -> Vec<PathBuf> {
    let file = std::fs::File::open(realdata(zip_name)).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    let mut mibs = Vec::new();
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).unwrap();
        let out = dir.join(member.name());
        let mut bytes = Vec::new();
        member.read_to_end(&mut bytes).unwrap();
        std::fs::write(&out, bytes).unwrap();
        if out.extension().is_some_and(|e| e == "mib") {
            mibs.push(out);
        }
    }
    mibs.sort();
    mibs
}

/// HDF5 opens files without close-on-exec and locks them: a child forked while another test
/// thread has an HDF5 file open inherits the descriptor and holds that file's lock for its
/// whole life. Spawning and in-process HDF5 use take turns on this lock ([`hdf5_turn`]).
static HDF5_OR_SPAWN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Hold while this process has an HDF5 file open (or forks), so no child inherits its lock.
pub fn hdf5_turn() -> std::sync::MutexGuard<'static, ()> {
    HDF5_OR_SPAWN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Run `cmd` to completion, forked while no HDF5 file is open in this process.
pub fn output_of(cmd: &mut std::process::Command) -> std::process::Output {
    let child = {
        let _turn = hdf5_turn();
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the stemz binary runs")
    };
    child.wait_with_output().expect("the stemz binary runs")
}

/// Run the `stemz` binary under test with `args`.
pub fn stemz_output(args: &[&str]) -> std::process::Output {
    output_of(std::process::Command::new(env!("CARGO_BIN_EXE_stemz")).args(args))
}

/// Run the `stemz` binary under test with `args`, which must succeed; its stdout.
pub fn stemz_ok(args: &[&str]) -> String {
    let out = stemz_output(args);
    assert!(
        out.status.success(),
        "stemz {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Write a uint16 `.npy` cube of `shape` whose element `i` (C order) is `value(i)`.
pub fn write_npy_u16(path: &Path, shape: [usize; 4], value: impl Fn(usize) -> u16) {
    let mut bytes = stemz_data::npy::npy_header(shape, stemz_data::DType::U16);
    for i in 0..shape.iter().product::<usize>() {
        bytes.extend_from_slice(&value(i).to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

/// Write a float32 `.npy` cube of `shape` whose element `i` (C order) is `value(i)`.
pub fn write_npy_f32(path: &Path, shape: [usize; 4], value: impl Fn(usize) -> f32) {
    let mut bytes = stemz_data::npy::npy_header(shape, stemz_data::DType::F32);
    for i in 0..shape.iter().product::<usize>() {
        bytes.extend_from_slice(&value(i).to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}
