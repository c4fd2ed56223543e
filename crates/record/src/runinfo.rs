//! `run.toml`: everything needed to say where a run's numbers came from — the command, the data,
//! the software and the machine. Written at the start of a run and rewritten with the end time.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunInfo {
    pub run_id: String,
    pub command: Vec<String>,
    pub scale: String,
    pub seed: u64,
    pub runs: u32,
    pub cache: String,
    /// The file system the timed files were written to (`ext4`, `tmpfs`, …); absent in records
    /// made before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scratch_fs: Option<String>,
    /// `K/N` when this folder holds one shard of the matrix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// Rows this run (or shard) is to hold when complete: configurations × runs, so
    /// `bench-merge` can tell a finished shard from one that stopped early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_rows: Option<usize>,
    /// SHA-256 of each dataset's element bytes (from the manifest or computed), by dataset name.
    pub datasets: BTreeMap<String, String>,
    pub software: Software,
    pub machine: Machine,
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// Where the last invocation's time went (absent in records made before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<RunTiming>,
    /// Each later invocation that continued the run (`--resume`), and where: a long run may be
    /// continued on another machine of the same kind (same CPU model and core count, same
    /// build and libraries), e.g. the next 2-core VM of a session-bound evaluation, or, when
    /// asked (`--across-machines`), on another kind or build, which is then recorded here so
    /// that every row's machine and build stay known ([`segments`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed: Vec<Resumption>,
}

/// One `--resume` invocation of a run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Resumption {
    pub started: String,
    pub hostname: String,
    pub machine_id: String,
    /// Rows already in the run when this invocation began.
    pub rows_before: usize,
    /// The CPU, cores and build of this invocation; empty in records made before they were
    /// kept (those continuations were refused on any other kind of machine or build).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cpu: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cores: usize,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub git_revision: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub libraries: BTreeMap<String, String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Rows `rows` (0-based, in raw.csv order) of a run, measured by one CPU kind and build.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub rows: std::ops::Range<usize>,
    pub cpu: String,
    pub cores: usize,
    pub git_revision: String,
}

/// Which CPU and build measured which rows of a run of `total` rows: the run's own machine
/// and build until the first continuation that recorded another, and so on. Adjacent
/// continuations of the same kind and build are one segment.
pub fn segments(info: &RunInfo, total: usize) -> Vec<Segment> {
    let mut out = vec![Segment {
        rows: 0..total,
        cpu: info.machine.cpu.clone(),
        cores: info.machine.cores,
        git_revision: info.software.git_revision.clone(),
    }];
    for r in &info.resumed {
        let last = out.last().expect("one segment at least");
        // A continuation that recorded nothing was of the same kind and build (the rule then).
        let cpu = if r.cpu.is_empty() { &last.cpu } else { &r.cpu };
        let cores = if r.cores == 0 { last.cores } else { r.cores };
        let rev = if r.git_revision.is_empty() {
            &last.git_revision
        } else {
            &r.git_revision
        };
        if (cpu, cores, rev) == (&last.cpu, last.cores, &last.git_revision) {
            continue;
        }
        let next = Segment {
            rows: r.rows_before.min(total)..total,
            cpu: cpu.clone(),
            cores,
            git_revision: rev.clone(),
        };
        let last = out.last_mut().expect("one segment at least");
        last.rows.end = next.rows.start;
        out.push(next);
    }
    out.retain(|s| !s.rows.is_empty());
    out
}

/// `data/runs/clone-check.toml`, written by `cargo xtask clone-check`: a clone of `revision`
/// with nothing beside it, set up, built and checked, each step timed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CloneCheck {
    /// The commit cloned.
    pub revision: String,
    /// When the check started (UTC).
    pub started: String,
    /// What it ran on (the fields of [`Machine`] of the same names).
    pub cpu: String,
    pub cores: usize,
    /// Each step, in order.
    pub steps: Vec<CloneStep>,
}

/// One timed step of a [`CloneCheck`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CloneStep {
    /// What a user types in the clone.
    pub command: String,
    pub wall_s: f64,
}

/// Wall time of one `stemz bench` invocation against the sum of its timed regions.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct RunTiming {
    /// Rows measured by the invocation.
    pub measured: usize,
    /// From the first measurement to the last row written.
    pub wall_s: f64,
    /// Sum of write_s + fsync_s + read_s of the rows measured.
    pub timed_s: f64,
    /// `1 - timed_s / wall_s`: opening sources, verification, warm-up writes, scratch files.
    pub overhead_fraction: f64,
}

