//! Codec recommendation from a sample: which method and chunking suit one file, measured on a
//! few of its own chunks and projected to the whole file (`stemz recommend`).
//!
//! **Sample.** For each chunking the scan is cut into *chunk columns*: one chunk position in the
//! scan plane with every detector chunk under it (the full detector). A deterministic stratified
//! choice of columns ([`select_columns`]) totals about `fraction` of the columns (at least
//! [`MIN_COLUMNS`], at most all): rows of the column grid are stratified evenly over `scan_y`, positions along
//! `scan_x` follow the golden-ratio sequence so consecutive picks never line up in one column.
//! The chosen columns are copied side by side along `scan_x` into an in-memory cube
//! ([`MemCube`]) with the chunk's own shape, edge columns zero-padded exactly as HDF5 pads edge
//! chunks. Writing that cube with the same chunking therefore stores *the very chunks* the full
//! file would store, through the real engine (`stemz compress`'s code path): the chunk bytes,
//! filter and per-chunk HDF5 work are the real ones.
//!
//! **Measurement** (per method × chunking, like [`crate::measure`]): the sample is written
//! `repeats` times and read back `repeats` times (file open excluded); the fastest of each is
//! kept, because on a shared machine noise only ever adds time. Verification (bitwise, against
//! the in-memory sample) is untimed. The stored size of every chunk is read from the written
//! file's chunk index.
//!
//! **Projection.** Columns are the sampling units. With `b_i` the real (unpadded) bytes of
//! column `i` and `s_i` its stored bytes, the compressed fraction `c = Σs/Σb` (ratio of sums)
//! projects the payload `P = B·c` of a file of `B` bytes. Its standard error is the usual
//! linearised ratio-estimator one, `se² = (1 − n/N)·Σ(s_i − c·b_i)² / (n(n−1)·b̄²)`, with the
//! finite-population correction (a sample of every column has no sampling error), and the 95 %
//! interval is `c ± t₀.₉₇₅,n−1·se` (Student t, conservative for small samples). Systematic
//! samples are treated as simple random ones, which overstates the error when the data vary
//! smoothly over the scan. The file adds HDF5 metadata: the sample file's own overhead
//! (`file − payload`, superblock, object headers, chunk index) plus
//! [`INDEX_BYTES_PER_CHUNK`] for each chunk the full file has beyond the sample's. Projected
//! ratio = `B / (P + overhead)`, projected times = `B / measured throughput`.
//!
//! **Goals** ([`Goal::pick`]): `smallest` = highest projected ratio. The others consider only
//! methods whose ratio keeps at least half of the best ratio's gain over uncompressed,
//! `ratio ≥ 1 + (best − 1)/2` ([`ratio_floor`]), so `none` never wins a speed goal by doing
//! nothing (unless nothing compresses). `fastest-write` / `fastest-read` = highest write / read
//! throughput among those; `balanced` = highest `ratio × min(write, read)` among those: equal
//! weight to a doubling of the ratio and a doubling of the slower direction's speed (maximising
//! `log ratio + log speed`), so neither a slow strong codec nor a fast weak one wins by default.

use crate::error::{BenchError, Result};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;
use stemz_codecs::engine::{open_written, raw_chunks, slab_shape, DEFAULT_SLAB_BYTES};
use stemz_codecs::{Chunking, Engine, Layout, Method, WriteOptions};
pub use stemz_data::mem::MemCube;
use stemz_data::{CubeReader, Hyperslab, Shape4};

const GIB: f64 = (1u64 << 30) as f64;

/// HDF5 metadata per chunk of a chunked dataset, beyond the sample file's own: HDF5 1.10 files
/// written with the default (earliest) format index chunks in a version-1 B-tree, whose nodes
/// hold up to 64 entries of a 48-byte key (`8 + 8·(rank + 1)` for 4D) and an 8-byte child
/// address. Measured on a stemz file of 1024 single-frame chunks: 70 864 bytes of metadata,
/// ≈ 67 bytes per chunk after the fixed ~2 KiB.
pub const INDEX_BYTES_PER_CHUNK: u64 = 68;

