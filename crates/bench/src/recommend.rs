//! Codec recommendation, the measuring half (`stemz recommend`): which method and chunking
//! suit one file, measured on a few of its own chunks. The projection to the whole file, its
//! interval and the goals are `stemz_analysis::recommend`'s (pure); this module hands it one
//! [`SampleRun`] per candidate.
//!
//! **Sample.** For each chunking the file is cut into *sampling units*: chunk columns (one
//! chunk position in the scan plane with every detector chunk under it, the full detector), or
//! single chunks when fewer than [`MIN_COLUMNS`] columns fit the sample's byte cap and the
//! detector holds several chunks ([`Unit`]; a `real_space` column of a 2 GiB `4D_EELS` is
//! 512 MiB). A deterministic stratified choice of units ([`select_columns`]) totals about
//! `fraction` of them (at least [`MIN_COLUMNS`], at most all, and no more than
//! `max_sample_bytes` hold, though at least one: the sample's memory and time are bounded
//! whatever the file's size, and a larger file gets a wider interval instead of a longer
//! wait): rows of the unit grid are stratified evenly over `scan_y`, positions along the other
//! axis (for chunks: the detector chunk, then scan_x within it) follow the golden-ratio
//! sequence so consecutive picks never line up. The chosen units are copied side by side along `scan_x`
//! into an in-memory cube ([`MemCube`]) with the chunk's own shape, edge units zero-padded
//! exactly as HDF5 pads edge chunks. Writing that cube with the same chunking therefore stores
//! *the very chunks* the full file would store, through the real engine (`stemz compress`'s
//! code path): the chunk bytes, filter and per-chunk HDF5 work are the real ones. A Zarr
//! method writes the cube into a sharded store with the real Zarr writer, inner chunks of the
//! same shape: its inner chunks are the full store's own (each is encoded alone, so its bytes
//! do not depend on which shard holds it); the sample's shards are laid out over the sample,
//! so what the whole store adds besides its inner chunks (`zarr.json`, one index per shard) is
//! computed for the file's own layout ([`StoreOverhead`]), not sampled.
//!
//! **Measurement** (per method × chunking, like [`crate::measure`]): the sample is written and
//! read back (file open excluded) up to `repeats` times; the fastest of each is kept, because on
//! a shared machine noise only ever adds time. Repeats stop once a candidate has spent
//! [`LONG_ENOUGH_S`] in timed work: a write that long is not dominated by scheduling noise, and
//! repeating a slow codec (gzip 9 on a large sample) would triple the longest measurements for
//! nothing. Verification compares the buffer the timed read decoded with the in-memory sample,
//! after the clock stops (one decode per measurement, as the benchmark runner does). The stored
//! size of every chunk is read from the written file's chunk index (a Zarr store: each shard's
//! index).

use crate::error::{BenchError, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;
use stemz_codecs::engine::{copy_region, open_written, raw_chunks};
use stemz_codecs::{zarr, Chunking, Engine, Layout, Method, WriteOptions};
pub use stemz_data::mem::MemCube;
use stemz_data::{CubeReader, DType, Hyperslab, Shape4};
pub use stemz_record::sample::{SampleRun, StoreOverhead};

/// Default cap on one chunking's sample (`Options::max_sample_bytes`): 256 MiB keeps a 5 %
/// sample of files up to 5 GiB whole, and the sample plus the buffer its read decodes into
/// within 512 MiB of memory; the parallel engine's per-thread chunk buffers come on top
/// (`stemz recommend` of the 2 GiB `4D_EELS`, 128 MiB `real_space` chunks: 1.2 GiB peak).
pub const DEFAULT_MAX_SAMPLE_BYTES: u64 = 256 << 20;

/// Timed work (writes plus reads) after which a candidate's repeats stop.
pub const LONG_ENOUGH_S: f64 = 0.5;

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
    let total = grid[0] * grid[1];
    let want = ((fraction * total as f64).ceil() as usize).clamp(MIN_COLUMNS.min(total), total);
    select_n_columns(grid, want)
}

