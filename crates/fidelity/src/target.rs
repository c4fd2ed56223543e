//! Inference targets (`--keep`), the detector geometry they need, and their masks on any
//! (reduced) detector grid.
//!
//! **Conventions (py4DSTEM 0.14.18).** A detector pixel `(i, j)` (row, column = py4DSTEM's
//! `(qx, qy)`) has its centre at the integer coordinates `(i, j)`. A disk of centre `c` and
//! radius `r` holds the pixels with `|p − c|² < r²` (`make_detector` mode `circle`); an annulus
//! `r_i² < |p − c|² < r_o²` (mode `annular`, both strict). Centre of mass is
//! `Σ I·(i, j) / Σ I` over the whole frame (`py4DSTEM.process.utils.get_CoM`, and the
//! unmasked `com_measured` of the phase classes); our `com_y` is py4DSTEM's `x`, `com_x` its
//! `y`. On a reduced grid a pixel's centre is mapped to original coordinates (a bin of `b`
//! pixels starting at `s` has centre `s + (b − 1)/2`) and the same rules apply.
//!
//! **Bright-field disk from the mean pattern** ([`find_disk`]): py4DSTEM's `get_probe_size`
//! algorithm, reimplemented from its description: threshold the pattern at 100 levels from 1 %
//! to 99 % of its maximum; each level's pixel count gives a radius `√(n/π)`; the levels where
//! that radius is flat (`0 ≥ dr ≥ 2·median(dr)`, `dr` the central-difference gradient) are
//! trusted; the radius is their mean and the centre is the centre of mass of the pattern above
//! their mean threshold.
//!
//! **Annular dark-field defaults**: the same centre, inner radius `1.5·r_BF` (clear of the
//! disk's edge), outer radius `min(3·r_BF, distance from the centre to the nearest detector
//! edge)`.

use crate::{FidelityError, Result};
use serde::Serialize;
use std::fmt;

/// One quantity a user wants to keep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Target {
    /// Virtual bright-field image: the sum under the bright-field disk.
    Vbf,
    /// Virtual annular dark-field image: the sum under the annulus.
    Vadf,
    /// Centre-of-mass maps (row, column) in original detector pixels.
    Com,
    /// The mean diffraction pattern.
    Mean,
    /// Total counts per scan position.
    Sum,
    /// The summed spectrum (EELS: the sum of every position's `1 × E` frame).
    Spectrum,
    /// An energy-window image: the sum of channels `lo ≤ e < hi` (pixel centres) per position.
    Window { lo: f64, hi: f64 },
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Vbf => f.write_str("vbf"),
            Target::Vadf => f.write_str("vadf"),
            Target::Com => f.write_str("com"),
            Target::Mean => f.write_str("mean"),
            Target::Sum => f.write_str("sum"),
            Target::Spectrum => f.write_str("spectrum"),
            Target::Window { lo, hi } => write!(f, "eels-window={lo}:{hi}"),
        }
    }
}

impl Target {
    /// Whether the target is a masked sum per position (needs a mask on each grid).
    pub fn is_masked(&self) -> bool {
        matches!(self, Target::Vbf | Target::Vadf | Target::Window { .. })
    }
}

/// The targets to keep, in the order given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Keep(pub Vec<Target>);

