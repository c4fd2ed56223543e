//! `machine-load.csv`: the machine's 1-minute load average sampled beside a run's row count
//! while it is measured (`unix_s,load1,rows_done`), so a reader can tell which rows were
//! measured while something else ran on the machine.

use crate::record::RecordError;
use serde::Deserialize;
use std::io::Read;

/// The file's name in a run folder.
pub const MACHINE_LOAD_CSV: &str = "machine-load.csv";

/// One sample.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct LoadSample {
    pub unix_s: u64,
    /// The 1-minute load average (`/proc/loadavg`'s first field).
    pub load1: f64,
    /// Rows in `raw.csv` when sampled: row `rows_done + 1` was being measured.
    pub rows_done: usize,
}

/// Read the samples (a trailing partial line is an error, as in every record).
pub fn read_load(reader: impl Read) -> Result<Vec<LoadSample>, RecordError> {
    crate::record::read_all(reader)
}

/// The rows (1-based, `raw.csv` order) during whose measurement some sample's load exceeded
/// `above`, in order, each once; rows of a run total `rows` at most.
pub fn rows_under_load(samples: &[LoadSample], above: f64, rows: usize) -> Vec<usize> {
    let mut out: Vec<usize> = samples
        .iter()
        .filter(|s| s.load1 > above && s.rows_done < rows)
        .map(|s| s.rows_done + 1)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// `rows` (sorted, 1-based) as ranges: `3–5, 9`.
pub fn ranges(rows: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let start = rows[i];
        let mut end = start;
        while i + 1 < rows.len() && rows[i + 1] == end + 1 {
            i += 1;
            end = rows[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}–{end}")
        });
        i += 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_measured_under_load_are_the_ones_being_measured_when_load_was_high() {
        let text =
            "unix_s,load1,rows_done\n1,1.0,0\n31,3.5,0\n61,1.2,1\n91,4.0,3\n121,5.0,3\n151,9.0,9\n";
        let s = read_load(text.as_bytes()).unwrap();
        assert_eq!(s.len(), 6);
        // Row 1 (rows_done 0) and row 4 (rows_done 3) under load; rows_done 9 is past the run.
        assert_eq!(rows_under_load(&s, 3.0, 5), vec![1, 4]);
        assert_eq!(ranges(&[1, 2, 3, 7, 9, 10]), "1–3, 7, 9–10");
        assert_eq!(ranges(&[]), "");
    }
}
