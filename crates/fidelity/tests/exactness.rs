//! Where the algebra says a reduction is exact, the measured error is exactly zero; where it
//! says rounding bounds the error, the error is inside that bound (and not zero, so the test
//! can fail).

use stemz_data::mem::MemCube;
use stemz_data::{CubeReader, DType, Hyperslab};
use stemz_fidelity::eval::evaluate;
use stemz_fidelity::target::Grid;
use stemz_fidelity::{Agg, Geometry, Keep, ReducedReader, Reduction, Target};

/// A u16 cube with values spread over the whole range (deterministic LCG).
fn cube_u16(shape: [usize; 4], seed: u64) -> MemCube {
    let n: usize = shape.iter().product();
    let mut s = seed;
    let data: Vec<u8> = (0..n)
        .flat_map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (((s >> 33) % 65536) as u16).to_ne_bytes()
        })
        .collect();
    MemCube::new(shape, DType::U16, data).unwrap()
}

fn bin(b: usize, agg: Agg) -> Reduction {
    Reduction {
        crop: None,
        bin: b,
        agg,
        scan_bin: 1,
    }
}

/// An annulus around (7.5, 7.5) on a 16×16 detector: inner radius 2.3 excludes exactly the
/// central 2×2 bins of a 2× binning (their pixels lie at d² ≤ 4.5, the next at d² ≥ 6.5), the
/// outer radius 11 is beyond every pixel (d² ≤ 112.5). Bin-aligned for 2×2.
fn aligned_annulus() -> Geometry {
    let mut g = Geometry::around_disk((7.5, 7.5), 2.0, [16, 16], "given");
    g.adf_inner = 2.3;
    g.adf_outer = 11.0;
    g
}

#[test]
fn summed_2x2_bins_under_a_bin_aligned_annulus_give_the_identical_virtual_image() {
    let mut cube = cube_u16([4, 5, 16, 16], 1);
    let g = aligned_annulus();
    let full = Grid::full([16, 16]).mask(Target::Vadf, Some(&g));
    let binned = bin(2, Agg::Sum).grid([16, 16]);
    let bmask = binned.mask(Target::Vadf, Some(&g));
    assert!(
        binned.mask_is_aligned(&bmask, &full, 16),
        "premise: aligned"
    );
    assert_eq!(full.len(), 256 - 16);
    let keep = Keep(vec![Target::Vadf, Target::Sum]);
    let ev = evaluate(&mut cube, &keep, Some(g), &[bin(2, Agg::Sum)]).unwrap();
    for e in &ev.candidates[0].errors {
        assert!(e.exact, "{e:?}");
        assert_eq!(e.rms, 0.0);
    }
}

#[test]
fn an_annulus_that_cuts_bins_is_not_exact() {
    let mut cube = cube_u16([4, 5, 16, 16], 2);
    let mut g = aligned_annulus();
    g.adf_inner = 1.9; // d² = 3.61 splits the central bins' pixels (0.5, 2.5 | 4.5)
    let keep = Keep(vec![Target::Vadf]);
    let ev = evaluate(&mut cube, &keep, Some(g), &[bin(2, Agg::Sum)]).unwrap();
    let e = &ev.candidates[0].errors[0];
    assert!(!e.exact && e.rms > 0.0, "{e:?}");
}

#[test]
fn float32_mean_of_u16_bins_is_exact_because_sums_stay_below_2_pow_24() {
    // 8×8 bins of u16: sums < 64·65536 = 2²², divided by 64 (a power of two): no rounding.
    let mut cube = cube_u16([3, 3, 16, 16], 3);
    let g = aligned_annulus();
    let keep = Keep(vec![Target::Vadf, Target::Sum]);
    let ev = evaluate(
        &mut cube,
        &keep,
        Some(g),
        &[bin(2, Agg::Mean), bin(8, Agg::Mean)],
    )
    .unwrap();
    assert!(ev.candidates[0].errors.iter().all(|e| e.exact));
    assert!(
        ev.candidates[1].errors[1].exact,
        "total counts under 8x8 means"
    );
}

