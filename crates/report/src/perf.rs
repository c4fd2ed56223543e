//! `paper/PERF.md`: stemz's speed against h5py + hdf5plugin, one section per committed
//! `cargo xtask perf` record, rendered from the record's own rows (`perf.csv`,
//! `invocations.csv`, `perf.toml`; [`stemz_analysis::perf`]), with a summary table of each
//! record's targets met. Pure: the caller reads the files.
//!
//! Each section: per method (summed over chunkings and repetitions) and per configuration, the
//! write and read GiB/s of each implementation and the stemz/peer ratios with the targets
//! marked; the Blosc methods against the `BLOSC_NTHREADS` peer; the baseline build beside this
//! one when the record has one; each implementation's invocations as a whole (wall time, timed
//! regions, peak RSS). The records keep no rendered copy of their own (`cargo xtask perf`
//! prints its section through `stemz-report --perf-record`), so this is the one text to keep
//! fresh.

use crate::GENERATOR;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use stemz_analysis::catalogue;
use stemz_analysis::perf::{implementation as imp, Invocation, PerfInfo, PerfRow};

/// The peer and stemz's two engines, in the order the ratio tables read them.
const PEER_AND_STEMZ: [&str; 3] = [imp::PEER, imp::STEMZ_SERIAL, imp::STEMZ_PARALLEL];
/// The same, then a baseline build's two engines (a before/after record).
const WITH_BASELINE: [&str; 5] = [
    imp::PEER,
    imp::STEMZ_SERIAL,
    imp::STEMZ_PARALLEL,
    imp::BASELINE_SERIAL,
    imp::BASELINE_PARALLEL,
];

/// One `cargo xtask perf` record: its folder name and its files, parsed.
#[derive(Debug, Clone)]
pub struct PerfRecord {
    pub id: String,
    pub info: PerfInfo,
    pub rows: Vec<PerfRow>,
    pub invocations: Vec<Invocation>,
}

const GIB: f64 = (1u64 << 30) as f64;

/// The targets, as ratios stemz / peer.
const SERIAL_MIN: f64 = 0.97;
const PARALLEL_WRITE_MIN: f64 = 1.0;
/// Where the peer writes below `SLOW_PEER_GIB_S`, parallel must reach this.
const PARALLEL_WRITE_SLOW_PEER_MIN: f64 = 1.8;
const SLOW_PEER_GIB_S: f64 = 0.5;
const PARALLEL_READ_MIN: f64 = 1.8;
const PARALLEL_VS_MT_MIN: f64 = 1.0;

/// The parallel write target of a configuration whose peer writes at `peer_gib_s`.
fn parallel_write_min(peer_gib_s: f64) -> f64 {
    if peer_gib_s < SLOW_PEER_GIB_S {
        PARALLEL_WRITE_SLOW_PEER_MIN
    } else {
        PARALLEL_WRITE_MIN
    }
}

/// One implementation's totals for one method (or one configuration).
#[derive(Debug, Default)]
struct Totals {
    bytes: f64,
    write_s: f64,
    read_s: f64,
    ratios: Vec<f64>,
    lossy: bool,
}

impl Totals {
    fn add(&mut self, r: &PerfRow) {
        self.bytes += r.uncompressed_bytes as f64;
        self.write_s += r.write_s;
        self.read_s += r.read_s;
        self.ratios.push(r.ratio);
        self.lossy |= !r.lossless;
    }
    fn write_gib_s(&self) -> f64 {
        self.bytes / GIB / self.write_s
    }
    fn read_gib_s(&self) -> f64 {
        self.bytes / GIB / self.read_s
    }
    fn mean_ratio(&self) -> f64 {
        self.ratios.iter().sum::<f64>() / self.ratios.len().max(1) as f64
    }
}

/// A ratio, marked ✗ when below its target.
fn mark(ratio: f64, min: f64) -> String {
    if ratio < min {
        format!("{ratio:.2}× ✗")
    } else {
        format!("{ratio:.2}×")
    }
}

