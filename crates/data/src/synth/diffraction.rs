//! The `4D_Diff` forward model: convergent-beam diffraction from a polycrystalline specimen,
//! recorded by a 12-bit counting pixel detector; and the 2×2 / 4×4 detector binning.
//!
//! Physics of one frame (probe at normalised scan position `(u, v)`), as expected counts `λ` per
//! pixel before Poisson sampling:
//!
//! - **Specimen** (fixed by the seed, shared by all scales): a wedge whose thickness `t` (in mean
//!   free paths) grows away from a wavy vacuum edge along the top of the scan; [`GRAINS`] grains
//!   (Voronoi cells) with their own in-plane orientation, lattice (square = cubic `[001]`, or
//!   hexagonal) and mistilt; a smooth strain field scaling the lattice by ±[`STRAIN`].
//! - **Bright-field disk**: the unscattered beam, radius [`DISK_RADIUS`] (the convergence
//!   semi-angle), `BF_DOSE · exp(−t)` counts per pixel; in vacuum it is the only signal. Its
//!   centre drifts by a pixel or two across the scan (residual descan).
//! - **Bragg disks** at `g = h·a₁ + k·a₂`, disks of the same radius: intensity
//!   `BF_DOSE · BRAGG · f(|g|)² · sin²(π t / ξ_g) · excitation(s_g)`, where `f` falls with `|g|`
//!   (form factor × Debye–Waller), `sin²` is the two-beam Pendellösung oscillation with
//!   thickness (extinction distance `ξ_g` growing with `|g|`), and the excitation error `s_g` is
//!   measured from the Laue circle, whose centre is the grain's mistilt, so tilt shifts intensity
//!   to one side. Square grains forbid `h + k` odd (face-centred cubic `[001]`); forbidden
//!   reflections reappear weakly in thick regions by double diffraction (`∝ t²`).
//! - **Thermal diffuse + inelastic background** `BG · t · (1 + (r/r₀)²)^(−3/2)` falling off with
//!   scattering angle `r`.
//! - **Detector geometry**: the pixel detector sits below an annular dark-field detector and sees
//!   the pattern directly only through its hole (radius [`HOLE_RADIUS`]); around the hole only a
//!   faint, flat spray of electrons scattered through the scintillator's edge arrives
//!   ([`SPRAY`] counts per pixel per unit thickness); beyond the projection-chamber bore
//!   ([`ACTIVE_RADIUS`]) the detector is dark, and its two outermost pixel rows/columns are dead.
//! - **Stray events**: with probability [`ZINGER_RATE`] per frame a single pixel receives a large
//!   deposit (an X-ray or cosmic-ray hit); this is what sets the maximum below the 4095 clip,
//!   as the study's 4D_Diff maximum (4016, a lone pixel: its 2×2 and 4×4 means are 1035.5 and
//!   296.5) also was.
//!
//! Counts are Poisson(`λ`) ([`super::rng`]), clipped at 4095 (12-bit counter).
//!
//! Calibration (targets: 74.7 % zeros unbinned, 70.9 % after 2×2, 60.9 % after 4×4; the study's
//! balanced-chunking ratios per method, Blosc-zstd ≈ 9.9 / 11.0 / 6.7 and gzip-9 ≈ 7.9 / 10.0 /
//! 6.8). The slow loss of zeros under binning says the zeros of the real data sit in large
//! connected regions, and the sparse pixels that remain have `λ ≈ 0.03` (a pixel-level zero
//! probability `p` with `(p − p¹⁶)/(p − p⁴) ≈ 3.6`): hence a dense pattern inside a hard-edged
//! hole, a flat faint spray around it, and dark beyond. Blosc-zstd out-compresses gzip-9 on the
//! unbinned data by a quarter (ratio of ratios 1.256) but not after 4×4 binning (0.991): the
//! dense pixels inside the hole carry tens of counts, whose low bytes gzip codes interleaved with
//! the high bytes while byte shuffle separates them. Chosen: `HOLE_RADIUS` 0.2925 and
//! `ACTIVE_RADIUS` 0.47 (the dense and dark areas), `SPRAY` 0.034 (the 2×2 / 4×4 sparsities),
//! `TDS` 45 with `TDS_R1` 0.6 (a diffuse halo nearly flat across the hole, tens of counts per
//! pixel: the unbinned sparsity, and each codec's ratio), `BG` 3 with `BG_R0` 0.08, `BF_DOSE` 40
//! (bright-field disk about 40 counts per pixel, the level around the study's maximum pixel). At
//! `small` scale (`stemz calibrate --scale small`, `data/calibration/small.toml`) this gives
//! sparsities 74.6 / 71.1 / 61.1 %, Blosc-zstd 9.93 / 10.69 / 6.72 and gzip-9 8.06 / 10.19 /
//! 6.76 (ratio of ratios 1.232 / 1.049 / 0.994; generator 1, with `TDS` 10 and a narrow halo,
//! gave 1.120 / 0.975 / 1.028, gzip-9 up to ×1.24 the study's).

