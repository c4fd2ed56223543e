//! Run records: the interface between measuring (this crate) and reporting (analysis, report).
//!
//! A run folder `data/runs/<run-id>/` holds `raw.csv` (one [`Measurement`] per row, long
//! format), `datasets.csv` (one [`DatasetRecord`] per dataset) and `run.toml` (provenance).
//! Raw rows are never edited; every summary is derived from them. Units are in the column
//! names; an empty cell means "not measured / not applicable" (`Option::None`).
//!
//! ## `raw.csv` columns ([`Measurement`])
//!
//! | column | unit / values | meaning |
//! | --- | --- | --- |
//! | `dataset` | name | dataset id (as in `datasets.csv`) |
//! | `method` | codec name | e.g. `blosc_zstd`, `gzip_9`, `none`; non-HDF5 methods (`sparse_csr`, …) too |
//! | `chunking` | `real_space` \| `balanced` \| `single_frame` \| `none` | chunking strategy; `none` for methods that do not write HDF5 chunks |
//! | `chunk_shape` | `16x16x128x128` | chunk shape actually used; empty for `none` |
//! | `engine` | `serial` \| `parallel` | who compressed the chunks |
//! | `threads` | count | worker threads used by the engine |
//! | `cache` | `warm` \| `cold` | page-cache state of the read |
//! | `run` | 1-based | repetition number |
//! | `uncompressed_bytes` | bytes | size of the array in memory |
//! | `file_bytes` | bytes | size of the output file on disk |
//! | `payload_bytes` | bytes | sum of stored chunk sizes; empty when unknown |
//! | `ratio` | — | `uncompressed_bytes / file_bytes` as measured (kept, not recomputed) |
//! | `write_s` | seconds | time to compress and write |
//! | `fsync_s` | seconds | fsync of the written file, timed after `write_s` and not part of it (the study did not sync); empty when unknown |
//! | `read_s` | seconds | time to read back and decompress; empty when not measured |
//! | `write_gib_s` | GiB/s | `uncompressed_bytes / 2^30 / write_s`; empty when not reported |
//! | `read_gib_s` | GiB/s | as above for reading; empty when not measured |
//! | `lossless` | bool | the read-back array equals the input bit for bit; empty when unverified |
//! | `chunks` | count | number of chunks written; empty when not chunked |
//! | `chunks_stored_raw` | count | chunks the filter left uncompressed; empty when unknown |
//! | `objects` | count | files (objects) the output is: 1 for a file, a Zarr store's shards and its `zarr.json`; empty in records made before the column |
//!
//! ## `datasets.csv` columns ([`DatasetRecord`])
//!
//! | column | unit / values | meaning |
//! | --- | --- | --- |
//! | `dataset` | name | dataset id |
//! | `shape` | `64x64x256x1024` | (scan_y, scan_x, det_y, det_x) |
//! | `dtype` | `uint16` \| `float32` … | element type, numpy spelling |
//! | `itemsize` | bytes | bytes per element |
//! | `uncompressed_bytes` | bytes | elements × itemsize |
//! | `zero_count` | count | elements equal to zero |
//! | `sparsity` | fraction 0–1 | `zero_count / elements` |
//! | `min`, `max` | value | extreme values; `min` empty when unknown |
//! | `bits_used` | bits | bits needed for the maximum (integers only; empty for floats) |
//! | `count_gt_4095`, `count_gt_16383` | count | elements above 12 / 14 bits |
//! | `h0_bits` | bits/element | zeroth-order entropy of the values; empty when unknown |
//! | `sha256` | hex | checksum of the array bytes; empty when unknown |

use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// Errors reading or writing record CSV files. The caller adds the file name.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The CSV text is malformed or a cell does not parse as its column's type.
    #[error("record CSV: {0}")]
    Csv(#[from] csv::Error),
    /// A `raw.csv` to append to whose header is not the start of this build's columns.
    #[error(
        "its columns ({found}) are not this build's ({expected}) or a start of them: made by \
         another version of stemz, it cannot be continued by this one"
    )]
    Columns { found: String, expected: String },
}

/// Who compressed the chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// One thread, chunk after chunk (the study's h5py path).
    Serial,
    /// Chunks compressed concurrently, written in order.
    Parallel,
}

