//! Stored bytes of a candidate after the best lossless method, measured with the real codec
//! engine (`stemz compress`'s code path, verified bitwise).
//!
//! The reduced cube is never materialised uncompressed: [`crate::ReducedReader`] reduces the
//! source on the fly. A candidate of a source of at most [`WHOLE_BYTES`] is compressed
//! **whole** with each method (the stored bytes are the file's size, nothing is projected).
//! A larger one is measured on a **stratified sample of chunk columns** (one chunk position
//! in the scan plane, the full detector under it; rows of the column grid evenly spread over
//! `scan_y`, columns along `scan_x` by the golden-ratio sequence), about `fraction` of them, at
//! most [`SAMPLE_BYTES`] and at least [`MIN_COLUMNS`]: the columns are reduced, placed side
//! by side along `scan_x` (edge columns zero-padded as HDF5 pads edge chunks) and written with
//! the full file's chunk shape, so the stored chunks are the very chunks the full file would
//! store. The payload projects by the ratio of sums `P = B · Σstored / Σreal`, plus the sample
//! file's HDF5 overhead. The projection has sampling error (not estimated here; `stemz
//! recommend` reports an interval for the same design).

use crate::reduce::ReducedReader;
use crate::{FidelityError, Reduction, Result};
use serde::Serialize;
use std::path::Path;
use stemz_codecs::engine::{self, Engine, Layout, WriteOptions};
use stemz_codecs::{Chunking, Method};
use stemz_data::mem::MemCube;
use stemz_data::{CubeReader, Hyperslab};

/// Candidates of sources up to this size are compressed whole.
pub const WHOLE_BYTES: u64 = 256 << 20;
/// Largest in-memory sample (unless [`MIN_COLUMNS`] columns need more).
pub const SAMPLE_BYTES: u64 = 256 << 20;
/// The fewest chunk columns a sample takes.
pub const MIN_COLUMNS: usize = 5;

/// How a candidate's stored bytes were measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stored {
    /// Stored bytes (file size) of the best method: measured, or projected from the sample.
    pub bytes: u64,
    pub method: String,
    /// Every method tried, with its (projected) bytes.
    pub per_method: Vec<(String, u64)>,
    /// Chunk columns compressed / in the file (equal: measured whole).
    pub columns: (usize, usize),
    pub chunk: [usize; 4],
}

impl Stored {
    pub fn whole(&self) -> bool {
        self.columns.0 == self.columns.1
    }
}

/// Deterministic stratified choice of about `fraction` of a `rows × cols` column grid.
pub fn select_columns(grid: [usize; 2], fraction: f64) -> Vec<[usize; 2]> {
    let [rows, cols] = grid;
    let total = rows * cols;
    let want = ((fraction * total as f64).ceil() as usize).clamp(MIN_COLUMNS.min(total), total);
    if want == total {
        return (0..rows)
            .flat_map(|r| (0..cols).map(move |c| [r, c]))
            .collect();
    }
    let phi = (1.0 + 5f64.sqrt()) / 2.0;
    let mut taken = vec![false; total];
    let mut out = Vec::with_capacity(want);
    for j in 0..want {
        let r = ((j as f64 + 0.5) * rows as f64 / want as f64) as usize;
        let c = (((0.5 + j as f64 / phi).fract()) * cols as f64) as usize;
        let mut k = r.min(rows - 1) * cols + c.min(cols - 1);
        while taken[k] {
            k = (k + 1) % total;
        }
        taken[k] = true;
        out.push([k / cols, k % cols]);
    }
    out.sort();
    out
}