use super::rng::{mix64, Stream};
use crate::error::{DataError, Result};

/// Grains in the field of view.
pub const GRAINS: usize = 7;
/// Bright-field disk radius, fraction of the detector width.
pub const DISK_RADIUS: f64 = 0.07;
/// Radius of the unshadowed detector area (the projection-chamber bore), fraction of the
/// detector width.
pub const ACTIVE_RADIUS: f64 = 0.47;
/// Radius of the annular dark-field detector's hole, through which the pixel detector sees the
/// pattern directly, fraction of the detector width.
pub const HOLE_RADIUS: f64 = 0.2925;
/// Counts per pixel per unit thickness reaching the pixel detector around the ADF hole
/// (electrons scattered through the scintillator edge and the hole's rim).
pub const SPRAY: f64 = 0.034;
/// Peak lattice strain.
pub const STRAIN: f64 = 0.02;
/// Counts per bright-field pixel in vacuum.
pub const BF_DOSE: f64 = 40.0;
/// Bragg intensity relative to the bright-field disk.
pub const BRAGG: f64 = 0.5;
/// Background counts per pixel at the centre per unit thickness.
pub const BG: f64 = 3.0;
/// Angular scale of the background fall-off, fraction of the detector width.
pub const BG_R0: f64 = 0.08;
/// Thermal diffuse counts per pixel at the centre per unit thickness.
pub const TDS: f64 = 45.0;
/// Angular width of the thermal diffuse halo (form factor² × Debye–Waller), fraction of the
/// detector width.
pub const TDS_R1: f64 = 0.6;
/// Probability that a frame contains a stray single-pixel event.
pub const ZINGER_RATE: f64 = 0.02;
/// Counter limit (12 bit).
pub const COUNTER_MAX: u16 = 4095;

#[derive(Debug, Clone)]
struct Grain {
    center: [f64; 2],
    phi: f64,
    hexagonal: bool,
    /// Laue-circle centre in units of the detector width.
    tilt: [f64; 2],
}

/// The specimen and detector for one seed.
#[derive(Debug, Clone)]
pub struct DiffModel {
    n: usize,
    grains: Vec<Grain>,
}

/// Thickness (mean free paths), or `None` in vacuum, at scan position `(u, v)`.
pub fn thickness(u: f64, v: f64) -> Option<f64> {
    use std::f64::consts::TAU;
    let edge = 0.10 + 0.04 * (TAU * (1.3 * u + 0.2)).sin();
    if v < edge {
        return None;
    }
    Some(0.15 + 1.6 * (v - edge) + 0.1 * (6.3 * u).sin() * (5.1 * v).sin())
}

impl DiffModel {
    /// The model for an `n`×`n` detector.
    pub fn new(n: usize, seed: u64) -> Result<Self> {
        if n < 16 {
            return Err(DataError::Invalid(format!(
                "diffraction detector {n}x{n} is too small"
            )));
        }
        let key = mix64(seed ^ 0xd1ff);
        let grains = (0..GRAINS as u64)
            .map(|i| {
                let mut s = Stream::new(key, i);
                let center = [s.uniform(), s.uniform()];
                let phi = s.uniform() * std::f64::consts::FRAC_PI_2;
                let hexagonal = s.uniform() < 0.3;
                let (a, r) = (
                    s.uniform() * std::f64::consts::TAU,
                    0.12 * s.uniform().sqrt(),
                );
                Grain {
                    center,
                    phi,
                    hexagonal,
                    tilt: [r * a.cos(), r * a.sin()],
                }
            })
            .collect();
        Ok(DiffModel { n, grains })
    }