impl Engine {
    /// The column spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Serial => "serial",
            Engine::Parallel => "parallel",
        }
    }
}

/// Page-cache state of the read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cache {
    /// The file may be in the page cache (read right after writing).
    Warm,
    /// The page cache was dropped before reading.
    Cold,
}

impl Cache {
    /// The column spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Cache::Warm => "warm",
            Cache::Cold => "cold",
        }
    }
}

/// One row of `raw.csv`: one write (and read) of one dataset with one method and chunking.
/// Columns are documented in the module table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub dataset: String,
    pub method: String,
    pub chunking: String,
    pub chunk_shape: String,
    pub engine: Engine,
    pub threads: u32,
    pub cache: Cache,
    pub run: u32,
    pub uncompressed_bytes: u64,
    pub file_bytes: u64,
    pub payload_bytes: Option<u64>,
    pub ratio: f64,
    pub write_s: f64,
    pub fsync_s: Option<f64>,
    pub read_s: Option<f64>,
    pub write_gib_s: Option<f64>,
    pub read_gib_s: Option<f64>,
    pub lossless: Option<bool>,
    pub chunks: Option<u64>,
    pub chunks_stored_raw: Option<u64>,
    /// Absent from records made before Zarr stores were measured: read as empty.
    #[serde(default)]
    pub objects: Option<u64>,
}

/// The columns of `raw.csv`, in order: [`Measurement`]'s fields (a test holds them equal).
pub const COLUMNS: [&str; 21] = [
    "dataset",
    "method",
    "chunking",
    "chunk_shape",
    "engine",
    "threads",
    "cache",
    "run",
    "uncompressed_bytes",
    "file_bytes",
    "payload_bytes",
    "ratio",
    "write_s",
    "fsync_s",
    "read_s",
    "write_gib_s",
    "read_gib_s",
    "lossless",
    "chunks",
    "chunks_stored_raw",
    "objects",
];

/// The chunking value of methods that do not write HDF5 chunks.
pub const NO_CHUNKING: &str = crate::catalogue::NONE;

impl Measurement {
    /// File size in MiB (the study's `file_size_mb` unit).
    pub fn file_mib(&self) -> f64 {
        self.file_bytes as f64 / (1u64 << 20) as f64
    }

    /// Whether this row is an HDF5 filter method (it has a chunking strategy).
    pub fn is_chunked(&self) -> bool {
        self.chunking != NO_CHUNKING
    }
}

/// One row of `datasets.csv`: what the analysis needs to know about a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRecord {
    pub dataset: String,
    pub shape: String,
    pub dtype: String,
    pub itemsize: u32,
    pub uncompressed_bytes: u64,
    pub zero_count: u64,
    pub sparsity: f64,
    pub min: Option<f64>,
    pub max: f64,
    pub bits_used: Option<u32>,
    pub count_gt_4095: u64,
    pub count_gt_16383: u64,
    pub h0_bits: Option<f64>,
    pub sha256: Option<String>,
}

impl DatasetRecord {
    /// The shape as numbers, parsed from `64x64x256x1024`; `None` when malformed.
    pub fn dims(&self) -> Option<Vec<u64>> {
        parse_shape(&self.shape)
    }
}

/// Parse an `AxBxCxD` shape string.
pub fn parse_shape(s: &str) -> Option<Vec<u64>> {
    if s.is_empty() {
        return None;
    }
    s.split('x').map(|p| p.trim().parse().ok()).collect()
}

/// Format a shape as `AxBxCxD`.
pub fn format_shape(dims: &[u64]) -> String {
    dims.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("x")
}

pub(crate) fn read_all<T: for<'de> Deserialize<'de>>(
    reader: impl Read,
) -> Result<Vec<T>, RecordError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .comment(Some(b'#'))
        .from_reader(reader);
    let mut out = Vec::new();
    for row in rdr.deserialize() {
        out.push(row?);
    }
    Ok(out)
}

/// Read every row of a `raw.csv`. Lines starting with `#` are comments.
pub fn read_measurements(reader: impl Read) -> Result<Vec<Measurement>, RecordError> {
    read_all(reader)
}

/// Read every row of a `datasets.csv`. Lines starting with `#` are comments.
pub fn read_datasets(reader: impl Read) -> Result<Vec<DatasetRecord>, RecordError> {
    read_all(reader)
}

