//! Interop: every Merlin fixture decoded by stemz and by rosettasciio must agree pixel for
//! pixel. stemz writes its decoding as `.npy`; `tests/interop/mib_rsciio.py` compares.
//! RAW fixtures are left out: rosettasciio refuses raw data (`NotImplementedError`); their
//! decoding is checked against the processed twins in `tests/mib.rs`.

use std::io::Read;
use std::path::Path;
use stemz_data::mib::{MibHeader, MibOptions, MibReader};
use stemz_data::npy::NpyWriter;
use stemz_data::{CubeReader, CubeWriter, Hyperslab};

mod common;

use common::realdata;

/// Open a fixture, falling back to one scan row when nothing says the scan shape.
fn open(path: &Path) -> MibReader {
    MibReader::open(path, &MibOptions::default()).unwrap_or_else(|_| {
        let bytes = std::fs::read(path).unwrap();
        let header = MibHeader::parse(path, &bytes).unwrap();
        let frame = header.header_len + header.geometry(path).unwrap().payload_bytes;
        let opts = MibOptions {
            scan: Some((1, bytes.len() / frame)),
            ..MibOptions::default()
        };
        MibReader::open(path, &opts).unwrap()
    })
}

#[test]
#[ignore = "interop: run by cargo xtask ci"]
fn realdata_every_fixture_decodes_like_rosettasciio() {
    let python = std::env::var("STEMZ_INTEROP_PYTHON").unwrap_or_else(|_| {
        panic!("STEMZ_INTEROP_PYTHON is not set: point it at a Python with rosettasciio (cargo xtask ci does)")
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/mib_rsciio.py");
    let mut compared = 0;
    for zip_name in [
        "Merlin_Single_Quad.zip",
        "Merlin_navigation4x2_signalNx256_ROI.zip",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = std::fs::File::open(realdata(zip_name)).unwrap();
        let mut archive = zip::ZipArchive::new(file).unwrap();
        let mut mibs = Vec::new();
        for i in 0..archive.len() {
            let mut member = archive.by_index(i).unwrap();
            let out = dir.path().join(member.name());
            let mut bytes = Vec::new();
            member.read_to_end(&mut bytes).unwrap();
            std::fs::write(&out, bytes).unwrap();
            if out.extension().is_some_and(|e| e == "mib") {
                mibs.push(out);
            }
        }
        for mib in mibs {
            if mib.to_string_lossy().ends_with("RAW.mib") {
                continue;
            }
            let mut r = open(&mib);
            let shape = r.shape();
            let mut data = vec![0u8; r.nbytes() as usize];
            r.read_slab(&Hyperslab::full(shape), &mut data).unwrap();
            let npy = mib.with_extension("stemz.npy");
            let mut w = Box::new(NpyWriter::create(&npy, shape, r.dtype()).unwrap());
            w.write_slab(&Hyperslab::full(shape), &data).unwrap();
            w.finish().unwrap();
            let out = std::process::Command::new(&python)
                .arg(script)
                .arg(&mib)
                .arg(&npy)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            compared += 1;
        }
    }
    assert_eq!(
        compared, 18,
        "16 processed Single/Quad fixtures + 2 ROI fixtures"
    );
}