impl Keep {
    /// Parse `vbf,vadf,com,mean,sum,spectrum,eels-window=LO:HI` (any subset, any order).
    pub fn parse(s: &str) -> Result<Keep> {
        let mut out: Vec<Target> = Vec::new();
        for item in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let t = match item.to_ascii_lowercase().as_str() {
                "vbf" => Target::Vbf,
                "vadf" => Target::Vadf,
                "com" => Target::Com,
                "mean" => Target::Mean,
                "sum" => Target::Sum,
                "spectrum" => Target::Spectrum,
                other => match other.strip_prefix("eels-window=") {
                    Some(range) => {
                        let (lo, hi) = parse_range(range).ok_or_else(|| {
                            FidelityError::invalid(format!(
                                "--keep: `{item}` is not eels-window=LO:HI with LO < HI channel indices"
                            ))
                        })?;
                        Target::Window { lo, hi }
                    }
                    None => {
                        return Err(FidelityError::invalid(format!(
                            "--keep: unknown target `{item}`; valid: vbf, vadf, com, mean, sum, \
                             spectrum, eels-window=LO:HI"
                        )))
                    }
                },
            };
            if !out.contains(&t) {
                out.push(t);
            }
        }
        if out.is_empty() {
            return Err(FidelityError::invalid("--keep: no target given"));
        }
        Ok(Keep(out))
    }

    /// The default for a cube: a spectrum image (`det_y == 1`) keeps `spectrum,sum`; a
    /// diffraction cube `vbf,vadf,com,mean,sum`.
    pub fn default_for(det: [usize; 2]) -> Keep {
        if det[0] == 1 {
            Keep(vec![Target::Spectrum, Target::Sum])
        } else {
            Keep(vec![
                Target::Vbf,
                Target::Vadf,
                Target::Com,
                Target::Mean,
                Target::Sum,
            ])
        }
    }

    pub fn needs_disk(&self) -> bool {
        self.0
            .iter()
            .any(|t| matches!(t, Target::Vbf | Target::Vadf))
    }

    /// The masked targets, in order: the columns of a per-position value vector.
    pub fn masked(&self) -> Vec<Target> {
        self.0.iter().copied().filter(Target::is_masked).collect()
    }

    pub fn contains(&self, t: Target) -> bool {
        self.0.contains(&t)
    }

    /// Check the targets make sense for a detector of `det` pixels.
    pub fn check(&self, det: [usize; 2]) -> Result<()> {
        for t in &self.0 {
            match t {
                Target::Vbf | Target::Vadf if det[0] == 1 => {
                    return Err(FidelityError::invalid(format!(
                        "--keep {t}: a virtual detector needs a 2D diffraction pattern, this cube \
                         is a spectrum image (det_y = 1)"
                    )))
                }
                Target::Window { hi, .. } if *hi > det[1] as f64 => {
                    return Err(FidelityError::invalid(format!(
                        "--keep {t}: the window ends beyond the {} channels",
                        det[1]
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl fmt::Display for Keep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.0.iter().map(|t| t.to_string()).collect();
        f.write_str(&names.join(","))
    }
}

fn parse_range(s: &str) -> Option<(f64, f64)> {
    let (a, b) = s.split_once(':')?;
    let (lo, hi): (f64, f64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (lo.is_finite() && hi.is_finite() && lo >= 0.0 && lo < hi).then_some((lo, hi))
}

/// Where the virtual detectors sit, in original detector pixels (row, column).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Geometry {
    pub centre: (f64, f64),
    pub bf_radius: f64,
    pub adf_inner: f64,
    pub adf_outer: f64,
    /// How the disk was obtained: `given` or `mean pattern`.
    pub source: &'static str,
}

impl Geometry {
    /// Defaults around a disk (see the module doc).
    pub fn around_disk(
        centre: (f64, f64),
        r: f64,
        det: [usize; 2],
        source: &'static str,
    ) -> Geometry {
        let edge = [
            centre.0,
            centre.1,
            det[0] as f64 - 1.0 - centre.0,
            det[1] as f64 - 1.0 - centre.1,
        ]
        .into_iter()
        .fold(f64::INFINITY, f64::min);
        Geometry {
            centre,
            bf_radius: r,
            adf_inner: 1.5 * r,
            adf_outer: (3.0 * r).min(edge),
            source,
        }
    }

    /// Check the radii; the annulus only when `vadf` is kept (`need_adf`).
    pub fn check(&self, need_adf: bool) -> Result<()> {
        if self.bf_radius.is_nan() || self.bf_radius <= 0.0 {
            return Err(FidelityError::invalid(format!(
                "bright-field radius {} must be positive",
                self.bf_radius
            )));
        }
        if need_adf
            && (self.adf_outer.is_nan()
                || self.adf_inner.is_nan()
                || self.adf_outer <= self.adf_inner
                || self.adf_inner < 0.0)
        {
            return Err(FidelityError::invalid(format!(
                "annular dark-field radii {}..{} are empty (the disk is too close to the detector \
                 edge for the defaults); give --adf RI,RO",
                self.adf_inner, self.adf_outer
            )));
        }
        Ok(())
    }
}

/// A detector grid: the original one, or a crop and bin of it. Pixel `(i, j)` of the grid covers
/// original rows `y0 + by·i .. +by` and columns `x0 + bx·j .. +bx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Grid {
    pub y0: usize,
    pub x0: usize,
    pub by: usize,
    pub bx: usize,
    pub ny: usize,
    pub nx: usize,
}

impl Grid {
    pub fn full(det: [usize; 2]) -> Grid {
        Grid {
            y0: 0,
            x0: 0,
            by: 1,
            bx: 1,
            ny: det[0],
            nx: det[1],
        }
    }

    pub fn len(&self) -> usize {
        self.ny * self.nx
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Centre of grid pixel `(i, j)` in original detector coordinates.
    pub fn centre(&self, i: usize, j: usize) -> (f64, f64) {
        (
            self.y0 as f64 + (self.by * i) as f64 + (self.by as f64 - 1.0) / 2.0,
            self.x0 as f64 + (self.bx * j) as f64 + (self.bx as f64 - 1.0) / 2.0,
        )
    }

    /// Indices of the grid pixels whose centre is inside `target`'s detector.
    pub fn mask(&self, target: Target, g: Option<&Geometry>) -> Vec<u32> {
        let mut out = Vec::new();
        for i in 0..self.ny {
            for j in 0..self.nx {
                let (y, x) = self.centre(i, j);
                let inside = match (target, g) {
                    (Target::Vbf, Some(g)) => {
                        let d2 = (y - g.centre.0).powi(2) + (x - g.centre.1).powi(2);
                        d2 < g.bf_radius * g.bf_radius
                    }
                    (Target::Vadf, Some(g)) => {
                        let d2 = (y - g.centre.0).powi(2) + (x - g.centre.1).powi(2);
                        d2 > g.adf_inner * g.adf_inner && d2 < g.adf_outer * g.adf_outer
                    }
                    (Target::Window { lo, hi }, _) => x >= lo && x < hi,
                    _ => false,
                };
                if inside {
                    out.push((i * self.nx + j) as u32);
                }
            }
        }
        out
    }

    /// Whether `mask` on this grid covers exactly the same original pixels as `full_mask` on the
    /// original grid (`det` wide): then a summed bin under it is exact.
    pub fn mask_is_aligned(&self, mask: &[u32], full_mask: &[u32], det_x: usize) -> bool {
        let mut covered: Vec<u32> = Vec::with_capacity(mask.len() * self.by * self.bx);
        for &k in mask {
            let (i, j) = (k as usize / self.nx, k as usize % self.nx);
            for a in 0..self.by {
                for b in 0..self.bx {
                    let y = self.y0 + self.by * i + a;
                    let x = self.x0 + self.bx * j + b;
                    covered.push((y * det_x + x) as u32);
                }
            }
        }
        covered.sort_unstable();
        covered == full_mask
    }
}

/// The bright-field disk `(centre (row, col), radius)` of a pattern, by py4DSTEM's
/// `get_probe_size` algorithm (module doc). `None` when the pattern has no disk to find.
pub fn find_disk(dp: &[f64], det: [usize; 2]) -> Option<((f64, f64), f64)> {
    const N: usize = 100;
    let (lo, hi) = (0.01f64, 0.99f64);
    let max = dp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max.is_nan() || max <= 0.0 {
        return None;
    }
    // numpy.linspace: start + i·step, the last value exactly `stop`.
    let step = (hi - lo) / (N - 1) as f64;
    let thresh: Vec<f64> = (0..N)
        .map(|i| if i == N - 1 { hi } else { lo + i as f64 * step })
        .collect();
    let r: Vec<f64> = thresh
        .iter()
        .map(|t| {
            let n = dp.iter().filter(|&&v| v > max * t).count();
            (n as f64 / std::f64::consts::PI).sqrt()
        })
        .collect();
    // numpy.gradient: central differences inside, one-sided at the ends.
    let dr: Vec<f64> = (0..N)
        .map(|i| match i {
            0 => r[1] - r[0],
            i if i == N - 1 => r[N - 1] - r[N - 2],
            i => (r[i + 1] - r[i - 1]) / 2.0,
        })
        .collect();
    let mut sorted = dr.clone();
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[N / 2 - 1] + sorted[N / 2]) / 2.0;
    let sel: Vec<usize> = (0..N)
        .filter(|&i| dr[i] <= 0.0 && dr[i] >= 2.0 * median)
        .collect();
    if sel.is_empty() {
        return None;
    }
    let radius = sel.iter().map(|&i| r[i]).sum::<f64>() / sel.len() as f64;
    let t = sel.iter().map(|&i| thresh[i]).sum::<f64>() / sel.len() as f64;
    let (mut s, mut sy, mut sx) = (0.0, 0.0, 0.0);
    for i in 0..det[0] {
        for j in 0..det[1] {
            let v = dp[i * det[1] + j];
            if v > max * t {
                s += v;
                sy += v * i as f64;
                sx += v * j as f64;
            }
        }
    }
    (s > 0.0 && radius > 0.0).then(|| ((sy / s, sx / s), radius))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_parses_every_target_and_rejects_unknown_ones() {
        let k = Keep::parse("vbf, com,eels-window=10:20,vbf").unwrap();
        assert_eq!(
            k.0,
            vec![
                Target::Vbf,
                Target::Com,
                Target::Window { lo: 10.0, hi: 20.0 }
            ]
        );
        assert!(Keep::parse("vbf,haadf").is_err());
        assert!(Keep::parse("eels-window=20:10").is_err());
        assert!(Keep::parse("").is_err());
    }

    #[test]
    fn disk_mask_excludes_pixels_exactly_on_the_radius() {
        let g = Geometry::around_disk((4.0, 4.0), 2.0, [9, 9], "given");
        let m = Grid::full([9, 9]).mask(Target::Vbf, Some(&g));
        // Distance exactly 2 (e.g. (4, 6)) is outside: py4DSTEM's strict `<`.
        assert!(!m.contains(&(4 * 9 + 6)));
        assert!(m.contains(&(4 * 9 + 5)));
        assert_eq!(m.len(), 9); // 1 + 4 at distance 1 + 4 at distance √2
    }

    #[test]
    fn find_disk_recovers_a_uniform_disk() {
        let det = [64, 64];
        let mut dp = vec![0.0; 64 * 64];
        for i in 0..64 {
            for j in 0..64 {
                let d2 = (i as f64 - 30.0).powi(2) + (j as f64 - 33.0).powi(2);
                if d2 < 100.0 {
                    dp[i * 64 + j] = 1000.0;
                } else {
                    dp[i * 64 + j] = 1.0 / (1.0 + d2);
                }
            }
        }
        let ((cy, cx), r) = find_disk(&dp, det).unwrap();
        assert!(
            (cy - 30.0).abs() < 1e-9 && (cx - 33.0).abs() < 1e-9,
            "{cy} {cx}"
        );
        assert!((r - 10.0).abs() < 0.2, "{r}");
        assert!(find_disk(&[0.0; 16], [4, 4]).is_none());
    }
}
