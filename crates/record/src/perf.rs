//! A `cargo xtask perf` record, `data/runs/<perf-id>/`: stemz against h5py + hdf5plugin on the
//! same data, on the same machine, in one run. xtask writes it; `stemz-report` renders every
//! record into `paper/PERF.md`. The files are the interface, so both sides use these types.
//!
//! - `perf.csv` ([`PerfRow`]): one row per measurement of every implementation, long format.
//! - `invocations.csv` ([`Invocation`]): one row per process, timed from outside.
//! - `perf.toml` ([`PerfInfo`]): what was measured and where, for the rendered text.
//!
//! Beside them: `peer.csv` (and `peer-blosc-nthreads.csv`), the peer's own rows, and the
//! `stemz bench` run folders (`stemz-serial/`, `stemz-parallel/`, `baseline-*/`) behind the
//! stemz rows.
//!
//! ## `perf.csv` columns ([`PerfRow`])
//!
//! | column | unit / values | meaning |
//! | --- | --- | --- |
//! | `implementation` | one of [`implementation::ALL`] | who wrote and read |
//! | `method`, `chunking` | names | the configuration |
//! | `rep` | 1-based | repetition |
//! | `write_s`, `read_s` | seconds | timed write and read of the whole dataset |
//! | `uncompressed_bytes` | bytes | size of the array in memory |
//! | `ratio` | — | uncompressed / file bytes |
//! | `lossless` | bool | the read-back array equals the input bit for bit |
//!
//! ## `invocations.csv` columns ([`Invocation`])
//!
//! | column | unit | meaning |
//! | --- | --- | --- |
//! | `implementation`, `rep` | | as above |
//! | `wall_s` | seconds | wall time of the process |
//! | `timed_s` | seconds | stemz only: the sum of its timed regions (its `run.toml`); else empty |
//! | `peak_rss_bytes` | bytes | peak resident set (`/usr/bin/time`); empty where not measured |

use crate::record::RecordError;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// The file names of a perf record.
pub const PERF_CSV: &str = "perf.csv";
pub const INVOCATIONS_CSV: &str = "invocations.csv";
pub const PERF_TOML: &str = "perf.toml";

/// The `implementation` values of `perf.csv` and `invocations.csv`.
pub mod implementation {
    /// h5py + hdf5plugin running the study's loop (`xtask/perf/peer.py`; zarr-python 3 for the
    /// Zarr methods, on one worker thread where `PerfInfo::zarr_peer_threads` says so).
    pub const PEER: &str = "h5py+hdf5plugin";
    pub const STEMZ_SERIAL: &str = "stemz-serial";
    pub const STEMZ_PARALLEL: &str = "stemz-parallel";
    /// The peer with every core: `BLOSC_NTHREADS` = cores on the Blosc methods, zarr-python's
    /// default pool (a worker per core) on the Zarr methods; those methods only.
    pub const PEER_MT: &str = "h5py+hdf5plugin BLOSC_NTHREADS";
    /// Another stemz build measured in the same turns (`cargo xtask perf --baseline`).
    pub const BASELINE_SERIAL: &str = "baseline-serial";
    pub const BASELINE_PARALLEL: &str = "baseline-parallel";
    /// Every implementation, in the order the rendered tables list them.
    pub const ALL: [&str; 6] = [
        PEER,
        STEMZ_SERIAL,
        STEMZ_PARALLEL,
        PEER_MT,
        BASELINE_SERIAL,
        BASELINE_PARALLEL,
    ];
}

/// One row of `perf.csv`: one write and read of the dataset by one implementation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerfRow {
    pub implementation: String,
    pub method: String,
    pub chunking: String,
    pub rep: u32,
    pub write_s: f64,
    pub read_s: f64,
    pub uncompressed_bytes: u64,
    pub ratio: f64,
    pub lossless: bool,
}

/// One row of `invocations.csv`: one process of the run, timed from outside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    pub implementation: String,
    pub rep: u32,
    pub wall_s: f64,
    /// stemz only: the sum of its timed regions, from its `run.toml`.
    pub timed_s: Option<f64>,
    /// Peak resident set (`/usr/bin/time`'s maximum RSS), when measurable.
    pub peak_rss_bytes: Option<u64>,
}

