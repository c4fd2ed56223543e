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
    /// The sampling unit: `chunk column` (a scan-plane chunk position with the whole detector
    /// under it) or `chunk` (one chunk, when a few columns would not fit the sample's cap).
    pub unit: String,
    /// Sampling units in the whole file.
    pub units_total: usize,
    /// Per sampled unit: its real (unpadded) bytes and the bytes its chunks stored.
    pub unit_bytes: Vec<u64>,
    pub unit_stored: Vec<u64>,
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
        self.unit_bytes.iter().sum()
    }
}
