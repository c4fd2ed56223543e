//! All xtask subcommands, one doc line each.

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "stemz's one entry point")]
pub struct Xtask {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Put what the HDF5 source build needs under target/: a pinned cmake (PyPI) and libaec.
    Setup,
    /// The test command: format, clippy, tests, interop tests with h5py/hdf5plugin, freshness.
    Ci(CiArgs),
    /// Create or update the pinned Python interop venv under target/ and print its python path.
    Pyenv,
    /// Generate the synthetic datasets (data/generated/<scale>/), verify them, or calibrate them.
    Datasets(DatasetsArgs),
    /// Run the benchmark matrix on the synthetic datasets into data/runs/<run-id>/.
    Bench(BenchArgs),
    /// Regenerate paper/ and figures/ from the committed records.
    Report,
    /// Fail when any committed generated file differs from what the committed records produce.
    Check,
    /// set-up → datasets → calibration → benchmark (a new run; `--resume` continues one) → report.
    Reproduce(ReproduceArgs),
    /// What each reduction costs each analysis (`stemz fidelity`) on the small datasets, into
    /// data/runs/fidelity-small/ (the records of REPORT.md's "Beyond lossless").
    Fidelity,
    /// stemz (serial, parallel) against h5py + hdf5plugin on the same data, same run.
    Perf(Box<PerfArgs>),
    /// Clone HEAD with nothing beside it, time set-up, build, `reproduce --scale tiny` and `ci`
    /// there, and record the times in data/runs/clone-check.toml.
    CloneCheck,
}

#[derive(Debug, Args)]
pub struct CiArgs {
    /// Skip the interop tests (for quick local iterations; CI never passes this).
    #[arg(long)]
    pub no_interop: bool,
}

#[derive(Debug, Args)]
pub struct DatasetsArgs {
    /// tiny | small | paper
    #[arg(long, default_value = "small")]
    pub scale: String,
    /// Recompute the SHA-256 of every dataset and compare with data/datasets.toml.
    #[arg(long)]
    pub verify: bool,
    /// Measure sparsity, maxima and best ratios against the study and write paper/calibration.md.
    #[arg(long)]
    pub calibrate: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Everything after `--` goes to `stemz bench` (see `stemz bench --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// tiny | small | paper
    #[arg(long, default_value = "small")]
    pub scale: String,
    /// Runs per configuration (the study: 10).
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Continue the run folder data/runs/RUN_ID of an interrupted reproduce, on this machine or
    /// another of the same kind (CPU model, cores), with the revision that started it: when
    /// this checkout is at another one, that revision is checked out and built in
    /// target/worktrees/ and the run continues there. Without it every reproduce measures anew.
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<String>,
    /// With --resume: continue the run on whatever kind of machine this is (a session-bound
    /// evaluation may land on another CPU), still with the revision that started it. Each
    /// continuation's CPU, cores and revision go into the run's [[resumed]], and the report
    /// says which rows each measured.
    #[arg(long, requires = "resume")]
    pub across_machines: bool,
}

#[derive(Debug, Args)]
pub struct PerfArgs {
    /// What to compare: `codecs` (per-method throughput) or `matrix` (the study's 13×3 matrix).
    #[arg(default_value = "matrix")]
    pub what: String,
    /// tiny | small | paper
    #[arg(long, default_value = "small")]
    pub scale: String,
    /// Dataset to measure on.
    #[arg(long, default_value = "4D_Diff")]
    pub dataset: String,
    /// Repetitions (interleaved across the implementations).
    #[arg(long, default_value_t = 3)]
    pub reps: u32,
    /// Comma-separated methods instead of the target's (e.g. the Blosc2 ones with `codecs`).
    #[arg(long)]
    pub methods: Option<String>,
    /// Comma-separated chunkings instead of the target's.
    #[arg(long)]
    pub chunkings: Option<String>,
    /// Run folder name under `data/runs/` (default `perf-<what>-<scale>-<dataset>`).
    #[arg(long)]
    pub id: Option<String>,
    /// Where every implementation writes its scratch files (default: `/dev/shm/stemz-perf`, a
    /// tmpfs, when it has room for three copies of the dataset; otherwise `target/perf-work`).
    #[arg(long)]
    pub workdir: Option<std::path::PathBuf>,
    /// What each process measures before the next implementation's turn: `method` (one method,
    /// every chunking; the implementations take turns per method, so machine drift over the
    /// run hits them alike) or `matrix` (every method in one process per implementation and
    /// repetition: the wall time of one whole `stemz bench` matrix run).
    #[arg(long, default_value = "method")]
    pub interleave: String,
    /// Another stemz binary to measure in the same run, in the same turns (e.g. a build of the
    /// previous revision: before and after, side by side); paper/PERF.md then compares the two.
    #[arg(long, value_name = "STEMZ")]
    pub baseline: Option<std::path::PathBuf>,
    /// A revision of this repository to measure as the baseline instead: checked out in
    /// target/worktrees/ and built there by its own set-up and cargo (e.g. `a85186d`, the last
    /// revision on Debian's HDF5 1.10.8, whose set-up installs `libhdf5-dev` as root).
    #[arg(long, value_name = "REV", conflicts_with = "baseline")]
    pub baseline_rev: Option<String>,
    /// What the baseline is, for paper/PERF.md (e.g. "HDF5 1.10.8 (system)"); with
    /// --baseline-rev, the revision and the HDF5 its records name when not given.
    #[arg(long)]
    pub baseline_label: Option<String>,
}
