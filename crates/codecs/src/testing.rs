//! In-memory cubes for tests and examples: a [`CubeReader`] over a byte vector, and seeded
//! generators of sparse, detector-like u16 and f32 cubes.

use stemz_data::{CubeReader, DType, DataError, Hyperslab, Shape4, SourceInfo};

/// A datacube held in memory (native-endian bytes, C order).
#[derive(Debug, Clone, PartialEq)]
pub struct MemCube {
    pub shape: Shape4,
    pub dtype: DType,
    pub data: Vec<u8>,
}

impl MemCube {
    /// Wrap bytes; `data.len()` must be `shape` elements of `dtype`.
    pub fn new(shape: Shape4, dtype: DType, data: Vec<u8>) -> Result<Self, DataError> {
        let want = shape.iter().product::<usize>() * dtype.itemsize();
        if data.len() != want {
            return Err(DataError::Invalid(format!(
                "MemCube: {} bytes given, shape {shape:?} of {dtype} needs {want}",
                data.len()
            )));
        }
        Ok(MemCube { shape, dtype, data })
    }

    /// A sparse u16 cube: about 70 % zeros, a bright "central beam" in every frame, a few values
    /// above 254 and one saturated 65535, from a seeded generator.
    pub fn sparse_u16(shape: Shape4, seed: u64) -> Self {
        let mut rng = SplitMix(seed);
        let [_, _, qy, qx] = shape;
        let n: usize = shape.iter().product();
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            let (y, x) = ((i / qx) % qy, i % qx);
            let r = rng.next();
            let central = y.abs_diff(qy / 2) <= 2 && x.abs_diff(qx / 2) <= 2;
            let val: u16 = if central {
                300 + (r % 900) as u16
            } else if r % 10 < 7 {
                0
            } else {
                (r >> 8) as u16 % 40
            };
            v.push(val);
        }
        if let Some(first) = v.first_mut() {
            *first = u16::MAX;
        }
        MemCube {
            shape,
            dtype: DType::U16,
            data: bytemuck::cast_slice(&v).to_vec(),
        }
    }

    /// A sparse f32 cube like a binned (averaged) detector: values in quarter steps, 60 % zeros,
    /// plus the bit patterns that lossless handling must keep: -0.0, a NaN with payload,
    /// infinities, a subnormal.
    pub fn sparse_f32(shape: Shape4, seed: u64) -> Self {
        let mut rng = SplitMix(seed);
        let n: usize = shape.iter().product();
        let mut v: Vec<f32> = (0..n)
            .map(|_| {
                let r = rng.next();
                if r % 10 < 6 {
                    0.0
                } else {
                    ((r >> 16) % 1200) as f32 * 0.25
                }
            })
            .collect();
        let specials = [
            -0.0f32,
            f32::from_bits(0x7fc0_1234),
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::from_bits(1),
        ];
        for (k, s) in specials.iter().enumerate() {
            let at = (k * 7919) % n.max(1);
            if let Some(slot) = v.get_mut(at) {
                *slot = *s;
            }
        }
        MemCube {
            shape,
            dtype: DType::F32,
            data: bytemuck::cast_slice(&v).to_vec(),
        }
    }

    /// The bytes of one slab, for comparisons in tests.
    pub fn slab_bytes(&self, slab: &Hyperslab) -> Vec<u8> {
        let mut out = vec![0u8; slab.len() * self.dtype.itemsize()];
        copy_slab(
            self.shape,
            self.dtype.itemsize(),
            &self.data,
            slab,
            &mut out,
        );
        out
    }
}

impl CubeReader for MemCube {
    fn shape(&self) -> Shape4 {
        self.shape
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn info(&self) -> SourceInfo {
        SourceInfo {
            format: "memory".into(),
            ..SourceInfo::default()
        }
    }
    fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> stemz_data::Result<()> {
        slab.check_within(self.shape)?;
        let want = slab.len() * self.dtype.itemsize();
        if out.len() != want {
            return Err(DataError::Invalid(format!(
                "MemCube: buffer of {} bytes for a slab of {want}",
                out.len()
            )));
        }
        copy_slab(self.shape, self.dtype.itemsize(), &self.data, slab, out);
        Ok(())
    }
}

/// Copy `slab` out of a C-order cube of `shape` into the packed buffer `out`.
fn copy_slab(shape: Shape4, item: usize, data: &[u8], slab: &Hyperslab, out: &mut [u8]) {
    let [o0, o1, o2, o3] = slab.origin;
    let [e0, e1, e2, e3] = slab.extent;
    let row = e3 * item;
    let mut w = 0;
    for a in o0..o0 + e0 {
        for b in o1..o1 + e1 {
            for c in o2..o2 + e2 {
                let start = (((a * shape[1] + b) * shape[2] + c) * shape[3] + o3) * item;
                out[w..w + row].copy_from_slice(&data[start..start + row]);
                w += row;
            }
        }
    }
}

/// SplitMix64: a tiny, well-mixed, seedable generator (tests need reproducibility, not quality).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