#[test]
fn float32_mean_error_is_within_half_an_ulp_per_bin_and_not_zero() {
    // u32 values near 2³⁰: a 2×2 mean needs 32 bits, float32 keeps 24, so each stored mean is
    // rounded with relative error ≤ 2⁻²⁴ and a sum of positive terms keeps that bound.
    let shape = [3, 4, 8, 8];
    let n: usize = shape.iter().product();
    let mut s = 7u64;
    let data: Vec<u8> = (0..n)
        .flat_map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((1u32 << 30) + ((s >> 35) as u32 % (1 << 29))).to_ne_bytes()
        })
        .collect();
    let mut cube = MemCube::new(shape, DType::U32, data).unwrap();
    // Total counts: exact algebra under any binning, so only the rounding is left.
    let keep = Keep(vec![Target::Sum]);
    let ev = evaluate(
        &mut cube,
        &keep,
        None,
        &[bin(2, Agg::Mean), bin(2, Agg::Sum)],
    )
    .unwrap();
    let u = 2f64.powi(-24);
    for e in &ev.candidates[0].errors {
        assert!(e.max > 0.0, "rounding should show: {e:?}");
        assert!(e.max <= u && e.rms <= u, "{e:?} exceeds 2^-24");
    }
    // The summed u32 bins (sums < 2³²) are exact for the per-position totals.
    assert!(ev.candidates[1].errors[0].exact);
}

#[test]
fn centre_of_mass_is_reported_in_original_detector_pixels() {
    // One bright pixel at (5, 9) per frame: full CoM (5, 9); a 2×2 bin moves it to its bin's
    // centre (4.5, 8.5), an error of √0.5 px.
    let shape = [2, 2, 16, 16];
    let mut v = vec![0u16; 4 * 256];
    for f in 0..4 {
        v[f * 256 + 5 * 16 + 9] = 100;
    }
    let mut cube = MemCube::new(shape, DType::U16, bytemuck_bytes(&v)).unwrap();
    let keep = Keep(vec![Target::Com]);
    let ev = evaluate(
        &mut cube,
        &keep,
        None,
        &[bin(2, Agg::Sum), bin(1, Agg::Sum)],
    )
    .unwrap();
    let e = &ev.candidates[0].errors[0];
    assert_eq!(e.unit, "px");
    assert!((e.rms - 0.5f64.sqrt()).abs() < 1e-12, "{e:?}");
    assert!(ev.candidates[1].errors[0].exact);
}

#[test]
fn scan_binning_of_identical_frames_keeps_every_target() {
    // Frames equal within each 2×2 block of positions: the block sum / 4 is every frame.
    let shape = [4, 4, 8, 8];
    let base = cube_u16([2, 2, 8, 8], 4);
    let mut v = Vec::new();
    for y in 0..4 {
        for x in 0..4 {
            let slab = Hyperslab {
                origin: [y / 2, x / 2, 0, 0],
                extent: [1, 1, 8, 8],
            };
            v.extend(base.slab_bytes(&slab));
        }
    }
    let mut cube = MemCube::new(shape, DType::U16, v).unwrap();
    let g = Geometry::around_disk((3.5, 3.5), 2.0, [8, 8], "given");
    let keep = Keep(vec![Target::Vbf, Target::Com, Target::Mean, Target::Sum]);
    let r = Reduction {
        crop: None,
        bin: 1,
        agg: Agg::Sum,
        scan_bin: 2,
    };
    let ev = evaluate(&mut cube, &keep, Some(g), &[r]).unwrap();
    for e in &ev.candidates[0].errors {
        assert!(e.exact, "{e:?}");
    }
}

#[test]
fn a_bin_aligned_energy_window_survives_energy_binning_exactly() {
    let mut cube = cube_u16([2, 3, 1, 16], 5);
    let exact = Keep(vec![Target::Window { lo: 4.0, hi: 12.0 }, Target::Spectrum]);
    let ev = evaluate(&mut cube, &exact, None, &[bin(4, Agg::Sum)]).unwrap();
    assert!(ev.candidates[0].errors[0].exact);
    assert!(
        !ev.candidates[0].errors[1].exact,
        "spectrum loses resolution"
    );
    let cut = Keep(vec![Target::Window { lo: 5.0, hi: 12.0 }]);
    let ev = evaluate(&mut cube, &cut, None, &[bin(4, Agg::Sum)]).unwrap();
    assert!(!ev.candidates[0].errors[0].exact);
}

#[test]
fn reduced_reader_sums_u16_bins_into_u32_without_overflow() {
    let shape = [1, 2, 4, 4];
    let v = vec![65535u16; 32];
    let cube = MemCube::new(shape, DType::U16, bytemuck_bytes(&v)).unwrap();
    let mut r = ReducedReader::new(Box::new(cube), bin(2, Agg::Sum)).unwrap();
    assert_eq!(r.shape(), [1, 2, 2, 2]);
    assert_eq!(r.dtype(), DType::U32);
    let mut out = vec![0u8; 8 * 4];
    r.read_slab(&Hyperslab::full(r.shape()), &mut out).unwrap();
    for c in out.chunks_exact(4) {
        assert_eq!(u32::from_ne_bytes([c[0], c[1], c[2], c[3]]), 4 * 65535);
    }
}

fn bytemuck_bytes(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_ne_bytes()).collect()
}
