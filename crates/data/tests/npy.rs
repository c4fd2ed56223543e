//! The `.npy` reader and writer: round trips for every dtype, hand-built headers (big-endian,
//! versions 2/3, Fortran order, rank 3) and broken files; an interop test against NumPy.

use std::path::{Path, PathBuf};
use stemz_data::npy::{looks_like_npy, NpyReader, NpyWriter};
use stemz_data::{CubeReader, CubeWriter, DType, DataError, Hyperslab, Shape4};

/// The value at flat index `i` for a dtype: distinct, multi-byte, dtype-limited.
fn value(dtype: DType, i: usize) -> Vec<u8> {
    match dtype {
        DType::U8 => vec![(i * 7 % 251) as u8],
        DType::U16 => ((i * 257 + 3) as u16).to_ne_bytes().to_vec(),
        DType::U32 => ((i as u32).wrapping_mul(2_654_435_761))
            .to_ne_bytes()
            .to_vec(),
        DType::F32 => (i as f32 * 0.5 - 3.25).to_ne_bytes().to_vec(),
    }
}

fn cube_bytes(dtype: DType, shape: Shape4) -> Vec<u8> {
    (0..shape.iter().product::<usize>())
        .flat_map(|i| value(dtype, i))
        .collect()
}

fn read_slab(r: &mut NpyReader, slab: &Hyperslab) -> Vec<u8> {
    let mut out = vec![0u8; slab.len() * r.dtype().itemsize()];
    r.read_slab(slab, &mut out).unwrap();
    out
}

/// The elements of `slab` cut out of a C-order cube of `shape`.
fn cut(full: &[u8], shape: Shape4, slab: &Hyperslab, item: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let [o0, o1, o2, o3] = slab.origin;
    let [e0, e1, e2, e3] = slab.extent;
    for a in o0..o0 + e0 {
        for b in o1..o1 + e1 {
            for c in o2..o2 + e2 {
                for d in o3..o3 + e3 {
                    let i = ((a * shape[1] + b) * shape[2] + c) * shape[3] + d;
                    out.extend_from_slice(&full[i * item..(i + 1) * item]);
                }
            }
        }
    }
    out
}

/// Write a cube through NpyWriter in uneven tiles.
fn write_cube(path: &Path, shape: Shape4, dtype: DType, data: &[u8]) -> PathBuf {
    let mut w = Box::new(NpyWriter::create(path, shape, dtype).unwrap());
    for tile in Hyperslab::tiles(shape, [2, 2, 3, 5]) {
        w.write_slab(&tile, &cut(data, shape, &tile, dtype.itemsize()))
            .unwrap();
    }
    w.finish().unwrap()
}

const SLABS: [Hyperslab; 3] = [
    Hyperslab {
        origin: [1, 0, 1, 2],
        extent: [2, 2, 3, 4],
    },
    Hyperslab {
        origin: [0, 1, 0, 0],
        extent: [3, 1, 4, 7],
    },
    Hyperslab {
        origin: [2, 1, 3, 6],
        extent: [1, 1, 1, 1],
    },
];

#[test]
fn every_dtype_round_trips_through_writer_and_reader() {
    let dir = tempfile::tempdir().unwrap();
    let shape = [3, 2, 4, 7];
    for dtype in [DType::U8, DType::U16, DType::U32, DType::F32] {
        let data = cube_bytes(dtype, shape);
        let path = write_cube(
            &dir.path().join(format!("{dtype}.npy")),
            shape,
            dtype,
            &data,
        );
        let bytes = std::fs::read(&path).unwrap();
        assert!(looks_like_npy(&bytes));
        let mut r = NpyReader::open(&path).unwrap();
        assert_eq!(r.header().data_offset % 64, 0, "{dtype}");
        assert_eq!((r.shape(), r.dtype()), (shape, dtype));
        assert_eq!(read_slab(&mut r, &Hyperslab::full(shape)), data, "{dtype}");
        for slab in SLABS {
            let want = cut(&data, shape, &slab, dtype.itemsize());
            assert_eq!(read_slab(&mut r, &slab), want, "{dtype} {slab:?}");
        }
    }
}

