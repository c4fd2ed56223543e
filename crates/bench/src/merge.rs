//! Combining shard folders (`--shard K/N` runs) into one run folder.
//!
//! Shards must describe the same experiment: same scale, seed, runs, cache mode, dataset
//! checksums, stemz version and revision, libraries, and CPU model (timings from different CPUs
//! are not one measurement series). Hostnames, commands and times may differ. A row that appears
//! in two shards is refused, never silently dropped.
//!
//! Shards must also be finished and all there: a shard still running (its folder locked, see
//! [`crate::lock`]) is refused; one holding fewer rows than its `run.toml` expects, or a set
//! missing some of its `K/N` shards, is refused unless the caller asks for a partial merge,
//! which then says what is missing ([`MergeReport::notes`]). Shard folders are only read.

use crate::error::{BenchError, Result};
use crate::record::{write_measurements, Measurement};
use crate::runinfo::RunInfo;
use crate::runner::{load_existing, row_key};
use std::collections::HashMap;
use std::path::Path;

/// Fields that must agree across shards, as (name, value) for a readable error.
fn identity(info: &RunInfo) -> Vec<(&'static str, String)> {
    vec![
        ("scale", info.scale.clone()),
        ("seed", info.seed.to_string()),
        ("runs", info.runs.to_string()),
        ("cache", info.cache.clone()),
        ("datasets", format!("{:?}", info.datasets)),
        ("stemz", info.software.stemz.clone()),
        ("git_revision", info.software.git_revision.clone()),
        ("libraries", format!("{:?}", info.software.libraries)),
        ("cpu", info.machine.cpu.clone()),
    ]
}

