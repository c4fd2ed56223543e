//! `--checksum`: HDF5's Fletcher-32 filter after the method's filter. The parallel engine
//! computes the checksum itself, so its chunks must equal the serial engine's (HDF5's own
//! pipeline) byte for byte; both read paths must refuse a chunk altered after writing.

use std::path::Path;
use stemz_codecs::engine::{self, raw_chunks, Engine, Layout, WriteOptions};
use stemz_codecs::testing::MemCube;
use stemz_codecs::{Chunking, Method};
use stemz_data::{CubeReader, DType, Hyperslab};

const SHAPE: [usize; 4] = [5, 7, 24, 40];

fn opts(method: Method, engine: Engine, layout: Layout) -> WriteOptions {
    let mut o = WriteOptions::new(method, Chunking::Explicit([2, 3, 16, 24]), engine, layout);
    o.slab_bytes = 16 << 10;
    o.checksum = true;
    o
}

fn incompressible() -> MemCube {
    let mut x = 0x1234_5678_9abc_def0u64;
    let n: usize = SHAPE.iter().product();
    let data: Vec<u8> = (0..n * 2)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    MemCube::new(SHAPE, DType::U16, data).unwrap()
}

#[test]
fn parallel_checksummed_chunks_equal_hdf5s_for_every_method() {
    let dir = tempfile::tempdir().unwrap();
    let cubes = [
        stemz_codecs::testing::sparse_u16(SHAPE, 3),
        stemz_codecs::testing::sparse_f32(SHAPE, 5),
        // Declined chunks: the checksum goes on the raw chunk.
        incompressible(),
    ];
    for cube in &cubes {
        for method in Method::hdf5() {
            for layout in [Layout::hdf5_default(), Layout::Emd] {
                let s = dir.path().join("serial.h5");
                let p = dir.path().join("parallel.h5");
                let ds = layout.dataset_path().to_owned();
                let mut c = cube.clone();
                let rs = engine::write(&mut c, &s, &opts(method, Engine::Serial, layout.clone()))
                    .unwrap();
                let mut c = cube.clone();
                let rp = engine::write(
                    &mut c,
                    &p,
                    &opts(method, Engine::Parallel { threads: 2 }, layout.clone()),
                )
                .unwrap();
                let what = format!("{method} {} {layout:?}", cube.dtype());
                assert!(
                    rs.verify.unwrap().lossless && rp.verify.unwrap().lossless,
                    "{what}"
                );
                let (cs, cp) = (raw_chunks(&s, &ds).unwrap(), raw_chunks(&p, &ds).unwrap());
                assert_eq!(cs.len(), cp.len(), "{what}");
                for (a, b) in cs.iter().zip(&cp) {
                    assert_eq!(a.filter_mask, b.filter_mask, "{what} at {:?}", a.offset);
                    assert!(a.bytes == b.bytes, "{what}: chunk {:?} differs", a.offset);
                }
                let f = hdf5::File::open(&s).unwrap();
                let ids: Vec<i32> = f
                    .dataset(&ds)
                    .unwrap()
                    .filters()
                    .iter()
                    .map(|f| f.id())
                    .collect();
                assert_eq!(ids.last(), Some(&3), "{what}: Fletcher-32 last in {ids:?}");
            }
        }
    }
}

/// Flip one byte inside the stored chunk at `offset` (by its file address).
fn flip(path: &Path, dataset: &str, offset: &[u64]) {
    let at = {
        let f = hdf5::File::open(path).unwrap();
        let ds = f.dataset(dataset).unwrap();
        let info = (0..ds.num_chunks().unwrap())
            .map(|i| ds.chunk_info(i).unwrap())
            .find(|c| c.offset == offset)
            .unwrap();
        info.addr + info.size / 2
    };
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at as usize] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_flipped_byte_fails_both_read_paths_naming_the_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let cube = stemz_codecs::testing::sparse_u16(SHAPE, 9);
    let path = dir.path().join("sealed.h5");
    let mut c = cube.clone();
    engine::write(
        &mut c,
        &path,
        &opts(
            Method::BitshuffleLz4,
            Engine::Serial,
            Layout::hdf5_default(),
        ),
    )
    .unwrap();
    flip(&path, "data", &[2, 3, 0, 0]);
    for e in [Engine::Serial, Engine::Parallel { threads: 2 }] {
        let mut r =
            engine::open_written(&path, Method::BitshuffleLz4, &Layout::hdf5_default(), e).unwrap();
        let all = Hyperslab::full(r.shape());
        let mut out = vec![0u8; all.len() * 2];
        let err = r.read_slab(&all, &mut out).unwrap_err().to_string();
        assert!(err.contains("sealed.h5"), "{}: {err}", e.name());
        if let Engine::Parallel { .. } = e {
            assert!(
                err.contains("[2, 3, 0, 0]") && err.contains("checksum mismatch"),
                "{err}"
            );
        }
    }
}