#[test]
fn writer_leaves_nothing_under_the_final_name_until_finish() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npy");
    let w = NpyWriter::create(&path, [1, 1, 2, 2], DType::U16).unwrap();
    assert!(!path.exists());
    drop(w);
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

/// A `.npy` file with a hand-written header dict and data bytes.
fn npy_file(dir: &Path, name: &str, version: u8, dict: &str, data: &[u8]) -> PathBuf {
    let mut bytes = b"\x93NUMPY".to_vec();
    bytes.extend_from_slice(&[version, 0]);
    let mut dict = dict.to_string();
    dict.push('\n');
    if version == 1 {
        bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    } else {
        bytes.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    }
    bytes.extend_from_slice(dict.as_bytes());
    bytes.extend_from_slice(data);
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn open_err(path: &Path) -> String {
    match NpyReader::open(path) {
        Err(e @ DataError::Format { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(&path.display().to_string()), "{msg}");
            msg
        }
        Err(e) => panic!("expected a format error, got {e}"),
        Ok(_) => panic!("{} opened", path.display()),
    }
}

#[test]
fn big_endian_files_decode_to_native_values() {
    let dir = tempfile::tempdir().unwrap();
    let vals: Vec<u16> = (0..24).map(|i| i * 1000 + 7).collect();
    let be: Vec<u8> = vals.iter().flat_map(|v| v.to_be_bytes()).collect();
    let path = npy_file(
        dir.path(),
        "be.npy",
        1,
        "{'descr': '>u2', 'fortran_order': False, 'shape': (1, 2, 3, 4), }",
        &be,
    );
    let mut r = NpyReader::open(&path).unwrap();
    let got = read_slab(&mut r, &Hyperslab::full([1, 2, 3, 4]));
    assert_eq!(bytemuck::pod_collect_to_vec::<u8, u16>(&got), vals);
    let fvals: Vec<f32> = (0..6).map(|i| i as f32 - 2.5).collect();
    let be: Vec<u8> = fvals.iter().flat_map(|v| v.to_be_bytes()).collect();
    let path = npy_file(
        dir.path(),
        "bef.npy",
        1,
        "{'descr': '>f4', 'fortran_order': False, 'shape': (1, 1, 2, 3), }",
        &be,
    );
    let mut r = NpyReader::open(&path).unwrap();
    let got = read_slab(&mut r, &Hyperslab::full([1, 1, 2, 3]));
    assert_eq!(bytemuck::pod_collect_to_vec::<u8, f32>(&got), fvals);
}

#[test]
fn version_2_and_3_headers_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..8u32).flat_map(|v| v.to_le_bytes()).collect();
    for version in [2, 3] {
        let path = npy_file(
            dir.path(),
            &format!("v{version}.npy"),
            version,
            "{\"descr\": \"<u4\", \"fortran_order\": False, \"shape\": (2, 1, 2, 2)}",
            &data,
        );
        let mut r = NpyReader::open(&path).unwrap();
        assert_eq!(r.header().version, (version, 0));
        assert_eq!(read_slab(&mut r, &Hyperslab::full([2, 1, 2, 2])), data);
    }
}

#[test]
fn fortran_order_is_read_with_transposed_indexing() {
    let dir = tempfile::tempdir().unwrap();
    let shape = [2, 3, 4, 5];
    // element [a,b,c,d] = a*1000 + b*100 + c*10 + d, stored first index fastest
    let mut data = Vec::new();
    for d in 0..5u16 {
        for c in 0..4u16 {
            for b in 0..3u16 {
                for a in 0..2u16 {
                    data.extend_from_slice(&(a * 1000 + b * 100 + c * 10 + d).to_le_bytes());
                }
            }
        }
    }
    let path = npy_file(
        dir.path(),
        "f.npy",
        1,
        "{'descr': '<u2', 'fortran_order': True, 'shape': (2, 3, 4, 5), }",
        &data,
    );
    let mut r = NpyReader::open(&path).unwrap();
    assert_eq!(r.shape(), shape);
    let slab = Hyperslab {
        origin: [1, 1, 2, 1],
        extent: [1, 2, 2, 3],
    };
    let got = bytemuck::pod_collect_to_vec::<u8, u16>(&read_slab(&mut r, &slab));
    let mut want = Vec::new();
    for b in 1..3u16 {
        for c in 2..4u16 {
            for d in 1..4u16 {
                want.push(1000 + b * 100 + c * 10 + d);
            }
        }
    }
    assert_eq!(got, want);
}

