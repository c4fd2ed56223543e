//! Projection of a sampled candidate to the whole file, and the goals that pick one
//! (`stemz recommend`). Pure: `stemz-bench` gathers and measures the sample
//! ([`stemz_record::sample::SampleRun`]), this module turns each run into a [`Candidate`]
//! with its 95 % interval, and [`Goal::pick`] chooses.
//!
//! **Projection.** The sampling units are chunk columns, or single chunks where columns are
//! too large for the sample (`SampleRun::unit`). With `b_i` the real (unpadded) bytes of
//! unit `i` and `s_i` its stored bytes, the compressed fraction `c = Σs/Σb` (ratio of sums)
//! projects the payload `P = B·c` of a file of `B` bytes. Its standard error is the usual
//! linearised ratio-estimator one, `se² = (1 − n/N)·Σ(s_i − c·b_i)² / (n(n−1)·b̄²)`, with the
//! finite-population correction (a sample of every unit has no sampling error), and the 95 %
//! interval is `c ± t₀.₉₇₅,n−1·se` (Student t, conservative for small samples). Systematic
//! samples are treated as simple random ones, which overstates the error when the data vary
//! smoothly over the scan. An HDF5 file adds its metadata: the sample file's own overhead
//! (`file − payload`, superblock, object headers, chunk index) plus
//! [`INDEX_BYTES_PER_CHUNK`] for each chunk the full file has beyond the sample's. A Zarr store
//! adds what its layout fixes ([`SampleRun::store`]): the whole store's `zarr.json` and one
//! shard index per shard (16 bytes per inner chunk slot, empty or not, and a crc32c), exact for
//! the store `stemz compress` writes, so only the payload carries sampling error; the sample
//! store's own overhead says nothing about the full store's, whose shards are laid out over
//! the file's scan, not the sample's. Projected ratio = `B / (P + overhead)`, projected times =
//! `B / measured throughput`.
//!
//! **Goals** ([`Goal::pick`]): `smallest` = highest projected ratio. The others consider only
//! methods whose ratio keeps at least half of the best ratio's gain over uncompressed,
//! `ratio ≥ 1 + (best − 1)/2` ([`ratio_floor`]), so `none` never wins a speed goal by doing
//! nothing (unless nothing compresses). `fastest-write` / `fastest-read` = highest write / read
//! throughput among those; `balanced` = highest `ratio × min(write, read)` among those: equal
//! weight to a doubling of the ratio and a doubling of the slower direction's speed (maximising
//! `log ratio + log speed`), so neither a slow strong codec nor a fast weak one wins by default.

use crate::{AnalysisError, Result};
use serde::Serialize;
use std::fmt;
use stemz_record::sample::SampleRun;

const GIB: f64 = (1u64 << 30) as f64;

/// HDF5 metadata per chunk of a chunked dataset, beyond the sample file's own: HDF5 1.10 files
/// written with the default (earliest) format index chunks in a version-1 B-tree, whose nodes
/// hold up to 64 entries of a 48-byte key (`8 + 8·(rank + 1)` for 4D) and an 8-byte child
/// address. Measured on a stemz file of 1024 single-frame chunks: 70 864 bytes of metadata,
/// ≈ 67 bytes per chunk after the fixed ~2 KiB.
pub const INDEX_BYTES_PER_CHUNK: u64 = 68;

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
    /// The bytes besides the stored chunks: HDF5 metadata (projected), or a Zarr store's
    /// `zarr.json` and shard indexes (exact).
    pub overhead_bytes: u64,
    pub write_s: f64,
    pub read_s: f64,
}

/// One method × chunking measured on its sample.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub method: String,
    pub chunking: String,
    pub chunk_shape: [usize; 4],
    /// The sampling unit (`chunk column` or `chunk`), units sampled / units in the file.
    pub unit: String,
    pub units_sampled: usize,
    pub units_total: usize,
    /// Real bytes of the sample.
    pub sample_bytes: u64,
    /// Stored chunk bytes of the sample, and its whole file.
    pub sample_payload_bytes: u64,
    pub sample_file_bytes: u64,
    /// Sample bytes / sample payload.
    pub sample_ratio: f64,
    /// Spread of the per-unit ratios.
    pub unit_ratio_min: f64,
    pub unit_ratio_max: f64,
    /// Throughput on the sample (real bytes per second, best of the repeats).
    pub write_gib_s: f64,
    pub read_gib_s: f64,
    pub projection: Projection,
}

/// The whole file, as the projection needs it.
#[derive(Debug, Clone, Copy)]
pub struct Population {
    pub shape: [usize; 4],
    pub bytes: u64,
}

