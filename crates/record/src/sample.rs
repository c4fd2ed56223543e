//! One candidate measured on a sample of a file (`stemz recommend`): what `stemz-bench`
//! measured, raw, for `stemz-analysis` to project to the whole file.

use serde::{Deserialize, Serialize};

/// A method × chunking written and read on the gathered sample of one file. Its decoding was
/// bitwise equal to the sample: a mismatch is an error, not a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRun {
    pub method: String,
    pub chunking: String,
    /// The chunk shape (clipped to the file's shape).
    pub chunk_shape: [usize; 4],
    /// Chunk columns in the whole file (scan-plane chunk positions).
    pub columns_total: usize,
    /// Per sampled column: its real (unpadded) bytes and the bytes its chunks stored.
    pub column_bytes: Vec<u64>,
    pub column_stored: Vec<u64>,
    /// The sample file: its size, its chunk payload and its chunk count.
    pub sample_file_bytes: u64,
    pub sample_payload_bytes: u64,
    pub sample_chunks: u64,
    /// Fastest timed write and read of the sample, seconds.
    pub write_s: f64,
    pub read_s: f64,
}

impl SampleRun {
    /// Real bytes of the sample.
    pub fn sample_bytes(&self) -> u64 {
        self.column_bytes.iter().sum()
    }
}
