//! `stemz bench` and `stemz bench-merge`: the study's matrix on the user's files or on the
//! synthetic datasets, recorded in a run folder (`raw.csv`, `datasets.csv`, `run.toml`).

use crate::input::InputArgs;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use stemz_bench::lock::RunLock;
use stemz_bench::matrix::{Config, MatrixSpec, Shard};
use stemz_bench::measure::{free_bytes, CodecMeasure, Source};
use stemz_bench::merge::{read_info, write_info};
use stemz_bench::record::{format_shape, read_datasets, write_datasets, Cache, DatasetRecord};
use stemz_bench::runinfo::{
    data_mismatch, machine_mismatch, new_run_id, now_rfc3339, Machine, RunInfo, RunTiming, Software,
};
use stemz_bench::runner::run_loop;
use stemz_codecs::{Chunking, Method};
use stemz_data::open::{open, OpenOptions};
use stemz_data::stats::cube_stats;
use stemz_data::synth::{sha256_of, Manifest, Scale};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Datacube files to benchmark (EMD/HDF5, .mib, .npy); the dataset name is the file stem.
    /// Without files, `--scale` selects the synthetic datasets in `--data`.
    pub files: Vec<PathBuf>,
    /// Synthetic datasets at this scale (tiny, small, paper), read from `--data`.
    #[arg(long)]
    pub scale: Option<String>,
    /// Folder with the generated `<dataset>.emd` files (default: data/generated/<scale>).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Dataset names to include (default: all five of the manifest).
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub datasets: Vec<String>,
    /// Methods: names, or `study` (the study's 16), `all` (study + new), `hdf5` (every HDF5 one).
    #[arg(long, value_delimiter = ',', num_args = 1.., default_value = "all")]
    pub methods: Vec<String>,
    /// Chunkings: real_space, balanced, single_frame, or SYxSXxQYxQX.
    #[arg(
        long,
        value_delimiter = ',', num_args = 1..,
        default_value = "real_space,balanced,single_frame"
    )]
    pub chunkings: Vec<String>,
    /// Engines: serial (HDF5's pipeline, one thread, as h5py) and/or parallel.
    #[arg(long, value_delimiter = ',', num_args = 1.., default_value = "serial,parallel")]
    pub engines: Vec<String>,
    /// Runs per configuration (the study: 10). Rerunning with a larger N adds runs.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Page cache for reads: warm (the study's) or cold (evicted after fsync).
    #[arg(long, default_value = "warm")]
    pub cache: String,
    /// Measure only shard K of N of the matrix (for cluster job arrays).
    #[arg(long)]
    pub shard: Option<String>,
    /// Run folder name under `--out` (default: a new one, `bench-<data>-<host>-<UTC time>`).
    /// An existing folder is refused unless `--resume` is given.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Continue the run folder named by `--run-id`: rows already recorded are skipped. Refused
    /// when the run was made on another machine or by another build of stemz.
    #[arg(long, requires = "run_id")]
    pub resume: bool,
    /// With --resume: continue on another kind of machine or with another build (the data,
    /// scale and cache must still be the run's). This invocation's CPU, cores, revision and
    /// libraries are recorded in run.toml's [[resumed]], so every row's machine stays known.
    #[arg(long, requires = "resume")]
    pub across_machines: bool,
    /// Where run folders go.
    #[arg(long, default_value = "data/runs")]
    pub out: PathBuf,
    /// Scratch folder for the files being measured (default: target/bench-work).
    #[arg(long)]
    pub workdir: Option<PathBuf>,
    /// Worker threads of the parallel engine (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub source: InputArgs,
    /// Hold a dataset of at most this many MiB in memory while measuring it, so writes are timed
    /// from memory as the study's were; larger datasets stream from their files (0: always stream).
    #[arg(long, default_value_t = 1024)]
    pub preload_mib: u64,
    /// Manifest of the synthetic datasets (default: the one built into stemz).
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Make one untimed write of each configuration before its first counted run (the study
    /// made none).
    #[arg(long)]
    pub warm_up: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Shard run folders to combine.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// The merged run folder (must not hold records yet).
    #[arg(long)]
    pub out: PathBuf,
    /// Merge even when shards are missing or incomplete (what is missing is reported).
    #[arg(long)]
    pub partial: bool,
}

