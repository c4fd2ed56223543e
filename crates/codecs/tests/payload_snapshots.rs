//! Snapshot of the compressed payload size of every `tiny` synthetic dataset under every HDF5
//! method and study chunking. The datasets are seeded and the codec libraries are pinned
//! (bundled c-blosc 1.21.6, lz4 1.10.0, zstd 1.5.7, liblzf; zlib and libaec from the system), so
//! the sizes are exact: a change means a codec, a setting or the generator changed. When that
//! is intended, review the diff and accept it with `INSTA_UPDATE=always cargo test -p
//! stemz-codecs --test payload_snapshots`.

use std::collections::BTreeMap;
use stemz_codecs::testing::MemCube;
use stemz_codecs::{Chunking, Engine, Layout, Method, WriteOptions};
use stemz_data::synth::{Manifest, Scale, SynthReader};
use stemz_data::{CubeReader, Hyperslab};

#[test]
fn tiny_dataset_payload_sizes_per_method_and_chunking() {
    stemz_codecs::filters::register_all().unwrap();
    let manifest = Manifest::load(&stemz_data::synth::manifest::default_manifest_path()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    for spec in &manifest.datasets {
        let mut synth = SynthReader::new(spec, Scale::Tiny).unwrap();
        let shape = synth.shape();
        let mut data = vec![0u8; synth.nbytes() as usize];
        synth.read_slab(&Hyperslab::full(shape), &mut data).unwrap();
        let cube = MemCube::new(shape, synth.dtype(), data).unwrap();
        for method in Method::hdf5() {
            for chunking in Chunking::study() {
                let out = dir.path().join("out.h5");
                let mut opts = WriteOptions::new(
                    method,
                    chunking,
                    Engine::Parallel { threads: 0 },
                    Layout::hdf5_default(),
                );
                opts.verify = false;
                let report = stemz_codecs::write(&mut cube.clone(), &out, &opts).unwrap();
                assert_eq!(
                    report.chunks_stored_raw, 0,
                    "{} {method} {chunking:?}",
                    spec.name
                );
                sizes.insert(
                    format!("{}/{}/{}", spec.name, method.name(), chunking.name()),
                    report.payload_bytes,
                );
            }
        }
    }
    insta::with_settings!({
        snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/../../snapshots/codecs"),
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_yaml_snapshot!("tiny_payload_bytes", sizes);
    });
}