/// A `raw.csv` writer that emits the header once, before the first row, and flushes after every
/// row so a crash loses at most the row being written.
pub struct MeasurementWriter<W: Write> {
    inner: csv::Writer<W>,
    /// Appending to a file with fewer columns (an older build's): how many it has.
    kept: Option<usize>,
}

impl<W: Write> MeasurementWriter<W> {
    /// Start a new file (the header is written with the first row).
    pub fn new(writer: W) -> Self {
        MeasurementWriter {
            inner: csv::WriterBuilder::new()
                .has_headers(true)
                .from_writer(writer),
            kept: None,
        }
    }

    /// Continue an existing file whose header is `header`. A run keeps the columns it was
    /// started with: when `header` is an older build's (a start of [`COLUMNS`]), rows are
    /// written with those columns only (see [`MeasurementWriter::dropped`]); any other header
    /// is [`RecordError::Columns`].
    pub fn append(writer: W, header: &[String]) -> Result<Self, RecordError> {
        let fits = header.len() <= COLUMNS.len() && header.iter().zip(COLUMNS).all(|(h, c)| h == c);
        if !fits {
            return Err(RecordError::Columns {
                found: header.join(","),
                expected: COLUMNS.join(","),
            });
        }
        Ok(MeasurementWriter {
            inner: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(writer),
            kept: (header.len() < COLUMNS.len()).then_some(header.len()),
        })
    }

    /// The columns of this build that the file being continued does not have, so its rows
    /// leave them out (none for a new file or one of this build).
    pub fn dropped(&self) -> &'static [&'static str] {
        self.kept.map_or(&[], |n| &COLUMNS[n..])
    }

    /// Write one row and flush it.
    pub fn write(&mut self, m: &Measurement) -> Result<(), RecordError> {
        match self.kept {
            None => self.inner.serialize(m)?,
            Some(n) => {
                let mut one = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(Vec::new());
                one.serialize(m)?;
                let text = one
                    .into_inner()
                    .map_err(|e| csv::Error::from(e.into_error()))?;
                let mut fields = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .from_reader(text.as_slice());
                let record = fields
                    .byte_records()
                    .next()
                    .transpose()?
                    .unwrap_or_default();
                self.inner.write_record(record.iter().take(n))?;
            }
        }
        self.inner.flush().map_err(csv::Error::from)?;
        Ok(())
    }
}

/// Write one measurement as a complete CSV text (header + row): the one-shot form of
/// [`MeasurementWriter`].
pub fn write_measurement(writer: impl Write, m: &Measurement) -> Result<(), RecordError> {
    MeasurementWriter::new(writer).write(m)
}

/// Write all measurements with one header.
pub fn write_measurements(writer: impl Write, rows: &[Measurement]) -> Result<(), RecordError> {
    let mut w = MeasurementWriter::new(writer);
    for m in rows {
        w.write(m)?;
    }
    Ok(())
}