fn select_methods(names: &[String]) -> Result<(Vec<String>, Vec<String>)> {
    let mut methods: Vec<Method> = Vec::new();
    for n in names {
        let add: Vec<Method> = match n.as_str() {
            "all" => Method::all(),
            "study" => Method::study().to_vec(),
            "hdf5" => Method::hdf5(),
            "zarr" => Method::zarr().to_vec(),
            other => vec![Method::parse(other)?],
        };
        for m in add {
            if !methods.contains(&m) {
                methods.push(m);
            }
        }
    }
    // Chunked methods (HDF5 and Zarr) run in every chunking; whole-file formats once.
    let hdf5 = methods
        .iter()
        .filter(|m| m.is_chunked())
        .map(|m| m.name().to_string())
        .collect();
    let other = methods
        .iter()
        .filter(|m| !m.is_chunked())
        .map(|m| m.name().to_string())
        .collect();
    Ok((hdf5, other))
}

struct Plan {
    sources: BTreeMap<String, Source>,
    scale: String,
    seed: u64,
    /// Known checksums (synthetic datasets, from the manifest).
    sha: BTreeMap<String, String>,
    run_id: String,
}

fn plan(args: &Args) -> Result<Plan> {
    let scan = args.source.scan;
    let options = OpenOptions {
        dataset: args.source.dataset.clone(),
        scan,
        drop_truncated: false,
        spectrum_image: args.source.spectrum_image,
    };
    if !args.files.is_empty() {
        if args.scale.is_some() {
            bail!("give either input files or --scale, not both");
        }
        let mut sources = BTreeMap::new();
        for f in &args.files {
            if !f.exists() {
                bail!("{}: no such file", f.display());
            }
            let name = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .with_context(|| format!("{}: not a file name", f.display()))?;
            if sources
                .insert(
                    name.clone(),
                    Source {
                        path: f.clone(),
                        options: options.clone(),
                    },
                )
                .is_some()
            {
                bail!("two input files share the name `{name}`; rename one");
            }
        }
        let run_id = args.run_id.clone().unwrap_or_else(|| {
            new_run_id(&format!(
                "bench-{}",
                sources.keys().cloned().collect::<Vec<_>>().join("+")
            ))
        });
        return Ok(Plan {
            sources,
            scale: "user".into(),
            seed: 0,
            sha: BTreeMap::new(),
            run_id,
        });
    }
    let Some(scale_name) = args.scale.as_deref() else {
        bail!("nothing to benchmark: give input files, or --scale tiny|small|paper for the synthetic datasets");
    };
    let scale = Scale::parse(scale_name)
        .with_context(|| format!("unknown scale `{scale_name}`: expected tiny, small or paper"))?;
    let manifest = Manifest::load_or_embedded(args.manifest.as_deref())?;
    let specs = manifest.selected(&args.datasets)?;
    let data = args
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from("data/generated").join(scale_name));
    let mut sources = BTreeMap::new();
    let mut sha = BTreeMap::new();
    let mut seeds = Vec::new();
    for spec in specs {
        let path = data.join(format!("{}.emd", spec.name));
        if !path.exists() {
            bail!(
                "{}: missing; generate it with `cargo xtask datasets --scale {scale_name}`",
                path.display()
            );
        }
        if let Some(s) = spec.sha256(scale) {
            sha.insert(spec.name.clone(), s.to_string());
        }
        seeds.push(spec.seed);
        sources.insert(
            spec.name.clone(),
            Source {
                path,
                options: OpenOptions::default(),
            },
        );
    }
    let run_id = args
        .run_id
        .clone()
        .unwrap_or_else(|| new_run_id(&format!("bench-{scale_name}")));
    Ok(Plan {
        sources,
        scale: scale_name.into(),
        seed: seeds.first().copied().unwrap_or(0),
        sha,
        run_id,
    })
}