    /// Detector width in pixels.
    pub fn detector(&self) -> usize {
        self.n
    }

    fn grain(&self, u: f64, v: f64) -> &Grain {
        let d = |g: &Grain| (g.center[0] - u).powi(2) + (g.center[1] - v).powi(2);
        let mut best = &self.grains[0];
        for g in &self.grains[1..] {
            if d(g) < d(best) {
                best = g;
            }
        }
        best
    }

    /// Expected counts per pixel for the frame at `(u, v)`, into `lambda` (`n*n`).
    pub fn expected(&self, uv: [f64; 2], lambda: &mut [f32]) {
        use std::f64::consts::{PI, TAU};
        let n = self.n;
        let nf = n as f64;
        let [u, v] = uv;
        lambda.fill(0.0);
        let cx = nf * (0.5 + 0.008 * (u - 0.5));
        let cy = nf * (0.5 + 0.006 * (v - 0.5));
        let radius = DISK_RADIUS * nf;
        let active = ACTIVE_RADIUS * nf;
        let t = thickness(u, v);
        let bf = BF_DOSE * t.map_or(1.0, |t| (-t).exp());
        add_disk(lambda, n, cx, cy, radius, bf);
        if let Some(t) = t {
            // Background: thermal diffuse + inelastic, falling with scattering angle.
            let r0 = BG_R0 * nf;
            let r1 = TDS_R1 * nf;
            for py in 0..n {
                let dy = py as f64 + 0.5 - cy;
                let row = &mut lambda[py * n..(py + 1) * n];
                for (px, l) in row.iter_mut().enumerate() {
                    let dx = px as f64 + 0.5 - cx;
                    let r2 = dx * dx + dy * dy;
                    let q = 1.0 / (1.0 + r2 / (r0 * r0));
                    *l += (t * (BG * q * q.sqrt() + TDS * (-r2 / (r1 * r1)).exp())) as f32;
                }
            }
            // Bragg disks of the local grain.
            let g = self.grain(u, v);
            let strain = 1.0 + STRAIN * (TAU * (1.2 * u + 0.7 * v)).sin();
            let len = 0.17 * nf * strain;
            let beta = if g.hexagonal { PI / 3.0 } else { PI / 2.0 };
            let a1 = [len * g.phi.cos(), len * g.phi.sin()];
            let a2 = [len * (g.phi + beta).cos(), len * (g.phi + beta).sin()];
            let tilt = [g.tilt[0] * nf, g.tilt[1] * nf];
            let w2 = (0.3 * nf).powi(2);
            for h in -8i32..=8 {
                for k in -8i32..=8 {
                    if h == 0 && k == 0 {
                        continue;
                    }
                    let gx = h as f64 * a1[0] + k as f64 * a2[0];
                    let gy = h as f64 * a1[1] + k as f64 * a2[1];
                    let gl = (gx * gx + gy * gy).sqrt();
                    if gl > active + radius {
                        continue;
                    }
                    let s = (gl * gl - 2.0 * (gx * tilt[0] + gy * tilt[1])) / w2;
                    let excitation = (-s * s).exp();
                    let form = (-(gl / (0.25 * nf)).powi(2)).exp();
                    let xi = 0.8 + 0.6 * gl / len;
                    let mut i = BF_DOSE * BRAGG * form * (PI * t / xi).sin().powi(2) * excitation;
                    if !g.hexagonal && (h + k) % 2 != 0 {
                        i *= 0.05 * t * t;
                    }
                    if i > 1e-4 {
                        add_disk(lambda, n, cx + gx, cy + gy, radius, i);
                    }
                }
            }
        }
        // ADF-hole shadow (only the faint spray around it), bore shadow and dead outer pixels.
        let border = 2.min(n / 4);
        let hole = HOLE_RADIUS * nf;
        let spray = t.map_or(0.0, |t| SPRAY * t) as f32;
        for py in 0..n {
            let dy = py as f64 + 0.5 - nf / 2.0;
            for px in 0..n {
                let dx = px as f64 + 0.5 - nf / 2.0;
                let r2 = dx * dx + dy * dy;
                let edge = py < border || px < border || py >= n - border || px >= n - border;
                let l = &mut lambda[py * n + px];
                if edge || r2 > active * active {
                    *l = 0.0;
                } else if r2 > hole * hole {
                    *l = spray;
                }
            }
        }
    }