impl Population {
    /// Chunks of `chunk` shape the whole file stores.
    pub fn chunks(&self, chunk: [usize; 4]) -> u64 {
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
pub fn compressed_fraction(stored: &[u64], real: &[u64], population_units: usize) -> (f64, f64) {
    let n = stored.len();
    let sb: f64 = real.iter().map(|&b| b as f64).sum();
    let ss: f64 = stored.iter().map(|&s| s as f64).sum();
    let c = ss / sb.max(1.0);
    if n >= population_units {
        return (c, 0.0);
    }
    if n < 2 {
        // One unit of several says nothing about the spread: the interval is unbounded.
        return (c, f64::INFINITY);
    }
    let mean_b = sb / n as f64;
    let resid: f64 = stored
        .iter()
        .zip(real)
        .map(|(&s, &b)| (s as f64 - c * b as f64).powi(2))
        .sum();
    let fpc = 1.0 - n as f64 / population_units as f64;
    let se = (fpc * resid / (n as f64 * (n as f64 - 1.0) * mean_b * mean_b)).sqrt();
    (c, t975(n - 1) * se)
}

/// Project a sampled run to the whole file (see the module doc).
pub fn project(run: &SampleRun, population: Population) -> Candidate {
    let stored = &run.unit_stored;
    let real = &run.unit_bytes;
    let sample_bytes = run.sample_bytes();
    let payload: u64 = stored.iter().sum();
    let ratios: Vec<f64> = real
        .iter()
        .zip(stored)
        .map(|(&b, &s)| b as f64 / s.max(1) as f64)
        .collect();
    let (c, half) = compressed_fraction(stored, real, run.units_total);

    let b = population.bytes as f64;
    let overhead = match run.store {
        Some(store) => store.bytes(),
        None => {
            run.sample_file_bytes
                .saturating_sub(run.sample_payload_bytes)
                + INDEX_BYTES_PER_CHUNK
                    * population
                        .chunks(run.chunk_shape)
                        .saturating_sub(run.sample_chunks)
        }
    };
    // The full file stores at least the sampled chunks: the hard floor of the interval.
    let p = b * c;
    let p_lo = (b * (c - half)).max(payload as f64);
    let p_hi = b * (c + half);
    // An unbounded interval (one unit sampled) saturates at u64::MAX.
    let f = |x: f64| (x.round() as u64).saturating_add(overhead);
    let (file_bytes, file_lo, file_hi) = (f(p), f(p_lo), f(p_hi));
    let write_gib_s = sample_bytes as f64 / GIB / run.write_s.max(1e-9);
    let read_gib_s = sample_bytes as f64 / GIB / run.read_s.max(1e-9);
    Candidate {
        method: run.method.clone(),
        chunking: run.chunking.clone(),
        chunk_shape: run.chunk_shape,
        unit: run.unit.clone(),
        units_sampled: stored.len(),
        units_total: run.units_total,
        sample_bytes,
        sample_payload_bytes: payload,
        sample_file_bytes: run.sample_file_bytes,
        sample_ratio: sample_bytes as f64 / payload.max(1) as f64,
        unit_ratio_min: ratios.iter().copied().fold(f64::INFINITY, f64::min),
        unit_ratio_max: ratios.iter().copied().fold(0.0, f64::max),
        write_gib_s,
        read_gib_s,
        projection: Projection {
            file_bytes,
            file_bytes_lo: file_lo,
            file_bytes_hi: file_hi,
            ratio: b / file_bytes.max(1) as f64,
            ratio_lo: b / file_hi.max(1) as f64,
            ratio_hi: b / file_lo.max(1) as f64,
            overhead_bytes: overhead,
            write_s: b / GIB / write_gib_s,
            read_s: b / GIB / read_gib_s,
        },
    }
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
                AnalysisError::Invalid(format!(
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
            if self != Goal::Smallest && c.projection.ratio < floor {
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
        .map(|c| c.projection.ratio)
        .fold(f64::NEG_INFINITY, f64::max);
    if best > 1.0 {
        1.0 + (best - 1.0) / 2.0
    } else {
        best
    }
}

/// How much faster a dominating candidate must write, on the scout chunking, for the dominated
/// one to be left out of the others ([`prune`]): a margin, because relative speeds carry over
/// between chunkings only roughly.
pub const PRUNE_WRITE_SPEEDUP: f64 = 2.0;

/// A method below this fraction of the scout chunking's ratio floor is left out of the other
/// chunkings ([`prune`]): it would need a quarter more ratio there to compete on speed.
pub const PRUNE_FLOOR_FRACTION: f64 = 0.8;

/// A method not measured on the other chunkings, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pruned {
    pub method: String,
    /// The scout chunking it was measured on.
    pub chunking: String,
    pub reason: String,
}

/// Methods that measuring on the scout chunking (`scout`: its candidates, one per method) shows
/// not worth measuring on the other chunkings: those whose ratio is below
/// [`PRUNE_FLOOR_FRACTION`] × the scout's [`ratio_floor`] (they can win no goal: not
/// `smallest`, whose pick is above the floor, nor a speed goal, which requires the floor), and
/// those *dominated* by another: at least its ratio and read throughput, and
/// [`PRUNE_WRITE_SPEEDUP`]× its write throughput. On the scout chunking a dominated candidate
/// wins no goal (every goal's score is monotone in ratio, write and read); the margins carry
/// that over to chunkings where the two were not compared. gzip 9 is the case in point: on a
/// 2 GiB `4D_EELS` it writes 4 MiB/s on `real_space` chunks, 64 s for a 256 MiB sample, and
/// Blosc2 zstd writes 25× faster at a higher ratio.
pub fn prune(scout: &[Candidate]) -> Vec<Pruned> {
    let floor = ratio_floor(scout);
    let mut out = Vec::new();
    for c in scout {
        let reason = if c.projection.ratio < PRUNE_FLOOR_FRACTION * floor {
            Some(format!(
                "ratio {:.2}, below {PRUNE_FLOOR_FRACTION} x the speed goals' floor {floor:.2}",
                c.projection.ratio
            ))
        } else {
            scout
                .iter()
                .filter(|n| n.method != c.method)
                .filter(|n| {
                    n.projection.ratio >= c.projection.ratio
                        && n.read_gib_s >= c.read_gib_s
                        && n.write_gib_s >= PRUNE_WRITE_SPEEDUP * c.write_gib_s
                })
                .max_by(|a, b| a.write_gib_s.total_cmp(&b.write_gib_s))
                .map(|n| {
                    format!(
                        "dominated by {}: ratio {:.2} >= {:.2}, write {:.3} >= {PRUNE_WRITE_SPEEDUP} x {:.3} GiB/s, read {:.3} >= {:.3} GiB/s",
                        n.method,
                        n.projection.ratio,
                        c.projection.ratio,
                        n.write_gib_s,
                        c.write_gib_s,
                        n.read_gib_s,
                        c.read_gib_s
                    )
                })
        };
        if let Some(reason) = reason {
            out.push(Pruned {
                method: c.method.clone(),
                chunking: c.chunking.clone(),
                reason,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_vanishes_for_a_census_and_widens_with_spread() {
        let real = [100, 100, 100, 100];
        assert_eq!(compressed_fraction(&[10, 20, 30, 40], &real, 4).1, 0.0);
        let (c, h) = compressed_fraction(&[10, 20, 30, 40], &real, 100);
        assert!((c - 0.25).abs() < 1e-12);
        assert!(h > 0.1 && h < 0.25, "{h}");
        let (_, flat) = compressed_fraction(&[25, 25, 25, 25], &real, 100);
        assert_eq!(flat, 0.0);
        // One unit of several: no spread to estimate from, so no bound.
        assert_eq!(compressed_fraction(&[25], &[100], 4).1, f64::INFINITY);
    }

    fn cand(method: &str, ratio: f64, w: f64, r: f64) -> Candidate {
        Candidate {
            method: method.into(),
            chunking: "balanced".into(),
            chunk_shape: [1; 4],
            unit: "chunk column".into(),
            units_sampled: 2,
            units_total: 4,
            sample_bytes: 0,
            sample_payload_bytes: 0,
            sample_file_bytes: 0,
            sample_ratio: ratio,
            unit_ratio_min: ratio,
            unit_ratio_max: ratio,
            write_gib_s: w,
            read_gib_s: r,
            projection: Projection {
                file_bytes: 0,
                file_bytes_lo: 0,
                file_bytes_hi: 0,
                ratio,
                ratio_lo: ratio,
                ratio_hi: ratio,
                overhead_bytes: 0,
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
    fn prune_drops_the_dominated_and_the_hopeless_and_keeps_every_goal_winner() {
        let cs = [
            cand("none", 1.0, 9.0, 9.0),
            cand("gzip_9", 8.0, 0.1, 0.5),
            cand("zstd", 8.0, 0.8, 1.5),
            cand("lz4", 4.6, 2.0, 3.0),
            cand("slow_lz4", 4.6, 1.5, 3.0),
            cand("best", 9.0, 0.3, 0.4),
        ];
        let pruned = prune(&cs);
        let names: Vec<&str> = pruned.iter().map(|p| p.method.as_str()).collect();
        // floor 5.0: none (1.0) < 4.0 goes; lz4 4.6 stays (>= 4.0); gzip_9 is dominated by zstd;
        // slow_lz4 is slower than lz4 but not 2x: kept.
        assert_eq!(names, ["none", "gzip_9"], "{pruned:?}");
        assert!(
            pruned[1].reason.contains("dominated by zstd"),
            "{}",
            pruned[1].reason
        );
        assert!(pruned[0].reason.contains("floor"), "{}", pruned[0].reason);
        for g in Goal::ALL {
            let w = &cs[g.pick(&cs).unwrap()].method;
            assert!(!names.contains(&w.as_str()), "{g} winner {w} pruned");
        }
        assert!(prune(&[]).is_empty());
    }

    #[test]
    fn goals_parse_by_name_and_reject_others() {
        for g in Goal::ALL {
            assert_eq!(Goal::parse(g.name()).ok(), Some(g));
        }
        let err = Goal::parse("tiniest").unwrap_err().to_string();
        assert!(err.contains("tiniest") && err.contains("balanced"), "{err}");
    }

    #[test]
    fn a_census_projects_its_own_file_and_one_unit_has_no_bound() {
        let run = SampleRun {
            method: "m".into(),
            chunking: "balanced".into(),
            chunk_shape: [1, 1, 2, 2],
            unit: "chunk column".into(),
            units_total: 4,
            unit_bytes: vec![100; 4],
            unit_stored: vec![10, 20, 30, 40],
            sample_file_bytes: 1100,
            sample_payload_bytes: 100,
            sample_chunks: 4,
            write_s: 1.0,
            read_s: 0.5,
            store: None,
        };
        let population = Population {
            shape: [2, 2, 2, 2],
            bytes: 400,
        };
        let c = project(&run, population);
        assert_eq!(
            c.projection.file_bytes, 1100,
            "payload + the sample's own overhead"
        );
        assert_eq!(c.projection.ratio_lo, c.projection.ratio_hi);
        assert_eq!(c.units_sampled, 4);
        let one = SampleRun {
            units_total: 40,
            unit_bytes: vec![100],
            unit_stored: vec![25],
            sample_payload_bytes: 25,
            sample_chunks: 1,
            ..run
        };
        let c = project(
            &one,
            Population {
                shape: [20, 2, 2, 2],
                bytes: 4000,
            },
        );
        assert_eq!(c.projection.file_bytes_hi, u64::MAX, "no spread, no bound");
        assert!(c.projection.ratio_lo < 1e-10);
        assert!(c.projection.file_bytes < c.projection.file_bytes_hi);
    }

    #[test]
    fn a_zarr_store_adds_its_metadata_and_shard_indexes_not_the_sample_stores_overhead() {
        let store = stemz_record::sample::StoreOverhead {
            metadata_bytes: 1500,
            shards: 3,
            index_bytes_per_shard: 16 * 8 + 4,
        };
        let run = SampleRun {
            method: "zarr_m".into(),
            chunking: "balanced".into(),
            chunk_shape: [1, 1, 2, 2],
            unit: "chunk column".into(),
            units_total: 8,
            unit_bytes: vec![100; 4],
            unit_stored: vec![10, 20, 30, 40],
            // The sample store's overhead (here 9000 bytes) is not the whole store's.
            sample_file_bytes: 9100,
            sample_payload_bytes: 100,
            sample_chunks: 4,
            write_s: 1.0,
            read_s: 0.5,
            store: Some(store),
        };
        let population = Population {
            shape: [2, 4, 2, 2],
            bytes: 800,
        };
        let c = project(&run, population);
        assert_eq!(c.projection.overhead_bytes, 1500 + 3 * 132);
        // Payload 800 x 100/400 = 200, plus the store's fixed bytes.
        assert_eq!(c.projection.file_bytes, 200 + 1896);
        assert!(
            c.projection.file_bytes_lo >= 100 + 1896,
            "at least the sampled chunks"
        );
        let census = SampleRun {
            units_total: 4,
            ..run
        };
        let c = project(
            &census,
            Population {
                shape: [2, 2, 2, 2],
                bytes: 400,
            },
        );
        assert_eq!(c.projection.file_bytes, 100 + 1896, "a census is exact");
        assert_eq!(c.projection.file_bytes_lo, c.projection.file_bytes_hi);
    }
}