/// Measure the stored bytes of `reduction` of `open()`'s cube with each of `methods` (balanced
/// chunking of the reduced shape, parallel engine), in `workdir`.
pub fn measure(
    open: &dyn Fn() -> Result<Box<dyn CubeReader>>,
    reduction: Reduction,
    methods: &[Method],
    fraction: f64,
    workdir: &Path,
) -> Result<Stored> {
    let mut reduced = ReducedReader::new(open()?, reduction)?;
    let shape = reduced.shape();
    let dtype = reduced.dtype();
    let chunk = Chunking::Balanced.shape(shape);
    let grid = [shape[0].div_ceil(chunk[0]), shape[1].div_ceil(chunk[1])];
    let total = grid[0] * grid[1];
    let raw = reduced.nbytes();
    // Whole when the *source* is small: measuring whole re-reads the source once per method
    // (and once more to verify), which a sample avoids.
    let source_bytes = open()?.nbytes();
    // The sample is held in memory: at most SAMPLE_BYTES (but MIN_COLUMNS columns), so
    // memory stays bounded whatever the file's size.
    let column_bytes = (chunk[0] * chunk[1] * shape[2] * shape[3] * dtype.itemsize()) as f64;
    let capped = fraction.min(SAMPLE_BYTES as f64 / (column_bytes * total as f64));
    let picks = if source_bytes <= WHOLE_BYTES {
        None
    } else {
        Some(select_columns(grid, capped))
    };
    // The sample cube (only when sampling): columns side by side along scan_x.
    let mut sample = match &picks {
        None => None,
        Some(cols) => {
            let item = dtype.itemsize();
            let sshape = [chunk[0], chunk[1] * cols.len(), shape[2], shape[3]];
            let mut cube = MemCube::new(
                sshape,
                dtype,
                vec![0u8; sshape.iter().product::<usize>() * item],
            )?;
            let mut real = 0u64;
            let frame = shape[2] * shape[3] * item;
            for (n, &[r, c]) in cols.iter().enumerate() {
                let origin = [r * chunk[0], c * chunk[1], 0, 0];
                let extent = [
                    chunk[0].min(shape[0] - origin[0]),
                    chunk[1].min(shape[1] - origin[1]),
                    shape[2],
                    shape[3],
                ];
                let slab = Hyperslab { origin, extent };
                let mut buf = vec![0u8; slab.len() * item];
                reduced.read_slab(&slab, &mut buf)?;
                real += buf.len() as u64;
                for a in 0..extent[0] {
                    for b in 0..extent[1] {
                        let src = (a * extent[1] + b) * frame;
                        let dst = (a * sshape[1] + n * chunk[1] + b) * frame;
                        cube.data[dst..dst + frame].copy_from_slice(&buf[src..src + frame]);
                    }
                }
            }
            Some((cube, real))
        }
    };
    let mut per_method = Vec::new();
    for (i, &m) in methods.iter().enumerate() {
        if !m.is_hdf5() {
            return Err(FidelityError::invalid(format!(
                "--methods: {m} is not an HDF5 method"
            )));
        }
        let out = workdir.join(format!("candidate-{i}.h5"));
        let mut opts = WriteOptions::new(
            m,
            Chunking::Explicit(chunk),
            Engine::Parallel { threads: 0 },
            Layout::hdf5_default(),
        );
        opts.slab_bytes = 64 << 20;
        let bytes = match sample.as_mut() {
            None => {
                let mut r = ReducedReader::new(open()?, reduction)?;
                engine::write(&mut r, &out, &opts)?.file_bytes
            }
            Some((cube, real)) => {
                let rep = engine::write(cube, &out, &opts)?;
                let overhead = rep.file_bytes.saturating_sub(rep.payload_bytes);
                let projected = rep.payload_bytes as f64 * raw as f64 / (*real).max(1) as f64;
                projected.round() as u64 + overhead
            }
        };
        let _ = std::fs::remove_file(&out);
        per_method.push((m.name().to_string(), bytes));
    }
    let (method, bytes) = per_method
        .iter()
        .min_by_key(|(_, b)| *b)
        .cloned()
        .ok_or_else(|| FidelityError::invalid("--methods: no method given"))?;
    Ok(Stored {
        bytes,
        method,
        per_method,
        columns: (picks.as_ref().map_or(total, |p| p.len()), total),
        chunk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_selection_is_deterministic_distinct_and_bounded() {
        let a = select_columns([10, 10], 0.05);
        assert_eq!(a, select_columns([10, 10], 0.05));
        assert_eq!(a.len(), MIN_COLUMNS);
        let mut d = a.clone();
        d.dedup();
        assert_eq!(d.len(), a.len());
        assert_eq!(select_columns([2, 2], 0.05).len(), 4);
    }
}
