//! The HDF5 engines: serial and parallel write the same chunk bytes, every method round-trips
//! bit-exactly through both read paths, and the chunk accounting is right.

use std::path::Path;
use stemz_codecs::engine::{self, raw_chunks, Engine, Layout, WriteOptions};
use stemz_codecs::testing::MemCube;
use stemz_codecs::{Chunking, Method};
use stemz_data::{CubeReader, DType};

/// Shape with partial edge chunks under every chunking used below.
const SHAPE: [usize; 4] = [5, 7, 24, 40];

fn chunkings() -> Vec<Chunking> {
    let mut c = Chunking::study().to_vec();
    c.push(Chunking::Explicit([2, 3, 16, 24]));
    c
}

fn cubes() -> Vec<MemCube> {
    vec![
        stemz_codecs::testing::sparse_u16(SHAPE, 7),
        stemz_codecs::testing::sparse_f32(SHAPE, 11),
    ]
}

fn opts(method: Method, chunking: Chunking, engine: Engine) -> WriteOptions {
    let mut o = WriteOptions::new(method, chunking, engine, Layout::hdf5_default());
    // Small slabs, so that several slabs (and chunk columns split across them) are exercised.
    o.slab_bytes = 16 << 10;
    o
}

fn write(cube: &MemCube, path: &Path, o: &WriteOptions) -> engine::WriteReport {
    let mut c = cube.clone();
    engine::write(&mut c, path, o)
        .unwrap_or_else(|e| panic!("{} {} {}: {e}", o.method, o.chunking, o.engine.name()))
}

#[test]
fn serial_and_parallel_engines_store_identical_chunks_for_every_method() {
    let dir = tempfile::tempdir().unwrap();
    for cube in cubes() {
        for method in Method::hdf5() {
            for chunking in chunkings() {
                let s = dir.path().join("serial.h5");
                let p = dir.path().join("parallel.h5");
                let rs = write(&cube, &s, &opts(method, chunking, Engine::Serial));
                let rp = write(
                    &cube,
                    &p,
                    &opts(method, chunking, Engine::Parallel { threads: 2 }),
                );
                let what = format!("{method} {chunking} {}", cube.dtype);
                let cs = raw_chunks(&s, "data").unwrap();
                let cp = raw_chunks(&p, "data").unwrap();
                assert_eq!(cs.len(), cp.len(), "{what}: chunk count");
                for (a, b) in cs.iter().zip(&cp) {
                    assert_eq!(a.offset, b.offset, "{what}");
                    assert_eq!(a.filter_mask, b.filter_mask, "{what} at {:?}", a.offset);
                    assert!(a.bytes == b.bytes, "{what}: chunk {:?} differs", a.offset);
                }
                assert_eq!(rs.chunks, rp.chunks, "{what}");
                assert_eq!(rs.payload_bytes, rp.payload_bytes, "{what}");
                assert_eq!(rs.chunks_stored_raw, rp.chunks_stored_raw, "{what}");
                let grid: u64 = chunking
                    .shape(SHAPE)
                    .iter()
                    .zip(SHAPE)
                    .map(|(c, s)| s.div_ceil(*c) as u64)
                    .product();
                assert_eq!(rs.chunks, grid, "{what}: every chunk written once");
                for r in [&rs, &rp] {
                    let v = r.verify.as_ref().expect("verified");
                    assert!(v.lossless, "{what}: {:?}", v.first_mismatch);
                    assert_eq!(v.elements, SHAPE.iter().product::<usize>() as u64);
                }
            }
        }
    }
}

#[test]
fn every_method_round_trips_bit_exactly_through_both_read_paths() {
    let dir = tempfile::tempdir().unwrap();
    for cube in cubes() {
        for method in Method::hdf5() {
            let path = dir.path().join("rt.h5");
            let mut o = opts(
                method,
                Chunking::Explicit([2, 3, 16, 24]),
                Engine::Parallel { threads: 2 },
            );
            o.verify = false;
            write(&cube, &path, &o);
            for read in [Engine::Serial, Engine::Parallel { threads: 2 }] {
                let mut back =
                    engine::open_written(&path, method, &Layout::hdf5_default(), read).unwrap();
                assert_eq!(back.shape(), SHAPE);
                assert_eq!(back.dtype(), cube.dtype);
                // An odd slab that cuts through chunks on every axis.
                let slab = stemz_data::Hyperslab {
                    origin: [1, 2, 5, 7],
                    extent: [3, 4, 17, 30],
                };
                let mut got = vec![0u8; slab.len() * cube.dtype.itemsize()];
                back.read_slab(&slab, &mut got).unwrap();
                assert!(
                    got == cube.slab_bytes(&slab),
                    "{method} {} read {}",
                    cube.dtype,
                    read.name()
                );
                let mut orig = cube.clone();
                let v =
                    engine::read_verify(&mut orig, &path, method, &Layout::hdf5_default(), read)
                        .unwrap()
                        .verify;
                assert!(
                    v.lossless,
                    "{method} {}: {:?}",
                    cube.dtype, v.first_mismatch
                );
            }
        }
    }
}