/// `datasets.csv`: statistics of every source, computed once per run folder.
fn dataset_records(plan: &Plan, dir: &Path) -> Result<Vec<DatasetRecord>> {
    let path = dir.join("datasets.csv");
    let mut have: Vec<DatasetRecord> = if path.exists() {
        read_datasets(std::fs::File::open(&path).with_context(|| path.display().to_string())?)
            .with_context(|| path.display().to_string())?
    } else {
        Vec::new()
    };
    let mut changed = false;
    for (name, src) in &plan.sources {
        if have.iter().any(|d| &d.dataset == name) {
            continue;
        }
        let mut reader = open(&src.path, &src.options)?;
        let stats = cube_stats(reader.as_mut())?.summary();
        let sha = match plan.sha.get(name) {
            Some(s) => s.clone(),
            None => sha256_of(open(&src.path, &src.options)?.as_mut())?,
        };
        let shape = reader.shape();
        have.push(DatasetRecord {
            dataset: name.clone(),
            shape: format_shape(&shape.map(|x| x as u64)),
            dtype: reader.dtype().numpy_name().to_string(),
            itemsize: reader.dtype().itemsize() as u32,
            uncompressed_bytes: reader.nbytes(),
            zero_count: stats.zeros,
            sparsity: stats.sparsity,
            min: stats.min,
            max: stats.max.unwrap_or(0.0),
            bits_used: stats.bits_used,
            count_gt_4095: stats.above_4095,
            count_gt_16383: stats.above_16383,
            h0_bits: stats.h0_bits,
            sha256: Some(sha),
        });
        changed = true;
    }
    if changed {
        let tmp = dir.join(".datasets.csv.partial");
        let f = std::fs::File::create(&tmp).with_context(|| tmp.display().to_string())?;
        write_datasets(f, &have)?;
        std::fs::rename(&tmp, &path).with_context(|| path.display().to_string())?;
    }
    Ok(have)
}

