//! In-memory cubes for tests and examples: a [`CubeReader`] over a byte vector, and seeded
//! generators of sparse, detector-like u16 and f32 cubes.

pub use stemz_data::mem::MemCube;
use stemz_data::synth::rng::Stream;
use stemz_data::{DType, Shape4};

/// A sparse u16 cube: about 70 % zeros, a bright "central beam" in every frame, a few values
/// above 254 and one saturated 65535, from a seeded generator.
pub fn sparse_u16(shape: Shape4, seed: u64) -> MemCube {
    let mut rng = Stream::seeded(seed);
    let [_, _, qy, qx] = shape;
    let n: usize = shape.iter().product();
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        let (y, x) = ((i / qx) % qy, i % qx);
        let r = rng.next_u64();
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
pub fn sparse_f32(shape: Shape4, seed: u64) -> MemCube {
    let mut rng = Stream::seeded(seed);
    let n: usize = shape.iter().product();
    let mut v: Vec<f32> = (0..n)
        .map(|_| {
            let r = rng.next_u64();
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

/// Every file of a directory tree (a Zarr store), by its path inside it, with its bytes, sorted
/// by path: two stores are byte-identical when these are equal.
pub fn store_objects(store: &std::path::Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut stack = vec![store.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(store)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read(&p)?));
            }
        }
    }
    out.sort();
    Ok(out)
}
