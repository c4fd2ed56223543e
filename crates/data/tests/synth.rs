//! The synthetic datasets: deterministic bytes whatever the read order, checksums pinned by
//! `data/datasets.toml`, and the study's dtype, shape, maximum and sparsity.
//!
//! The calibration against the study's compression ratios is `stemz calibrate`
//! (crates/cli/src/calibrate.rs), which writes `paper/calibration.md`.

use stemz_data::synth::{sha256_of, Manifest, Scale, SynthReader};
use stemz_data::{CubeReader, DType, Hyperslab};

fn manifest() -> Manifest {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/datasets.toml");
    Manifest::load(std::path::Path::new(path)).unwrap()
}

fn reader(name: &str, scale: Scale) -> SynthReader {
    SynthReader::new(manifest().spec(name).unwrap(), scale).unwrap()
}

fn read_all(r: &mut SynthReader) -> Vec<u8> {
    let mut buf = vec![0u8; r.nbytes() as usize];
    r.read_slab(&Hyperslab::full(r.shape()), &mut buf).unwrap();
    buf
}

/// Zero fraction and maximum of a slab of `dtype` elements.
fn zeros_and_max(bytes: &[u8], dtype: DType) -> (u64, f64, Vec<f64>) {
    let values: Vec<f64> = match dtype {
        DType::U16 => bytemuck::cast_slice::<u8, u16>(bytes)
            .iter()
            .map(|&x| x as f64)
            .collect(),
        DType::F32 => bytemuck::cast_slice::<u8, f32>(bytes)
            .iter()
            .map(|&x| x as f64)
            .collect(),
        other => panic!("unexpected dtype {other}"),
    };
    let zeros = values.iter().filter(|&&x| x == 0.0).count() as u64;
    let max = values.iter().cloned().fold(0.0, f64::max);
    (zeros, max, values)
}

#[test]
fn same_seed_gives_the_same_bytes_twice() {
    for name in ["4D_Diff", "3D_EELS"] {
        let a = read_all(&mut reader(name, Scale::Tiny));
        let b = read_all(&mut reader(name, Scale::Tiny));
        assert!(a == b, "{name}: two generations differ");
    }
}

#[test]
fn shuffled_frame_order_and_chunk_reads_give_the_same_bytes() {
    for name in ["4D_Diff-2x2-binning", "4D_EELS"] {
        let mut r = reader(name, Scale::Tiny);
        let whole = read_all(&mut r);
        let [sy, sx, dy, dx] = r.shape();
        let frame = dy * dx * r.dtype().itemsize();
        // A fixed permutation of the frames (multiplicative step coprime with 64).
        let n = sy * sx;
        let mut assembled = vec![0u8; whole.len()];
        for k in 0..n {
            let f = (k * 37 + 11) % n;
            let slab = Hyperslab::frames(r.shape(), f, 1).unwrap();
            r.read_slab(&slab, &mut assembled[f * frame..(f + 1) * frame])
                .unwrap();
        }
        assert!(assembled == whole, "{name}: frame-by-frame read differs");
        // Chunk tiles that cut frames must match the same region of the whole read.
        let item = r.dtype().itemsize();
        for tile in Hyperslab::tiles(r.shape(), [3, 5, dy.div_ceil(2), dx.div_ceil(3)]).step_by(7) {
            let mut got = vec![0u8; tile.len() * item];
            r.read_slab(&tile, &mut got).unwrap();
            let [ey, ex, edy, edx] = tile.extent;
            let mut i = 0;
            for y in 0..ey {
                for x in 0..ex {
                    for py in 0..edy {
                        let f = (tile.origin[0] + y) * sx + tile.origin[1] + x;
                        let start =
                            (f * dy * dx + (tile.origin[2] + py) * dx + tile.origin[3]) * item;
                        let row = edx * item;
                        assert!(
                            got[i..i + row] == whole[start..start + row],
                            "{name}: tile {tile:?}"
                        );
                        i += row;
                    }
                }
            }
        }
    }
}

#[test]
fn tiny_checksums_equal_the_manifest() {
    let m = manifest();
    let bad = m.verify(Scale::Tiny, &[]).unwrap();
    assert!(
        bad.is_empty(),
        "tiny checksums differ for {:?}; if the generator changed on purpose, bump \
         GENERATOR_VERSION and run `stemz synth --scale tiny --update-manifest`",
        bad.iter().map(|b| (&b.name, &b.actual)).collect::<Vec<_>>()
    );
}

#[test]
fn streamed_checksum_equals_the_checksum_of_the_whole_cube() {
    use sha2::{Digest, Sha256};
    let mut r = reader("4D_Diff-4x4-binning", Scale::Tiny);
    let whole = read_all(&mut r);
    let direct: String = Sha256::digest(&whole)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sha256_of(&mut r).unwrap(), direct);
    assert!(stemz_data::Hyperslab::frame_blocks(r.shape(), 4, 10_000).len() > 1);
}

#[test]
fn dtype_shape_and_maximum_match_the_study() {
    let m = manifest();
    let diff = read_all(&mut reader("4D_Diff", Scale::Tiny));
    let diff: &[u16] = bytemuck::cast_slice(&diff);
    for spec in &m.datasets {
        let mut r = SynthReader::new(spec, Scale::Tiny).unwrap();
        assert_eq!(r.dtype(), spec.dtype, "{}", spec.name);
        assert_eq!(
            r.shape(),
            spec.shape_at(Scale::Tiny).unwrap(),
            "{}",
            spec.name
        );
        let bytes = read_all(&mut r);
        let (_, max, values) = zeros_and_max(&bytes, spec.dtype);
        match spec.name.as_str() {
            "4D_EELS" => assert_eq!(
                max, 4095.0,
                "4D_EELS saturates its 12-bit counter over vacuum"
            ),
            "3D_EELS" => assert_eq!(max, 65535.0, "3D_EELS saturates the 16-bit range"),
            "4D_Diff" => assert!(max <= 4095.0 && max > 100.0, "4D_Diff max {max}"),
            name => {
                // Binned = exact block mean of the unbinned frames of the same scale.
                let b = if name.contains("2x2") { 2 } else { 4 };
                let [sy, sx, dy, dx] = r.shape();
                let n = dy * b;
                for f in [0, sy * sx / 2, sy * sx - 1] {
                    for (oy, ox) in [(0, 0), (dy / 2, dx / 2 - 3), (dy - 1, dx - 1)] {
                        let mut sum = 0.0;
                        for y in 0..b {
                            for x in 0..b {
                                sum += diff[f * n * n + (oy * b + y) * n + ox * b + x] as f64;
                            }
                        }
                        let got = values[(f * dy + oy) * dx + ox];
                        assert_eq!(
                            got,
                            sum / (b * b) as f64,
                            "{name} frame {f} pixel ({oy},{ox})"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn tiny_sparsity_is_near_the_studys() {
    // At 8x8 the scan samples the specimen coarsely (a few vacuum frames more or less), so the
    // tolerance is wider than the ±0.5 pp the `small` scale is calibrated to.
    for spec in &manifest().datasets {
        let mut r = SynthReader::new(spec, Scale::Tiny).unwrap();
        let bytes = read_all(&mut r);
        let (zeros, _, values) = zeros_and_max(&bytes, spec.dtype);
        let s = zeros as f64 / values.len() as f64;
        assert!(
            (s - spec.target_sparsity).abs() < 0.04,
            "{}: tiny sparsity {s:.4} vs study {:.4}",
            spec.name,
            spec.target_sparsity
        );
    }
}
