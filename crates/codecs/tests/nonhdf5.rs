//! The study's three non-HDF5 methods: file layouts, streaming round trips, honest lossiness.

use stemz_codecs::engine::{self, Engine, Layout, WriteOptions};
use stemz_codecs::nonhdf5;
use stemz_codecs::testing::MemCube;
use stemz_codecs::{Chunking, Method};
use stemz_data::{DType, Hyperslab};

const SHAPE: [usize; 4] = [3, 4, 12, 10];

fn opts(method: Method) -> WriteOptions {
    WriteOptions::new(
        method,
        Chunking::Balanced,
        Engine::Serial,
        Layout::hdf5_default(),
    )
}

fn u8_cube() -> MemCube {
    let n: usize = SHAPE.iter().product();
    let data: Vec<u8> = (0..n)
        .map(|i| if i % 3 == 0 { 0 } else { (i * 37 % 256) as u8 })
        .collect();
    MemCube::new(SHAPE, DType::U8, data).unwrap()
}

fn u32_cube() -> MemCube {
    let n: usize = SHAPE.iter().product();
    let data: Vec<u32> = (0..n)
        .map(|i| {
            if i % 4 == 0 {
                0
            } else {
                (i as u32).wrapping_mul(2_654_435_761) >> 12
            }
        })
        .collect();
    MemCube::new(SHAPE, DType::U32, bytemuck::cast_slice(&data).to_vec()).unwrap()
}

fn cubes() -> Vec<MemCube> {
    vec![
        stemz_codecs::testing::sparse_u16(SHAPE, 1),
        stemz_codecs::testing::sparse_f32(SHAPE, 2),
        u8_cube(),
        u32_cube(),
    ]
}

#[test]
fn non_hdf5_methods_round_trip_losslessly_where_the_method_is_lossless() {
    let dir = tempfile::tempdir().unwrap();
    for method in [Method::SparseCsr, Method::Uint8Overflow, Method::SimpleGzip] {
        for cube in cubes() {
            let path = dir.path().join(format!("{method}.bin"));
            let mut c = cube.clone();
            let r = engine::write(&mut c, &path, &opts(method)).unwrap();
            let v = r.verify.unwrap();
            assert_eq!(
                v.lossless,
                method.lossless_for(cube.dtype),
                "{method} {}",
                cube.dtype
            );
            assert_eq!(r.file_bytes, std::fs::metadata(&path).unwrap().len());
            assert_eq!(r.chunks, 0);
            // Decode through the public reader as well, frame rows in order.
            let mut back = nonhdf5::open(method, &path).unwrap();
            assert_eq!((back.shape(), back.dtype()), (SHAPE, cube.dtype));
            let slab = Hyperslab::frames(SHAPE, 0, 8).unwrap();
            let mut got = vec![0u8; slab.len() * cube.dtype.itemsize()];
            back.read_slab(&slab, &mut got).unwrap();
            if method.lossless_for(cube.dtype) {
                assert!(got == cube.slab_bytes(&slab), "{method} {}", cube.dtype);
            }
        }
    }
}

#[test]
fn sparse_csr_file_size_follows_the_documented_layout() {
    let dir = tempfile::tempdir().unwrap();
    let cube = stemz_codecs::testing::sparse_u16(SHAPE, 9);
    let v: &[u16] = bytemuck::cast_slice(&cube.data);
    let nnz = v.iter().filter(|x| **x != 0).count();
    let frames = SHAPE[0] * SHAPE[1];
    let path = dir.path().join("s.csr");
    let mut c = cube.clone();
    let bytes = nonhdf5::write(Method::SparseCsr, &mut c, &path).unwrap();
    let want = 48 + frames * (4 + (SHAPE[2] + 1) * 4) + nnz * (4 + 2);
    assert_eq!(bytes as usize, want);
}

#[test]
fn sparse_csr_keeps_negative_zero_that_scipy_would_drop() {
    let dir = tempfile::tempdir().unwrap();
    let mut cube = MemCube::new(
        SHAPE,
        DType::F32,
        vec![0u8; SHAPE.iter().product::<usize>() * 4],
    )
    .unwrap();
    cube.data[4 * 17..4 * 18].copy_from_slice(&(-0.0f32).to_ne_bytes());
    let path = dir.path().join("z.csr");
    let r = engine::write(&mut cube.clone(), &path, &opts(Method::SparseCsr)).unwrap();
    assert!(r.verify.unwrap().lossless);
}