pub fn run(args: Args) -> Result<()> {
    stemz_codecs::filters::register_all()?;
    let plan = plan(&args)?;
    let cache = match args.cache.as_str() {
        "warm" => Cache::Warm,
        "cold" => Cache::Cold,
        other => bail!("unknown --cache `{other}`: expected warm or cold"),
    };
    for c in &args.chunkings {
        Chunking::parse(c)?;
    }
    for e in &args.engines {
        if e != "serial" && e != "parallel" {
            bail!("unknown engine `{e}`: expected serial or parallel");
        }
    }
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let shard = args
        .shard
        .as_deref()
        .map(Shard::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let (hdf5_methods, other_methods) = select_methods(&args.methods)?;
    let spec = MatrixSpec {
        datasets: plan.sources.keys().cloned().collect(),
        hdf5_methods,
        other_methods,
        chunkings: args.chunkings.clone(),
        engines: args.engines.clone(),
    };
    let mut configs: Vec<Config> = spec.configs();
    if let Some(s) = shard {
        configs = s.select(&configs);
    }

    let dir = args.out.join(&plan.run_id);
    let created = !dir.exists();
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    // Held until this process exits: a second bench on this folder (two shards given the same
    // --run-id) is refused here, before it reads or writes anything in it.
    let lock = RunLock::acquire(&dir)?;
    let exists = dir.join("run.toml").exists() || dir.join("raw.csv").exists();
    if exists && !args.resume {
        bail!(
            "{}: holds a run already; pass --resume to continue it, or choose another --run-id",
            dir.display()
        );
    }
    if args.resume && !exists {
        if created {
            let _ = std::fs::remove_dir(&dir);
        }
        bail!("{}: no run to resume there", dir.display());
    }
    let workdir = args
        .workdir
        .clone()
        .unwrap_or_else(|| PathBuf::from("target/bench-work"));
    std::fs::create_dir_all(&workdir).with_context(|| workdir.display().to_string())?;

    let records = dataset_records(&plan, &dir)?;
    // The largest scratch file is an uncompressed copy of the largest dataset (method `none`).
    let need = records
        .iter()
        .map(|d| d.uncompressed_bytes)
        .max()
        .unwrap_or(0)
        * 11
        / 10
        + (64 << 20);
    let free = free_bytes(&workdir)?;
    if free < need {
        bail!(
            "{}: {:.1} GiB free, the benchmark needs {:.1} GiB of scratch space (--workdir elsewhere?)",
            workdir.display(),
            free as f64 / (1u64 << 30) as f64,
            need as f64 / (1u64 << 30) as f64
        );
    }

    let threads = args
        .threads
        .map(crate::checks::threads)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut info = RunInfo {
        run_id: plan.run_id.clone(),
        command: portable_command(std::env::args()),
        scale: plan.scale.clone(),
        seed: plan.seed,
        runs: args.runs,
        cache: args.cache.clone(),
        scratch_fs: stemz_bench::measure::filesystem(&workdir).ok(),
        shard: shard.map(|s| s.to_string()),
        expected_rows: Some(configs.len() * args.runs as usize),
        datasets: records
            .iter()
            .map(|d| (d.dataset.clone(), d.sha256.clone().unwrap_or_default()))
            .collect(),
        software: Software::current(stemz_codecs::versions::library_versions()),
        machine: Machine::current(),
        started: now_rfc3339(),
        finished: None,
        timing: None,
        resumed: Vec::new(),
    };
    if exists {
        let prev = read_info(&dir)?;
        if let Some(why) = data_mismatch(&prev, &info) {
            bail!(
                "{}: cannot resume a run of other data ({why}); measure a new run instead",
                dir.display()
            );
        }
        if let Some(why) = machine_mismatch(&prev, &info).filter(|_| !args.across_machines) {
            bail!(
                "{}: cannot resume a run of another kind of machine or build ({why}); measure a new run, or continue it here with --across-machines",
                dir.display()
            );
        }
        // The run keeps the machine and build that started it; each continuation is listed
        // with its own.
        let here = Machine::current();
        info.resumed = prev.resumed.clone();
        info.resumed.push(stemz_bench::runinfo::Resumption {
            started: now_rfc3339(),
            hostname: here.hostname,
            machine_id: here.machine_id,
            rows_before: stemz_bench::runner::rows_in(&dir.join("raw.csv")),
            cpu: here.cpu,
            cores: here.cores,
            git_revision: info.software.git_revision.clone(),
            libraries: info.software.libraries.clone(),
        });
        info.machine = prev.machine;
        info.software = prev.software;
        info.started = prev.started;
    }
    write_info(&dir, &info)?;

    let mut measure = CodecMeasure::new(
        plan.sources.clone(),
        workdir,
        cache,
        threads,
        args.preload_mib << 20,
    );
    measure.warm_up_writes = args.warm_up;
    let total = (configs.len() * args.runs as usize) as u64;
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} ETA {eta} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    };
    let started = std::time::Instant::now();
    // Off a terminal (a run in the background, its stderr in a log) the bar does not draw:
    // one line per configuration instead, with an ETA weighted by the datasets' sizes.
    let mut log_eta = (!args.quiet && !std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .then(|| EtaLog::new(&configs, args.runs, &plan.sources, started));
    let outcome = run_loop(
        &lock,
        &configs,
        args.runs,
        &mut measure,
        &mut |done, total, c, run| {
            bar.set_position(done as u64);
            bar.set_message(format!("run {run}: {c}"));
            if let Some(log) = log_eta.as_mut() {
                eprintln!("{}", log.line(done, total, c, run));
            }
        },
    )?;
    bar.finish_and_clear();
    let rendered = render(&dir)?;
    // Wall time includes rendering the run's tables and figures: all a user waits for.
    let timing = RunTiming::new(
        outcome.measured,
        started.elapsed().as_secs_f64(),
        measure.timed_s,
    );
    info.finished = Some(now_rfc3339());
    info.timing = Some(timing);
    write_info(&dir, &info)?;

    let lossy_by_design = dataset_lossy_count(&dir)?;
    // Name only what ran: the lossy-by-design note only when such rows exist.
    let lossy_note = if lossy_by_design > 0 {
        format!(" ({lossy_by_design} lossy by design: uint8_overflow on float data)")
    } else {
        String::new()
    };
    outln!(
        "{}: {} rows measured now on {}, {} resumed from earlier invocations of this run, {:.1} s; rows not lossless: {}{lossy_note}; chunks stored raw: {}",
        dir.display(),
        outcome.measured,
        info.machine.describe(),
        outcome.skipped,
        started.elapsed().as_secs_f64(),
        outcome.not_lossless,
        outcome.chunks_stored_raw
    );
    if !outcome.columns_left_out.is_empty() {
        outln!(
            "{}: raw.csv was started by an older build: its rows, the new ones too, have no {} column",
            dir.display(),
            outcome.columns_left_out.join(", ")
        );
    }
    outln!(
        "{}: wall {:.1} s, timed regions {:.1} s, overhead {:.0} % (recorded in run.toml)",
        dir.display(),
        timing.wall_s,
        timing.timed_s,
        timing.overhead_fraction * 100.0
    );
    outln!(
        "{}: {rendered} tables and figures in tables/ and figures/",
        dir.display()
    );
    Ok(())
}