/// Write all dataset records with one header.
pub fn write_datasets(writer: impl Write, rows: &[DatasetRecord]) -> Result<(), RecordError> {
    let mut w = csv::Writer::from_writer(writer);
    for r in rows {
        w.serialize(r)?;
    }
    w.flush().map_err(csv::Error::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Measurement {
        Measurement {
            dataset: "tiny".into(),
            method: "blosc_zstd".into(),
            chunking: "balanced".into(),
            chunk_shape: "16x16x128x128".into(),
            engine: Engine::Parallel,
            threads: 4,
            cache: Cache::Cold,
            run: 2,
            uncompressed_bytes: 1 << 20,
            file_bytes: 1000,
            payload_bytes: Some(900),
            ratio: 1048.576,
            write_s: 0.5,
            fsync_s: None,
            read_s: None,
            write_gib_s: Some(0.001953125),
            read_gib_s: None,
            lossless: Some(true),
            chunks: Some(4),
            chunks_stored_raw: Some(0),
            objects: Some(1),
        }
    }

    #[test]
    fn measurement_round_trips_through_csv_with_empty_optionals() {
        let mut buf = Vec::new();
        write_measurements(&mut buf, &[sample(), sample()]).unwrap();
        let text = String::from_utf8(buf.clone()).unwrap();
        assert!(text.starts_with("dataset,method,chunking,chunk_shape,engine,threads,cache,run,"));
        assert!(text.contains(",parallel,4,cold,2,"));
        assert_eq!(text.lines().count(), 3, "one header, two rows");
        let back = read_measurements(buf.as_slice()).unwrap();
        assert_eq!(back, vec![sample(), sample()]);
    }

    #[test]
    fn records_made_before_the_objects_column_read_it_as_empty() {
        let mut buf = Vec::new();
        write_measurement(&mut buf, &sample()).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let (head, row) = text.split_once('\n').unwrap();
        let old = format!(
            "{}\n{}\n",
            head.strip_suffix(",objects").unwrap(),
            row.trim_end().strip_suffix(",1").unwrap()
        );
        let back = read_measurements(old.as_bytes()).unwrap();
        assert_eq!(back[0].objects, None);
        assert_eq!(back[0].chunks, sample().chunks);
    }

    #[test]
    fn columns_are_the_header_this_build_writes() {
        let mut buf = Vec::new();
        write_measurement(&mut buf, &sample()).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text.lines().next().unwrap(), COLUMNS.join(","));
    }

    #[test]
    fn a_run_continued_by_a_newer_build_keeps_its_columns_and_reads_back() {
        let old_header: Vec<String> = COLUMNS[..20].iter().map(|c| c.to_string()).collect();
        let mut buf = format!("{}\n", old_header.join(",")).into_bytes();
        let mut w = MeasurementWriter::append(&mut buf, &old_header).unwrap();
        assert_eq!(w.dropped(), ["objects"]);
        w.write(&sample()).unwrap();
        drop(w);
        let text = String::from_utf8(buf.clone()).unwrap();
        let row = text.lines().nth(1).unwrap();
        assert_eq!(row.split(',').count(), 20, "{row}");
        let back = read_measurements(buf.as_slice()).unwrap();
        assert_eq!(back[0].objects, None);
        assert_eq!(back[0].chunks_stored_raw, sample().chunks_stored_raw);
    }

    #[test]
    fn a_header_that_is_not_a_start_of_the_columns_is_refused() {
        let mut header: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
        header.swap(0, 1);
        let err = MeasurementWriter::append(Vec::new(), &header)
            .err()
            .unwrap();
        assert!(err.to_string().contains("cannot be continued"), "{err}");
        let current: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
        let w = MeasurementWriter::append(Vec::new(), &current).unwrap();
        assert!(w.dropped().is_empty());
    }

    #[test]
    fn appended_rows_have_no_second_header() {
        let mut buf = Vec::new();
        write_measurement(&mut buf, &sample()).unwrap();
        let header: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
        MeasurementWriter::append(&mut buf, &header)
            .unwrap()
            .write(&sample())
            .unwrap();
        assert_eq!(read_measurements(buf.as_slice()).unwrap().len(), 2);
    }

    #[test]
    fn bad_cell_is_an_error_not_a_panic() {
        let mut buf = Vec::new();
        write_measurement(&mut buf, &sample()).unwrap();
        let text = String::from_utf8(buf)
            .unwrap()
            .replace(",parallel,", ",warp,");
        assert!(read_measurements(text.as_bytes()).is_err());
    }

    #[test]
    fn dataset_record_round_trips_and_parses_shape() {
        let d = DatasetRecord {
            dataset: "tiny".into(),
            shape: "2x3x4x5".into(),
            dtype: "uint16".into(),
            itemsize: 2,
            uncompressed_bytes: 240,
            zero_count: 60,
            sparsity: 0.5,
            min: Some(0.0),
            max: 4095.0,
            bits_used: Some(12),
            count_gt_4095: 0,
            count_gt_16383: 0,
            h0_bits: None,
            sha256: None,
        };
        let mut buf = Vec::new();
        write_datasets(&mut buf, std::slice::from_ref(&d)).unwrap();
        assert_eq!(read_datasets(buf.as_slice()).unwrap(), vec![d.clone()]);
        assert_eq!(d.dims(), Some(vec![2, 3, 4, 5]));
        assert_eq!(parse_shape("2xq"), None);
        assert_eq!(format_shape(&[16, 16, 128, 128]), "16x16x128x128");
    }
}