#[test]
fn rank_3_reads_as_spectrum_image_and_other_ranks_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..24u8).collect();
    let path = npy_file(
        dir.path(),
        "si.npy",
        1,
        "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 4), }",
        &data,
    );
    let mut r = NpyReader::open(&path).unwrap();
    assert_eq!(r.shape(), [2, 3, 1, 4]);
    let slab = Hyperslab {
        origin: [1, 2, 0, 1],
        extent: [1, 1, 1, 2],
    };
    assert_eq!(read_slab(&mut r, &slab), vec![21, 22]);
    for (shape, rank) in [("(24,)", 1), ("(4, 6)", 2), ("(1, 2, 3, 4, 1)", 5)] {
        let path = npy_file(
            dir.path(),
            "r.npy",
            1,
            &format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}"),
            &data,
        );
        let msg = open_err(&path);
        assert!(msg.contains(&format!("rank {rank}")), "{msg}");
    }
}

#[test]
fn bad_magic_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    std::fs::write(&path, b"\x93NUMPX\x01\x00").unwrap();
    assert!(open_err(&path).contains("bad magic"));
    std::fs::write(&path, b"").unwrap();
    assert!(open_err(&path).contains("bad magic"));
}

#[test]
fn unsupported_dtype_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = npy_file(
        dir.path(),
        "f8.npy",
        1,
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 1), }",
        &[0; 8],
    );
    let msg = open_err(&path);
    assert!(msg.contains("`<f8`"), "{msg}");
}

#[test]
fn truncated_data_section_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = npy_file(
        dir.path(),
        "t.npy",
        1,
        "{'descr': '<u2', 'fortran_order': False, 'shape': (1, 2, 3, 4), }",
        &[0; 47],
    );
    let msg = open_err(&path);
    assert!(
        msg.contains("truncated data") && msg.contains("48") && msg.contains("47"),
        "{msg}"
    );
}

#[test]
fn unparsable_header_dict_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = npy_file(
        dir.path(),
        "h.npy",
        1,
        "{'descr': '<u2', 'shape': (1, 2",
        &[],
    );
    assert!(open_err(&path).contains("header"));
}

/// The interpreter for interop tests; they must not pass silently without one.
fn interop_python() -> String {
    std::env::var("STEMZ_INTEROP_PYTHON").unwrap_or_else(|_| {
        panic!("STEMZ_INTEROP_PYTHON is not set: point it at a Python with numpy (cargo xtask ci does)")
    })
}

#[test]
#[ignore = "interop: run by cargo xtask ci"]
fn numpy_loads_what_npywriter_writes_and_writes_what_npyreader_reads() {
    let python = interop_python();
    let dir = tempfile::tempdir().unwrap();
    let shape = [3, 2, 4, 7];
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/npy_check.py");
    for dtype in [DType::U8, DType::U16, DType::U32, DType::F32] {
        let path = write_cube(
            &dir.path().join(format!("{dtype}.npy")),
            shape,
            dtype,
            &cube_bytes(dtype, shape),
        );
        let numpy_written = dir.path().join(format!("np_{dtype}.npy"));
        let out = std::process::Command::new(&python)
            .arg(script)
            .arg(&path)
            .arg(dtype.numpy_name())
            .arg("3,2,4,7")
            .arg(&numpy_written)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{dtype}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // NumPy wrote the same values big-endian in Fortran order
        let mut r = NpyReader::open(&numpy_written).unwrap();
        assert!(r.header().fortran_order);
        assert_eq!(
            read_slab(&mut r, &Hyperslab::full(shape)),
            cube_bytes(dtype, shape),
            "{dtype}"
        );
    }
}