pub fn read_info(dir: &Path) -> Result<RunInfo> {
    let path = dir.join("run.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| BenchError::io(&path, e))?;
    toml::from_str(&text).map_err(|e| BenchError::Invalid(format!("{}: {e}", path.display())))
}

pub fn write_info(dir: &Path, info: &RunInfo) -> Result<()> {
    let path = dir.join("run.toml");
    let text = toml::to_string(info)
        .map_err(|e| BenchError::Invalid(format!("{}: {e}", path.display())))?;
    let tmp = dir.join(".run.toml.partial");
    std::fs::write(&tmp, text).map_err(|e| BenchError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| BenchError::io(&path, e))
}

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeReport {
    /// Rows written to the merged `raw.csv`.
    pub rows: usize,
    /// What a partial merge lacks (incomplete shards, missing shards); empty when complete.
    pub notes: Vec<String>,
}

/// Check that the shards are finished and form a whole set; returns what is missing (an
/// error unless `partial`).
fn completeness(shards: &[&Path], infos: &[RunInfo], partial: bool) -> Result<Vec<String>> {
    let mut gaps = Vec::new();
    for (dir, info) in shards.iter().zip(infos) {
        if crate::lock::is_running(dir)? {
            return Err(BenchError::Invalid(format!(
                "{}: this shard is still running (its folder is locked by a stemz bench); wait \
                 for it to finish",
                dir.display()
            )));
        }
        let have = load_existing(&dir.join("raw.csv"))?.len();
        let label = info.shard.as_deref().unwrap_or("run");
        match info.expected_rows {
            Some(want) if have < want => gaps.push(format!(
                "{}: shard {label} holds {have} of its {want} rows",
                dir.display()
            )),
            None if info.finished.is_none() => gaps.push(format!(
                "{}: shard {label} never finished ({have} rows)",
                dir.display()
            )),
            _ => {}
        }
    }
    let parsed: Vec<Option<(usize, usize)>> = infos
        .iter()
        .map(|i| {
            let (k, n) = i.shard.as_deref()?.split_once('/')?;
            Some((k.trim().parse().ok()?, n.trim().parse().ok()?))
        })
        .collect();
    if let Some(Some((_, n))) = parsed.first() {
        let n = *n;
        let mut have = vec![false; n + 1];
        for (dir, p) in shards.iter().zip(&parsed) {
            match p {
                Some((k, m)) if *m == n && (1..=n).contains(k) => {
                    if have[*k] {
                        return Err(BenchError::Invalid(format!(
                            "{}: shard {k}/{n} is given twice",
                            dir.display()
                        )));
                    }
                    have[*k] = true;
                }
                _ => {
                    return Err(BenchError::Invalid(format!(
                        "{}: not one of the {n} shards of {} (shard {})",
                        dir.display(),
                        shards[0].display(),
                        infos[0].shard.as_deref().unwrap_or("none")
                    )))
                }
            }
        }
        let missing: Vec<String> = (1..=n)
            .filter(|&k| !have[k])
            .map(|k| format!("{k}/{n}"))
            .collect();
        if !missing.is_empty() {
            gaps.push(format!("shards {} are missing", missing.join(", ")));
        }
    }
    if !gaps.is_empty() && !partial {
        return Err(BenchError::Invalid(format!(
            "incomplete set of shards: {}; resume the unfinished ones (`stemz bench … --run-id \
             ID --resume`) or pass --partial to merge what there is",
            gaps.join("; ")
        )));
    }
    Ok(gaps)
}

/// Merge `shards` into `out` (created; must not already hold records): all of a set's shards,
/// each finished, unless `partial`.
pub fn merge(shards: &[&Path], out: &Path, run_id: &str, partial: bool) -> Result<MergeReport> {
    let Some(first) = shards.first() else {
        return Err(BenchError::Invalid(
            "bench merge: no shard folders given".into(),
        ));
    };
    if out.join("raw.csv").exists() {
        return Err(BenchError::Invalid(format!(
            "{}: already holds raw.csv; merge into a new folder",
            out.display()
        )));
    }
    let base = read_info(first)?;
    let base_id = identity(&base);
    let infos = shards
        .iter()
        .map(|d| read_info(d))
        .collect::<Result<Vec<_>>>()?;
    let notes = completeness(shards, &infos, partial)?;
    let mut rows: Vec<Measurement> = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut started = base.started.clone();
    let mut finished = base.finished.clone();
    for (dir, info) in shards.iter().zip(infos) {
        for ((name, want), (_, got)) in base_id.iter().zip(identity(&info)) {
            if *want != got {
                return Err(BenchError::Invalid(format!(
                    "{}: `{name}` is {got}, but {} has {want}; shards of one run must match",
                    dir.display(),
                    first.display()
                )));
            }
        }
        started = started.min(info.started.clone());
        finished = match (finished, info.finished.clone()) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        for row in load_existing(&dir.join("raw.csv"))? {
            let key = row_key(
                &row.dataset,
                &row.method,
                &row.chunking,
                row.engine.as_str(),
                row.run,
            );
            if let Some(other) = seen.insert(key, dir.display().to_string()) {
                return Err(BenchError::Invalid(format!(
                    "row {} {} {} {} run {} is in both {} and {}",
                    row.dataset,
                    row.method,
                    row.chunking,
                    row.engine.as_str(),
                    row.run,
                    other,
                    dir.display()
                )));
            }
            rows.push(row);
        }
        // Every shard computes the same dataset statistics; keep the first.
        let (src, dst) = (dir.join("datasets.csv"), out.join("datasets.csv"));
        if src.exists() && !dst.exists() {
            std::fs::create_dir_all(out).map_err(|e| BenchError::io(out, e))?;
            std::fs::copy(&src, &dst).map_err(|e| BenchError::io(&dst, e))?;
        }
    }
    std::fs::create_dir_all(out).map_err(|e| BenchError::io(out, e))?;
    let raw = out.join("raw.csv");
    let tmp = out.join(".raw.csv.partial");
    let file = std::fs::File::create(&tmp).map_err(|e| BenchError::io(&tmp, e))?;
    write_measurements(std::io::BufWriter::new(file), &rows).map_err(|source| {
        BenchError::Record {
            path: tmp.clone(),
            source,
        }
    })?;
    std::fs::rename(&tmp, &raw).map_err(|e| BenchError::io(&raw, e))?;
    let expected_rows = if notes.is_empty() {
        Some(rows.len())
    } else {
        None
    };
    let merged = RunInfo {
        run_id: run_id.to_string(),
        shard: None,
        expected_rows,
        started,
        finished,
        command: vec!["stemz".into(), "bench-merge".into()],
        // Each shard's own timing stays in its folder; the merge has none of its own.
        timing: None,
        resumed: Vec::new(),
        ..base
    };
    write_info(out, &merged)?;
    Ok(MergeReport {
        rows: rows.len(),
        notes,
    })
}
