//! `recommend` against the full measurement: the pick made on a 5 % sample of a synthetic
//! dataset must be what measuring every chunk of it picks.
//!
//! Dataset: `4D_Diff` at `small` scale (32x32x256x256 u16, 128 MiB) held in memory, so that
//! neither run pays for generating frames. Chunkings `balanced` (4 chunk columns, fewer than
//! `MIN_COLUMNS`, so measured whole) and `single_frame` (1024 columns, sample = 52), so the pick
//! weighs a sampled chunking against an exact one; `real_space` is one column at this scale, so
//! its sample would be the whole file and test nothing. Methods: the contenders for each goal
//! (blosc_zstd and bitshuffle_zstd for size, lz4-based codecs for speed) plus `lz4_hdf5`, the fastest codec whose ratio is
//! below the floor, so a broken floor shows. Engine: serial, one thread, the least sensitive to
//! what else runs on a shared 2-core machine.
//!
//! Ratios are deterministic (fixed data, fixed sample), so their asserts are exact. Throughputs
//! are not, and speed is never asserted in a timed test (it flaked on CI's shared 2 cores: the
//! sample's fastest-write pick, remeasured side by side, reached 0.68x of the full run's): for
//! the speed goals this test asserts only what is deterministic, that the pick clears the full
//! run's ratio floor. How close the sample's speed picks come is `stemz recommend`'s to report
//! (it prints each candidate's measured throughput), not this test's to time.

use std::path::Path;
use stemz_analysis::recommend::{project, prune, ratio_floor, Candidate, Goal, Population};
use stemz_bench::recommend::{MemCube, Options};
use stemz_codecs::{Chunking, Engine, Method};
use stemz_data::synth::{manifest::default_manifest_path, Manifest, Scale, SynthReader};
use stemz_data::CubeReader;

const METHODS: [&str; 5] = [
    "lz4_hdf5",
    "blosc_lz4",
    "bitshuffle_lz4",
    "bitshuffle_zstd",
    "blosc_zstd",
];

fn options(
    fraction: f64,
    repeats: u32,
    methods: Vec<Method>,
    chunkings: Vec<Chunking>,
    dir: &Path,
) -> Options {
    Options {
        fraction,
        methods,
        chunkings,
        engine: Engine::Serial,
        repeats,
        max_sample_bytes: stemz_bench::recommend::DEFAULT_MAX_SAMPLE_BYTES,
        workdir: dir.to_path_buf(),
    }
}

/// Measure every candidate of `opts` on `cube` and project it, as `stemz recommend` does.
fn evaluate(
    cube: &mut MemCube,
    opts: &Options,
    progress: &mut dyn FnMut(usize, usize, Method, Chunking),
) -> Result<Vec<Candidate>, stemz_bench::error::BenchError> {
    let population = Population {
        shape: cube.shape(),
        bytes: cube.nbytes(),
    };
    Ok(stemz_bench::recommend::evaluate(cube, opts, progress)?
        .iter()
        .map(|run| project(run, population))
        .collect())
}

fn find<'a>(cs: &'a [Candidate], c: &Candidate) -> &'a Candidate {
    cs.iter()
        .find(|x| x.method == c.method && x.chunking == c.chunking)
        .expect("same configurations in both runs")
}

#[test]
fn recommendation_on_a_sample_agrees_with_the_full_measurement() {
    let manifest = Manifest::load(&default_manifest_path()).unwrap();
    let mut synth = SynthReader::new(manifest.spec("4D_Diff").unwrap(), Scale::Small).unwrap();
    let mut cube = MemCube::read_all(&mut synth).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let methods: Vec<Method> = METHODS.iter().map(|m| Method::parse(m).unwrap()).collect();
    let chunkings = vec![Chunking::Balanced, Chunking::SingleFrame];
    let sample_opts = options(0.05, 2, methods.clone(), chunkings.clone(), dir.path());
    let sample = evaluate(&mut cube, &sample_opts, &mut |_, _, _, _| {}).unwrap();
    let full_opts = options(1.0, 1, methods, chunkings, dir.path());
    let full = evaluate(&mut cube, &full_opts, &mut |_, _, _, _| {}).unwrap();

    // The sample is a sample (where the file has enough columns), the full run a census.
    for (s, f) in sample.iter().zip(&full) {
        assert_eq!(f.units_sampled, f.units_total);
        // A census projects exactly the file it wrote: no sampling error, no index estimate.
        assert_eq!(f.projection.file_bytes, f.sample_file_bytes);
        assert_eq!(f.projection.ratio_lo, f.projection.ratio_hi);
        // balanced has 4 columns at this scale, fewer than MIN_COLUMNS: measured whole.
        let census = s.chunking == "balanced";
        assert_eq!(
            s.units_sampled < s.units_total,
            !census,
            "{} {}",
            s.method,
            s.chunking
        );
        // Projections land within 5 % of the truth, and the 52-column intervals contain it.
        let err = (s.projection.ratio - f.projection.ratio).abs() / f.projection.ratio;
        assert!(
            err < 0.05,
            "{} {}: projected {} vs full {}",
            s.method,
            s.chunking,
            s.projection.ratio,
            f.projection.ratio
        );
        assert!(
            s.projection.ratio_lo <= f.projection.ratio
                && f.projection.ratio <= s.projection.ratio_hi,
            "{} {}: full ratio {} outside [{}, {}]",
            s.method,
            s.chunking,
            f.projection.ratio,
            s.projection.ratio_lo,
            s.projection.ratio_hi
        );
    }

    // Pruning (`stemz recommend` without --no-prune) on the scout chunking, single_frame,
    // measured on the sample, must keep every method that wins a goal in the full run.
    let scout: Vec<Candidate> = sample
        .iter()
        .filter(|c| c.chunking == "single_frame")
        .cloned()
        .collect();
    let pruned = prune(&scout);
    for goal in Goal::ALL {
        let f = &full[goal.pick(&full).unwrap()];
        assert!(
            !pruned.iter().any(|p| p.method == f.method),
            "{goal}: the full run's pick {} {} was pruned: {pruned:?}",
            f.method,
            f.chunking
        );
    }

    // smallest: the sample's pick is the full run's best, or within 1 % of its ratio (two
    // methods that close may swap places on any sample; their files differ by < 1 %).
    let s = &sample[Goal::Smallest.pick(&sample).unwrap()];
    let f = &full[Goal::Smallest.pick(&full).unwrap()];
    assert!(
        find(&full, s).projection.ratio >= 0.99 * f.projection.ratio,
        "smallest: sample picked {} {} (full ratio {}), full best {} {} ({})",
        s.method,
        s.chunking,
        find(&full, s).projection.ratio,
        f.method,
        f.chunking,
        f.projection.ratio
    );

    // Speed goals: the pick clears the full run's ratio floor (lz4_hdf5 is below it).
    let floor = ratio_floor(&full);
    for goal in [Goal::FastestWrite, Goal::FastestRead, Goal::Balanced] {
        let s = &sample[goal.pick(&sample).unwrap()];
        assert_ne!(s.method, "lz4_hdf5", "{goal}: below the ratio floor");
        assert!(
            find(&full, s).projection.ratio >= floor,
            "{goal}: {} {} below the floor {floor}",
            s.method,
            s.chunking
        );
    }
}
