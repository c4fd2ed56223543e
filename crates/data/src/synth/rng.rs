//! Counter-based random numbers and a deterministic Poisson sampler.
//!
//! Every random draw is a pure function of `(seed, stream, frame, pixel, draw)`: the key of a frame
//! is a SplitMix64 hash of `(seed, stream, frame)`, each pixel starts its own SplitMix64 sequence
//! at `hash(key, pixel)`. Nothing depends on the order in which frames or pixels are visited, so
//! frames generated on any number of rayon workers, in any order, give identical bytes.
//!
//! Poisson sampling (`poisson`):
//! - `λ < 12`: inversion by sequential search (one uniform, one `exp`), exact.
//! - `λ ≥ 12`: PTRS, the transformed rejection with squeeze of Hörmann (1993), exact for any
//!   `λ` up to the 3D EELS zero-loss peak (~10⁵), with `ln k!` from a table below 16 and from
//!   the Stirling series (error < 1e-12) above.
//!
//! Portability: `f64::exp`/`ln`/`sqrt` come from the platform's libm. `sqrt` is correctly rounded
//! everywhere; `exp`/`ln` are identical on the same glibc and, in practice, on every current
//! glibc (they are correctly rounded in the vast majority of cases since glibc 2.28). A libm that
//! differed in the last bit could flip a draw that lands exactly on a boundary, which the
//! manifest's SHA-256 would reveal (`stemz synth --verify`).

/// SplitMix64's finalizer: a bijective 64-bit mixer with full avalanche.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// Key of one frame of one stream: all randomness of the frame derives from it.
pub fn frame_key(seed: u64, stream: u64, frame: u64) -> u64 {
    mix64(
        mix64(
            mix64(seed ^ GOLDEN)
                .wrapping_add(stream)
                .wrapping_mul(GOLDEN),
        ) ^ frame,
    )
}

/// A SplitMix64 sequence, positioned by a counter.
#[derive(Debug, Clone)]
pub struct Stream {
    state: u64,
}

impl Stream {
    /// The sequence for item `index` (a pixel, a grain, ...) under `key`.
    #[inline]
    pub fn new(key: u64, index: u64) -> Self {
        Stream {
            state: mix64(key ^ index.wrapping_mul(GOLDEN)),
        }
    }

    /// The plain SplitMix64 sequence started at `state` (its first value is
    /// `mix64(state + golden)`): a seeded generator for tests and examples.
    pub fn seeded(state: u64) -> Self {
        Stream { state }
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix64(self.state)
    }

    /// Uniform on `[0, 1)` with 53 random bits.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A Poisson variate of mean `lambda` (`lambda ≤ 0` or NaN gives 0).
    #[inline]
    pub fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda.is_nan() || lambda <= 0.0 {
            0
        } else if lambda < 12.0 {
            self.poisson_inversion(lambda)
        } else {
            self.poisson_ptrs(lambda)
        }
    }

    #[inline]
    fn poisson_inversion(&mut self, lambda: f64) -> u64 {
        let u = self.uniform();
        let mut p = (-lambda).exp();
        let mut cdf = p;
        let mut k = 0u64;
        // The cap only matters when rounding leaves the cdf a hair below u (λ < 12: P(k>100) ~ 0).
        while u >= cdf && k < 100 {
            k += 1;
            p *= lambda / k as f64;
            cdf += p;
        }
        k
    }

    fn poisson_ptrs(&mut self, lambda: f64) -> u64 {
        let slam = lambda.sqrt();
        let loglam = lambda.ln();
        let b = 0.931 + 2.53 * slam;
        let a = -0.059 + 0.02483 * b;
        let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
        let vr = 0.9277 - 3.6224 / (b - 2.0);
        loop {
            let u = self.uniform() - 0.5;
            let v = self.uniform();
            let us = 0.5 - u.abs();
            let k = ((2.0 * a / us + b) * u + lambda + 0.43).floor();
            if us >= 0.07 && v <= vr {
                return k as u64;
            }
            if k < 0.0 || (us < 0.013 && v > us) {
                continue;
            }
            let lhs = v.ln() + inv_alpha.ln() - (a / (us * us) + b).ln();
            let rhs = -lambda + k * loglam - ln_factorial(k as u64);
            if lhs <= rhs {
                return k as u64;
            }
        }
    }
}

/// `ln k!`: exact table below 16, Stirling series above (absolute error < 1e-12).
pub fn ln_factorial(k: u64) -> f64 {
    const TABLE: [f64; 16] = [
        0.0,
        0.0,
        std::f64::consts::LN_2,
        1.791_759_469_228_055,
        3.178_053_830_347_945_7,
        4.787_491_742_782_046,
        6.579_251_212_010_101,
        8.525_161_361_065_415,
        10.604_602_902_745_25,
        12.801_827_480_081_469,
        15.104_412_573_075_516,
        17.502_307_845_873_887,
        19.987_214_495_661_885,
        22.552_163_853_123_42,
        25.191_221_182_738_683,
        27.899_271_383_840_894,
    ];
    if (k as usize) < TABLE.len() {
        return TABLE[k as usize];
    }
    let x = k as f64;
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    x * x.ln() - x
        + 0.5 * (2.0 * std::f64::consts::PI * x).ln()
        + inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 / 1680.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_var(lambda: f64, n: u64) -> (f64, f64) {
        let key = frame_key(7, 1, 3);
        let (mut s, mut s2) = (0.0, 0.0);
        for i in 0..n {
            let k = Stream::new(key, i).poisson(lambda) as f64;
            s += k;
            s2 += k * k;
        }
        let m = s / n as f64;
        (m, s2 / n as f64 - m * m)
    }

    #[test]
    fn poisson_mean_and_variance_match_lambda_in_both_regimes() {
        for &lambda in &[0.01, 0.7, 5.0, 11.9, 12.0, 40.0, 3000.0, 60000.0] {
            let n = 200_000;
            let (m, v) = mean_var(lambda, n);
            let se = (lambda / n as f64).sqrt();
            assert!((m - lambda).abs() < 5.0 * se, "λ={lambda}: mean {m}");
            assert!((v / lambda - 1.0).abs() < 0.03, "λ={lambda}: variance {v}");
        }
    }

    #[test]
    fn poisson_zero_probability_is_exp_minus_lambda() {
        let key = frame_key(1, 2, 3);
        let n = 400_000u64;
        let zeros = (0..n)
            .filter(|&i| Stream::new(key, i).poisson(0.3) == 0)
            .count();
        let p = zeros as f64 / n as f64;
        assert!((p - (-0.3f64).exp()).abs() < 0.003, "P(0) = {p}");
    }

    #[test]
    fn ln_factorial_series_joins_the_table() {
        let exact16: f64 = (1..=16).map(|i| (i as f64).ln()).sum();
        assert!((ln_factorial(16) - exact16).abs() < 1e-11);
        let exact15: f64 = (1..=15).map(|i| (i as f64).ln()).sum();
        assert!((ln_factorial(15) - exact15).abs() < 1e-11);
    }

    #[test]
    fn streams_depend_on_every_counter() {
        let a = Stream::new(frame_key(1, 2, 3), 4).next_u64();
        assert_ne!(a, Stream::new(frame_key(2, 2, 3), 4).next_u64());
        assert_ne!(a, Stream::new(frame_key(1, 3, 3), 4).next_u64());
        assert_ne!(a, Stream::new(frame_key(1, 2, 4), 4).next_u64());
        assert_ne!(a, Stream::new(frame_key(1, 2, 3), 5).next_u64());
        assert_eq!(a, Stream::new(frame_key(1, 2, 3), 4).next_u64());
    }
}