/// `want` columns of `grid` (clamped to all), chosen as [`select_columns`] describes.
pub fn select_n_columns(grid: [usize; 2], want: usize) -> Vec<[usize; 2]> {
    let [rows, cols] = grid;
    let total = rows * cols;
    if total == 0 {
        return Vec::new();
    }
    let want = want.clamp(1, total);
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

/// What one sampling unit of a chunking is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A scan-plane chunk position with every detector chunk under it (the whole detector).
    Column,
    /// One chunk: used when fewer than [`MIN_COLUMNS`] columns fit the sample's byte cap and
    /// the detector holds more than one chunk (a `real_space` column of a 2 GiB `4D_EELS` is
    /// 512 MiB, four 128 MiB chunks).
    Chunk,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Unit::Column => "chunk column",
            Unit::Chunk => "chunk",
        }
    }
}

/// The gathered sample of one chunking.
#[derive(Debug, Clone)]
pub struct Sample {
    pub chunking: Chunking,
    /// The whole file's shape.
    pub shape: Shape4,
    /// The chunk shape (clipped to the file's shape).
    pub chunk: Shape4,
    pub unit: Unit,
    /// The unit grid of the whole file `[rows, cols]`: rows are scan-plane chunk rows; columns
    /// are scan-plane chunk columns, times the detector's chunks for [`Unit::Chunk`]: unit
    /// column `u` is scan chunk column `u % cols` under detector chunk `u / cols` (row-major),
    /// detector-major so that the golden-ratio spread reaches different detector chunks first
    /// (scan-major, a 2-chunk sample of a 2-column, 4-detector-chunk grid took detector chunk 0
    /// twice: `4D_EELS`'s zero-loss region, ratio 8 where the file's is ~40).
    pub grid: [usize; 2],
    /// The sampled units, in grid order; unit `j` of the sample cube is `units[j]`.
    pub units: Vec<[usize; 2]>,
    /// Real (unpadded) bytes of each sampled unit.
    pub unit_bytes: Vec<u64>,
    /// The units side by side along `scan_x`: `(chunk_sy, k·chunk_sx, uy, ux)` with `(uy, ux)`
    /// the detector for columns and the chunk's detector extent for chunks.
    pub cube: MemCube,
}

impl Sample {
    pub fn real_bytes(&self) -> u64 {
        self.unit_bytes.iter().sum()
    }
}

/// Read the units `select_columns` picks for `chunking` out of `reader` into a [`Sample`], at
/// most as many as `max_bytes` hold (at least one). Units are chunk columns unless fewer than
/// [`MIN_COLUMNS`] of them fit `max_bytes`, and then single chunks ([`Unit`]).
pub fn gather(
    reader: &mut dyn CubeReader,
    chunking: Chunking,
    fraction: f64,
    max_bytes: u64,
) -> Result<Sample> {
    let shape = reader.shape();
    let item = reader.dtype().itemsize();
    let chunk = chunking.shape(shape);
    let scan_grid = [shape[0].div_ceil(chunk[0]), shape[1].div_ceil(chunk[1])];
    let det_grid = [shape[2].div_ceil(chunk[2]), shape[3].div_ceil(chunk[3])];
    let column_max = (chunk[0] * chunk[1] * shape[2] * shape[3] * item).max(1) as u64;
    let columns_fit = (max_bytes / column_max) as usize;
    let unit = if columns_fit < MIN_COLUMNS.min(scan_grid[0] * scan_grid[1])
        && det_grid[0] * det_grid[1] > 1
    {
        Unit::Chunk
    } else {
        Unit::Column
    };
    let (det, grid, unit_max) = match unit {
        Unit::Column => ([shape[2], shape[3]], scan_grid, column_max),
        Unit::Chunk => (
            [chunk[2], chunk[3]],
            [scan_grid[0], scan_grid[1] * det_grid[0] * det_grid[1]],
            (chunk.iter().product::<usize>() * item) as u64,
        ),
    };
    let fit = (max_bytes / unit_max).max(1) as usize;
    let by_fraction = select_columns(grid, fraction).len();
    let units = select_n_columns(grid, by_fraction.min(fit));
    let k = units.len();
    let cube_shape: Shape4 = [chunk[0], k * chunk[1], det[0], det[1]];
    let mut data = stemz_data::mem::zeroed(cube_shape.iter().product::<usize>() * item);
    let mut unit_bytes = Vec::with_capacity(k);
    let mut buf = Vec::new();
    for (j, &[gy, u]) in units.iter().enumerate() {
        let (gx, d) = (u % scan_grid[1], u / scan_grid[1]);
        let (dy, dx) = match unit {
            Unit::Column => (0, 0),
            Unit::Chunk => ((d / det_grid[1]) * chunk[2], (d % det_grid[1]) * chunk[3]),
        };
        let origin = [gy * chunk[0], gx * chunk[1], dy, dx];
        let want = [chunk[0], chunk[1], det[0], det[1]];
        let extent: Shape4 = std::array::from_fn(|i| want[i].min(shape[i] - origin[i]));
        let slab = Hyperslab { origin, extent };
        buf.resize(slab.len() * item, 0);
        reader.read_slab(&slab, &mut buf)?;
        // The unit's place in the cube is scan_x offset `j·chunk_sx`; what it does not fill
        // (clipped edges) stays zero.
        let place = Hyperslab {
            origin: [0, j * chunk[1], 0, 0],
            extent,
        };
        copy_region(
            &buf,
            &place,
            &mut data,
            &Hyperslab::full(cube_shape),
            &place,
            item,
        );
        unit_bytes.push((slab.len() * item) as u64);
    }
    Ok(Sample {
        chunking,
        shape,
        chunk,
        unit,
        grid,
        units,
        unit_bytes,
        cube: MemCube::new(cube_shape, reader.dtype(), data)?,
    })
}