/// The fewest columns a sample takes (all of them when the file has fewer). With 2 columns the
/// 95 % interval needs t = 12.7 and is useless, and a 2-of-4 sample of `4D_Diff` (small) ranked
/// `balanced` above `single_frame` when the whole file says the opposite by 4 %; with 5, t = 2.8.
pub const MIN_COLUMNS: usize = 5;

/// The chunk columns to sample from a scan-plane chunk grid of `grid = [rows, cols]`: about
/// `fraction` of them (at least [`MIN_COLUMNS`], at most all), deterministic, sorted in scan
/// order.
///
/// Pick `j` of `k` sits in grid row `⌊(j + ½)·rows/k⌋` (evenly stratified over `scan_y`) and
/// column `⌊frac(½ + j/φ)·cols⌋` (golden-ratio sequence: spread over `scan_x`, never a fixed
/// stride that could alias with the scan's structure); a collision moves to the next free
/// column in scan order.
pub fn select_columns(grid: [usize; 2], fraction: f64) -> Vec<[usize; 2]> {
    let [rows, cols] = grid;
    let total = rows * cols;
    if total == 0 {
        return Vec::new();
    }
    let want = ((fraction * total as f64).ceil() as usize).clamp(MIN_COLUMNS.min(total), total);
    if want == total {
        return (0..total).map(|i| [i / cols, i % cols]).collect();
    }
    const INV_PHI: f64 = 0.618_033_988_749_894_9;
    let mut taken = vec![false; total];
    for j in 0..want {
        let row = (((j as f64 + 0.5) * rows as f64 / want as f64) as usize).min(rows - 1);
        let col = ((((0.5 + j as f64 * INV_PHI).fract()) * cols as f64) as usize).min(cols - 1);
        let mut idx = row * cols + col;
        while taken[idx] {
            idx = (idx + 1) % total;
        }
        taken[idx] = true;
    }
    (0..total)
        .filter(|&i| taken[i])
        .map(|i| [i / cols, i % cols])
        .collect()
}

/// The gathered sample of one chunking.
#[derive(Debug, Clone)]
pub struct Sample {
    pub chunking: Chunking,
    /// The chunk shape (clipped to the file's shape).
    pub chunk: Shape4,
    /// Scan-plane chunk grid of the whole file `[rows, cols]`.
    pub grid: [usize; 2],
    /// The sampled columns, in scan order; column `j` of the sample cube is `columns[j]`.
    pub columns: Vec<[usize; 2]>,
    /// Real (unpadded) bytes of each sampled column.
    pub column_bytes: Vec<u64>,
    /// The columns side by side along `scan_x`: `(chunk_sy, k·chunk_sx, det_y, det_x)`.
    pub cube: MemCube,
}

impl Sample {
    pub fn real_bytes(&self) -> u64 {
        self.column_bytes.iter().sum()
    }
}

/// Read the columns `select_columns` picks for `chunking` out of `reader` into a [`Sample`].
pub fn gather(reader: &mut dyn CubeReader, chunking: Chunking, fraction: f64) -> Result<Sample> {
    let shape = reader.shape();
    let item = reader.dtype().itemsize();
    let chunk = chunking.shape(shape);
    let grid = [shape[0].div_ceil(chunk[0]), shape[1].div_ceil(chunk[1])];
    let columns = select_columns(grid, fraction);
    let k = columns.len();
    let frame = shape[2] * shape[3] * item;
    let cube_shape: Shape4 = [chunk[0], k * chunk[1], shape[2], shape[3]];
    let mut data = vec![0u8; cube_shape.iter().product::<usize>() * item];
    let mut column_bytes = Vec::with_capacity(k);
    let mut buf = Vec::new();
    for (j, &[gy, gx]) in columns.iter().enumerate() {
        let origin = [gy * chunk[0], gx * chunk[1], 0, 0];
        let extent = [
            chunk[0].min(shape[0] - origin[0]),
            chunk[1].min(shape[1] - origin[1]),
            shape[2],
            shape[3],
        ];
        let slab = Hyperslab { origin, extent };
        buf.resize(slab.len() * item, 0);
        reader.read_slab(&slab, &mut buf)?;
        for a in 0..extent[0] {
            for b in 0..extent[1] {
                let src = (a * extent[1] + b) * frame;
                let dst = (a * cube_shape[1] + j * chunk[1] + b) * frame;
                data[dst..dst + frame].copy_from_slice(&buf[src..src + frame]);
            }
        }
        column_bytes.push((slab.len() * item) as u64);
    }
    Ok(Sample {
        chunking,
        chunk,
        grid,
        columns,
        column_bytes,
        cube: MemCube::new(cube_shape, reader.dtype(), data)?,
    })
}