/// Full-entropy data: LZF cannot shrink it, so the optional filter declines and HDF5 stores the
/// chunks raw with the filter-mask bit set. Both engines must do (and count) the same.
#[test]
fn incompressible_chunks_are_stored_raw_and_counted() {
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
    let cube = MemCube::new(SHAPE, DType::U16, data).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for engine in [Engine::Serial, Engine::Parallel { threads: 2 }] {
        let path = dir.path().join(format!("{}.h5", engine.name()));
        let r = write(
            &cube,
            &path,
            &opts(Method::Lzf, Chunking::SingleFrame, engine),
        );
        assert_eq!(r.chunks, 35);
        assert_eq!(r.chunks_stored_raw, 35, "{}", engine.name());
        assert_eq!(r.payload_bytes, (n * 2) as u64);
        assert!(r.verify.unwrap().lossless);
    }
}

#[test]
fn compressible_data_shrinks_and_report_sizes_are_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let cube = stemz_codecs::testing::sparse_u16([8, 8, 32, 32], 3);
    let path = dir.path().join("z.h5");
    let r = write(
        &cube,
        &path,
        &opts(
            Method::BloscZstd,
            Chunking::Balanced,
            Engine::Parallel { threads: 2 },
        ),
    );
    assert_eq!(r.uncompressed_bytes, 8 * 8 * 32 * 32 * 2);
    assert_eq!(r.file_bytes, std::fs::metadata(&path).unwrap().len());
    assert!(r.payload_bytes < r.file_bytes);
    assert!(r.ratio() > 2.0, "ratio {}", r.ratio());
    assert_eq!(r.chunks_stored_raw, 0);
    assert_eq!(r.chunk_shape, Some([8, 8, 32, 32]));
}

#[test]
fn dataset_path_with_groups_and_emd_layout_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let cube = stemz_codecs::testing::sparse_u16(SHAPE, 5);
    let nested = Layout::Hdf5 {
        dataset: "entry/instrument/data".into(),
    };
    for layout in [nested, Layout::Emd] {
        let path = dir.path().join("l.h5");
        let mut o = opts(Method::Gzip1, Chunking::Balanced, Engine::Serial);
        o.layout = layout.clone();
        write(&cube, &path, &o);
        let chunks = raw_chunks(&path, layout.dataset_path()).unwrap();
        assert_eq!(chunks.len(), 1);
    }
    // The EMD file is found and read back by the data crate's EMD reader.
    let path = dir.path().join("l.h5");
    let file = hdf5::File::open(&path).unwrap();
    let v: i64 = file.attr("version_major").unwrap().read_scalar().unwrap();
    assert_eq!(v, 1);
    drop(file);
    let mut back = stemz_data::open::open(&path, &Default::default()).unwrap();
    assert_eq!(back.shape(), SHAPE);
    let mut orig = cube.clone();
    let v = stemz_codecs::verify::compare(&mut orig, back.as_mut(), [1, 7, 24, 40]).unwrap();
    assert!(v.lossless);
}

#[test]
fn a_failed_write_leaves_no_file_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.h5");
    // A reader that fails half way.
    struct Failing(MemCube, usize);
    impl CubeReader for Failing {
        fn shape(&self) -> [usize; 4] {
            self.0.shape
        }
        fn dtype(&self) -> DType {
            self.0.dtype
        }
        fn info(&self) -> stemz_data::SourceInfo {
            self.0.info()
        }
        fn read_slab(
            &mut self,
            s: &stemz_data::Hyperslab,
            out: &mut [u8],
        ) -> stemz_data::Result<()> {
            self.1 += 1;
            if self.1 > 2 {
                return Err(stemz_data::DataError::Invalid("source went away".into()));
            }
            self.0.read_slab(s, out)
        }
    }
    let mut r = Failing(stemz_codecs::testing::sparse_u16(SHAPE, 1), 0);
    let err = engine::write(
        &mut r,
        &path,
        &opts(Method::Gzip1, Chunking::SingleFrame, Engine::Serial),
    )
    .unwrap_err();
    assert!(err.to_string().contains("source went away"), "{err}");
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "temporary file removed"
    );
}

#[test]
fn verification_reports_the_first_flipped_bit() {
    // Compare a cube with a copy whose -0.0 became +0.0: a float comparison would miss this.
    let cube = stemz_codecs::testing::sparse_f32(SHAPE, 11);
    let mut other = cube.clone();
    let f: &mut [f32] = bytemuck::cast_slice_mut(&mut other.data);
    let at = f.iter().position(|v| v.to_bits() == 0x8000_0000).unwrap();
    f[at] = 0.0;
    let mut a = cube.clone();
    let v = stemz_codecs::verify::compare(&mut a, &mut other, [1, 7, 24, 40]).unwrap();
    assert!(!v.lossless);
    assert_eq!(v.mismatches, 1);
    let m = v.first_mismatch.unwrap();
    assert_eq!(m.expected_bits, 0x8000_0000);
    assert_eq!(m.found_bits, 0);
    let flat = ((m.index[0] * 7 + m.index[1]) * 24 + m.index[2]) * 40 + m.index[3];
    assert_eq!(flat, at);
}
