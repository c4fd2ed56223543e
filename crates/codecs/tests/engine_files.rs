//! Whole files written by the engines: the same input gives the same bytes (HDF5 and EMD, both
//! engines, in memory or streamed), and the chunk accounting is right on a dataset with many
//! chunks.

use std::path::Path;
use stemz_codecs::engine::{self, raw_chunks, Engine, Layout, WriteOptions};
use stemz_codecs::testing::{sparse_u16, MemCube};
use stemz_codecs::{Chunking, Method};
use stemz_data::{CubeReader, DType, Hyperslab, Shape4, SourceInfo};

/// The cube without its in-memory shortcut: the engines must stream it slab by slab.
struct Streamed(MemCube);

impl CubeReader for Streamed {
    fn shape(&self) -> Shape4 {
        self.0.shape
    }
    fn dtype(&self) -> DType {
        self.0.dtype
    }
    fn info(&self) -> SourceInfo {
        self.0.info()
    }
    fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> stemz_data::Result<()> {
        self.0.read_into(slab, out)
    }
}

fn write(src: &mut dyn CubeReader, path: &Path, o: &WriteOptions) -> engine::WriteReport {
    engine::write(src, path, o).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn two_writes_of_the_same_input_are_byte_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let cube = sparse_u16([6, 5, 24, 20], 3);
    let engines = [Engine::Serial, Engine::Parallel { threads: 3 }];
    for layout in [Layout::hdf5_default(), Layout::Emd] {
        for engine in engines {
            for method in [
                Method::parse("blosc_zstd").unwrap(),
                Method::parse("gzip_1").unwrap(),
            ] {
                let mut o = WriteOptions::new(method, Chunking::Balanced, engine, layout.clone());
                o.slab_bytes = 8 << 10; // several slabs when streamed
                let what = format!("{layout:?} {} {method}", engine.name());
                let a = dir.path().join("a.h5");
                let b = dir.path().join("b.h5");
                write(&mut cube.clone(), &a, &o);
                // Object timestamps have a resolution of one second.
                std::thread::sleep(std::time::Duration::from_millis(1100));
                write(&mut Streamed(cube.clone()), &b, &o);
                let (fa, fb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
                assert!(fa == fb, "{what}: the two files differ");
            }
        }
    }
}

#[test]
fn emd_written_through_the_data_layer_twice_is_byte_identical() {
    use stemz_data::CubeWriter;
    let dir = tempfile::tempdir().unwrap();
    let cube = sparse_u16([3, 4, 8, 8], 9);
    let mut files = Vec::new();
    for name in ["a.emd", "b.emd"] {
        let path = dir.path().join(name);
        let mut w = Box::new(
            stemz_data::emd::create_emd(&path, cube.shape, cube.dtype, None, |_| Ok(())).unwrap(),
        );
        w.write_slab(&Hyperslab::full(cube.shape), &cube.data)
            .unwrap();
        w.finish().unwrap();
        files.push(std::fs::read(&path).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    assert!(files[0] == files[1], "two EMD writes differ");
}

#[test]
fn chunk_accounting_is_right_on_a_dataset_of_16384_chunks() {
    let dir = tempfile::tempdir().unwrap();
    // single_frame on a 128x128 scan: one chunk per frame, 16,384 chunks of 32 bytes, which
    // Blosc declines to compress (stored raw, filter mask set) and gzip compresses.
    let cube = sparse_u16([128, 128, 4, 4], 5);
    for method in ["blosc_lz4", "gzip_1"] {
        for engine in [Engine::Serial, Engine::Parallel { threads: 2 }] {
            let method = Method::parse(method).unwrap();
            let o = WriteOptions::new(
                method,
                Chunking::SingleFrame,
                engine,
                Layout::hdf5_default(),
            );
            let path = dir.path().join("many.h5");
            let r = write(&mut cube.clone(), &path, &o);
            let what = format!("{method} {}", engine.name());
            assert_eq!(r.chunks, 16_384, "{what}");
            // Independently: every stored chunk read back by coordinate ...
            let raw = raw_chunks(&path, "data").unwrap();
            assert_eq!(raw.len(), 16_384, "{what}");
            let bytes: u64 = raw.iter().map(|c| c.bytes.len() as u64).sum();
            let masked = raw.iter().filter(|c| c.filter_mask != 0).count() as u64;
            assert_eq!(r.payload_bytes, bytes, "{what}");
            assert_eq!(r.chunks_stored_raw, masked, "{what}");
            // ... and HDF5's own chunk count and a sample of entries by index.
            let file = hdf5::File::open(&path).unwrap();
            let ds = file.dataset("data").unwrap();
            assert_eq!(ds.num_chunks(), Some(16_384), "{what}");
            for i in (0..16_384).step_by(4_099) {
                let info = ds.chunk_info(i).unwrap();
                let by_coord = raw
                    .iter()
                    .find(|c| c.offset == info.offset)
                    .expect("the entry is among the chunks found by coordinate");
                assert_eq!(by_coord.bytes.len() as u64, info.size, "{what} chunk {i}");
                assert_eq!(by_coord.filter_mask, info.filter_mask, "{what} chunk {i}");
            }
            if method.name() == "blosc_lz4" {
                assert_eq!(
                    r.chunks_stored_raw, 16_384,
                    "Blosc stores 32-byte chunks raw"
                );
            } else {
                assert_eq!(r.chunks_stored_raw, 0, "{what}");
            }
        }
    }
}

#[test]
fn a_file_of_one_large_blosc_chunk_is_the_same_from_both_engines() {
    // One real_space chunk of 5.5 MB (the whole cube), hundreds of Blosc blocks: the parallel
    // engine, with a worker idle, must still compress it as hdf5-blosc does, on one thread
    // (c-blosc's threads lay blocks out in the order they finish).
    let dir = tempfile::tempdir().unwrap();
    let cube = sparse_u16([20, 18, 96, 80], 25);
    for method in Method::hdf5()
        .into_iter()
        .filter(|m| m.name().starts_with("blosc_"))
    {
        let mut files = Vec::new();
        for engine in [Engine::Serial, Engine::Parallel { threads: 2 }] {
            let path = dir.path().join(format!("{method}-{}.h5", engine.name()));
            let o = WriteOptions::new(method, Chunking::RealSpace, engine, Layout::hdf5_default());
            write(&mut cube.clone(), &path, &o);
            files.push(std::fs::read(&path).unwrap());
        }
        assert!(files[0] == files[1], "{method}: the engines' files differ");
    }
}
