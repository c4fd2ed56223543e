//! `stemz recommend`: which method and chunking to use for one file, measured on a stratified
//! sample of its own chunks and projected to the whole file, per goal (smallest,
//! fastest-write, fastest-read, balanced), with the `stemz compress` command that applies it.
//! HDF5 and Zarr methods compete alike: a Zarr candidate's sample is a sharded store with the
//! same inner chunks, and its winner's command writes a `.zarr` store.
//!
//! The sampling and measuring live in `stemz_bench::recommend`, the projection, confidence
//! interval and goal rules in `stemz_analysis::recommend` (both documented there); this module
//! parses, joins the two, prints, and runs the optional full-file check (`--verify-full`).

use crate::input::InputArgs;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use stemz_analysis::recommend::{project, prune, ratio_floor, Candidate, Goal, Population, Pruned};
use stemz_bench::recommend::{evaluate, Options};
use stemz_codecs::engine::{self, Layout, WriteOptions};
use stemz_codecs::{Chunking, Engine, Method};

const GIB: f64 = (1u64 << 30) as f64;

#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Sample: for each chunking, about FRACTION of the file's sampling units (chunk columns, a scan \
chunk position with the whole detector under it; or single chunks when fewer than 5 columns \
fit --sample-max-mib), at least 5, at most all, and no more than --sample-max-mib hold, though \
at least one, stratified over scan_y and spread over scan_x and the detector, are gathered \
into an in-memory cube and written with the real engine (a Zarr method: the real Zarr writer, \
a sharded store with the same inner chunks), so the stored chunks are the file's own.
Projection: file size = uncompressed bytes x (sampled stored bytes / sampled bytes) + metadata: \
HDF5's projected from the sample file's; a Zarr store's zarr.json and one shard index per shard \
computed exactly for the store `stemz compress` writes. The 95 % interval comes from the spread \
of the per-unit ratios (ratio estimator, Student t, finite-population corrected: sampling \
everything gives a zero-width interval).
Goals: smallest = highest projected ratio. The other goals only consider methods with \
ratio >= 1 + (best - 1)/2 (at least half of the best ratio's gain), so `none` cannot win by \
doing nothing. fastest-write / fastest-read = highest throughput; balanced = highest \
ratio x min(write, read) GiB/s (a doubling of either counts the same).")]
pub struct Args {
    /// The datacube file (EMD 1.0 / HDF5, Merlin .mib, NumPy .npy, a Zarr v3 store).
    pub file: PathBuf,
    #[command(flatten)]
    pub source: InputArgs,
    /// Fraction of the file's sampling units (chunk columns or chunks) to sample, in (0, 1].
    #[arg(long, default_value_t = 0.05)]
    pub sample: f64,
    /// Only this goal: smallest, fastest-write, fastest-read or balanced (default: all four).
    #[arg(long)]
    pub goal: Option<String>,
    /// Methods to compare: names, or `hdf5` (every HDF5 method), `zarr` (every Zarr method);
    /// default: both. The study's own file formats (sparse_csr, uint8_overflow, simple_gzip)
    /// cannot be sampled by chunks.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub methods: Vec<String>,
    /// Chunkings: real_space, balanced, single_frame, or SYxSXxQYxQX.
    #[arg(
        long,
        value_delimiter = ',', num_args = 1..,
        default_value = "real_space,balanced,single_frame"
    )]
    pub chunkings: Vec<String>,
    /// serial (HDF5's pipeline, as h5py; Zarr: one thread) or parallel (chunks compressed on
    /// all threads).
    #[arg(long, default_value = "parallel", value_parser = ["serial", "parallel"])]
    pub engine: String,
    /// Threads of the parallel engine (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Timed writes and reads of each sample at most; the fastest counts. Repeats stop once a
    /// candidate has spent 0.5 s in timed work.
    #[arg(long, default_value_t = 3)]
    pub repeats: u32,
    /// Largest sample per chunking, in MiB (at least one chunk column is always taken): bounds
    /// memory and time on large files, which then get a wider interval.
    #[arg(long, default_value_t = stemz_bench::recommend::DEFAULT_MAX_SAMPLE_BYTES >> 20)]
    pub sample_max_mib: u64,
    /// Compress the whole file with each recommendation (to a scratch file or Zarr store, as
    /// `stemz compress` writes it, deleted after), check it bitwise and compare the actual ratio
    /// with the projection.
    #[arg(long)]
    pub verify_full: bool,
    /// Scratch folder for sample files (default: the system's temporary folder).
    #[arg(long)]
    pub workdir: Option<PathBuf>,
    /// Measure every method on every chunking. By default the chunking with the smallest chunks
    /// is measured first with every method, and a method it shows dominated (another has at
    /// least its ratio and read speed and twice its write speed) or far below the speed goals'
    /// ratio floor is not measured on the other chunkings; the output lists them and why.
    #[arg(long)]
    pub no_prune: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The outcome of `--verify-full` for one recommendation.
