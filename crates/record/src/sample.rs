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
    /// A Zarr method's whole store besides its inner chunks (`None`: an HDF5 file, whose
    /// metadata is projected from the sample file's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreOverhead>,
}

/// What the whole Zarr store of a candidate holds besides its inner chunks: fixed by the
/// file's shape and dtype, the chunking and the method, so computed, not sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreOverhead {
    /// Its `zarr.json`, as `stemz compress` writes it (with the SHA-256 attribute).
    pub metadata_bytes: u64,
    /// Its shard objects, and the index each one ends with.
    pub shards: u64,
    pub index_bytes_per_shard: u64,
}

impl StoreOverhead {
    /// Bytes of the whole store that are not inner chunks.
    pub fn bytes(&self) -> u64 {
        self.metadata_bytes + self.shards * self.index_bytes_per_shard
    }
}

impl SampleRun {
    /// Real bytes of the sample.
    pub fn sample_bytes(&self) -> u64 {
        self.unit_bytes.iter().sum()
    }
}
