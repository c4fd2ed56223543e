//! Equation 1: the compression ratio as a power law of sparsity, C = a·s^b + c, with s the
//! sparsity *fraction* (0–1; the percentage does not reproduce the published a, b, c).
//!
//! The study fitted the best ratios *as printed in the paper*, rounded to two decimals (with
//! the unrounded sparsity): only that reproduces its a = 49.91, b = 6.908, c = 5.001 (the
//! unrounded ratios give a = 49.910, b = 6.905, c = 4.995 — the valley is flat, b ± 1.5).
//! [`equation1_points`] builds the points either way.
//!
//! Least squares in three steps: (1) a grid over b where a and c are linear, solved in closed
//! form — a start that cannot land in a wrong basin; (2) argmin's Nelder–Mead on the sum of
//! squares; (3) a few Gauss–Newton steps to polish, whose (JᵀJ)⁻¹ also gives the standard
//! errors `sqrt(s² · diag((JᵀJ)⁻¹))` with `s² = SSE / (n − 3)`.

use crate::{AnalysisError, Result};
use argmin::core::{CostFunction, Executor};
use argmin::solver::neldermead::NelderMead;
use serde::Serialize;

/// The fitted Equation 1 with its uncertainties.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerLawFit {
    pub a: f64,
    pub b: f64,
    pub c: f64,
    /// Standard errors of a, b, c; NaN with fewer than four points.
    pub se_a: f64,
    pub se_b: f64,
    pub se_c: f64,
    pub r_squared: f64,
    /// The fitted points (sparsity fraction, ratio).
    pub points: Vec<(f64, f64)>,
}

impl PowerLawFit {
    /// C(s) of the fitted curve.
    pub fn eval(&self, s: f64) -> f64 {
        self.a * s.powf(self.b) + self.c
    }
}

/// The (sparsity fraction, best ratio) points of Equation 1 from Table 3 rows, the ratio
/// rounded to `ratio_decimals` when given (the study: `Some(2)`).
pub fn equation1_points(
    rows: &[crate::tables::Table3Row],
    ratio_decimals: Option<i32>,
) -> Vec<(f64, f64)> {
    rows.iter()
        .map(|r| {
            let y = match ratio_decimals {
                Some(d) => {
                    let k = 10f64.powi(d);
                    (r.best_ratio * k).round() / k
                }
                None => r.best_ratio,
            };
            (r.sparsity_pct / 100.0, y)
        })
        .collect()
}

/// The rounding of ratios the study applied before fitting Equation 1.
pub const STUDY_RATIO_DECIMALS: Option<i32> = Some(2);

struct Sse<'a>(&'a [(f64, f64)]);

impl CostFunction for Sse<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        Ok(sse(self.0, p[0], p[1], p[2]))
    }
}

fn sse(pts: &[(f64, f64)], a: f64, b: f64, c: f64) -> f64 {
    pts.iter()
        .map(|&(s, y)| {
            let r = y - (a * s.powf(b) + c);
            r * r
        })
        .sum()
}