/// What to measure and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Fraction of the file's sampling units to sample, in (0, 1].
    pub fraction: f64,
    pub methods: Vec<Method>,
    pub chunkings: Vec<Chunking>,
    pub engine: Engine,
    /// Timed writes and reads per configuration at most (see [`LONG_ENOUGH_S`]); the fastest
    /// counts.
    pub repeats: u32,
    /// Largest sample per chunking, in bytes (at least one column is always taken).
    pub max_sample_bytes: u64,
    /// Scratch folder for the sample files (must exist).
    pub workdir: PathBuf,
}

impl Options {
    /// Check the user-controlled parts: fraction, non-empty lists, chunked (HDF5 and Zarr)
    /// methods only.
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
        if let Some(m) = self.methods.iter().find(|m| !m.is_chunked()) {
            return Err(BenchError::Invalid(format!(
                "method `{m}` writes a whole-file format of its own, which cannot be sampled by \
                 chunks; recommend compares HDF5 and Zarr methods only"
            )));
        }
        Ok(())
    }
}

/// Write, time, read, time, verify one method on a gathered sample.
pub fn measure(sample: &mut Sample, method: Method, opts: &Options) -> Result<SampleRun> {
    let layout = Layout::hdf5_default();
    let out = opts.workdir.join(format!(
        "sample__{}__{}.{}",
        method.name(),
        sample.chunking.name(),
        if method.is_zarr() { "zarr" } else { "h5" }
    ));
    let result = measure_file(sample, method, opts, &layout, &out);
    // Scratch: remove whatever happened.
    remove_output(&out);
    result
}

/// Remove a written file or Zarr store (a directory), if there is one.
pub fn remove_output(out: &Path) {
    if out.is_dir() {
        let _ = std::fs::remove_dir_all(out);
    } else {
        let _ = std::fs::remove_file(out);
    }
}