/// Render the run's own tables and figures into its folder (all rows so far, so a resumed or
/// sharded run renders what it has).
fn render(dir: &Path) -> Result<usize> {
    use stemz_report::{render_run, writer::write_or_check, Analysed, Catalogue};
    let rows = stemz_bench::runner::load_existing(&dir.join("raw.csv"))?;
    let path = dir.join("datasets.csv");
    let ds =
        read_datasets(std::fs::File::open(&path).with_context(|| path.display().to_string())?)?;
    let mut cat = Catalogue::study();
    if !ds.iter().any(|d| d.dataset == cat.table5_dataset) {
        // Table 5 compares chunkings on the study's 4D_Diff; here on the largest dataset.
        if let Some(d) = ds.iter().max_by_key(|d| d.uncompressed_bytes) {
            cat.table5_dataset = d.dataset.clone();
        }
    }
    let analysed = Analysed::new(ds, &rows, &cat)?;
    let files = render_run(&analysed, &cat)?;
    write_or_check(dir, &files, false)?;
    Ok(files.len())
}

/// Rows of `uint8_overflow` on float datasets: lossy by construction, not a failure.
fn dataset_lossy_count(dir: &Path) -> Result<usize> {
    let raw = stemz_bench::runner::load_existing(&dir.join("raw.csv"))?;
    let ds = read_datasets(std::fs::File::open(dir.join("datasets.csv"))?)?;
    Ok(raw
        .iter()
        .filter(|m| {
            m.method == Method::Uint8Overflow.name()
                && ds
                    .iter()
                    .any(|d| d.dataset == m.dataset && d.dtype.starts_with("float"))
        })
        .count())
}

pub fn merge(args: MergeArgs) -> Result<()> {
    let shards: Vec<&Path> = args.shards.iter().map(PathBuf::as_path).collect();
    let run_id = args
        .out
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .context("--out must name a folder")?;
    let report = stemz_bench::merge::merge(&shards, &args.out, &run_id, args.partial)?;
    for note in &report.notes {
        eprintln!("note: partial merge: {note}");
    }
    outln!(
        "{}: merged {} rows from {} shards{}",
        args.out.display(),
        report.rows,
        shards.len(),
        if report.notes.is_empty() {
            ""
        } else {
            " (PARTIAL: see the notes above)"
        }
    );
    Ok(())
}