/// Counts of configurations meeting one target.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Tally {
    met: usize,
    of: usize,
}

impl Tally {
    fn count(&mut self, ratio: f64, min: f64) {
        self.of += 1;
        self.met += usize::from(ratio >= min);
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.met, self.of)
    }
}

/// A record's rows summed per (method, implementation) and per (method, chunking,
/// implementation), with methods and configurations in the order the rows first name them.
struct Sums<'a> {
    by_method: BTreeMap<(&'a str, &'a str), Totals>,
    by_config: BTreeMap<(&'a str, &'a str, &'a str), Totals>,
    methods: Vec<&'a str>,
    configs: Vec<(&'a str, &'a str)>,
}

impl<'a> Sums<'a> {
    fn of(rows: &'a [PerfRow]) -> Sums<'a> {
        let mut s = Sums {
            by_method: BTreeMap::new(),
            by_config: BTreeMap::new(),
            methods: Vec::new(),
            configs: Vec::new(),
        };
        for r in rows {
            let (m, c, i) = (
                r.method.as_str(),
                r.chunking.as_str(),
                r.implementation.as_str(),
            );
            if !s.methods.contains(&m) {
                s.methods.push(m);
            }
            if !s.configs.contains(&(m, c)) {
                s.configs.push((m, c));
            }
            s.by_method.entry((m, i)).or_default().add(r);
            s.by_config.entry((m, c, i)).or_default().add(r);
        }
        s
    }

    fn config(&self, (m, c): (&'a str, &'a str), implementation: &'a str) -> Option<&Totals> {
        self.by_config.get(&(m, c, implementation))
    }

    /// The configurations every one of `implementations` measured, with their totals.
    fn complete<'s, const N: usize>(
        &'s self,
        implementations: [&'static str; N],
    ) -> impl Iterator<Item = ((&'a str, &'a str), [&'s Totals; N])> + 's {
        self.configs.iter().filter_map(move |&c| {
            let got: Vec<&Totals> = implementations
                .iter()
                .filter_map(|i| self.config(c, i))
                .collect();
            Some((c, got.try_into().ok()?))
        })
    }
}

/// Configurations meeting each target, for this build and (when measured) the baseline.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Targets {
    serial_write: Tally,
    serial_read: Tally,
    parallel_write: Tally,
    parallel_read: Tally,
    /// Parallel write against the every-core peer (`BLOSC_NTHREADS`, zarr-python's pool), where
    /// it ran.
    vs_mt: Tally,
}

impl Targets {
    /// Count a configuration's serial and parallel totals against the peer's.
    fn count(&mut self, peer: &Totals, serial: &Totals, parallel: &Totals) {
        let pw = peer.write_gib_s();
        let pr = peer.read_gib_s();
        self.serial_write
            .count(serial.write_gib_s() / pw, SERIAL_MIN);
        self.serial_read.count(serial.read_gib_s() / pr, SERIAL_MIN);
        self.parallel_write
            .count(parallel.write_gib_s() / pw, parallel_write_min(pw));
        self.parallel_read
            .count(parallel.read_gib_s() / pr, PARALLEL_READ_MIN);
    }

    fn of_build(sums: &Sums) -> Targets {
        let mut t = Targets::default();
        for (c, [p, se, pa]) in sums.complete(PEER_AND_STEMZ) {
            t.count(p, se, pa);
            if let Some(mt) = sums.config(c, imp::PEER_MT) {
                t.vs_mt
                    .count(pa.write_gib_s() / mt.write_gib_s(), PARALLEL_VS_MT_MIN);
            }
        }
        t
    }

    fn of_baseline(sums: &Sums) -> Targets {
        let mut t = Targets::default();
        for (_, [p, _, _, bse, bpa]) in sums.complete(WITH_BASELINE) {
            t.count(p, bse, bpa);
        }
        t
    }

    /// `serial write 30/39, serial read 35/39, …` (the `BLOSC_NTHREADS` count with `mt`).
    fn line(&self, mt: bool) -> String {
        let mut s = format!(
            "serial write {}, serial read {}, parallel write {}, parallel read {}",
            self.serial_write, self.serial_read, self.parallel_write, self.parallel_read
        );
        if mt {
            let _ = write!(s, ", parallel write vs the every-core peer {}", self.vs_mt);
        }
        s
    }
}

/// The journal: a summary of every record's targets met, then one section per record, in the
/// order given (the caller sorts them).
pub fn journal(records: &[PerfRecord]) -> String {
    let mut out = format!(
        "<!-- generated by `{GENERATOR}` from data/runs/*/perf.csv, invocations.csv and perf.toml, do not edit -->\n\
         # Speed against h5py + hdf5plugin\n\n\
         Every `cargo xtask perf` record committed in `data/runs/`: stemz's serial and parallel \
         engines against h5py + hdf5plugin running the study's loop, on the same data, on the \
         same machine, in one run. Each record's folder holds its measurements (`perf.csv`, \
         `invocations.csv`, `perf.toml`) and the `stemz bench` run folders behind them; \
         CHANGELOG.md tells what changed between them.\n\n\
         | record | configurations meeting each target |\n| --- | --- |\n"
    );
    for r in records {
        let targets = Targets::of_build(&Sums::of(&r.rows));
        let _ = writeln!(
            out,
            "| [`{}`](#{}) | {} |",
            r.id,
            anchor(&r.id),
            targets.line(true)
        );
    }
    for r in records {
        out.push('\n');
        out.push_str(&section(r));
    }
    out
}

/// GitHub's heading anchor for a record id (lower case; ids are `[a-z0-9-]`).
fn anchor(id: &str) -> String {
    id.to_ascii_lowercase()
}

/// One record's section of the journal, from `## <id>` on.
pub fn section(r: &PerfRecord) -> String {
    let PerfInfo {
        dataset,
        scale,
        interleave,
        baseline,
        ..
    } = &r.info;
    let by_method = interleave == "method";
    let sums = Sums::of(&r.rows);
    let mut s = String::new();
    let _ = writeln!(s, "## {}\n", r.id);
    let _ = writeln!(
        s,
        "`{}`: stemz vs h5py + hdf5plugin on {dataset} ({scale} scale), GiB/s; ratio = stemz / peer\n",
        r.id
    );
    let scratch = format!(
        "`{}` ({})",
        r.info.scratch_dir,
        r.info.scratch_fs.as_deref().unwrap_or("filesystem unknown")
    );
    let _ = writeln!(
        s,
        "Targets: serial ≥ {SERIAL_MIN}× write and read; parallel write ≥ {PARALLEL_WRITE_MIN}× \
         (≥ {PARALLEL_WRITE_SLOW_PEER_MIN}× where the peer writes below {SLOW_PEER_GIB_S} GiB/s); \
         parallel read ≥ {PARALLEL_READ_MIN}×; parallel write ≥ {PARALLEL_VS_MT_MIN}× the \
         every-core peer (peer-mt: `BLOSC_NTHREADS` on the Blosc methods, zarr-python's default \
         pool on the Zarr ones). ✗ marks a ratio below its target. \
         Scratch files: {scratch}. {}\n",
        if by_method {
            "The implementations took turns one method at a time (every chunking), \
             alternating their order from one method, and one repetition, to the next."
        } else {
            "Each implementation measured the whole matrix in one process per repetition."
        }
    );
    per_method(&mut s, &sums);
    per_config(&mut s, &sums);
    if let Some(label) = baseline {
        against_baseline(&mut s, &sums, label);
    }
    invocations(
        &mut s,
        &r.invocations,
        &r.rows,
        by_method,
        r.info.zarr_peer_threads,
    );
    s
}

fn per_method(s: &mut String, sums: &Sums) {
    let _ = writeln!(s, "Per method, summed over chunkings:\n");
    let _ = writeln!(
        s,
        "| method | peer write | serial write | parallel write | serial/peer | parallel/peer | peer read | serial read | parallel read | serial/peer | parallel/peer | same ratio |"
    );
    let _ = writeln!(
        s,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for &m in &sums.methods {
        let get = |i: &'static str| sums.by_method.get(&(m, i));
        let (Some(p), Some(se), Some(pa)) = (
            get(imp::PEER),
            get(imp::STEMZ_SERIAL),
            get(imp::STEMZ_PARALLEL),
        ) else {
            continue;
        };
        // LZF's ratio differs by design (equal decoded data, not equal chunks).
        let tol = if m == catalogue::name::LZF {
            0.02
        } else {
            0.005
        };
        let same = [se, pa]
            .iter()
            .all(|x| (x.mean_ratio() / p.mean_ratio() - 1.0).abs() <= tol);
        let lossy = p.lossy || se.lossy || pa.lossy;
        let _ = writeln!(
            s,
            "| {m} | {:.3} | {:.3} | {:.3} | {:.2}× | {:.2}× | {:.3} | {:.3} | {:.3} | {:.2}× | {:.2}× | {}{} |",
            p.write_gib_s(),
            se.write_gib_s(),
            pa.write_gib_s(),
            se.write_gib_s() / p.write_gib_s(),
            pa.write_gib_s() / p.write_gib_s(),
            p.read_gib_s(),
            se.read_gib_s(),
            pa.read_gib_s(),
            se.read_gib_s() / p.read_gib_s(),
            pa.read_gib_s() / p.read_gib_s(),
            if same { "yes" } else { "NO" },
            if lossy { " (NOT lossless)" } else { "" }
        );
    }
}

fn per_config(s: &mut String, sums: &Sums) {
    let _ = writeln!(s, "\nPer configuration:\n");
    let _ = writeln!(
        s,
        "| method | chunking | peer write | serial/peer | parallel/peer | parallel/peer-mt | peer read | serial/peer | parallel/peer |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for ((m, c), [p, se, pa]) in sums.complete(PEER_AND_STEMZ) {
        let pw = p.write_gib_s();
        let pr = p.read_gib_s();
        let vs_mt = sums
            .config((m, c), imp::PEER_MT)
            .map(|q| pa.write_gib_s() / q.write_gib_s());
        let _ = writeln!(
            s,
            "| {m} | {c} | {pw:.3} | {} | {} | {} | {pr:.3} | {} | {} |",
            mark(se.write_gib_s() / pw, SERIAL_MIN),
            mark(pa.write_gib_s() / pw, parallel_write_min(pw)),
            vs_mt.map_or_else(|| "–".to_string(), |v| mark(v, PARALLEL_VS_MT_MIN)),
            mark(se.read_gib_s() / pr, SERIAL_MIN),
            mark(pa.read_gib_s() / pr, PARALLEL_READ_MIN),
        );
    }
    let _ = writeln!(
        s,
        "\nConfigurations meeting each target: {}.",
        Targets::of_build(sums).line(true)
    );
}

fn against_baseline(s: &mut String, sums: &Sums, label: &str) {
    let _ = writeln!(
        s,
        "\nThe baseline ({label}) in the same turns, per configuration: each build's ratio to the peer, and after/before = this build / the baseline:\n"
    );
    let _ = writeln!(
        s,
        "| method | chunking | serial write: baseline | this | after/before | serial read: baseline | this | after/before | parallel write: baseline | this | parallel read: baseline | this |"
    );
    let _ = writeln!(
        s,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for ((m, c), [p, se, pa, bse, bpa]) in sums.complete(WITH_BASELINE) {
        let w = |x: &Totals| x.write_gib_s() / p.write_gib_s();
        let r = |x: &Totals| x.read_gib_s() / p.read_gib_s();
        let pw_min = parallel_write_min(p.write_gib_s());
        let _ = writeln!(
            s,
            "| {m} | {c} | {} | {} | {:.2}× | {} | {} | {:.2}× | {} | {} | {} | {} |",
            mark(w(bse), SERIAL_MIN),
            mark(w(se), SERIAL_MIN),
            se.write_gib_s() / bse.write_gib_s(),
            mark(r(bse), SERIAL_MIN),
            mark(r(se), SERIAL_MIN),
            se.read_gib_s() / bse.read_gib_s(),
            mark(w(bpa), pw_min),
            mark(w(pa), pw_min),
            mark(r(bpa), PARALLEL_READ_MIN),
            mark(r(pa), PARALLEL_READ_MIN),
        );
    }
    let _ = writeln!(
        s,
        "\nThe baseline's configurations meeting each target: {}.",
        Targets::of_baseline(sums).line(false)
    );
}

fn invocations(
    s: &mut String,
    invocations: &[Invocation],
    rows: &[PerfRow],
    by_method: bool,
    zarr_peer_threads: Option<u32>,
) {
    let of = |i: &str| -> Vec<&Invocation> {
        invocations
            .iter()
            .filter(|x| x.implementation == i)
            .collect()
    };
    let wall = |i: &str| -> f64 { of(i).iter().map(|x| x.wall_s).sum() };
    let peer_wall = wall(imp::PEER);
    let _ = writeln!(
        s,
        "\nEach implementation's invocations as a whole (all repetitions{}; wall time includes loading the data and, for stemz, verifying every read and rendering its tables):\n",
        if by_method {
            ", one process per method: each loads the data once per method"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "| invocation | wall s | wall / peer's | timed regions s | outside timed regions | peak RSS GiB |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    let zarr = rows
        .iter()
        .any(|r| r.method.starts_with(stemz_analysis::aggregate::ZARR_PREFIX));
    for i in imp::ALL {
        let runs = of(i);
        if runs.is_empty() {
            continue;
        }
        let w = wall(i);
        let timed: Option<f64> = runs.iter().map(|x| x.timed_s).sum();
        let rss = runs.iter().filter_map(|x| x.peak_rss_bytes).max();
        let name = match i {
            imp::STEMZ_SERIAL => "`stemz bench --engines serial`",
            imp::STEMZ_PARALLEL => "`stemz bench --engines parallel`",
            imp::BASELINE_SERIAL => "the baseline, `--engines serial`",
            imp::BASELINE_PARALLEL => "the baseline, `--engines parallel`",
            imp::PEER if zarr && zarr_peer_threads == Some(1) => {
                "h5py + hdf5plugin; zarr-python 3 on one worker thread for `zarr_*` methods (`xtask/perf/peer.py`)"
            }
            imp::PEER if zarr => {
                "h5py + hdf5plugin; zarr-python 3 with its default pool (a worker per core) for `zarr_*` methods (`xtask/perf/peer.py`)"
            }
            imp::PEER => "h5py + hdf5plugin (`xtask/perf/peer.py`)",
            _ if zarr => {
                "every core: `BLOSC_NTHREADS` = cores (Blosc methods), zarr-python 3's default pool (`zarr_*` methods)"
            }
            _ => "h5py + hdf5plugin, `BLOSC_NTHREADS` = cores (Blosc methods only)",
        };
        let _ = writeln!(
            s,
            "| {name} | {w:.1} | {} | {} | {} | {} |",
            if i == imp::PEER_MT {
                "–".to_string()
            } else {
                format!("{:.2}", w / peer_wall)
            },
            timed.map_or_else(|| "–".to_string(), |t| format!("{t:.1}")),
            timed.map_or_else(
                || "–".to_string(),
                |t| format!("{:.0} %", (1.0 - t / w).max(0.0) * 100.0)
            ),
            rss.map_or_else(|| "–".to_string(), |b| format!("{:.2}", b as f64 / GIB)),
        );
    }
}