/// What to measure and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Fraction of the file's chunk columns to sample, in (0, 1].
    pub fraction: f64,
    pub methods: Vec<Method>,
    pub chunkings: Vec<Chunking>,
    pub engine: Engine,
    /// Timed writes and reads per configuration; the fastest counts.
    pub repeats: u32,
    /// Scratch folder for the sample files (must exist).
    pub workdir: PathBuf,
}

impl Options {
    /// Check the user-controlled parts: fraction, non-empty lists, HDF5 methods only.
    pub fn validate(&self) -> Result<()> {
        if !(self.fraction > 0.0 && self.fraction <= 1.0) {
            return Err(BenchError::Invalid(format!(
                "sample fraction {} is not in (0, 1]",
                self.fraction
            )));
        }
        if self.methods.is_empty() || self.chunkings.is_empty() {
            return Err(BenchError::Invalid(
                "nothing to compare: no methods or no chunkings".into(),
            ));
        }
        if let Some(m) = self.methods.iter().find(|m| !m.is_hdf5()) {
            return Err(BenchError::Invalid(format!(
                "method `{m}` writes a whole-file format of its own, which cannot be sampled by \
                 chunks; recommend compares HDF5 methods only"
            )));
        }
        Ok(())
    }
}

/// The projection of one candidate to the whole file, with its 95 % interval.
#[derive(Debug, Clone, Serialize)]
pub struct Projection {
    /// Projected file size and its interval.
    pub file_bytes: u64,
    pub file_bytes_lo: u64,
    pub file_bytes_hi: u64,
    /// Uncompressed bytes / projected file bytes, and the interval (lo from `file_bytes_hi`).
    pub ratio: f64,
    pub ratio_lo: f64,
    pub ratio_hi: f64,
    pub write_s: f64,
    pub read_s: f64,
}

/// One method × chunking measured on its sample.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub method: String,
    pub chunking: String,
    pub chunk_shape: Shape4,
    /// Columns sampled / columns in the file.
    pub columns_sampled: usize,
    pub columns_total: usize,
    /// Real bytes of the sample.
    pub sample_bytes: u64,
    /// Stored chunk bytes of the sample, and its whole file.
    pub sample_payload_bytes: u64,
    pub sample_file_bytes: u64,
    /// Sample bytes / sample payload.
    pub sample_ratio: f64,
    /// Spread of the per-column ratios.
    pub column_ratio_min: f64,
    pub column_ratio_max: f64,
    /// Throughput on the sample (real bytes per second, best of the repeats).
    pub write_gib_s: f64,
    pub read_gib_s: f64,
    /// Every element of the sample decoded bitwise equal.
    pub lossless: bool,
    pub projection: Projection,
}

/// The whole file, as the projection needs it.
#[derive(Debug, Clone, Copy)]
pub struct Population {
    pub shape: Shape4,
    pub bytes: u64,
}

impl Population {
    pub fn of(reader: &dyn CubeReader) -> Self {
        Population {
            shape: reader.shape(),
            bytes: reader.nbytes(),
        }
    }

    fn chunks(&self, chunk: Shape4) -> u64 {
        (0..4)
            .map(|i| self.shape[i].div_ceil(chunk[i]) as u64)
            .product()
    }
}

/// Two-sided 95 % Student t quantile for `df` degrees of freedom (the table's next lower df, so
/// never too small).
pub fn t975(df: usize) -> f64 {
    const TABLE: [(usize, f64); 16] = [
        (1, 12.706),
        (2, 4.303),
        (3, 3.182),
        (4, 2.776),
        (5, 2.571),
        (6, 2.447),
        (7, 2.365),
        (8, 2.306),
        (9, 2.262),
        (10, 2.228),
        (12, 2.179),
        (15, 2.131),
        (20, 2.086),
        (30, 2.042),
        (60, 2.000),
        (120, 1.980),
    ];
    if df == 0 {
        return f64::INFINITY;
    }
    TABLE
        .iter()
        .rev()
        .find(|(d, _)| *d <= df)
        .map(|&(_, t)| if df > 120 { 1.960 } else { t })
        .unwrap_or(12.706)
}

