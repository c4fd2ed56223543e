//! The streaming evaluation: every kept target on the full data and on every candidate, in one
//! pass over blocks of whole scan rows, then each candidate's error against the full data.
//!
//! **Pass.** Blocks of whole scan rows (a multiple of every scan bin, at most
//! [`BLOCK_BYTES`] unless one bin of rows is larger) are read in order. Within a block, output
//! positions are processed in parallel (rayon): for scan bin `s` the `s × s` source frames are
//! summed in float64, binned once per distinct detector grid, turned into the values the
//! reduced cube would store ([`crate::reduce::stored_values`]: the float32 rounding of a mean
//! included) and reduced to the per-position targets (masked sums, total counts, first moments)
//! and the summed pattern. Memory: one block, plus per-position target vectors (a few floats
//! per position per candidate) and one pattern per candidate.
//!
//! **Mapping back and errors.** A reduced per-position value `C` of a candidate with count
//! factor `k` (1 for sums, the number of averaged values for means) and scan bin `s` stands for
//! `C·k/s²` counts at each of the `s × s` original positions it covers; positions dropped by a
//! scan remainder are not compared. A reduced pattern value stands for `k/(b_y·b_x)` of itself at
//! each original pixel of its bin, zero outside the crop. Images and patterns report the
//! relative RMS error `‖M − F‖₂ / ‖F‖₂` and the relative max error `max|M − F| / max|F|`; the
//! centre of mass reports the RMS and the max of the per-position distance `|Δ(com_y, com_x)|`
//! in original detector pixels (positions with no counts in both are skipped). An error is
//! *exact* when every compared value is bitwise equal (which float64 sums of integers make
//! true for a summed bin under a bin-aligned mask).

use crate::reduce::{add_values, bin_sums, stored_values, Reduction};
use crate::target::{Geometry, Grid, Keep, Target};
use crate::{FidelityError, Result};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use stemz_data::{CubeReader, DType, Hyperslab, Shape4};

/// Source bytes per block of the pass.
pub const BLOCK_BYTES: usize = 64 << 20;

/// One target's error for one candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetError {
    pub target: String,
    /// Relative RMS error (images, patterns) or RMS distance in pixels (`com`).
    pub rms: f64,
    /// Relative max error, or max distance in pixels (`com`).
    pub max: f64,
    /// `relative` or `px`.
    pub unit: &'static str,
    /// Every compared value bitwise equal.
    pub exact: bool,
}

/// A candidate's shape and errors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateErrors {
    pub reduction: Reduction,
    pub label: String,
    pub shape: Shape4,
    pub dtype: DType,
    pub raw_bytes: u64,
    pub errors: Vec<TargetError>,
}

impl CandidateErrors {
    /// The worst error as a fraction of its tolerance (`rms / tol`, CoM `rms / com_tol`):
    /// `≤ 1` means every kept target is within tolerance.
    pub fn worst_fraction(&self, tol: f64, com_tol: f64) -> f64 {
        self.errors
            .iter()
            .map(|e| {
                let t = if e.unit == "px" { com_tol } else { tol };
                if e.rms == 0.0 {
                    0.0
                } else {
                    e.rms / t
                }
            })
            .fold(0.0, f64::max)
    }
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub shape: Shape4,
    pub dtype: DType,
    pub raw_bytes: u64,
    pub keep: Keep,
    pub geometry: Option<Geometry>,
    pub candidates: Vec<CandidateErrors>,
}

/// Targets of one side (the full data, or one candidate) accumulated over the pass.
struct Side {
    reduction: Reduction,
    grid: Grid,
    masks: Vec<Vec<u32>>,
    scan: [usize; 2],
    out_dtype: DType,
    per_bin: usize,
    /// Per position: masked sums, then total, then Σ v·row, Σ v·col (original coordinates).
    vals: Vec<f64>,
    pattern: Vec<f64>,
}

impl Side {
    fn new(
        reduction: Reduction,
        shape: Shape4,
        dtype: DType,
        masked: &[Target],
        geometry: Option<&Geometry>,
    ) -> Side {
        let det = [shape[2], shape[3]];
        let grid = reduction.grid(det);
        let out = reduction.out_shape(shape);
        let nv = masked.len() + 3;
        Side {
            reduction,
            grid,
            masks: masked.iter().map(|&t| grid.mask(t, geometry)).collect(),
            scan: [out[0], out[1]],
            out_dtype: reduction.out_dtype(dtype, det),
            per_bin: reduction.values_per_bin(det),
            vals: vec![0.0; out[0] * out[1] * nv],
            pattern: vec![0.0; grid.len()],
        }
    }
}

