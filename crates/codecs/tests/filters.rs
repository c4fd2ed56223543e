//! The filters against themselves (encode → decode) and against libhdf5's own pipeline: a
//! dataset written through HDF5 with `apply()` must store, chunk for chunk, exactly the bytes
//! `encode()` produces, and record `stored_cd_values()`.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use hdf5_sys::h5d::{H5Dclose, H5Dcreate2, H5Dget_create_plist, H5Dread, H5Dread_chunk, H5Dwrite};
use hdf5_sys::h5i::hid_t;
use hdf5_sys::h5p::{
    H5Pclose, H5Pcreate, H5Pget_filter2, H5Pget_nfilters, H5Pset_chunk, H5P_DEFAULT,
};
use hdf5_sys::h5s::{H5Sclose, H5Screate_simple, H5S_ALL};
use stemz_codecs::filters::{
    available, register_all, Bitshuffle, BitshuffleCodec, Blosc, Blosc2, BloscCompressor, Deflate,
    FilterSpec, Lz4, Lzf, Shuffle, Szip, Zstd,
};

extern "C" {
    // In libhdf5 since 1.10.2, not declared by hdf5-sys.
    fn H5Dget_chunk_storage_size(dset_id: hid_t, offset: *const u64, chunk_bytes: *mut u64) -> i32;
}

#[derive(Clone, Copy, Debug)]
enum Ty {
    U16,
    F32,
}