/// The compressed fraction `Σs/Σb` and the half-width of its 95 % interval (see the module doc).
pub fn compressed_fraction(stored: &[u64], real: &[u64], population_columns: usize) -> (f64, f64) {
    let n = stored.len();
    let sb: f64 = real.iter().map(|&b| b as f64).sum();
    let ss: f64 = stored.iter().map(|&s| s as f64).sum();
    let c = ss / sb.max(1.0);
    if n < 2 || n >= population_columns {
        return (c, 0.0);
    }
    let mean_b = sb / n as f64;
    let resid: f64 = stored
        .iter()
        .zip(real)
        .map(|(&s, &b)| (s as f64 - c * b as f64).powi(2))
        .sum();
    let fpc = 1.0 - n as f64 / population_columns as f64;
    let se = (fpc * resid / (n as f64 * (n as f64 - 1.0) * mean_b * mean_b)).sqrt();
    (c, t975(n - 1) * se)
}

/// Write, time, read, time, verify one method on a gathered sample.
pub fn measure(
    sample: &mut Sample,
    method: Method,
    population: Population,
    opts: &Options,
) -> Result<Candidate> {
    let layout = Layout::hdf5_default();
    let out = opts.workdir.join(format!(
        "sample__{}__{}.h5",
        method.name(),
        sample.chunking.name()
    ));
    let result = measure_file(sample, method, population, opts, &layout, &out);
    // Scratch: remove whatever happened.
    let _ = std::fs::remove_file(&out);
    result
}

fn measure_file(
    sample: &mut Sample,
    method: Method,
    population: Population,
    opts: &Options,
    layout: &Layout,
    out: &Path,
) -> Result<Candidate> {
    let mut wopts = WriteOptions::new(method, sample.chunking, opts.engine, layout.clone());
    wopts.verify = false;
    // The sample cube's chunking must reproduce the file's chunk shape exactly.
    wopts.chunking = Chunking::Explicit(sample.chunk);
    let repeats = opts.repeats.max(1);
    let (mut write_s, mut read_s) = (f64::INFINITY, f64::INFINITY);
    let mut report = None;
    for _ in 0..repeats {
        let _ = std::fs::remove_file(out);
        let r = stemz_codecs::write(&mut sample.cube, out, &wopts)?;
        write_s = write_s.min(r.write_s);
        read_s = read_s.min(timed_read(out, method, layout, opts.engine, sample.chunk)?);
        report = Some(r);
    }
    let report = report.ok_or_else(|| BenchError::Invalid("no repeat ran".into()))?;
    let verified = stemz_codecs::read_verify(&mut sample.cube, out, method, layout, opts.engine)?;
    if !verified.verify.lossless {
        return Err(BenchError::Invalid(format!(
            "{}: {method} did not reproduce the sample bitwise ({} of {} elements differ); \
             this is a codec bug",
            out.display(),
            verified.verify.mismatches,
            verified.verify.elements
        )));
    }

    // Stored bytes per sampled column, from the chunk index.
    let mut stored = vec![0u64; sample.columns.len()];
    for c in raw_chunks(out, layout.dataset_path())? {
        let j = c.offset.get(1).copied().unwrap_or(0) as usize / sample.chunk[1];
        if let Some(s) = stored.get_mut(j) {
            *s += c.bytes.len() as u64;
        }
    }
    let real = &sample.column_bytes;
    let sample_bytes = sample.real_bytes();
    let payload: u64 = stored.iter().sum();
    let ratios: Vec<f64> = real
        .iter()
        .zip(&stored)
        .map(|(&b, &s)| b as f64 / s.max(1) as f64)
        .collect();
    let columns_total = sample.grid[0] * sample.grid[1];
    let (c, half) = compressed_fraction(&stored, real, columns_total);

    let b = population.bytes as f64;
    let overhead = report.file_bytes.saturating_sub(report.payload_bytes)
        + INDEX_BYTES_PER_CHUNK
            * population
                .chunks(sample.chunk)
                .saturating_sub(report.chunks);
    // The full file stores at least the sampled chunks: the hard floor of the interval.
    let p = b * c;
    let p_lo = (b * (c - half)).max(payload as f64);
    let p_hi = b * (c + half);
    let f = |x: f64| x.round() as u64 + overhead;
    let (file_bytes, file_lo, file_hi) = (f(p), f(p_lo), f(p_hi));
    let write_gib_s = sample_bytes as f64 / GIB / write_s.max(1e-9);
    let read_gib_s = sample_bytes as f64 / GIB / read_s.max(1e-9);
    Ok(Candidate {
        method: method.name().to_string(),
        chunking: sample.chunking.name(),
        chunk_shape: sample.chunk,
        columns_sampled: sample.columns.len(),
        columns_total,
        sample_bytes,
        sample_payload_bytes: payload,
        sample_file_bytes: report.file_bytes,
        sample_ratio: sample_bytes as f64 / payload.max(1) as f64,
        column_ratio_min: ratios.iter().copied().fold(f64::INFINITY, f64::min),
        column_ratio_max: ratios.iter().copied().fold(0.0, f64::max),
        write_gib_s,
        read_gib_s,
        lossless: true,
        projection: Projection {
            file_bytes,
            file_bytes_lo: file_lo,
            file_bytes_hi: file_hi,
            ratio: b / file_bytes.max(1) as f64,
            ratio_lo: b / file_hi.max(1) as f64,
            ratio_hi: b / file_lo.max(1) as f64,
            write_s: b / GIB / write_gib_s,
            read_s: b / GIB / read_gib_s,
        },
    })
}

