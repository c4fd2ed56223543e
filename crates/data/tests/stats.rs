//! Streaming statistics: exact merging (parallel parts = one pass) and known entropies.

use stemz_data::stats::{binary_entropy, cube_stats, CubeStats, Histogram};
use stemz_data::{CubeReader, DType, Hyperslab, Shape4, SourceInfo};

fn u16s(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_ne_bytes()).collect()
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_ne_bytes()).collect()
}

fn stats_of(data: &[u8], dtype: DType) -> CubeStats {
    let mut s = CubeStats::new(dtype);
    s.update(data, dtype).unwrap();
    s
}

#[test]
fn known_entropies_of_hand_built_data() {
    let s = stats_of(&u16s(&[0, 0, 1, 1]), DType::U16).summary();
    assert_eq!(s.h0_bits, Some(1.0));
    assert_eq!(s.sparsity, 0.5);
    assert_eq!(s.h2_bits, 1.0);
    assert_eq!(s.bound_h0, Some(16.0));
    let s = stats_of(&u16s(&[0, 1, 2, 3]), DType::U16).summary();
    assert_eq!(s.h0_bits, Some(2.0));
    assert_eq!(s.bound_h0, Some(8.0));
    let s = stats_of(&u16s(&[7; 10]), DType::U16).summary();
    assert_eq!(s.h0_bits, Some(0.0));
    assert_eq!(s.bound_h0, None, "a constant cube has no finite bound");
    // p = 1/4: H = 2 - 3/4·log2(3)
    let s = stats_of(&[0u8, 5, 5, 5], DType::U8).summary();
    let want = 2.0 - 0.75 * 3f64.log2();
    assert!((s.h0_bits.unwrap() - want).abs() < 1e-12);
    assert!((binary_entropy(0.25) - want).abs() < 1e-12);
}

#[test]
fn integer_summary_counts_range_mean_and_bits() {
    let s = stats_of(&u16s(&[0, 4096, 20000, 0, 3]), DType::U16).summary();
    assert_eq!((s.count, s.zeros), (5, 2));
    assert_eq!((s.min, s.max), (Some(0.0), Some(20000.0)));
    assert_eq!(s.mean, Some(24099.0 / 5.0));
    assert_eq!(s.bits_used, Some(15));
    assert_eq!((s.above_4095, s.above_16383), (2, 1));
    assert_eq!(s.distinct_values, Some(4));
}

#[test]
fn merge_of_parts_equals_one_pass_exactly_for_every_dtype() {
    let n = 10_000usize;
    let ints: Vec<u32> = (0..n)
        .map(|i| ((i * 2654435761) % 70_001) as u32 * (i % 3 != 0) as u32)
        .collect();
    let floats: Vec<f32> = (0..n)
        .map(|i| {
            if i % 4 == 0 {
                0.0
            } else {
                (i as f32).sqrt() * 1e-3 + 1e7 * (i % 7) as f32
            }
        })
        .collect();
    let cases: Vec<(DType, Vec<u8>)> = vec![
        (DType::U8, ints.iter().map(|&v| v as u8).collect()),
        (
            DType::U16,
            u16s(&ints.iter().map(|&v| v as u16).collect::<Vec<_>>()),
        ),
        (
            DType::U32,
            ints.iter().flat_map(|v| v.to_ne_bytes()).collect(),
        ),
        (DType::F32, f32s(&floats)),
    ];
    for (dtype, data) in cases {
        let whole = stats_of(&data, dtype);
        let size = dtype.itemsize();
        // Parts of uneven sizes, merged in reverse order.
        let cuts = [0, 3 * size, 1001 * size, 5000 * size, data.len()];
        let mut merged = CubeStats::new(dtype);
        for w in cuts.windows(2).rev() {
            merged.merge(&stats_of(&data[w[0]..w[1]], dtype)).unwrap();
        }
        assert_eq!(merged, whole, "{dtype}");
        assert_eq!(merged.summary(), whole.summary(), "{dtype}");
    }
}

#[test]
fn float_mean_is_exact_where_naive_summation_loses_digits() {
    // 1e8 + many small values: a naive f32 sum would drop the small ones entirely.
    let mut v = vec![1e8f32];
    v.extend(std::iter::repeat_n(1.0f32, 999));
    let s = stats_of(&f32s(&v), DType::F32).summary();
    assert_eq!(s.mean, Some((1e8 + 999.0) / 1000.0));
    assert!(
        matches!(stats_of(&f32s(&v), DType::F32).histogram(), Histogram::Sparse(m) if m.len() == 2)
    );
}

#[test]
fn mismatched_dtype_or_ragged_bytes_are_errors() {
    let mut s = CubeStats::new(DType::U16);
    assert!(s.update(&[0u8; 4], DType::U8).is_err());
    assert!(s.update(&[0u8; 3], DType::U16).is_err());
    assert!(s.merge(&CubeStats::new(DType::F32)).is_err());
}

struct Mem {
    shape: Shape4,
    data: Vec<u16>,
}

impl CubeReader for Mem {
    fn shape(&self) -> Shape4 {
        self.shape
    }
    fn dtype(&self) -> DType {
        DType::U16
    }
    fn info(&self) -> SourceInfo {
        SourceInfo::default()
    }
    fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> stemz_data::Result<()> {
        let [_, sx, dy, dx] = self.shape;
        let mut k = 0;
        for y in 0..slab.extent[0] {
            for x in 0..slab.extent[1] {
                for a in 0..slab.extent[2] {
                    for b in 0..slab.extent[3] {
                        let i = (((slab.origin[0] + y) * sx + slab.origin[1] + x) * dy
                            + slab.origin[2]
                            + a)
                            * dx
                            + slab.origin[3]
                            + b;
                        out[k..k + 2].copy_from_slice(&self.data[i].to_ne_bytes());
                        k += 2;
                    }
                }
            }
        }
        Ok(())
    }
}

#[test]
fn cube_stats_streams_blocks_and_matches_one_pass() {
    // 8 MB: large enough for the parallel path.
    let shape = [16, 16, 128, 128];
    let n: usize = shape.iter().product();
    let data: Vec<u16> = (0..n)
        .map(|i| if i % 5 == 0 { (i % 4099) as u16 } else { 0 })
        .collect();
    let want = stats_of(&u16s(&data), DType::U16);
    let mut r = Mem { shape, data };
    assert_eq!(cube_stats(&mut r).unwrap(), want);
}

#[test]
fn frame_blocks_cover_every_frame_once_within_budget() {
    for (shape, budget) in [
        ([5, 7, 4, 4], 100usize),
        ([5, 7, 4, 4], 1000),
        ([3, 3, 2, 2], 1),
    ] {
        let blocks = stemz_data::Hyperslab::frame_blocks(shape, DType::U16.itemsize(), budget);
        let frames: usize = blocks.iter().map(|b| b.extent[0] * b.extent[1]).sum();
        assert_eq!(frames, shape[0] * shape[1]);
        let frame_bytes = shape[2] * shape[3] * 2;
        for b in &blocks {
            assert!(b.len() * 2 <= budget.max(frame_bytes));
            b.check_within(shape).unwrap();
        }
    }
}