/// `perf.toml`: what a perf record measured and how, beyond its rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerfInfo {
    /// The dataset's name (`4D_EELS`) and scale (`tiny` | `small` | `paper`).
    pub dataset: String,
    pub scale: String,
    /// `method` (the implementations took turns one method at a time) or `matrix` (one
    /// process per implementation and repetition).
    pub interleave: String,
    /// Where every implementation wrote its scratch files, and that file system's type.
    pub scratch_dir: String,
    pub scratch_fs: Option<String>,
    /// What the baseline build is (`--baseline-label`), when one was measured.
    pub baseline: Option<String>,
    /// zarr-python's worker threads in the peer's turn (`peer.py --zarr-threads`): 1 in records
    /// made since the peer was pinned to one thread; absent in earlier ones, whose Zarr peer
    /// used its default pool (a worker per core).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zarr_peer_threads: Option<u32>,
}

impl PerfInfo {
    pub fn from_toml(text: &str) -> Result<PerfInfo, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }
}

/// Read every row of a `perf.csv`.
pub fn read_rows(reader: impl Read) -> Result<Vec<PerfRow>, RecordError> {
    crate::record::read_all(reader)
}

/// Read every row of an `invocations.csv`.
pub fn read_invocations(reader: impl Read) -> Result<Vec<Invocation>, RecordError> {
    crate::record::read_all(reader)
}

fn write_all<T: Serialize>(writer: impl Write, rows: &[T]) -> Result<(), RecordError> {
    let mut w = csv::Writer::from_writer(writer);
    for r in rows {
        w.serialize(r)?;
    }
    w.flush().map_err(csv::Error::from)?;
    Ok(())
}

/// Write a `perf.csv` (one header, then every row).
pub fn write_rows(writer: impl Write, rows: &[PerfRow]) -> Result<(), RecordError> {
    write_all(writer, rows)
}

/// Write an `invocations.csv`.
pub fn write_invocations(writer: impl Write, rows: &[Invocation]) -> Result<(), RecordError> {
    write_all(writer, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_invocations_round_trip_with_empty_cells_as_none() {
        let rows = vec![PerfRow {
            implementation: implementation::PEER.into(),
            method: "gzip_1".into(),
            chunking: "balanced".into(),
            rep: 2,
            write_s: 0.125,
            read_s: 0.5,
            uncompressed_bytes: 1 << 27,
            ratio: 19.75,
            lossless: true,
        }];
        let mut csv = Vec::new();
        write_rows(&mut csv, &rows).unwrap();
        assert_eq!(read_rows(csv.as_slice()).unwrap(), rows);
        let inv = vec![
            Invocation {
                implementation: implementation::PEER.into(),
                rep: 1,
                wall_s: 2.0,
                timed_s: None,
                peak_rss_bytes: None,
            },
            Invocation {
                implementation: implementation::STEMZ_SERIAL.into(),
                rep: 1,
                wall_s: 1.5,
                timed_s: Some(1.25),
                peak_rss_bytes: Some(1 << 30),
            },
        ];
        let mut csv = Vec::new();
        write_invocations(&mut csv, &inv).unwrap();
        let text = String::from_utf8(csv.clone()).unwrap();
        assert!(text.contains("h5py+hdf5plugin,1,2.0,,\n"), "{text}");
        assert_eq!(read_invocations(csv.as_slice()).unwrap(), inv);
    }

    #[test]
    fn the_committed_format_of_invocations_reads() {
        // As xtask wrote them before these types: three decimals, empty cells.
        let text = "implementation,rep,wall_s,timed_s,peak_rss_bytes\n\
                    h5py+hdf5plugin,1,2.009,,477241344\nstemz-serial,1,0.957,0.504,\n";
        let inv = read_invocations(text.as_bytes()).unwrap();
        assert_eq!(inv[0].timed_s, None);
        assert_eq!(inv[0].peak_rss_bytes, Some(477241344));
        assert_eq!(inv[1].timed_s, Some(0.504));
        assert_eq!(inv[1].peak_rss_bytes, None);
    }

    #[test]
    fn perf_toml_round_trips_without_a_baseline() {
        let info = PerfInfo {
            dataset: "4D_EELS".into(),
            scale: "small".into(),
            interleave: "method".into(),
            scratch_dir: "/dev/shm/stemz-perf".into(),
            scratch_fs: Some("tmpfs".into()),
            baseline: None,
            zarr_peer_threads: Some(1),
        };
        let text = info.to_toml().unwrap();
        assert!(!text.contains("baseline"), "{text}");
        assert_eq!(PerfInfo::from_toml(&text).unwrap(), info);
        // A record made before the Zarr peer was pinned to one thread says nothing of it.
        let old = text.replace("zarr_peer_threads = 1\n", "");
        assert_eq!(PerfInfo::from_toml(&old).unwrap().zarr_peer_threads, None);
    }
}
