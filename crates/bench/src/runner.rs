//! The run loop: run 1 of every configuration, then run 2, … (as the study did, so drift is
//! spread across methods), appending one flushed row to `raw.csv` per measurement.
//!
//! Resume is the same loop: rows already in `raw.csv` are skipped by their key
//! (configuration + run), and a last line cut short by a crash is dropped before appending, so a
//! rerun after a crash or Ctrl-C loses no row and duplicates none. The loop runs only while its
//! caller holds the run folder ([`RunLock`]); readers never alter `raw.csv`. The loop knows nothing about
//! codecs: a [`Measure`] does the work, so the ordering, resume and shard logic is tested with a
//! fake.

use crate::error::{BenchError, Result};
use crate::lock::RunLock;
use crate::matrix::Config;
use crate::record::{read_measurements, Measurement, MeasurementWriter};
use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Performs measurements of configurations.
pub trait Measure {
    /// An untimed write of `config` to warm caches and the allocator before its first counted
    /// run in this process (the study's warm-up).
    fn warm_up(&mut self, config: &Config) -> Result<()>;
    /// Measure `config` once; the row's `run` is `run`.
    fn measure(&mut self, config: &Config, run: u32) -> Result<Measurement>;
}

/// Called before each measurement with (done so far, total, config, run) for progress display.
pub type Progress<'a> = dyn FnMut(usize, usize, &Config, u32) + 'a;

/// Rows recorded in a run's `raw.csv` (0 when it does not exist yet).
pub fn rows_in(raw: &Path) -> usize {
    std::fs::read_to_string(raw)
        .map(|t| t.lines().count().saturating_sub(1))
        .unwrap_or(0)
}

/// The key that makes a row unique within a run folder.
pub fn row_key(dataset: &str, method: &str, chunking: &str, engine: &str, run: u32) -> String {
    format!("{dataset}\t{method}\t{chunking}\t{engine}\t{run}")
}

fn measurement_key(m: &Measurement) -> String {
    row_key(&m.dataset, &m.method, &m.chunking, m.engine.as_str(), m.run)
}

/// Read the rows of an existing `raw.csv`, read-only: a trailing partial line (a crash
/// mid-write, or a row being written right now) is ignored, never cut off — only the run's
/// owner does that ([`drop_torn_tail`]). A missing file is an empty run.
pub fn load_existing(raw: &Path) -> Result<Vec<Measurement>> {
    let mut text = Vec::new();
    match std::fs::File::open(raw) {
        Ok(mut f) => f
            .read_to_end(&mut text)
            .map_err(|e| BenchError::io(raw, e))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(BenchError::io(raw, e)),
    };
    let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    text.truncate(keep);
    read_measurements(text.as_slice()).map_err(|source| BenchError::Record {
        path: raw.to_path_buf(),
        source,
    })
}

/// The header of an existing `raw.csv` (None when the file is missing or empty).
fn read_header(raw: &Path) -> Result<Option<Vec<String>>> {
    let file = match std::fs::File::open(raw) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(BenchError::io(raw, e)),
    };
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(file), &mut line)
        .map_err(|e| BenchError::io(raw, e))?;
    let line = line.trim_end_matches(['\n', '\r']);
    Ok((!line.is_empty()).then(|| line.split(',').map(str::to_string).collect()))
}

/// Cut a half-written last line off the run's `raw.csv` (a crash mid-row) before appending;
/// `_owner` proves this process holds the run folder.
pub fn drop_torn_tail(_owner: &RunLock, raw: &Path) -> Result<()> {
    let mut file = match OpenOptions::new().read(true).write(true).open(raw) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(BenchError::io(raw, e)),
    };
    let mut text = Vec::new();
    file.read_to_end(&mut text)
        .map_err(|e| BenchError::io(raw, e))?;
    let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if keep < text.len() {
        file.set_len(keep as u64)
            .map_err(|e| BenchError::io(raw, e))?;
    }
    Ok(())
}

/// Summary of one invocation of the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub measured: usize,
    pub skipped: usize,
    pub not_lossless: usize,
    pub chunks_stored_raw: u64,
    /// Columns of this build the run's `raw.csv` does not have (it was started by an older
    /// one), so its rows leave them out.
    pub columns_left_out: &'static [&'static str],
}