impl Ty {
    fn size(self) -> usize {
        match self {
            Ty::U16 => 2,
            Ty::F32 => 4,
        }
    }
    fn h5(self) -> hid_t {
        match self {
            Ty::U16 => *hdf5::globals::H5T_NATIVE_UINT16,
            Ty::F32 => *hdf5::globals::H5T_NATIVE_FLOAT,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Content {
    /// Detector-like counts: ~80 % zeros, small values elsewhere.
    SparseCounts,
    Zeros,
    /// Uniform random bytes: nothing to compress.
    Random,
}

/// xorshift64*: deterministic, dependency-free test data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn make_data(ty: Ty, content: Content, n: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let mut out = Vec::with_capacity(n * ty.size());
    for _ in 0..n {
        let r = rng.next();
        match content {
            Content::Zeros => out.extend(std::iter::repeat_n(0u8, ty.size())),
            Content::Random => out.extend_from_slice(&r.to_le_bytes()[..ty.size()]),
            Content::SparseCounts => {
                let v = if r % 5 == 0 { (r >> 8) % 40 + 1 } else { 0 };
                match ty {
                    Ty::U16 => out.extend_from_slice(&(v as u16).to_ne_bytes()),
                    Ty::F32 => out.extend_from_slice(&(v as f32).to_ne_bytes()),
                }
            }
        }
    }
    out
}

fn all_specs() -> Vec<FilterSpec> {
    use BloscCompressor as C;
    let mut v = vec![
        FilterSpec::Deflate(Deflate { level: 4 }),
        FilterSpec::Deflate(Deflate { level: 9 }),
        FilterSpec::Lzf(Lzf),
        FilterSpec::Szip(Szip {
            pixels_per_block: 8,
        }),
        FilterSpec::Szip(Szip {
            pixels_per_block: 32,
        }),
        FilterSpec::Lz4(Lz4 { block_size: 0 }),
        FilterSpec::Lz4(Lz4 { block_size: 1000 }),
        FilterSpec::Bitshuffle(Bitshuffle {
            codec: BitshuffleCodec::Lz4,
            block_size: 0,
        }),
        FilterSpec::Bitshuffle(Bitshuffle {
            codec: BitshuffleCodec::Lz4,
            block_size: 64,
        }),
        FilterSpec::Bitshuffle(Bitshuffle {
            codec: BitshuffleCodec::Zstd { level: 3 },
            block_size: 0,
        }),
        FilterSpec::Zstd(Zstd { level: 3 }),
        FilterSpec::Zstd(Zstd { level: 19 }),
        FilterSpec::Zstd(Zstd { level: -5 }),
    ];
    for c in [C::BloscLz, C::Lz4, C::Lz4Hc, C::Zlib, C::Zstd] {
        for s in [Shuffle::None, Shuffle::Byte, Shuffle::Bit] {
            v.push(FilterSpec::Blosc(Blosc {
                compressor: c,
                clevel: 5,
                shuffle: s,
            }));
        }
    }
    v.push(FilterSpec::Blosc(Blosc {
        compressor: C::Zstd,
        clevel: 9,
        shuffle: Shuffle::Bit,
    }));
    // Blosc2 (zlib is not built into stemz's c-blosc2), automatic and explicit block sizes.
    for c in [C::BloscLz, C::Lz4, C::Lz4Hc, C::Zstd] {
        for s in [Shuffle::None, Shuffle::Byte, Shuffle::Bit] {
            v.push(FilterSpec::Blosc2(Blosc2 {
                compressor: c,
                clevel: 5,
                shuffle: s,
                blocksize: 0,
            }));
        }
    }
    v.push(FilterSpec::Blosc2(Blosc2 {
        compressor: C::Zstd,
        clevel: 1,
        shuffle: Shuffle::Bit,
        blocksize: 256,
    }));
    v
}

/// Two geometries: a plain one and one with odd chunks (65 elements: a bitshuffle leftover)
/// and partial edge chunks.
const GEOMETRIES: [(&[usize], &[usize]); 2] = [(&[12, 80], &[8, 64]), (&[7, 30], &[5, 13])];

/// The padded C-order chunk at grid position `pos` of a 2D dataset (zeros outside, as HDF5's
/// default fill value leaves them).
fn padded_chunk(
    data: &[u8],
    shape: &[usize],
    chunk: &[usize],
    pos: &[usize],
    ts: usize,
) -> Vec<u8> {
    let mut out = vec![0u8; chunk[0] * chunk[1] * ts];
    for r in 0..chunk[0] {
        let y = pos[0] * chunk[0] + r;
        if y >= shape[0] {
            break;
        }
        for c in 0..chunk[1] {
            let x = pos[1] * chunk[1] + c;
            if x >= shape[1] {
                break;
            }
            let src = (y * shape[1] + x) * ts;
            let dst = (r * chunk[1] + c) * ts;
            out[dst..dst + ts].copy_from_slice(&data[src..src + ts]);
        }
    }
    out
}

struct Written {
    /// (filter mask, stored bytes) per chunk, in grid order.
    chunks: Vec<(u32, Vec<u8>)>,
    cd_values: Vec<u32>,
    filter_id: i32,
    flags: u32,
    read_back: Vec<u8>,
}

/// Write `data` through libhdf5 with `spec.apply()`, then read every stored chunk raw, the
/// filter as recorded in the file, and the data back through the pipeline.
fn write_through_hdf5(
    dir: &Path,
    spec: &FilterSpec,
    ty: Ty,
    shape: &[usize],
    chunk: &[usize],
    data: &[u8],
) -> Written {
    let path = dir.join(format!("{}.h5", spec.name()));
    let file = hdf5::File::create(&path).expect("create file");
    let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let cdims: Vec<u64> = chunk.iter().map(|&d| d as u64).collect();
    let name = CString::new("d").unwrap();
    // SAFETY: plain HDF5 calls on ids this test creates; pointers are to live locals.
    let dcpl = hdf5::sync::sync(|| unsafe {
        let dcpl = H5Pcreate(*hdf5::globals::H5P_DATASET_CREATE);
        assert!(H5Pset_chunk(dcpl, 2, cdims.as_ptr()) >= 0);
        dcpl
    });
    spec.apply(dcpl, ty.size(), chunk).expect("apply");
    // SAFETY: plain HDF5 calls on ids this test creates; pointers are to live locals.
    hdf5::sync::sync(|| unsafe {
        let space = H5Screate_simple(2, dims.as_ptr(), std::ptr::null());
        let dset = H5Dcreate2(
            file.id(),
            name.as_ptr(),
            ty.h5(),
            space,
            H5P_DEFAULT,
            dcpl,
            H5P_DEFAULT,
        );
        assert!(dset >= 0, "{}: H5Dcreate2 failed", spec.name());
        assert!(
            H5Dwrite(
                dset,
                ty.h5(),
                H5S_ALL,
                H5S_ALL,
                H5P_DEFAULT,
                data.as_ptr().cast()
            ) >= 0
        );

        let grid = [shape[0].div_ceil(chunk[0]), shape[1].div_ceil(chunk[1])];
        let mut chunks = Vec::new();
        for gy in 0..grid[0] {
            for gx in 0..grid[1] {
                let off = [(gy * chunk[0]) as u64, (gx * chunk[1]) as u64];
                let mut size = 0u64;
                assert!(H5Dget_chunk_storage_size(dset, off.as_ptr(), &mut size) >= 0);
                let mut buf = vec![0u8; size as usize];
                let mut mask = 0u32;
                assert!(
                    H5Dread_chunk(
                        dset,
                        H5P_DEFAULT,
                        off.as_ptr(),
                        &mut mask,
                        buf.as_mut_ptr().cast(),
                        &mut (size as usize),
                    ) >= 0
                );
                chunks.push((mask, buf));
            }
        }
        let plist = H5Dget_create_plist(dset);
        assert_eq!(H5Pget_nfilters(plist), 1);
        let mut flags = 0u32;
        let mut n: usize = 16;
        let mut cd = vec![0u32; 16];
        let id = H5Pget_filter2(
            plist,
            0,
            &mut flags,
            &mut n,
            cd.as_mut_ptr(),
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        cd.truncate(n);

        let mut read_back = vec![0u8; data.len()];
        assert!(
            H5Dread(
                dset,
                ty.h5(),
                H5S_ALL,
                H5S_ALL,
                H5P_DEFAULT,
                read_back.as_mut_ptr().cast()
            ) >= 0
        );
        H5Pclose(plist);
        H5Dclose(dset);
        H5Sclose(space);
        H5Pclose(dcpl);
        Written {
            chunks,
            cd_values: cd,
            filter_id: id,
            flags,
            read_back,
        }
    })
}

#[test]
fn every_filter_round_trips_u16_and_f32_chunks() {
    for spec in all_specs() {
        for ty in [Ty::U16, Ty::F32] {
            for content in [Content::SparseCounts, Content::Zeros, Content::Random] {
                for (_, chunk) in GEOMETRIES {
                    let n: usize = chunk.iter().product();
                    let data = make_data(ty, content, n, 7);
                    let enc = spec.encode(&data, ty.size(), chunk).expect("encode");
                    let Some(enc) = enc else {
                        // Only a filter that declines (lzf, szip, blosc) may, and only on
                        // incompressible data or on chunks too small to carry its overhead.
                        let declines = matches!(
                            spec,
                            FilterSpec::Lzf(Lzf)
                                | FilterSpec::Szip(Szip { .. })
                                | FilterSpec::Blosc(Blosc { .. })
                        );
                        assert!(
                            declines && (matches!(content, Content::Random) || data.len() < 256),
                            "{spec:?} declined {content:?} {ty:?}"
                        );
                        continue;
                    };
                    let mut out = vec![0xA5u8; data.len()];
                    spec.decode(&enc, ty.size(), chunk, &mut out)
                        .expect("decode");
                    assert!(
                        out == data,
                        "{spec:?} {ty:?} {content:?} round trip differs"
                    );
                }
            }
        }
    }
}

#[test]
fn hdf5_pipeline_stores_exactly_the_bytes_encode_produces() {
    register_all().expect("register");
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for spec in all_specs() {
        for ty in [Ty::U16, Ty::F32] {
            for content in [Content::SparseCounts, Content::Zeros, Content::Random] {
                for (shape, chunk) in GEOMETRIES {
                    let n: usize = shape.iter().product();
                    let data = make_data(ty, content, n, 11);
                    let w = write_through_hdf5(dir.path(), &spec, ty, shape, chunk, &data);
                    let label = format!("{spec:?} {ty:?} {content:?} {shape:?}/{chunk:?}");
                    assert!(w.read_back == data, "{label}: HDF5 read back other data");
                    assert_eq!(w.filter_id as u32, spec.id(), "{label}");
                    assert_eq!(w.flags & 1, 1, "{label}: filter not optional");
                    let cd = spec.stored_cd_values(ty.size(), chunk);
                    if Some(&w.cd_values) != cd.as_ref() {
                        failures.push(format!(
                            "{label}: cd_values {:?} in file, {cd:?} expected",
                            w.cd_values
                        ));
                    }
                    let grid_x = shape[1].div_ceil(chunk[1]);
                    for (i, (mask, stored)) in w.chunks.iter().enumerate() {
                        let pos = [i / grid_x, i % grid_x];
                        let raw = padded_chunk(&data, shape, chunk, &pos, ty.size());
                        let ours = spec.encode(&raw, ty.size(), chunk).expect("encode");
                        match (mask, ours) {
                            (0, Some(ours)) if &ours == stored => {}
                            (1, None) if stored == &raw => {}
                            (m, ours) => failures.push(format!(
                                "{label}: chunk {pos:?}: file has mask {m} and {} bytes, encode gave {:?} bytes",
                                stored.len(),
                                ours.map(|o| o.len())
                            )),
                        }
                    }
                }
            }
        }
    }
    // LZF is expected to match too (same liblzf in this process), so no exemption here.
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn register_all_makes_every_filter_available() {
    register_all().expect("register");
    register_all().expect("second registration is a no-op");
    for spec in all_specs() {
        assert!(
            available(spec.id()),
            "{} ({}) not available",
            spec.name(),
            spec.id()
        );
    }
}

#[test]
fn decode_reports_truncated_chunks_as_errors() {
    for spec in all_specs() {
        let chunk = [8usize, 64];
        let data = make_data(Ty::U16, Content::SparseCounts, 512, 3);
        let Some(enc) = spec.encode(&data, 2, &chunk).unwrap() else {
            continue;
        };
        let mut out = vec![0u8; data.len()];
        for cut in [0, 3, enc.len() / 2, enc.len() - 1] {
            let r = spec.decode(&enc[..cut], 2, &chunk, &mut out);
            assert!(
                r.is_err(),
                "{spec:?}: a chunk cut to {cut} of {} bytes decoded",
                enc.len()
            );
        }
    }
}

#[test]
fn encode_rejects_a_chunk_that_is_not_whole_elements() {
    let spec = FilterSpec::Zstd(Zstd { level: 3 });
    assert!(spec.encode(&[0u8; 7], 2, &[7]).is_err());
}

// The real instrument fixtures, as the data crate's tests find them (one copy of the helper).
#[path = "../../data/tests/common/mod.rs"]
mod fixtures;
use fixtures::realdata;

/// The DECTRIS ARINA master file (its data reached through an external link) and data file.
fn arina() -> (PathBuf, PathBuf) {
    (
        realdata("test_00_master.h5"),
        realdata("test_00_data_000001.h5"),
    )
}

#[test]
fn realdata_arina_bitshuffle_lz4_fixture_reads_as_zeros_after_register_all() {
    let (arina_master, arina_data) = arina();
    register_all().expect("register");
    // Through HDF5: master file → external link → data file, decoded by our 32008 callback.
    let master = hdf5::File::open(arina_master).expect("open ARINA master");
    let ds = master
        .dataset("entry/data/data_000001")
        .expect("linked dataset");
    assert_eq!(ds.shape(), vec![16, 192, 192]);
    let v: Vec<u32> = ds.read_raw().expect("read through the bitshuffle filter");
    assert_eq!(v.len(), 16 * 192 * 192);
    assert!(v.iter().all(|&x| x == 0));

    // And our codec on the detector's raw chunk bytes.
    let data = hdf5::File::open(arina_data).expect("open ARINA data file");
    let ds = data.dataset("entry/data/data").expect("dataset");
    let chunk: Vec<usize> = ds.chunk().expect("chunked");
    let spec = FilterSpec::Bitshuffle(Bitshuffle {
        codec: BitshuffleCodec::Lz4,
        block_size: 0,
    });
    // SAFETY: the dataset is open and the buffer holds the chunk's stored size.
    let (mask, stored) = hdf5::sync::sync(|| unsafe {
        let off = [0u64; 3];
        let mut size = 0u64;
        assert!(H5Dget_chunk_storage_size(ds.id(), off.as_ptr(), &mut size) >= 0);
        let mut buf = vec![0u8; size as usize];
        let mut mask = 0u32;
        assert!(
            H5Dread_chunk(
                ds.id(),
                H5P_DEFAULT,
                off.as_ptr(),
                &mut mask,
                buf.as_mut_ptr().cast(),
                &mut (size as usize),
            ) >= 0
        );
        (mask, buf)
    });
    assert_eq!(mask, 0);
    let nbytes = chunk.iter().product::<usize>() * 4;
    let mut out = vec![1u8; nbytes];
    spec.decode(&stored, 4, &chunk, &mut out)
        .expect("decode the detector's chunk");
    assert!(out.iter().all(|&b| b == 0));
    let ours = spec.encode(&out, 4, &chunk).unwrap().unwrap();
    assert!(
        ours == stored,
        "re-encoding the detector's zero chunk gives other bytes"
    );
}

/// The format's definition, one bit at a time: bit `b` of byte `j` of element `i` goes to bit
/// `i` of bit-row `8 j + b` (rows of `n` bits, least significant bit first).
fn slow_bitshuffle(input: &[u8], elem_size: usize) -> Vec<u8> {
    let n = input.len() / elem_size;
    let mut out = vec![0u8; input.len()];
    for i in 0..n {
        for j in 0..elem_size {
            for b in 0..8 {
                if input[i * elem_size + j] >> b & 1 == 1 {
                    let bit = (8 * j + b) * n + i;
                    out[bit / 8] |= 1 << (bit % 8);
                }
            }
        }
    }
    out
}

mod bitshuffle_properties {
    use super::slow_bitshuffle;
    use proptest::prelude::*;
    use stemz_codecs::filters::bitshuffle::{
        trans_bit_elem, trans_bit_elem_with, untrans_bit_elem, untrans_bit_elem_with, Kernel,
    };

    fn elems_and_bytes() -> impl Strategy<Value = (usize, Vec<u8>)> {
        (
            prop_oneof![Just(1usize), Just(2), Just(3), Just(4), Just(8), Just(12)],
            0usize..64,
        )
            .prop_flat_map(|(es, groups)| {
                (
                    Just(es),
                    proptest::collection::vec(any::<u8>(), es * 8 * groups),
                )
            })
    }

    proptest! {
        #[test]
        fn forward_equals_the_bit_by_bit_definition((es, data) in elems_and_bytes()) {
            let mut fast = vec![0u8; data.len()];
            trans_bit_elem(&data, &mut fast, es).unwrap();
            prop_assert_eq!(fast, slow_bitshuffle(&data, es));
        }

        #[test]
        fn inverse_undoes_forward((es, data) in elems_and_bytes()) {
            let mut shuffled = vec![0u8; data.len()];
            trans_bit_elem(&data, &mut shuffled, es).unwrap();
            let mut back = vec![0u8; data.len()];
            untrans_bit_elem(&shuffled, &mut back, es).unwrap();
            prop_assert_eq!(back, data);
        }

        #[test]
        fn every_kernel_writes_the_scalar_bytes_forward_and_back(
            (es, data) in kernel_sized_bytes()
        ) {
            let mut scalar = vec![0u8; data.len()];
            trans_bit_elem_with(Kernel::Scalar, &data, &mut scalar, es).unwrap();
            for kernel in Kernel::ALL.into_iter().filter(|k| k.is_available()) {
                let mut shuffled = vec![0u8; data.len()];
                trans_bit_elem_with(kernel, &data, &mut shuffled, es).unwrap();
                prop_assert_eq!(&shuffled, &scalar, "forward, {:?}", kernel);
                let mut back = vec![0u8; data.len()];
                untrans_bit_elem_with(kernel, &scalar, &mut back, es).unwrap();
                prop_assert_eq!(&back, &data, "inverse, {:?}", kernel);
            }
        }
    }

    /// Sizes spanning several SIMD blocks (64 elements forward, 128 / 256 inverse) plus a tail
    /// of any number of groups of 8, for the sizes with SIMD kernels and two without.
    fn kernel_sized_bytes() -> impl Strategy<Value = (usize, Vec<u8>)> {
        (
            prop_oneof![Just(1usize), Just(2), Just(3), Just(4), Just(8), Just(12)],
            0usize..200,
        )
            .prop_flat_map(|(es, groups)| {
                (
                    Just(es),
                    proptest::collection::vec(any::<u8>(), es * 8 * groups),
                )
            })
    }

    #[test]
    fn simd_kernels_match_the_definition_on_full_8_kib_blocks() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let data: Vec<u8> = (0..8192)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        for es in [1, 2, 4, 8] {
            let expected = slow_bitshuffle(&data, es);
            for kernel in Kernel::ALL.into_iter().filter(|k| k.is_available()) {
                let mut shuffled = vec![0u8; data.len()];
                trans_bit_elem_with(kernel, &data, &mut shuffled, es).unwrap();
                assert_eq!(
                    shuffled, expected,
                    "forward, {kernel:?}, {es}-byte elements"
                );
                let mut back = vec![0u8; data.len()];
                untrans_bit_elem_with(kernel, &expected, &mut back, es).unwrap();
                assert_eq!(back, data, "inverse, {kernel:?}, {es}-byte elements");
            }
        }
    }

    #[test]
    fn sse2_kernel_is_available_on_x86_64() {
        assert_eq!(Kernel::Sse2.is_available(), cfg!(target_arch = "x86_64"));
        assert!(Kernel::detected().is_available());
    }
}

#[test]
fn blosc2_refuses_zlib_and_out_of_range_clevels_with_an_error() {
    let data = make_data(Ty::U16, Content::SparseCounts, 512, 5);
    for (compressor, clevel) in [(BloscCompressor::Zlib, 5), (BloscCompressor::Zstd, 10)] {
        let spec = FilterSpec::Blosc2(Blosc2 {
            compressor,
            clevel,
            shuffle: Shuffle::Bit,
            blocksize: 0,
        });
        let err = spec.encode(&data, 2, &[8, 64]).unwrap_err().to_string();
        assert!(err.starts_with("blosc2 filter: unsupported"), "{err}");
    }
}

#[test]
fn blosc2_decode_rejects_a_chunk_of_the_wrong_size() {
    let spec = FilterSpec::Blosc2(Blosc2 {
        compressor: BloscCompressor::Zstd,
        clevel: 1,
        shuffle: Shuffle::Bit,
        blocksize: 0,
    });
    let data = make_data(Ty::U16, Content::SparseCounts, 512, 9);
    let enc = spec
        .encode(&data, 2, &[8, 64])
        .unwrap()
        .expect("blosc2 never declines");
    let mut short = vec![0u8; data.len() - 2];
    let err = spec
        .decode(&enc, 2, &[8, 64], &mut short)
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds 1024 bytes"), "{err}");
}