fn measure_file(
    sample: &mut Sample,
    method: Method,
    opts: &Options,
    layout: &Layout,
    out: &Path,
) -> Result<SampleRun> {
    let mut wopts = WriteOptions::new(method, sample.chunking, opts.engine, layout.clone());
    wopts.verify = false;
    // The sample cube's chunking must reproduce the file's chunk shape exactly.
    wopts.chunking = Chunking::Explicit(sample.chunk);
    let repeats = opts.repeats.max(1);
    let (mut write_s, mut read_s) = (f64::INFINITY, f64::INFINITY);
    let mut report = None;
    let mut decoded = Vec::new();
    let mut spent = 0.0;
    for _ in 0..repeats {
        remove_output(out);
        let r = stemz_codecs::write(&mut sample.cube, out, &wopts)?;
        let read = timed_read(out, method, layout, opts.engine, &mut decoded)?;
        spent += r.write_s + read;
        write_s = write_s.min(r.write_s);
        read_s = read_s.min(read);
        report = Some(r);
        if spent >= LONG_ENOUGH_S {
            break;
        }
    }
    let report = report.ok_or_else(|| BenchError::Invalid("no repeat ran".into()))?;
    // Every repeat wrote the same bytes; the last read's buffer stands for all of them.
    let item = sample.cube.dtype().itemsize();
    let mismatches = decoded
        .chunks(item)
        .zip(sample.cube.data.chunks(item))
        .filter(|(a, b)| a != b)
        .count();
    if mismatches > 0 || decoded.len() != sample.cube.data.len() {
        return Err(BenchError::Invalid(format!(
            "{}: {method} did not reproduce the sample bitwise ({mismatches} of {} elements \
             differ, {} of {} bytes decoded); this is a codec bug",
            out.display(),
            sample.cube.data.len() / item,
            decoded.len(),
            sample.cube.data.len()
        )));
    }

    // Stored bytes per sampled unit, from the chunk index: unit `j` is scan_x chunk `j`.
    let mut stored = vec![0u64; sample.units.len()];
    let mut add = |scan_x: usize, bytes: u64| {
        if let Some(s) = stored.get_mut(scan_x / sample.chunk[1]) {
            *s += bytes;
        }
    };
    let (payload, store) = if method.is_zarr() {
        let cube = sample.cube.shape();
        let shard = zarr::shard_shape(cube, sample.chunk, item);
        let mut payload = 0;
        for c in zarr::stored_chunks(out, cube, sample.chunk, shard)? {
            add(c.origin[1], c.bytes);
            payload += c.bytes;
        }
        let store = whole_store(sample.shape, sample.cube.dtype(), method, sample.chunking)?;
        (payload, Some(store))
    } else {
        for c in raw_chunks(out, layout.dataset_path())? {
            add(
                c.offset.get(1).copied().unwrap_or(0) as usize,
                c.bytes.len() as u64,
            );
        }
        (report.payload_bytes, None)
    };
    Ok(SampleRun {
        method: method.name().to_string(),
        chunking: sample.chunking.name(),
        chunk_shape: sample.chunk,
        unit: sample.unit.name().to_string(),
        units_total: sample.grid[0] * sample.grid[1],
        unit_bytes: sample.unit_bytes.clone(),
        unit_stored: stored,
        sample_file_bytes: report.file_bytes,
        sample_payload_bytes: payload,
        sample_chunks: report.chunks,
        write_s,
        read_s,
        store,
    })
}

/// What the Zarr store `stemz compress` writes of a whole `shape`/`dtype` file with `method`
/// and `chunking` holds besides its inner chunks: its `zarr.json` (SHA-256 attribute included)
/// and one index per shard of its own layout.
pub fn whole_store(
    shape: Shape4,
    dtype: DType,
    method: Method,
    chunking: Chunking,
) -> Result<StoreOverhead> {
    let mut opts = WriteOptions::new(method, chunking, Engine::Serial, Layout::hdf5_default());
    opts.digest = true;
    let inner = chunking.shape(shape);
    let shard = zarr::shard_shape(shape, inner, dtype.itemsize());
    Ok(StoreOverhead {
        metadata_bytes: zarr::metadata_len(shape, dtype, &opts)?,
        shards: (0..4).map(|i| shape[i].div_ceil(shard[i]) as u64).product(),
        index_bytes_per_shard: zarr::index_bytes(inner, shard),
    })
}

/// Decode the whole written file into `buf` (one selection, as h5py's `d[:]`); file open
/// excluded (as [`crate::measure`]).
fn timed_read(
    out: &Path,
    method: Method,
    layout: &Layout,
    engine: Engine,
    buf: &mut Vec<u8>,
) -> Result<f64> {
    let mut written = open_written(out, method, layout, engine)?;
    let shape = written.shape();
    let item = written.dtype().itemsize();
    let all = Hyperslab {
        origin: [0; 4],
        extent: shape,
    };
    buf.resize(all.len() * item, 0);
    let t = Instant::now();
    written.read_slab(&all, buf)?;
    Ok(t.elapsed().as_secs_f64())
}