#[derive(Debug, Clone, Serialize)]
struct FullCheck {
    file_bytes: u64,
    ratio: f64,
    within_interval: bool,
    lossless: bool,
    write_s: f64,
}

#[derive(Debug, Serialize)]
struct Recommendation {
    goal: Goal,
    rule: &'static str,
    #[serde(flatten)]
    candidate: Candidate,
    command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    full: Option<FullCheck>,
}

#[derive(Debug, Serialize)]
struct Report {
    file: PathBuf,
    shape: [usize; 4],
    dtype: String,
    bytes: u64,
    sample_fraction: f64,
    sample_max_bytes: u64,
    /// Wall time of the sampling and measuring, seconds.
    elapsed_s: f64,
    engine: &'static str,
    ratio_floor: f64,
    recommendations: Vec<Recommendation>,
    candidates: Vec<Candidate>,
    /// Methods measured on the scout chunking only (`--no-prune` measures them all).
    pruned: Vec<Pruned>,
}

fn parse_methods(names: &[String]) -> Result<Vec<Method>> {
    let default = ["hdf5".to_string(), "zarr".to_string()];
    let names = if names.is_empty() {
        &default[..]
    } else {
        names
    };
    let mut out: Vec<Method> = Vec::new();
    for n in names {
        let add = match n.trim().to_ascii_lowercase().as_str() {
            "hdf5" => Method::hdf5(),
            "zarr" => Method::zarr().to_vec(),
            _ => vec![Method::parse(n)?],
        };
        for m in add {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// Quote for a POSIX shell when the word needs it.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn compress_command(args: &Args, c: &Candidate) -> String {
    let stem = args
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let ext = if Method::parse(&c.method).is_ok_and(|m| m.is_zarr()) {
        "zarr"
    } else {
        "h5"
    };
    let out = args
        .file
        .with_file_name(format!("{stem}_{}_{}.{ext}", c.method, c.chunking));
    let mut cmd = format!(
        "stemz compress {} {} --method {} --chunking {} --engine {}",
        shell_word(&args.file.to_string_lossy()),
        shell_word(&out.to_string_lossy()),
        c.method,
        c.chunking,
        args.engine
    );
    if let Some(d) = &args.source.dataset {
        cmd += &format!(" --dataset {}", shell_word(d));
    }
    if let Some((y, x)) = args.source.scan {
        cmd += &format!(" --scan {y}x{x}");
    }
    if args.source.spectrum_image {
        cmd += " --spectrum-image";
    }
    cmd
}

pub fn run(args: Args) -> Result<()> {
    if args.repeats == 0 {
        bail!("--repeats 0: at least one timed write and read of each sample is needed");
    }
    if !(args.sample > 0.0 && args.sample <= 1.0) {
        bail!(
            "--sample {}: the sample fraction must be in (0, 1]",
            args.sample
        );
    }
    let goals = match &args.goal {
        Some(g) => vec![Goal::parse(g)?],
        None => Goal::ALL.to_vec(),
    };
    let methods = parse_methods(&args.methods)?;
    let chunkings = args
        .chunkings
        .iter()
        .map(|c| Chunking::parse(c))
        .collect::<Result<Vec<_>, _>>()?;
    let engine = match args.engine.as_str() {
        "serial" => Engine::Serial,
        _ => Engine::Parallel {
            threads: crate::checks::threads(args.threads),
        },
    };
    let mut reader = args.source.open(&args.file)?;
    for c in &chunkings {
        crate::checks::chunking_fits(c, reader.shape(), &args.file)?;
    }
    let parent = args.workdir.clone().unwrap_or_else(std::env::temp_dir);
    let scratch = crate::checks::scratch_dir(&parent, "recommend")?;
    let opts = Options {
        fraction: args.sample,
        methods,
        chunkings,
        engine,
        repeats: args.repeats,
        max_sample_bytes: args.sample_max_mib.saturating_mul(1 << 20),
        workdir: scratch.path().to_path_buf(),
    };
    let started = std::time::Instant::now();
    opts.validate()?;
    // Progress only for a person watching: not in JSON mode, not into a pipe or a log.
    let quiet = args.json || !std::io::stderr().is_terminal();
    let population = Population {
        shape: reader.shape(),
        bytes: reader.nbytes(),
    };
    let mut progress = |done: usize, total: usize, m: Method, c: Chunking| {
        if !quiet {
            eprint!("\rmeasuring {:>3}/{total}: {m} {c}          ", done + 1);
        }
    };
    let mut measure = |opts: &Options| -> Result<Vec<Candidate>> {
        Ok(evaluate(reader.as_mut(), opts, &mut progress)
            .with_context(|| format!("sampling {}", args.file.display()))?
            .iter()
            .map(|run| project(run, population))
            .collect())
    };
    // The scout: the chunking with the smallest chunks (the most units, the cheapest sample),
    // measured with every method; the others only with the methods it does not prune.
    let scout = (!args.no_prune && opts.chunkings.len() > 1).then(|| {
        *opts
            .chunkings
            .iter()
            .min_by_key(|c| c.shape(population.shape).iter().product::<usize>())
            .expect("validated: at least one chunking")
    });
    let (candidates, pruned) = match scout {
        None => (measure(&opts)?, Vec::new()),
        Some(scout) => {
            let first = measure(&Options {
                chunkings: vec![scout],
                ..opts.clone()
            })?;
            let pruned = prune(&first);
            let rest_methods: Vec<Method> = opts
                .methods
                .iter()
                .copied()
                .filter(|m| !pruned.iter().any(|p| p.method == m.name()))
                .collect();
            let rest = measure(&Options {
                chunkings: opts
                    .chunkings
                    .iter()
                    .copied()
                    .filter(|c| *c != scout)
                    .collect(),
                methods: rest_methods,
                ..opts.clone()
            })?;
            // Back in the order chunkings x methods.
            let mut all: Vec<Candidate> = Vec::with_capacity(first.len() + rest.len());
            for c in &opts.chunkings {
                let name = c.name();
                all.extend(
                    first
                        .iter()
                        .chain(&rest)
                        .filter(|x| x.chunking == name)
                        .cloned(),
                );
            }
            (all, pruned)
        }
    };
    let elapsed_s = started.elapsed().as_secs_f64();
    if !quiet {
        eprintln!();
    }

    let mut recommendations = Vec::new();
    // Goals often share a pick: compress the whole file once per distinct pick.
    let mut checked: Vec<(usize, FullCheck)> = Vec::new();
    for goal in goals {
        let Some(i) = goal.pick(&candidates) else {
            bail!("no candidate for goal {goal}");
        };
        let c = candidates[i].clone();
        let full = match checked.iter().find(|(k, _)| *k == i) {
            Some((_, f)) => Some(f.clone()),
            None if args.verify_full => {
                let f = verify_full(&args, &mut *reader, &c, engine, scratch.path())?;
                checked.push((i, f.clone()));
                Some(f)
            }
            None => None,
        };
        recommendations.push(Recommendation {
            goal,
            rule: goal.rule(),
            command: compress_command(&args, &c),
            candidate: c,
            full,
        });
    }

    let report = Report {
        file: args.file.clone(),
        shape: reader.shape(),
        dtype: reader.dtype().to_string(),
        bytes: reader.nbytes(),
        sample_fraction: args.sample,
        sample_max_bytes: opts.max_sample_bytes,
        elapsed_s,
        engine: engine.name(),
        ratio_floor: ratio_floor(&candidates),
        recommendations,
        candidates,
        pruned,
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report)?;
    }
    Ok(())
}

/// Compress the whole file with `c` into the scratch folder, verified, and compare. A Zarr
/// store is written as `stemz compress` writes it (with the SHA-256 attribute, which its
/// projection counts).
fn verify_full(
    args: &Args,
    reader: &mut dyn stemz_data::CubeReader,
    c: &Candidate,
    engine: Engine,
    dir: &Path,
) -> Result<FullCheck> {
    let method = Method::parse(&c.method)?;
    let chunking = Chunking::parse(&c.chunking)?;
    let ext = if method.is_zarr() { "zarr" } else { "h5" };
    let out = dir.join(format!("full__{}__{}.{ext}", c.method, c.chunking));
    let mut opts = WriteOptions::new(method, chunking, engine, Layout::hdf5_default());
    opts.digest = method.is_zarr();
    let r = engine::write(reader, &out, &opts).with_context(|| {
        format!(
            "compressing all of {} with {} {}",
            args.file.display(),
            c.method,
            c.chunking
        )
    });
    stemz_bench::recommend::remove_output(&out);
    let r = r?;
    let ratio = r.ratio();
    Ok(FullCheck {
        file_bytes: r.file_bytes,
        ratio,
        within_interval: c.projection.ratio_lo <= ratio && ratio <= c.projection.ratio_hi,
        lossless: r.verify.as_ref().is_some_and(|v| v.lossless),
        write_s: r.write_s,
    })
}

fn size(b: u64) -> String {
    if b < 1 << 20 {
        format!("{b} B")
    } else if b < 1 << 30 {
        format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.2} GiB", b as f64 / GIB)
    }
}