/// Decode the whole written file into a reused buffer; file open excluded (as
/// [`crate::measure`]).
fn timed_read(
    out: &Path,
    method: Method,
    layout: &Layout,
    engine: Engine,
    chunk: Shape4,
) -> Result<f64> {
    let mut written = open_written(out, method, layout, engine)?;
    let shape = written.shape();
    let item = written.dtype().itemsize();
    let slab = slab_shape(shape, chunk, item, DEFAULT_SLAB_BYTES);
    let mut buf = Vec::new();
    let t = Instant::now();
    for s in Hyperslab::tiles(shape, slab) {
        buf.resize(s.len() * item, 0);
        written.read_slab(&s, &mut buf)?;
    }
    Ok(t.elapsed().as_secs_f64())
}

/// Every method × chunking of `opts`, sampled from `reader`, in the order chunkings × methods.
/// `progress` is called before each measurement with (done, total, method, chunking).
pub fn evaluate(
    reader: &mut dyn CubeReader,
    opts: &Options,
    progress: &mut dyn FnMut(usize, usize, Method, Chunking),
) -> Result<Vec<Candidate>> {
    opts.validate()?;
    let population = Population::of(reader);
    let total = opts.methods.len() * opts.chunkings.len();
    let mut out = Vec::with_capacity(total);
    for &chunking in &opts.chunkings {
        let mut sample = gather(reader, chunking, opts.fraction)?;
        for &method in &opts.methods {
            progress(out.len(), total, method, chunking);
            out.push(measure(&mut sample, method, population, opts)?);
        }
    }
    Ok(out)
}

/// What the user optimises for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Goal {
    Smallest,
    FastestWrite,
    FastestRead,
    Balanced,
}