/// For fixed b, the least-squares a and c (linear regression of y on s^b).
fn linear_ac(pts: &[(f64, f64)], b: f64) -> Option<(f64, f64)> {
    let n = pts.len() as f64;
    let xs: Vec<f64> = pts.iter().map(|&(s, _)| s.powf(b)).collect();
    let mx = xs.iter().sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let sxy: f64 = xs.iter().zip(pts).map(|(x, p)| (x - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 || !sxx.is_finite() {
        return None;
    }
    let a = sxy / sxx;
    Some((a, my - a * mx))
}

/// Inverse of a symmetric 3×3 matrix; `None` when singular.
fn inv3(m: [[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let c =
        |r0: usize, r1: usize, c0: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    let det = m[0][0] * c(1, 2, 1, 2) - m[0][1] * c(1, 2, 0, 2) + m[0][2] * c(1, 2, 0, 1);
    if det.abs() < 1e-300 || !det.is_finite() {
        return None;
    }
    let adj = [
        [c(1, 2, 1, 2), -c(0, 2, 1, 2), c(0, 1, 1, 2)],
        [-c(1, 2, 0, 2), c(0, 2, 0, 2), -c(0, 1, 0, 2)],
        [c(1, 2, 0, 1), -c(0, 2, 0, 1), c(0, 1, 0, 1)],
    ];
    Some(adj.map(|row| row.map(|v| v / det)))
}

/// (JᵀJ, Jᵀr) at p, J the Jacobian of the model with respect to (a, b, c).
fn normal_equations(pts: &[(f64, f64)], p: [f64; 3]) -> ([[f64; 3]; 3], [f64; 3]) {
    let mut jtj = [[0.0; 3]; 3];
    let mut jtr = [0.0; 3];
    for &(s, y) in pts {
        let sb = s.powf(p[1]);
        let j = [sb, p[0] * sb * s.ln(), 1.0];
        let r = y - (p[0] * sb + p[2]);
        for i in 0..3 {
            jtr[i] += j[i] * r;
            for k in 0..3 {
                jtj[i][k] += j[i] * j[k];
            }
        }
    }
    (jtj, jtr)
}

/// Fit C = a·s^b + c to (sparsity fraction, ratio) points. Needs at least three points with
/// sparsity in (0, 1).
pub fn fit_power_law(points: &[(f64, f64)]) -> Result<PowerLawFit> {
    if points.len() < 3 {
        return Err(AnalysisError::Fit(format!(
            "need at least 3 points, have {}",
            points.len()
        )));
    }
    if points
        .iter()
        .any(|&(s, y)| !(s > 0.0 && s < 1.0 && y.is_finite()))
    {
        return Err(AnalysisError::Fit(
            "sparsity must lie strictly between 0 and 1 and ratios must be finite".into(),
        ));
    }
    // (1) Grid start over b in (0, 30].
    let mut start: Option<(f64, [f64; 3])> = None;
    for i in 1..=3000 {
        let b = i as f64 * 0.01;
        if let Some((a, c)) = linear_ac(points, b) {
            let e = sse(points, a, b, c);
            if e.is_finite() && start.is_none_or(|(best, _)| e < best) {
                start = Some((e, [a, b, c]));
            }
        }
    }
    let (_, p0) = start.ok_or_else(|| AnalysisError::Fit("no finite starting point".into()))?;
    // (2) Nelder–Mead from a simplex around the start.
    let simplex: Vec<Vec<f64>> = (0..4)
        .map(|k| {
            let mut v = p0.to_vec();
            if k > 0 {
                v[k - 1] += 0.05 * v[k - 1].abs().max(0.1);
            }
            v
        })
        .collect();
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(1e-15)
        .map_err(|e| AnalysisError::Fit(e.to_string()))?;
    let res = Executor::new(Sse(points), solver)
        .configure(|s| s.max_iters(20_000))
        .run()
        .map_err(|e| AnalysisError::Fit(e.to_string()))?;
    let best = res
        .state()
        .best_param
        .clone()
        .ok_or_else(|| AnalysisError::Fit("Nelder–Mead returned no parameters".into()))?;
    let mut p = [best[0], best[1], best[2]];
    // (3) Gauss–Newton polish, accepting a step only when it lowers the sum of squares.
    for _ in 0..50 {
        let (jtj, jtr) = normal_equations(points, p);
        let Some(inv) = inv3(jtj) else { break };
        let step: [f64; 3] = std::array::from_fn(|i| (0..3).map(|k| inv[i][k] * jtr[k]).sum());
        let q = [p[0] + step[0], p[1] + step[1], p[2] + step[2]];
        if sse(points, q[0], q[1], q[2]) < sse(points, p[0], p[1], p[2]) {
            p = q;
        } else {
            break;
        }
    }
    let e = sse(points, p[0], p[1], p[2]);
    let n = points.len() as f64;
    let my = points.iter().map(|q| q.1).sum::<f64>() / n;
    let sst: f64 = points.iter().map(|q| (q.1 - my) * (q.1 - my)).sum();
    let (jtj, _) = normal_equations(points, p);
    let se = match inv3(jtj) {
        Some(inv) if points.len() > 3 => {
            let s2 = e / (n - 3.0);
            [0, 1, 2].map(|i| (s2 * inv[i][i]).sqrt())
        }
        _ => [f64::NAN; 3],
    };
    Ok(PowerLawFit {
        a: p[0],
        b: p[1],
        c: p[2],
        se_a: se[0],
        se_b: se[1],
        se_c: se[2],
        r_squared: 1.0 - e / sst,
        points: points.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_an_exact_power_law() {
        let pts: Vec<(f64, f64)> = [0.3, 0.5, 0.6, 0.7, 0.8, 0.9]
            .iter()
            .map(|&s| (s, 20.0 * f64::powf(s, 3.0) + 2.0))
            .collect();
        let f = fit_power_law(&pts).unwrap();
        assert!((f.a - 20.0).abs() < 1e-6, "{f:?}");
        assert!((f.b - 3.0).abs() < 1e-6, "{f:?}");
        assert!((f.c - 2.0).abs() < 1e-6, "{f:?}");
        assert!(f.r_squared > 1.0 - 1e-12);
    }

    #[test]
    fn rejects_sparsity_outside_the_open_unit_interval() {
        assert!(fit_power_law(&[(0.0, 1.0), (0.5, 2.0), (0.7, 3.0)]).is_err());
        assert!(fit_power_law(&[(0.5, 2.0), (0.7, 3.0)]).is_err());
    }
}
