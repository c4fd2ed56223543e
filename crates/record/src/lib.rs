//! The run records, the interface between the stage that measures (`stemz-bench`) and the
//! stages that analyse and render (`stemz-analysis`, `stemz-report`, `cargo xtask check`).
//!
//! This crate is deliberately small: serde, csv and toml, no HDF5, no codecs, no threads, so
//! everything downstream of a run folder builds and tests without the benchmark's native stack
//! (`cargo tree -p stemz-report` shows no hdf5, blosc or rayon).
//!
//! - [`catalogue`] — every method and chunking name, with its family, HDF5 filter id and
//!   settings, defined once for the codecs, the analysis, xtask and the CLI.
//! - [`record`] — `raw.csv` (one row per measurement, long format, units in the column names)
//!   and `datasets.csv` (one row per dataset), their column tables, readers and flushing writer.
//! - [`runinfo`] — `run.toml`, the provenance of a run (command, data, software, machine), and
//!   the rule for which process may continue a run.
//! - [`load`] — `machine-load.csv`, the machine's load sampled beside a run's rows.
//! - [`perf`] — a `cargo xtask perf` record: `perf.csv`, `invocations.csv` and `perf.toml`.
//! - [`sample`] — one candidate measured on a sample of a file (`stemz recommend`), for the
//!   projection to the whole file.

pub mod catalogue;
pub mod load;
pub mod perf;
pub mod record;
pub mod runinfo;
pub mod sample;
pub mod sources;