/// Every method × chunking of `opts`, sampled from `reader`, in the order chunkings × methods.
/// `progress` is called before each measurement with (done, total, method, chunking).
pub fn evaluate(
    reader: &mut dyn CubeReader,
    opts: &Options,
    progress: &mut dyn FnMut(usize, usize, Method, Chunking),
) -> Result<Vec<SampleRun>> {
    opts.validate()?;
    let total = opts.methods.len() * opts.chunkings.len();
    let mut out = Vec::with_capacity(total);
    for &chunking in &opts.chunkings {
        let mut sample = gather(reader, chunking, opts.fraction, opts.max_sample_bytes)?;
        for &method in &opts.methods {
            progress(out.len(), total, method, chunking);
            out.push(measure(&mut sample, method, opts)?);
        }
    }
    Ok(out)
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
        let s = gather(&mut cube, Chunking::Explicit([2, 2, 1, 2]), 1.0, u64::MAX).expect("gather");
        assert_eq!(s.grid, [2, 3]);
        assert_eq!(s.units.len(), 6);
        assert_eq!(s.cube.shape(), [2, 12, 1, 2]);
        // Column (1, 2) covers scan (2, 4) only: 1 frame of 4 bytes, the rest zero padding.
        assert_eq!(s.unit_bytes[5], 4);
        assert_eq!(s.real_bytes(), 60);
        let v = u16s(&s.cube.data);
        // Sample row 0, column 5 (positions 10, 11): scan (2, 4) then padding.
        assert_eq!(&v[20..24], &[28, 29, 0, 0]);
        // Sample row 0, column 0: scan (0, 0), (0, 1).
        assert_eq!(&v[0..4], &[0, 1, 2, 3]);
    }

    #[test]
    fn the_sample_never_holds_more_than_its_byte_cap_but_always_one_column() {
        // 8x8 scan, 1x2 u16 detector; chunks 1x1 → 64 columns of 4 bytes each.
        let shape = [8, 8, 1, 2];
        let data: Vec<u16> = (0..128).collect();
        let mut cube = MemCube::new(shape, stemz_data::DType::U16, bytemuck_bytes(&data))
            .expect("cube matches shape");
        let chunking = Chunking::Explicit([1, 1, 1, 2]);
        let all = gather(&mut cube, chunking, 1.0, u64::MAX).expect("gather");
        assert_eq!(all.units.len(), 64);
        let capped = gather(&mut cube, chunking, 1.0, 40).expect("gather");
        assert_eq!(capped.units.len(), 10, "40 bytes hold 10 columns of 4");
        assert!(capped.real_bytes() <= 40);
        let rows: std::collections::BTreeSet<usize> = capped.units.iter().map(|c| c[0]).collect();
        assert!(rows.len() >= 6, "still stratified over scan_y: {rows:?}");
        let one = gather(&mut cube, chunking, 1.0, 1).expect("gather");
        assert_eq!(one.units.len(), 1, "a cap below one column still takes one");
    }

    #[test]
    fn columns_too_large_for_the_cap_are_sampled_as_single_chunks_zero_padded() {
        // 2x3 scan, 4x6 u16 detector, value = linear index + 1 (so padding's 0 shows); chunks
        // 1x2x3x4: scan grid 2x2, detector grid 2x2, the right and bottom chunks clipped.
        let shape = [2, 3, 4, 6];
        let n: usize = shape.iter().product();
        let data: Vec<u16> = (1..=n as u16).collect();
        let mut cube = MemCube::new(shape, stemz_data::DType::U16, bytemuck_bytes(&data))
            .expect("cube matches shape");
        let chunking = Chunking::Explicit([1, 2, 3, 4]);
        let column = 2 * 4 * 6 * 2;
        let whole = gather(&mut cube, chunking, 1.0, u64::MAX).expect("gather");
        assert_eq!(whole.unit, Unit::Column, "all columns fit: columns");
        let s = gather(&mut cube, chunking, 1.0, 2 * column - 1).expect("gather");
        assert_eq!(
            s.unit,
            Unit::Chunk,
            "one column fits, fewer than MIN_COLUMNS: chunks"
        );
        assert_eq!(s.grid, [2, 8]);
        let chunk_bytes = 2 * 3 * 4 * 2;
        assert_eq!(
            s.units.len() as u64,
            (2 * column - 1) / chunk_bytes,
            "as many chunks as fit"
        );
        assert_eq!(s.cube.shape(), [1, 2 * s.units.len(), 3, 4]);
        let got = u16s(&s.cube.data);
        let at = |p: [usize; 4]| {
            if (0..4).all(|i| p[i] < shape[i]) {
                data[((p[0] * shape[1] + p[1]) * shape[2] + p[2]) * shape[3] + p[3]]
            } else {
                0
            }
        };
        let mut real = Vec::new();
        for (j, &[gy, u]) in s.units.iter().enumerate() {
            let (gx, d) = (u % 2, u / 2);
            let origin = [gy, gx * 2, (d / 2) * 3, (d % 2) * 4];
            let mut count = 0u64;
            for b in 0..2 {
                for c in 0..3 {
                    for e in 0..4 {
                        let want = at([origin[0], origin[1] + b, origin[2] + c, origin[3] + e]);
                        count += u64::from(want != 0);
                        assert_eq!(
                            got[((j * 2 + b) * 3 + c) * 4 + e],
                            want,
                            "unit {j} {b} {c} {e}"
                        );
                    }
                }
            }
            real.push(count * 2);
        }
        assert_eq!(s.unit_bytes, real, "real bytes exclude the padding");
        let rows: std::collections::BTreeSet<usize> = s.units.iter().map(|u| u[0]).collect();
        assert_eq!(rows.len(), 2, "both scan rows: {:?}", s.units);
    }

    #[test]
    fn a_zarr_sample_stores_the_full_stores_own_inner_chunks() {
        // 6x9 scan, 20x12 u16 detector, density varying by frame; single_frame-like chunks of
        // half the detector (units: columns of 2 chunks), and scan-edge-clipped 4x4 columns.
        let shape = [6, 9, 20, 12];
        let frame = 20 * 12;
        let data: Vec<u16> = (0..shape.iter().product::<usize>())
            .map(|i| {
                let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
                if h % 50 < (i / frame % 7) as u64 + 1 {
                    (h % 4096) as u16
                } else {
                    0
                }
            })
            .collect();
        let mut cube = MemCube::new(shape, stemz_data::DType::U16, bytemuck_bytes(&data))
            .expect("cube matches shape");
        let dir = tempfile::tempdir().unwrap();
        for chunk in [[1, 1, 10, 12], [4, 4, 20, 12]] {
            let chunking = Chunking::Explicit(chunk);
            let method = Method::ZarrBloscZstd;
            let full = dir.path().join(format!("full{}.zarr", chunk[0]));
            let mut wopts =
                WriteOptions::new(method, chunking, Engine::Serial, Layout::hdf5_default());
            wopts.digest = true;
            let written = stemz_codecs::write(&mut cube, &full, &wopts).unwrap();
            let shard = zarr::shard_shape(shape, chunk, 2);
            // Stored bytes of the whole store's chunk columns, by scan-plane chunk position.
            let grid = [shape[0].div_ceil(chunk[0]), shape[1].div_ceil(chunk[1])];
            let mut by_column = vec![0u64; grid[0] * grid[1]];
            for c in zarr::stored_chunks(&full, shape, chunk, shard).unwrap() {
                by_column[c.origin[0] / chunk[0] * grid[1] + c.origin[1] / chunk[1]] += c.bytes;
            }
            let opts = Options {
                fraction: 0.3,
                methods: vec![method],
                chunkings: vec![chunking],
                engine: Engine::Parallel { threads: 2 },
                repeats: 1,
                max_sample_bytes: u64::MAX,
                workdir: dir.path().to_path_buf(),
            };
            let mut sample = gather(&mut cube, chunking, opts.fraction, u64::MAX).unwrap();
            let run = measure(&mut sample, method, &opts).unwrap();
            assert!(
                run.unit_stored.len() < by_column.len(),
                "{chunk:?}: a sample"
            );
            for (u, stored) in sample.units.iter().zip(&run.unit_stored) {
                assert_eq!(
                    *stored,
                    by_column[u[0] * grid[1] + u[1]],
                    "{chunk:?} unit {u:?}"
                );
            }
            let store = run
                .store
                .expect("a Zarr run says what its whole store adds");
            let payload: u64 = by_column.iter().sum();
            assert_eq!(payload + store.bytes(), written.file_bytes, "{chunk:?}");
            assert!(!dir
                .path()
                .join(format!("sample__{method}__{}.zarr", chunking.name()))
                .exists());
        }
    }

    fn u16s(bytes: &[u8]) -> Vec<u16> {
        bytes
            .chunks_exact(2)
            .map(|b| u16::from_ne_bytes([b[0], b[1]]))
            .collect()
    }

    fn bytemuck_bytes(v: &[u16]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_ne_bytes()).collect()
    }
}