impl RunTiming {
    pub fn new(measured: usize, wall_s: f64, timed_s: f64) -> RunTiming {
        RunTiming {
            measured,
            wall_s,
            timed_s,
            overhead_fraction: if wall_s > 0.0 {
                (1.0 - timed_s / wall_s).max(0.0)
            } else {
                0.0
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Software {
    pub stemz: String,
    pub git_revision: String,
    pub rustc: String,
    /// Library name → version (HDF5, c-blosc, zstd, lz4, zlib, ...).
    pub libraries: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub ram_bytes: u64,
    pub os: String,
    pub hostname: String,
    /// `/etc/machine-id`: hostnames are not unique (`vm`, `localhost`, container names), so
    /// resuming a run checks this too. Empty in records made before it was recorded.
    #[serde(default)]
    pub machine_id: String,
}

impl Software {
    pub fn current(libraries: BTreeMap<String, String>) -> Software {
        Software {
            stemz: env!("CARGO_PKG_VERSION").to_string(),
            git_revision: git_revision(),
            rustc: env!("STEMZ_RUSTC_VERSION").to_string(),
            libraries,
        }
    }
}

/// The revision of the stemz checkout this binary was built from, `+dirty` when it had
/// uncommitted changes; `unknown` outside a checkout.
/// The revision this build was compiled from (`build.rs`): a commit, `+dirty` when the sources
/// differed from it, or `unknown` for a build outside a git checkout.
fn git_revision() -> String {
    env!("STEMZ_GIT_REVISION").to_string()
}

impl Machine {
    /// Read from /proc and uname; fields that cannot be read say `unknown`.
    pub fn current() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let ram_bytes = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024);
        let os = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|s| {
                s.lines().find(|l| l.starts_with("PRETTY_NAME=")).map(|l| {
                    l.trim_start_matches("PRETTY_NAME=")
                        .trim_matches('"')
                        .to_string()
                })
            })
            .unwrap_or_else(|| std::env::consts::OS.to_string());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ram_bytes,
            os: if kernel.is_empty() {
                os
            } else {
                format!("{os} (Linux {kernel})")
            },
            hostname,
            machine_id: std::fs::read_to_string("/etc/machine-id")
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
        }
    }

    /// One line for summaries: `host (cpu, N cores)`.
    pub fn describe(&self) -> String {
        format!("{} ({}, {} cores)", self.hostname, self.cpu, self.cores)
    }
}

/// Why a run recorded as `prev` must not be continued by this process (`now`): the first
/// machine or software field that differs, as `field: recorded X, this process Y`. A run's rows
/// are one measurement series only when one machine and one build made them all.
pub fn resume_mismatch(prev: &RunInfo, now: &RunInfo) -> Option<String> {
    data_mismatch(prev, now).or_else(|| machine_mismatch(prev, now))
}

/// The first difference of what a run measures (scale, cache, shard, datasets' bytes): never
/// resumable, whatever the machine.
pub fn data_mismatch(prev: &RunInfo, now: &RunInfo) -> Option<String> {
    first_difference([
        ("scale", prev.scale.clone(), now.scale.clone()),
        ("cache", prev.cache.clone(), now.cache.clone()),
        (
            "shard",
            prev.shard.clone().unwrap_or_default(),
            now.shard.clone().unwrap_or_default(),
        ),
        (
            "datasets",
            format!("{:?}", prev.datasets),
            format!("{:?}", now.datasets),
        ),
    ])
}

/// The first difference of what measures it (CPU, cores, build, libraries): resumable only
/// across machines (`stemz bench --across-machines`), and then recorded.
pub fn machine_mismatch(prev: &RunInfo, now: &RunInfo) -> Option<String> {
    first_difference([
        ("cpu", prev.machine.cpu.clone(), now.machine.cpu.clone()),
        (
            "cores",
            prev.machine.cores.to_string(),
            now.machine.cores.to_string(),
        ),
        (
            "stemz",
            prev.software.stemz.clone(),
            now.software.stemz.clone(),
        ),
        (
            "git_revision",
            prev.software.git_revision.clone(),
            now.software.git_revision.clone(),
        ),
        (
            "libraries",
            format!("{:?}", prev.software.libraries),
            format!("{:?}", now.software.libraries),
        ),
    ])
}

fn first_difference<const N: usize>(fields: [(&str, String, String); N]) -> Option<String> {
    fields
        .into_iter()
        .find(|(_, a, b)| a != b)
        .map(|(name, a, b)| format!("{name}: recorded `{a}`, this process `{b}`"))
}