impl Goal {
    pub const ALL: [Goal; 4] = [
        Goal::Smallest,
        Goal::FastestWrite,
        Goal::FastestRead,
        Goal::Balanced,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Goal::Smallest => "smallest",
            Goal::FastestWrite => "fastest-write",
            Goal::FastestRead => "fastest-read",
            Goal::Balanced => "balanced",
        }
    }

    pub fn parse(s: &str) -> Result<Goal> {
        Goal::ALL
            .into_iter()
            .find(|g| g.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                BenchError::Invalid(format!(
                    "unknown goal `{s}`; valid goals: smallest, fastest-write, fastest-read, balanced"
                ))
            })
    }

    /// The rule in one line, for the output.
    pub fn rule(self) -> &'static str {
        match self {
            Goal::Smallest => "highest projected ratio",
            Goal::FastestWrite => "highest write throughput among ratio >= floor",
            Goal::FastestRead => "highest read throughput among ratio >= floor",
            Goal::Balanced => "highest ratio x min(write, read) GiB/s among ratio >= floor",
        }
    }

    fn score(self, c: &Candidate) -> f64 {
        match self {
            Goal::Smallest => c.projection.ratio,
            Goal::FastestWrite => c.write_gib_s,
            Goal::FastestRead => c.read_gib_s,
            Goal::Balanced => c.projection.ratio * c.write_gib_s.min(c.read_gib_s),
        }
    }

    /// The index of the best candidate for this goal (the first of equals), None when empty.
    pub fn pick(self, candidates: &[Candidate]) -> Option<usize> {
        let floor = ratio_floor(candidates);
        let mut best: Option<(usize, f64)> = None;
        for (i, c) in candidates.iter().enumerate() {
            if !c.lossless || (self != Goal::Smallest && c.projection.ratio < floor) {
                continue;
            }
            let s = self.score(c);
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((i, s));
            }
        }
        best.map(|(i, _)| i)
    }
}

