//! Helpers shared by the CLI's integration tests.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};

pub const REALDATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/realdata/"
);

/// Extract every member of a fixture zip into `dir`; returns the `.mib` paths, sorted.
pub fn extract_mibs(zip_name: &str, dir: &Path) -> Vec<PathBuf> {
    let file = std::fs::File::open(format!("{REALDATA}{zip_name}")).unwrap();
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