/// A run id no earlier run can have: `prefix-host-YYYYMMDDTHHMMSSZ` (the host reduced to
/// `[A-Za-z0-9-]`). Every new `stemz bench` / `cargo xtask reproduce` measures into one of these
/// unless told to resume a named run.
pub fn new_run_id(prefix: &str) -> String {
    let host: String = Machine::current()
        .hostname
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let stamp: String = now_rfc3339()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    if host.is_empty() {
        format!("{prefix}-{stamp}")
    } else {
        format!("{prefix}-{host}-{stamp}")
    }
}

/// Seconds since the Unix epoch as an RFC 3339 UTC timestamp (no external time crate needed).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> RunInfo {
        RunInfo {
            run_id: "r".into(),
            command: vec![],
            scale: "small".into(),
            seed: 1,
            runs: 3,
            scratch_fs: None,
            cache: "warm".into(),
            shard: None,
            expected_rows: None,
            datasets: BTreeMap::from([("a".into(), "00".into())]),
            software: Software::current(BTreeMap::new()),
            machine: Machine::current(),
            started: now_rfc3339(),
            finished: None,
            timing: None,
            resumed: Vec::new(),
        }
    }

    #[test]
    fn resume_is_allowed_only_for_the_same_kind_of_machine_and_the_same_build() {
        let now = info();
        assert_eq!(resume_mismatch(&now.clone(), &now), None);
        // Another VM of the same kind may continue it (the resumption is recorded).
        let mut other_vm = now.clone();
        other_vm.machine.machine_id = "another-machine".into();
        other_vm.machine.hostname = "another-host".into();
        assert_eq!(resume_mismatch(&other_vm, &now), None);
        let mut other_cpu = now.clone();
        other_cpu.machine.cpu = "another CPU".into();
        let why = resume_mismatch(&other_cpu, &now).unwrap();
        assert!(why.starts_with("cpu: recorded `another CPU`"), "{why}");
        let mut more_cores = now.clone();
        more_cores.machine.cores += 2;
        assert!(resume_mismatch(&more_cores, &now)
            .unwrap()
            .starts_with("cores"));
        let mut old_build = now.clone();
        old_build.software.git_revision = "1340351".into();
        assert!(resume_mismatch(&old_build, &now)
            .unwrap()
            .starts_with("git_revision"));
        // More runs may be added to a run: `runs` is not part of its identity.
        let mut more_runs = now.clone();
        more_runs.runs = 10;
        assert_eq!(resume_mismatch(&more_runs, &now), None);
    }

    #[test]
    fn across_machines_only_the_data_must_match_and_segments_say_who_measured_what() {
        let now = info();
        let mut amd = now.clone();
        amd.machine.cpu = "AMD EPYC".into();
        amd.software.git_revision = "82fe23f".into();
        assert!(machine_mismatch(&amd, &now).is_some());
        assert_eq!(data_mismatch(&amd, &now), None);
        let mut other_data = amd.clone();
        other_data.datasets.insert("a".into(), "ff".into());
        assert!(data_mismatch(&other_data, &now)
            .unwrap()
            .starts_with("datasets"));

        let resumed = |rows_before, cpu: &str, rev: &str| Resumption {
            started: String::new(),
            hostname: "vm".into(),
            machine_id: String::new(),
            rows_before,
            cpu: cpu.into(),
            cores: if cpu.is_empty() { 0 } else { 2 },
            git_revision: rev.into(),
            libraries: BTreeMap::new(),
        };
        let mut run = amd.clone();
        run.machine.cores = 2;
        // An old-style continuation (same kind, recorded nothing), then one on Intel with a
        // newer build, then another on Intel with that build.
        run.resumed = vec![
            resumed(101, "", ""),
            resumed(180, "Intel Xeon", "abc1234"),
            resumed(250, "Intel Xeon", "abc1234"),
        ];
        let segs = segments(&run, 405);
        assert_eq!(segs.len(), 2, "{segs:?}");
        assert_eq!(
            (segs[0].rows.clone(), segs[0].cpu.as_str()),
            (0..180, "AMD EPYC")
        );
        assert_eq!(segs[0].git_revision, "82fe23f");
        assert_eq!(
            (segs[1].rows.clone(), segs[1].cpu.as_str()),
            (180..405, "Intel Xeon")
        );
        assert_eq!(segs[1].git_revision, "abc1234");
        assert_eq!(segments(&amd, 7).len(), 1);
    }

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
    }
}