impl fmt::Display for Goal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The ratio a candidate needs to compete on speed: half of the best ratio's gain over 1. When
/// nothing gains (best ratio ≤ 1: a tiny file whose HDF5 metadata outweighs its data), the best
/// ratio itself, so some candidate always qualifies.
pub fn ratio_floor(candidates: &[Candidate]) -> f64 {
    let best = candidates
        .iter()
        .filter(|c| c.lossless)
        .map(|c| c.projection.ratio)
        .fold(f64::NEG_INFINITY, f64::max);
    if best > 1.0 {
        1.0 + (best - 1.0) / 2.0
    } else {
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_spread_over_first_middle_and_last_scan_regions() {
        let grid = [16, 16];
        let cols = select_columns(grid, 0.05);
        assert_eq!(cols.len(), 13);
        assert_eq!(cols, select_columns(grid, 0.05), "deterministic");
        let rows: Vec<usize> = cols.iter().map(|c| c[0]).collect();
        assert!(rows.iter().any(|&r| r < 3), "first region: {rows:?}");
        assert!(
            rows.iter().any(|&r| (6..10).contains(&r)),
            "middle: {rows:?}"
        );
        assert!(rows.iter().any(|&r| r >= 13), "last region: {rows:?}");
        let xs: std::collections::BTreeSet<usize> = cols.iter().map(|c| c[1]).collect();
        assert!(xs.len() >= 8, "scan_x positions must vary: {cols:?}");
        assert!(
            xs.iter().any(|&x| x < 5) && xs.iter().any(|&x| x >= 11),
            "{xs:?}"
        );
    }

    #[test]
    fn column_count_is_the_fraction_clamped_to_two_and_all() {
        assert_eq!(select_columns([32, 32], 0.05).len(), 52);
        assert_eq!(select_columns([10, 10], 0.001).len(), MIN_COLUMNS);
        assert_eq!(
            select_columns([2, 2], 0.05).len(),
            4,
            "fewer columns than the minimum: all"
        );
        assert_eq!(select_columns([1, 1], 0.05), vec![[0, 0]]);
        assert_eq!(select_columns([2, 2], 1.0).len(), 4);
        let all = select_columns([3, 5], 0.99);
        assert_eq!(all.len(), 15);
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, all, "unique and in scan order");
        // A dense pick with collisions still yields distinct columns.
        let dense = select_columns([4, 4], 0.8);
        assert_eq!(dense.len(), 13);
        let mut d = dense.clone();
        d.dedup();
        assert_eq!(d.len(), 13);
    }

    #[test]
    fn gathered_sample_holds_the_chosen_columns_zero_padded() {
        // 3x5 scan, 1x1 detector: element value = scan index; chunks 2x2 → grid 2x3.
        let shape = [3, 5, 1, 2];
        let data: Vec<u16> = (0..30).collect();
        let mut cube = MemCube::new(shape, stemz_data::DType::U16, bytemuck_bytes(&data))
            .expect("cube matches shape");
        let s = gather(&mut cube, Chunking::Explicit([2, 2, 1, 2]), 1.0).expect("gather");
        assert_eq!(s.grid, [2, 3]);
        assert_eq!(s.columns.len(), 6);
        assert_eq!(s.cube.shape(), [2, 12, 1, 2]);
        // Column (1, 2) covers scan (2, 4) only: 1 frame of 4 bytes, the rest zero padding.
        assert_eq!(s.column_bytes[5], 4);
        assert_eq!(s.real_bytes(), 60);
        let v: Vec<u16> = s
            .cube
            .data
            .chunks_exact(2)
            .map(|b| u16::from_ne_bytes([b[0], b[1]]))
            .collect();
        // Sample row 0, column 5 (positions 10, 11): scan (2, 4) then padding.
        assert_eq!(&v[20..24], &[28, 29, 0, 0]);
        // Sample row 0, column 0: scan (0, 0), (0, 1).
        assert_eq!(&v[0..4], &[0, 1, 2, 3]);
    }

    fn bytemuck_bytes(v: &[u16]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_ne_bytes()).collect()
    }

    #[test]
    fn interval_vanishes_for_a_census_and_widens_with_spread() {
        let real = [100, 100, 100, 100];
        assert_eq!(compressed_fraction(&[10, 20, 30, 40], &real, 4).1, 0.0);
        let (c, h) = compressed_fraction(&[10, 20, 30, 40], &real, 100);
        assert!((c - 0.25).abs() < 1e-12);
        assert!(h > 0.1 && h < 0.25, "{h}");
        let (_, flat) = compressed_fraction(&[25, 25, 25, 25], &real, 100);
        assert_eq!(flat, 0.0);
    }

    fn cand(method: &str, ratio: f64, w: f64, r: f64) -> Candidate {
        Candidate {
            method: method.into(),
            chunking: "balanced".into(),
            chunk_shape: [1; 4],
            columns_sampled: 2,
            columns_total: 4,
            sample_bytes: 0,
            sample_payload_bytes: 0,
            sample_file_bytes: 0,
            sample_ratio: ratio,
            column_ratio_min: ratio,
            column_ratio_max: ratio,
            write_gib_s: w,
            read_gib_s: r,
            lossless: true,
            projection: Projection {
                file_bytes: 0,
                file_bytes_lo: 0,
                file_bytes_hi: 0,
                ratio,
                ratio_lo: ratio,
                ratio_hi: ratio,
                write_s: 0.0,
                read_s: 0.0,
            },
        }
    }

    #[test]
    fn speed_goals_ignore_methods_below_the_ratio_floor() {
        let cs = [
            cand("none", 1.0, 9.0, 9.0),
            cand("gzip_9", 8.0, 0.1, 0.5),
            cand("lz4", 4.0, 2.0, 3.0),
            cand("fast_weak", 4.4, 1.0, 4.0),
            cand("zstd", 6.0, 0.8, 1.5),
        ];
        assert_eq!(ratio_floor(&cs), 4.5);
        assert_eq!(Goal::Smallest.pick(&cs), Some(1));
        // lz4 (4.0) and fast_weak (4.4) are below the floor 4.5: zstd is the fastest passing.
        assert_eq!(Goal::FastestWrite.pick(&cs), Some(4));
        assert_eq!(Goal::FastestRead.pick(&cs), Some(4));
        // balanced: gzip_9 8·0.1 = 0.8, zstd 6·0.8 = 4.8.
        assert_eq!(Goal::Balanced.pick(&cs), Some(4));
        assert_eq!(Goal::Smallest.pick(&[]), None);
        // Nothing compresses: the speed goals still pick (the best ratio qualifies).
        let tiny = [cand("none", 0.2, 5.0, 5.0), cand("zstd", 0.25, 1.0, 1.0)];
        assert_eq!(ratio_floor(&tiny), 0.25);
        assert_eq!(Goal::FastestWrite.pick(&tiny), Some(1));
    }

    #[test]
    fn goals_parse_by_name_and_reject_others() {
        for g in Goal::ALL {
            assert_eq!(Goal::parse(g.name()).ok(), Some(g));
        }
        let err = Goal::parse("tiniest").unwrap_err().to_string();
        assert!(err.contains("tiniest") && err.contains("balanced"), "{err}");
    }
}