#[test]
fn uint8_overflow_on_floats_is_lossy_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let vals = [0.0f32, 2.75, 254.5, 255.0, 1035.5, -1.0, f32::NAN, 7.0];
    let n: usize = SHAPE.iter().product();
    let data: Vec<f32> = (0..n).map(|i| vals[i % vals.len()]).collect();
    let cube = MemCube::new(SHAPE, DType::F32, bytemuck::cast_slice(&data).to_vec()).unwrap();
    let path = dir.path().join("u8.bin");
    let r = engine::write(&mut cube.clone(), &path, &opts(Method::Uint8Overflow)).unwrap();
    let v = r.verify.unwrap();
    assert!(!v.lossless);
    // 2.75, 254.5, -1.0 and NaN are lost; 0, 255, 1035.5 and 7 survive.
    assert_eq!(v.mismatches as usize, 4 * n / vals.len());
    let mut back = nonhdf5::open(Method::Uint8Overflow, &path).unwrap();
    let slab = Hyperslab::frames(SHAPE, 0, 1).unwrap();
    let mut got = vec![0u8; slab.len() * 4];
    back.read_slab(&slab, &mut got).unwrap();
    let got: Vec<f32> = bytemuck::pod_collect_to_vec(&got);
    assert_eq!(&got[..8], &[0.0, 2.0, 254.0, 255.0, 1035.5, 0.0, 0.0, 7.0]);
}

#[test]
fn uint8_overflow_file_is_one_byte_per_element_plus_the_overflow_list() {
    let dir = tempfile::tempdir().unwrap();
    let cube = stemz_codecs::testing::sparse_u16(SHAPE, 4);
    let path = dir.path().join("u8.bin");
    let bytes = nonhdf5::write(Method::Uint8Overflow, &mut cube.clone(), &path).unwrap();
    let n: u64 = SHAPE.iter().product::<usize>() as u64;
    let raw = std::fs::read(&path).unwrap();
    let n_overflow = u64::from_le_bytes(
        raw[(48 + n) as usize..(56 + n) as usize]
            .try_into()
            .unwrap(),
    );
    let v: &[u16] = bytemuck::cast_slice(&cube.data);
    assert_eq!(n_overflow as usize, v.iter().filter(|x| **x >= 255).count());
    assert!(n_overflow > 0);
    assert!(bytes > 48 + n + 24);
}

#[test]
fn simple_gzip_holds_numpys_npy_header() {
    let h = stemz_data::npy::npy_header([5, 7, 24, 40], DType::U16);
    // What numpy 1.26's np.save writes for np.zeros((5, 7, 24, 40), '<u2').
    let mut want = b"\x93NUMPY\x01\x00v\x00".to_vec();
    want.extend_from_slice(b"{'descr': '<u2', 'fortran_order': False, 'shape': (5, 7, 24, 40), }");
    want.resize(127, b' ');
    want.push(b'\n');
    assert_eq!(h.len() % 64, 0);
    assert_eq!(String::from_utf8_lossy(&h), String::from_utf8_lossy(&want));
}

#[test]
fn simple_gzip_output_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let cube = stemz_codecs::testing::sparse_u16(SHAPE, 4);
    let a = dir.path().join("a.npy.gz");
    let b = dir.path().join("b.npy.gz");
    nonhdf5::write(Method::SimpleGzip, &mut cube.clone(), &a).unwrap();
    nonhdf5::write(Method::SimpleGzip, &mut cube.clone(), &b).unwrap();
    let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert_eq!(a, b);
    assert_eq!(
        &a[..10],
        &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255],
        "mtime 0, XFL 2, OS 255"
    );
}

#[test]
fn truncated_and_foreign_files_are_rejected_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let cube = stemz_codecs::testing::sparse_u16(SHAPE, 4);
    for method in [Method::SparseCsr, Method::Uint8Overflow, Method::SimpleGzip] {
        let path = dir.path().join(format!("t-{method}"));
        nonhdf5::write(method, &mut cube.clone(), &path).unwrap();
        let raw = std::fs::read(&path).unwrap();
        std::fs::write(&path, &raw[..raw.len() * 2 / 3]).unwrap();
        let mut c = cube.clone();
        let err = engine::read_verify(
            &mut c,
            &path,
            method,
            &Layout::hdf5_default(),
            Engine::Serial,
        )
        .map(|r| r.verify.lossless);
        let msg = match err {
            Err(e) => e.to_string(),
            Ok(l) => panic!("{method}: truncated file decoded (lossless={l})"),
        };
        assert!(msg.contains(&path.display().to_string()), "{method}: {msg}");
        std::fs::write(
            &path,
            b"not a stemz file at all, just some text padding it out to 48+ bytes",
        )
        .unwrap();
        assert!(nonhdf5::open(method, &path).is_err(), "{method}");
    }
}