fn print_text(r: &Report) -> Result<()> {
    let s = r.shape;
    outln!(
        "file       {}  {}x{}x{}x{} {}  {}",
        r.file.display(),
        s[0],
        s[1],
        s[2],
        s[3],
        r.dtype,
        size(r.bytes)
    );
    outln!(
        "sample     {:.1} % of sampling units per chunking (at most {}), {} engine; {} candidates measured in {:.1} s; ratio floor for speed goals {:.2}",
        r.sample_fraction * 100.0,
        size(r.sample_max_bytes),
        r.engine,
        r.candidates.len(),
        r.elapsed_s,
        r.ratio_floor
    );
    for rec in &r.recommendations {
        let c = &rec.candidate;
        let p = &c.projection;
        outln!();
        outln!(
            "{:<14} {} {}  ({})",
            rec.goal.name(),
            c.method,
            c.chunking,
            rec.rule
        );
        outln!(
            "  sample     ratio {:.3} over {}/{} {}s (per {} {:.3}..{:.3}), write {:.3} GiB/s, read {:.3} GiB/s, bitwise lossless",
            c.sample_ratio,
            c.units_sampled,
            c.units_total,
            c.unit,
            c.unit,
            c.unit_ratio_min,
            c.unit_ratio_max,
            c.write_gib_s,
            c.read_gib_s
        );
        if p.file_bytes_hi == u64::MAX {
            outln!(
                "  projected  {}, ratio {:.3}, no interval (one {} sampled: raise --sample-max-mib to bound it; at most {:.3}), write {:.2} s, read {:.2} s",
                size(p.file_bytes),
                p.ratio,
                c.unit,
                p.ratio_hi,
                p.write_s,
                p.read_s
            );
        } else {
            outln!(
                "  projected  {} (95 % {} .. {}), ratio {:.3} ({:.3} .. {:.3}), write {:.2} s, read {:.2} s",
                size(p.file_bytes),
                size(p.file_bytes_lo),
                size(p.file_bytes_hi),
                p.ratio,
                p.ratio_lo,
                p.ratio_hi,
                p.write_s,
                p.read_s
            );
        }
        if let Some(f) = &rec.full {
            outln!(
                "  full file  {} ratio {:.3}: {} the interval, {}, written in {:.2} s",
                size(f.file_bytes),
                f.ratio,
                if f.within_interval {
                    "inside"
                } else {
                    "OUTSIDE"
                },
                if f.lossless {
                    "bitwise lossless"
                } else {
                    "NOT lossless"
                },
                f.write_s
            );
        }
        outln!("  apply      {}", rec.command);
    }
    if let Some(first) = r.pruned.first() {
        outln!();
        outln!(
            "measured on {} only ({} methods; --no-prune measures them everywhere):",
            first.chunking,
            r.pruned.len()
        );
        for p in &r.pruned {
            outln!("  {:<26} {}", p.method, p.reason);
        }
    }
    Ok(())
}

#[cfg(test)]
mod default_candidates {
    use super::*;

    #[test]
    fn recommend_considers_every_hdf5_and_every_zarr_method_by_default() {
        let methods = parse_methods(&[]).unwrap();
        let mut want = Method::hdf5();
        want.extend_from_slice(Method::zarr());
        assert_eq!(methods, want);
        let named = parse_methods(&["zarr".into(), "blosc_zstd".into(), "ZARR_ZSTD_3".into()]);
        let mut want = Method::zarr().to_vec();
        want.push(Method::BloscZstd);
        assert_eq!(named.unwrap(), want, "groups, names, no repeats");
    }

    #[test]
    fn recommend_considers_the_blosc2_methods_by_default() {
        let methods = parse_methods(&[]).unwrap();
        // Every method stemz adds (the five Blosc2 ones among them), not a hand-kept subset.
        let blosc2 = Method::new_methods()
            .iter()
            .filter(|m| m.family() == "blosc2")
            .count();
        assert_eq!(blosc2, 5);
        for m in Method::new_methods() {
            assert!(methods.contains(m), "{m} is not a default candidate");
        }
        assert!(methods.contains(&Method::BloscZstd));
    }
}