    /// One frame of counts: Poisson(λ) per pixel, stray events, 12-bit clip.
    pub fn frame_counts(&self, key: u64, uv: [f64; 2], counts: &mut [u16]) {
        let mut lambda = vec![0f32; self.n * self.n];
        self.expected(uv, &mut lambda);
        for (i, (c, &l)) in counts.iter_mut().zip(&lambda).enumerate() {
            *c = if l > 0.0 {
                Stream::new(key, i as u64)
                    .poisson(l as f64)
                    .min(COUNTER_MAX as u64) as u16
            } else {
                0
            };
        }
        // Stray event: drawn from a stream index past the pixels.
        let mut s = Stream::new(key, (self.n * self.n) as u64);
        if s.uniform() < ZINGER_RATE {
            let p = (s.uniform() * counts.len() as f64) as usize % counts.len();
            let deposit = 500.0 + 3550.0 * s.uniform().sqrt();
            counts[p] = (counts[p] as f64 + deposit).min(COUNTER_MAX as f64) as u16;
        }
    }
}

/// Add a uniform disk of `value` counts per pixel, with a one-pixel antialiased rim.
fn add_disk(lambda: &mut [f32], n: usize, cx: f64, cy: f64, radius: f64, value: f64) {
    let y0 = (cy - radius - 1.0).floor().max(0.0) as usize;
    let y1 = ((cy + radius + 1.0).ceil().max(0.0) as usize).min(n);
    let x0 = (cx - radius - 1.0).floor().max(0.0) as usize;
    let x1 = ((cx + radius + 1.0).ceil().max(0.0) as usize).min(n);
    for py in y0..y1 {
        let dy = py as f64 + 0.5 - cy;
        for px in x0..x1 {
            let dx = px as f64 + 0.5 - cx;
            let cover = (radius + 0.5 - (dx * dx + dy * dy).sqrt()).clamp(0.0, 1.0);
            lambda[py * n + px] += (value * cover) as f32;
        }
    }
}

/// Mean over `b×b` blocks of an `n×n` frame of counts, as the study binned (`f32`; exact, since
/// a mean of at most 16 counts below 4096 is a short binary fraction).
pub fn bin_mean(counts: &[u16], n: usize, b: usize, out: &mut [f32]) {
    let m = n / b;
    let scale = 1.0 / (b * b) as f32;
    for oy in 0..m {
        for ox in 0..m {
            let mut sum = 0u32;
            for y in oy * b..(oy + 1) * b {
                for x in ox * b..(ox + 1) * b {
                    sum += counts[y * n + x] as u32;
                }
            }
            out[oy * m + ox] = sum as f32 * scale;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vacuum_frames_hold_only_the_bright_field_disk() {
        let m = DiffModel::new(256, 1).unwrap();
        let mut l = vec![0f32; 256 * 256];
        m.expected([0.5, 0.01], &mut l);
        let lit = l.iter().filter(|&&x| x > 0.0).count() as f64;
        let disk = std::f64::consts::PI * (DISK_RADIUS * 256.0).powi(2);
        assert!(
            (lit / disk - 1.0).abs() < 0.1,
            "{lit} lit pixels vs disk {disk}"
        );
    }

    #[test]
    fn binning_is_the_block_mean() {
        let counts: Vec<u16> = (0..16).collect();
        let mut out = [0f32; 4];
        bin_mean(&counts, 4, 2, &mut out);
        assert_eq!(out, [2.5, 4.5, 10.5, 12.5]);
    }
}