/// Run `configs` × runs `1..=runs` into `raw.csv` of the run folder `owner` holds, skipping
/// rows already there.
pub fn run_loop(
    owner: &RunLock,
    configs: &[Config],
    runs: u32,
    measure: &mut dyn Measure,
    progress: &mut Progress<'_>,
) -> Result<Outcome> {
    let raw: PathBuf = owner.dir().join("raw.csv");
    drop_torn_tail(owner, &raw)?;
    let existing = load_existing(&raw)?;
    let mut done: HashSet<String> = existing.iter().map(measurement_key).collect();
    let header = read_header(&raw)?;
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&raw)
        .map_err(|e| BenchError::io(&raw, e))?;
    // A run keeps the columns it started with, whichever build continues it.
    let mut writer = match header {
        Some(header) => {
            MeasurementWriter::append(file, &header).map_err(|source| BenchError::Record {
                path: raw.clone(),
                source,
            })?
        }
        None => MeasurementWriter::new(file),
    };

    let total = configs.len() * runs as usize;
    let mut warmed: HashSet<&Config> = HashSet::new();
    let mut outcome = Outcome {
        measured: 0,
        skipped: 0,
        not_lossless: 0,
        chunks_stored_raw: 0,
        columns_left_out: writer.dropped(),
    };
    for run in 1..=runs {
        for config in configs {
            let key = row_key(
                &config.dataset,
                &config.method,
                &config.chunking,
                &config.engine,
                run,
            );
            if done.contains(&key) {
                outcome.skipped += 1;
                continue;
            }
            progress(outcome.measured + outcome.skipped, total, config, run);
            if warmed.insert(config) {
                measure.warm_up(config)?;
            }
            let row = measure.measure(config, run)?;
            if measurement_key(&row) != key {
                return Err(BenchError::Invalid(format!(
                    "measurement of {config} run {run} came back labelled {} {} {} {} run {}",
                    row.dataset,
                    row.method,
                    row.chunking,
                    row.engine.as_str(),
                    row.run
                )));
            }
            writer.write(&row).map_err(|source| BenchError::Record {
                path: raw.clone(),
                source,
            })?;
            done.insert(key);
            outcome.measured += 1;
            if row.lossless != Some(true) {
                outcome.not_lossless += 1;
            }
            outcome.chunks_stored_raw += row.chunks_stored_raw.unwrap_or(0);
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::MatrixSpec;
    use crate::record::{Cache, Engine};

    struct Fake {
        calls: Vec<(Config, u32)>,
        warmups: usize,
        fail_after: Option<usize>,
    }

    impl Measure for Fake {
        fn warm_up(&mut self, _config: &Config) -> Result<()> {
            self.warmups += 1;
            Ok(())
        }
        fn measure(&mut self, config: &Config, run: u32) -> Result<Measurement> {
            if self.fail_after == Some(self.calls.len()) {
                return Err(BenchError::Invalid("simulated crash".into()));
            }
            self.calls.push((config.clone(), run));
            Ok(Measurement {
                dataset: config.dataset.clone(),
                method: config.method.clone(),
                chunking: config.chunking.clone(),
                chunk_shape: String::new(),
                engine: if config.engine == "serial" {
                    Engine::Serial
                } else {
                    Engine::Parallel
                },
                threads: 1,
                cache: Cache::Warm,
                run,
                uncompressed_bytes: 100,
                file_bytes: 10,
                payload_bytes: Some(8),
                ratio: 10.0,
                write_s: 0.1,
                fsync_s: None,
                read_s: Some(0.1),
                write_gib_s: None,
                read_gib_s: None,
                lossless: Some(true),
                chunks: Some(1),
                chunks_stored_raw: Some(0),
                objects: Some(1),
            })
        }
    }

    fn configs() -> Vec<Config> {
        MatrixSpec {
            datasets: vec!["d".into()],
            hdf5_methods: vec!["gzip_1".into(), "none".into()],
            other_methods: vec!["sparse_csr".into()],
            chunkings: vec!["balanced".into()],
            engines: vec!["serial".into(), "parallel".into()],
        }
        .configs()
    }

    fn lock(dir: &tempfile::TempDir) -> RunLock {
        RunLock::acquire(dir.path()).unwrap()
    }

    fn no_progress() -> impl FnMut(usize, usize, &Config, u32) {
        |_, _, _, _| {}
    }

    #[test]
    fn runs_are_ordered_run_major_with_one_warm_up_per_config() {
        let dir = tempfile::tempdir().unwrap();
        let mut fake = Fake {
            calls: vec![],
            warmups: 0,
            fail_after: None,
        };
        let out = run_loop(&lock(&dir), &configs(), 3, &mut fake, &mut no_progress()).unwrap();
        assert_eq!(out.measured, 15);
        assert_eq!(fake.warmups, 5);
        let runs: Vec<u32> = fake.calls.iter().map(|c| c.1).collect();
        assert_eq!(runs, [vec![1; 5], vec![2; 5], vec![3; 5]].concat());
    }

    #[test]
    fn crash_then_resume_loses_and_duplicates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut crashing = Fake {
            calls: vec![],
            warmups: 0,
            fail_after: Some(7),
        };
        assert!(run_loop(
            &lock(&dir),
            &configs(),
            3,
            &mut crashing,
            &mut no_progress()
        )
        .is_err());
        // A crash in the middle of writing a row leaves a partial last line.
        let raw = dir.path().join("raw.csv");
        let mut text = std::fs::read_to_string(&raw).unwrap();
        text.push_str("d,gzip_1,bal");
        std::fs::write(&raw, text).unwrap();

        let mut fake = Fake {
            calls: vec![],
            warmups: 0,
            fail_after: None,
        };
        // Readers see the whole rows and leave the torn line alone.
        assert_eq!(load_existing(&raw).unwrap().len(), 7);
        assert!(std::fs::read_to_string(&raw)
            .unwrap()
            .ends_with("d,gzip_1,bal"));
        let out = run_loop(&lock(&dir), &configs(), 3, &mut fake, &mut no_progress()).unwrap();
        assert_eq!((out.measured, out.skipped), (8, 7));
        let rows = load_existing(&raw).unwrap();
        assert_eq!(rows.len(), 15);
        let keys: HashSet<String> = rows.iter().map(measurement_key).collect();
        assert_eq!(keys.len(), 15, "no duplicate rows");
    }

    #[test]
    fn rerunning_a_complete_run_measures_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut fake = Fake {
            calls: vec![],
            warmups: 0,
            fail_after: None,
        };
        run_loop(&lock(&dir), &configs(), 2, &mut fake, &mut no_progress()).unwrap();
        let mut again = Fake {
            calls: vec![],
            warmups: 0,
            fail_after: None,
        };
        let out = run_loop(&lock(&dir), &configs(), 2, &mut again, &mut no_progress()).unwrap();
        assert_eq!((out.measured, out.skipped), (0, 10));
        assert!(again.calls.is_empty());
        // More runs later continue where the first invocation stopped.
        let out = run_loop(&lock(&dir), &configs(), 3, &mut again, &mut no_progress()).unwrap();
        assert_eq!(out.measured, 5);
    }

    #[test]
    fn a_run_started_by_an_older_build_is_continued_in_its_own_columns() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = Fake {
            calls: vec![],
            warmups: 0,
            fail_after: Some(3),
        };
        let _ = run_loop(&lock(&dir), &configs(), 1, &mut first, &mut no_progress());
        // What a build before the last column wrote: the same rows without it.
        let raw = dir.path().join("raw.csv");
        let old: String = std::fs::read_to_string(&raw)
            .unwrap()
            .lines()
            .map(|l| format!("{}\n", &l[..l.rfind(',').unwrap()]))
            .collect();
        std::fs::write(&raw, old).unwrap();

        let mut fake = Fake {
            calls: vec![],
            warmups: 0,
            fail_after: None,
        };
        let out = run_loop(&lock(&dir), &configs(), 1, &mut fake, &mut no_progress()).unwrap();
        assert_eq!((out.measured, out.skipped), (2, 3));
        assert_eq!(out.columns_left_out, ["objects"]);
        let text = std::fs::read_to_string(&raw).unwrap();
        let widths: HashSet<usize> = text.lines().map(|l| l.split(',').count()).collect();
        assert_eq!(widths, HashSet::from([crate::record::COLUMNS.len() - 1]));
        assert_eq!(load_existing(&raw).unwrap().len(), 5);
    }
}