/// The summed pattern of every frame (one streaming pass), for finding the disk.
pub fn summed_pattern(reader: &mut dyn CubeReader) -> Result<Vec<f64>> {
    let shape = reader.shape();
    let dtype = reader.dtype();
    let frame = shape[2] * shape[3];
    let mut total = vec![0.0f64; frame];
    let mut buf = Vec::new();
    for slab in Hyperslab::frame_blocks(shape, dtype.itemsize(), BLOCK_BYTES) {
        buf.resize(slab.len() * dtype.itemsize(), 0u8);
        reader.read_slab(&slab, &mut buf)?;
        let fb = frame * dtype.itemsize();
        let part = buf
            .par_chunks(fb.max(1))
            .fold(
                || vec![0.0f64; frame],
                |mut acc, f| {
                    add_values(dtype, f, &mut acc);
                    acc
                },
            )
            .reduce(
                || vec![0.0f64; frame],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        total.iter_mut().zip(&part).for_each(|(x, y)| *x += y);
    }
    Ok(total)
}

/// The smallest box aligned to `align` (and clipped to the detector) holding every kept masked
/// target's support; `None` when nothing is masked or the box is the whole detector.
pub fn support_crop(
    det: [usize; 2],
    keep: &Keep,
    geometry: Option<&Geometry>,
    align: usize,
) -> Option<crate::Crop> {
    let grid = Grid::full(det);
    let (mut y0, mut y1, mut x0, mut x1) = (usize::MAX, 0, usize::MAX, 0);
    for t in keep.masked() {
        for k in grid.mask(t, geometry) {
            let (y, x) = (k as usize / det[1], k as usize % det[1]);
            y0 = y0.min(y);
            y1 = y1.max(y + 1);
            x0 = x0.min(x);
            x1 = x1.max(x + 1);
        }
    }
    if y1 == 0 {
        return None;
    }
    let a = align.max(1);
    let (ay, ax) = if det[0] == 1 { (1, a) } else { (a, a) };
    let down = |v: usize, a: usize| v / a * a;
    let up = |v: usize, a: usize, lim: usize| (v.div_ceil(a) * a).min(down(lim, a));
    let crop = crate::Crop {
        y0: down(y0, ay),
        y1: up(y1, ay, det[0]).max(down(y0, ay) + ay),
        x0: down(x0, ax),
        x1: up(x1, ax, det[1]).max(down(x0, ax) + ax),
    };
    let whole = crop.y0 == 0 && crop.x0 == 0 && crop.y1 >= det[0] && crop.x1 >= det[1];
    (!whole && crop.y1 <= det[0] && crop.x1 <= det[1]).then_some(crop)
}

/// The candidate set: detector bins × {sum, mean} × {no crop, support crop} × scan bins; the
/// identity (`full`) first. Bins that leave fewer than 2 pixels per axis are skipped.
pub fn candidates(
    shape: Shape4,
    keep: &Keep,
    geometry: Option<&Geometry>,
    bins: &[usize],
    scan_bins: &[usize],
    with_crop: bool,
) -> Vec<Reduction> {
    let det = [shape[2], shape[3]];
    let bmax = bins.iter().copied().max().unwrap_or(1);
    let crop = if with_crop {
        support_crop(det, keep, geometry, bmax)
    } else {
        None
    };
    let mut out = Vec::new();
    let crops: Vec<Option<crate::Crop>> = match crop {
        Some(c) => vec![None, Some(c)],
        None => vec![None],
    };
    for &s in scan_bins {
        for &c in &crops {
            for &b in bins {
                for agg in [crate::Agg::Sum, crate::Agg::Mean] {
                    let r = Reduction {
                        crop: c,
                        bin: b,
                        agg,
                        scan_bin: s,
                    };
                    if agg == crate::Agg::Mean && r.values_per_bin(det) == 1 {
                        continue;
                    }
                    let g = r.grid(det);
                    let min_px = if det[0] == 1 { g.nx } else { g.nx.min(g.ny) };
                    if r.check(shape).is_err() || min_px < 2 || out.contains(&r) {
                        continue;
                    }
                    out.push(r);
                }
            }
        }
    }
    out
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Per-task accumulator: one pattern per side, and the per-position values computed.
struct Acc {
    patterns: Vec<Vec<f64>>,
    entries: Vec<(usize, usize, Vec<f64>)>,
}

/// Compute every kept target on the full data and on every candidate in one pass, and the
/// candidates' errors.
pub fn evaluate(
    reader: &mut dyn CubeReader,
    keep: &Keep,
    geometry: Option<Geometry>,
    reductions: &[Reduction],
) -> Result<Evaluation> {
    let shape = reader.shape();
    let dtype = reader.dtype();
    let det = [shape[2], shape[3]];
    keep.check(det)?;
    if keep.needs_disk() && geometry.is_none() {
        return Err(FidelityError::invalid(
            "vbf/vadf need a detector geometry (found from the mean pattern or given)",
        ));
    }
    if shape.contains(&0) {
        return Err(FidelityError::invalid(format!(
            "the cube {shape:?} is empty"
        )));
    }
    for r in reductions {
        r.check(shape)?;
    }
    let masked = keep.masked();
    let nv = masked.len() + 3;
    let g = geometry.as_ref();
    let mut sides = vec![Side::new(Reduction::identity(), shape, dtype, &masked, g)];
    for r in reductions {
        sides.push(Side::new(*r, shape, dtype, &masked, g));
    }
    let mut scan_bins: Vec<usize> = sides.iter().map(|s| s.reduction.scan_bin).collect();
    scan_bins.sort_unstable();
    scan_bins.dedup();
    let lcm = scan_bins.iter().fold(1, |a, &b| a / gcd(a, b) * b);
    let frame_bytes = det[0] * det[1] * dtype.itemsize();
    let row_bytes = frame_bytes * shape[1];
    let rows = ((BLOCK_BYTES / row_bytes.max(1)) / lcm * lcm).max(lcm);
    let mut buf = Vec::new();
    let mut y = 0;
    while y < shape[0] {
        let n = rows.min(shape[0] - y);
        let slab = Hyperslab {
            origin: [y, 0, 0, 0],
            extent: [n, shape[1], det[0], det[1]],
        };
        buf.resize(slab.len() * dtype.itemsize(), 0u8);
        reader.read_slab(&slab, &mut buf)?;
        for &s in &scan_bins {
            let members: Vec<usize> = (0..sides.len())
                .filter(|&i| sides[i].reduction.scan_bin == s)
                .collect();
            let (sy, sx) = (shape[0] / s, shape[1] / s);
            let ys: Vec<usize> = (y / s..((y + n) / s).min(sy)).collect();
            let positions: Vec<(usize, usize)> = ys
                .iter()
                .flat_map(|&yy| (0..sx).map(move |xx| (yy, xx)))
                .collect();
            let view = &sides;
            let buf_ref = &buf;
            let new_acc = || Acc {
                patterns: members
                    .iter()
                    .map(|&i| vec![0.0; view[i].grid.len()])
                    .collect(),
                entries: Vec::new(),
            };
            let acc = positions
                .par_iter()
                .fold(new_acc, |mut acc, &(yy, xx)| {
                    let mut full = vec![0.0f64; det[0] * det[1]];
                    for a in 0..s {
                        for b in 0..s {
                            let row = yy * s + a - y;
                            let idx = row * shape[1] + xx * s + b;
                            add_values(
                                dtype,
                                &buf_ref[idx * frame_bytes..(idx + 1) * frame_bytes],
                                &mut full,
                            );
                        }
                    }
                    let mut sums_by_grid: HashMap<Grid, Vec<f64>> = HashMap::new();
                    for (m, &i) in members.iter().enumerate() {
                        let side = &view[i];
                        let sums = sums_by_grid.entry(side.grid).or_insert_with(|| {
                            let mut v = vec![0.0; side.grid.len()];
                            bin_sums(&full, det, &side.grid, &mut v);
                            v
                        });
                        let mut v = sums.clone();
                        stored_values(&mut v, side.reduction.agg, side.out_dtype, side.per_bin);
                        let mut out = Vec::with_capacity(nv);
                        for mask in &side.masks {
                            out.push(mask.iter().map(|&k| v[k as usize]).sum::<f64>());
                        }
                        let (mut t, mut my, mut mx) = (0.0, 0.0, 0.0);
                        for i in 0..side.grid.ny {
                            for j in 0..side.grid.nx {
                                let val = v[i * side.grid.nx + j];
                                if val != 0.0 {
                                    let (cy, cx) = side.grid.centre(i, j);
                                    t += val;
                                    my += val * cy;
                                    mx += val * cx;
                                }
                            }
                        }
                        out.extend([t, my, mx]);
                        acc.patterns[m]
                            .iter_mut()
                            .zip(&v)
                            .for_each(|(p, q)| *p += q);
                        acc.entries.push((i, yy * sx + xx, out));
                    }
                    acc
                })
                .reduce(new_acc, |mut a, b| {
                    for (p, q) in a.patterns.iter_mut().zip(&b.patterns) {
                        p.iter_mut().zip(q).for_each(|(x, y)| *x += y);
                    }
                    a.entries.extend(b.entries);
                    a
                });
            for (m, &i) in members.iter().enumerate() {
                sides[i]
                    .pattern
                    .iter_mut()
                    .zip(&acc.patterns[m])
                    .for_each(|(x, y)| *x += y);
            }
            for (i, pos, vals) in acc.entries {
                sides[i].vals[pos * nv..(pos + 1) * nv].copy_from_slice(&vals);
            }
        }
        y += n;
    }
    let full = &sides[0];
    let candidates = sides[1..]
        .iter()
        .map(|side| CandidateErrors {
            reduction: side.reduction,
            label: side.reduction.label(),
            shape: side.reduction.out_shape(shape),
            dtype: side.out_dtype,
            raw_bytes: side.reduction.out_shape(shape).iter().product::<usize>() as u64
                * side.out_dtype.itemsize() as u64,
            errors: errors(keep, &masked, full, side, shape),
        })
        .collect();
    Ok(Evaluation {
        shape,
        dtype,
        raw_bytes: reader.nbytes(),
        keep: keep.clone(),
        geometry,
        candidates,
    })
}

/// Relative RMS and max error of `mapped` against `reference`, and whether they are identical.
fn relative(pairs: impl Iterator<Item = (f64, f64)>) -> (f64, f64, bool) {
    let (mut d2, mut r2, mut dmax, mut rmax, mut exact) = (0.0, 0.0, 0.0f64, 0.0f64, true);
    for (m, r) in pairs {
        let d = m - r;
        exact &= m == r;
        d2 += d * d;
        r2 += r * r;
        dmax = dmax.max(d.abs());
        rmax = rmax.max(r.abs());
    }
    let div = |a: f64, b: f64| {
        if a == 0.0 {
            0.0
        } else if b == 0.0 {
            f64::INFINITY
        } else {
            a / b
        }
    };
    (div(d2.sqrt(), r2.sqrt()), div(dmax, rmax), exact)
}

fn errors(
    keep: &Keep,
    masked: &[Target],
    full: &Side,
    side: &Side,
    shape: Shape4,
) -> Vec<TargetError> {
    let nv = masked.len() + 3;
    let det = [shape[2], shape[3]];
    let s = side.reduction.scan_bin;
    let k = side.reduction.count_factor(det);
    let scale = k / (s * s) as f64;
    let [sy, sx] = side.scan;
    // Original positions covered by the candidate, with the reduced position each maps to.
    let covered = || {
        (0..sy * s)
            .flat_map(move |y| (0..sx * s).map(move |x| (y * shape[1] + x, (y / s) * sx + x / s)))
    };
    let mut out = Vec::new();
    for t in &keep.0 {
        let e = match t {
            Target::Vbf | Target::Vadf | Target::Window { .. } | Target::Sum => {
                let col = match t {
                    Target::Sum => masked.len(),
                    _ => masked.iter().position(|m| m == t).unwrap_or(0),
                };
                let (rms, max, exact) = relative(
                    covered()
                        .map(|(f, c)| (side.vals[c * nv + col] * scale, full.vals[f * nv + col])),
                );
                TargetError {
                    target: t.to_string(),
                    rms,
                    max,
                    unit: "relative",
                    exact,
                }
            }
            Target::Mean | Target::Spectrum => {
                let g = &side.grid;
                // The mean pattern averages over the positions each side holds (a scan
                // remainder drops positions, not intensity per position); the summed spectrum
                // is a total, so dropped positions count as lost.
                let (per_px, per_full) = match t {
                    Target::Mean => (
                        k / (g.by * g.bx) as f64 / (sy * s * sx * s) as f64,
                        1.0 / (shape[0] * shape[1]) as f64,
                    ),
                    _ => (k / (g.by * g.bx) as f64, 1.0),
                };
                let mapped = (0..det[0] * det[1]).map(|p| {
                    let (y, x) = (p / det[1], p % det[1]);
                    let inside =
                        y >= g.y0 && x >= g.x0 && y < g.y0 + g.by * g.ny && x < g.x0 + g.bx * g.nx;
                    let m = if inside {
                        let (i, j) = ((y - g.y0) / g.by, (x - g.x0) / g.bx);
                        side.pattern[i * g.nx + j] * per_px
                    } else {
                        0.0
                    };
                    (m, full.pattern[p] * per_full)
                });
                let (rms, max, exact) = relative(mapped);
                TargetError {
                    target: t.to_string(),
                    rms,
                    max,
                    unit: "relative",
                    exact,
                }
            }
            Target::Com => {
                let com = |v: &[f64], p: usize| {
                    let (t, my, mx) = (v[p * nv + nv - 3], v[p * nv + nv - 2], v[p * nv + nv - 1]);
                    (t != 0.0).then(|| (my / t, mx / t))
                };
                let (mut d2, mut n, mut dmax, mut exact) = (0.0, 0usize, 0.0f64, true);
                for (f, c) in covered() {
                    match (com(&side.vals, c), com(&full.vals, f)) {
                        (Some(a), Some(b)) => {
                            let d = (a.0 - b.0).hypot(a.1 - b.1);
                            exact &= a == b;
                            d2 += d * d;
                            dmax = dmax.max(d);
                            n += 1;
                        }
                        (None, None) => {}
                        _ => {
                            exact = false;
                            dmax = f64::INFINITY;
                        }
                    }
                }
                TargetError {
                    target: "com".into(),
                    rms: if n == 0 { 0.0 } else { (d2 / n as f64).sqrt() },
                    max: dmax,
                    unit: "px",
                    exact,
                }
            }
        };
        out.push(e);
    }
    out
}

/// The full-data targets as images, for cross-checks: per position
/// `(masked sums in keep order, total, com_y, com_x)` and the summed pattern.
pub fn full_targets(
    reader: &mut dyn CubeReader,
    keep: &Keep,
    geometry: Option<Geometry>,
) -> Result<(Vec<Vec<f64>>, Vec<f64>)> {
    let shape = reader.shape();
    let dtype = reader.dtype();
    let masked = keep.masked();
    let side = {
        let mut sides = vec![Side::new(
            Reduction::identity(),
            shape,
            dtype,
            &masked,
            geometry.as_ref(),
        )];
        let mut buf = Vec::new();
        let frame_bytes = shape[2] * shape[3] * dtype.itemsize();
        for slab in Hyperslab::frame_blocks(shape, dtype.itemsize(), BLOCK_BYTES) {
            buf.resize(slab.len() * dtype.itemsize(), 0u8);
            reader.read_slab(&slab, &mut buf)?;
            let first = slab.origin[0] * shape[1] + slab.origin[1];
            let side = &mut sides[0];
            let nv = masked.len() + 3;
            for (f, bytes) in buf.chunks(frame_bytes.max(1)).enumerate() {
                let mut v = vec![0.0; shape[2] * shape[3]];
                add_values(dtype, bytes, &mut v);
                let pos = first + f;
                for (m, mask) in side.masks.iter().enumerate() {
                    side.vals[pos * nv + m] = mask.iter().map(|&k| v[k as usize]).sum();
                }
                let (mut t, mut my, mut mx) = (0.0, 0.0, 0.0);
                for i in 0..shape[2] {
                    for j in 0..shape[3] {
                        let val = v[i * shape[3] + j];
                        t += val;
                        my += val * i as f64;
                        mx += val * j as f64;
                    }
                }
                side.vals[pos * nv + nv - 3] = t;
                side.vals[pos * nv + nv - 2] = my / t;
                side.vals[pos * nv + nv - 1] = mx / t;
                side.pattern.iter_mut().zip(&v).for_each(|(p, q)| *p += q);
            }
        }
        sides.remove(0)
    };
    let nv = masked.len() + 3;
    let cols = (0..nv)
        .map(|c| side.vals.iter().skip(c).step_by(nv).copied().collect())
        .collect();
    Ok((cols, side.pattern))
}