/// Progress lines for a run whose stderr is not a terminal: position, elapsed time and an ETA
/// from this invocation's rate per input byte (a configuration's cost taken as proportional
/// to its dataset's file size; the methods' own speeds differ, so it is a guide, not a promise).
struct EtaLog {
    /// File size of each position of the run loop (runs × configurations, in its order).
    weights: Vec<u64>,
    started: std::time::Instant,
    /// Position of the configuration being measured, and input bytes measured so far.
    current: Option<usize>,
    measured_bytes: u64,
}

impl EtaLog {
    fn new(
        configs: &[Config],
        runs: u32,
        sources: &BTreeMap<String, Source>,
        started: std::time::Instant,
    ) -> Self {
        let size = |c: &Config| {
            sources
                .get(&c.dataset)
                .and_then(|s| std::fs::metadata(&s.path).ok())
                .map_or(1, |m| m.len().max(1))
        };
        let one_run: Vec<u64> = configs.iter().map(size).collect();
        let weights = (0..runs).flat_map(|_| one_run.iter().copied()).collect();
        EtaLog {
            weights,
            started,
            current: None,
            measured_bytes: 0,
        }
    }

    fn line(&mut self, position: usize, total: usize, config: &Config, run: u32) -> String {
        if let Some(prev) = self.current.replace(position) {
            self.measured_bytes += self.weights.get(prev).copied().unwrap_or(0);
        }
        let elapsed = self.started.elapsed().as_secs_f64();
        let remaining: u64 = self.weights.iter().skip(position).sum();
        let eta = if self.measured_bytes > 0 {
            hms(elapsed / self.measured_bytes as f64 * remaining as f64)
        } else {
            "unknown".into()
        };
        format!(
            "bench: {position}/{total} done, {} elapsed, ETA {eta}: run {run} {config}",
            hms(elapsed)
        )
    }
}

/// The command line as a record keeps it: the program by its name, and paths under the current
/// directory relative to it, so that no record names the folders of the machine that made it.
fn portable_command(args: impl Iterator<Item = String>) -> Vec<String> {
    let cwd = std::env::current_dir().ok();
    args.enumerate()
        .map(|(i, a)| {
            if i == 0 {
                return Path::new(&a)
                    .file_name()
                    .map_or(a.clone(), |n| n.to_string_lossy().into_owned());
            }
            match cwd
                .as_deref()
                .and_then(|c| Path::new(&a).strip_prefix(c).ok())
            {
                Some(rel) if Path::new(&a).is_absolute() => rel.display().to_string(),
                _ => a,
            }
        })
        .collect()
}

/// Seconds as `H:MM:SS`.
fn hms(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn recorded_commands_name_no_folder_of_this_machine() {
        let cwd = std::env::current_dir().unwrap();
        let args = [
            "/opt/somewhere/target/release/stemz".to_string(),
            "bench".into(),
            cwd.join("data/generated/paper").display().to_string(),
            "--workdir".into(),
            "/elsewhere/scratch".into(),
        ];
        assert_eq!(
            super::portable_command(args.into_iter()),
            [
                "stemz",
                "bench",
                "data/generated/paper",
                "--workdir",
                "/elsewhere/scratch"
            ]
        );
    }

    #[test]
    fn hms_formats_hours_minutes_seconds() {
        assert_eq!(super::hms(0.4), "0:00:00");
        assert_eq!(super::hms(3_725.0), "1:02:05");
        assert_eq!(super::hms(-3.0), "0:00:00");
        assert_eq!(super::hms(90_000.0), "25:00:00");
    }
}
