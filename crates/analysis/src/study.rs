//! The reference study's formats and static catalogue.
//!
//! `all_runs_combined.csv` and `dataset_inventory.csv` are converted into [`Measurement`] and
//! [`DatasetRecord`] so the study's records and stemz's flow through one code path. The study's
//! units: `file_size_mb` is MiB, `*_gbs` are GiB/s, times are seconds; non-HDF5 methods
//! (`sparse_csr`, `uint8_overflow`, `simple_gzip`) have blank read/throughput columns.
//! Its runs were serial h5py writes read back right away, so rows are recorded as
//! `serial`, 1 thread, `warm` cache.

pub use crate::names::{join_method, split_method, CHUNKINGS};
use crate::names::{DatasetInfo, FamilySpec, MethodInfo};
use crate::record::{Cache, DatasetRecord, Engine, Measurement};
use crate::{AnalysisError, Result};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::PathBuf;
use stemz_record::catalogue;

/// The folder of the study's published files in this repository (`data/study/`, with their
/// source, licence and checksums in `PROVENANCE.md`), for tests and tools that work in the
/// checkout. Commands use [`bundled`], compiled from the same files, so that an installed
/// binary needs no checkout.
pub fn bundled_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/study"))
}

/// The study's published files of `data/study/`, compiled in: the default wherever a
/// `--study DIR` is taken.
pub mod bundled {
    /// `dataset_inventory.csv`: the five datasets' shapes, dtypes, sparsities and maxima.
    pub const INVENTORY: &str = include_str!("../../../data/study/dataset_inventory.csv");
    /// `all_runs_combined.csv`: every measured run of the study.
    pub const RUNS: &str = include_str!("../../../data/study/all_runs_combined.csv");
    /// `statistics.csv`: the study's aggregated means and deviations.
    pub const STATISTICS: &str = include_str!("../../../data/study/statistics.csv");
    /// `Table3_dataset_summary.csv`: the best ratio per dataset.
    pub const TABLE3: &str = include_str!("../../../data/study/Table3_dataset_summary.csv");
    /// How `--study` defaults are named in messages and provenance.
    pub const LABEL: &str = "data/study (compiled in)";
}

/// Parse a Python tuple string `(32, 32, 64, 64)` into numbers; empty input gives `None`.
pub fn parse_tuple(s: &str) -> Option<Vec<u64>> {
    let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().ok())
        .collect()
}

/// Format numbers as a Python tuple string, the study's spelling of shapes.
pub fn format_tuple(dims: &[u64]) -> String {
    let parts: Vec<String> = dims.iter().map(u64::to_string).collect();
    format!("({})", parts.join(", "))
}

/// Column access by header name for one CSV row, with errors naming file, row and column.
struct Row<'a> {
    file: &'a str,
    line: usize,
    header: &'a HashMap<String, usize>,
    rec: &'a csv::StringRecord,
}

impl Row<'_> {
    fn str(&self, col: &str) -> Result<&str> {
        let i = self.header.get(col).ok_or_else(|| {
            AnalysisError::Study(format!("{}: no column `{col}` in the header", self.file))
        })?;
        Ok(self.rec.get(*i).unwrap_or("").trim())
    }

    fn opt_f64(&self, col: &str) -> Result<Option<f64>> {
        let s = self.str(col)?;
        if s.is_empty() {
            return Ok(None);
        }
        s.parse().map(Some).map_err(|_| self.bad(col, s))
    }

    fn f64(&self, col: &str) -> Result<f64> {
        self.opt_f64(col)?.ok_or_else(|| self.bad(col, ""))
    }

    fn u64(&self, col: &str) -> Result<u64> {
        let s = self.str(col)?;
        s.parse().map_err(|_| self.bad(col, s))
    }

    fn bad(&self, col: &str, value: &str) -> AnalysisError {
        AnalysisError::Study(format!(
            "{} line {}: column `{col}` has `{value}`, expected a number",
            self.file, self.line
        ))
    }
}

fn rows_of(
    file: &str,
    reader: impl Read,
) -> Result<(HashMap<String, usize>, Vec<csv::StringRecord>)> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(reader);
    let header = rdr
        .headers()
        .map_err(|e| AnalysisError::Study(format!("{file}: {e}")))?
        .iter()
        .enumerate()
        .map(|(i, h)| (h.to_string(), i))
        .collect();
    let mut rows = Vec::new();
    for r in rdr.records() {
        rows.push(r.map_err(|e| AnalysisError::Study(format!("{file}: {e}")))?);
    }
    Ok((header, rows))
}

/// Call `f` with every data row of the CSV `file`, numbered by its line in the file.
fn each_row(
    file: &str,
    reader: impl Read,
    mut f: impl FnMut(&Row<'_>) -> Result<()>,
) -> Result<()> {
    let (header, rows) = rows_of(file, reader)?;
    for (i, rec) in rows.iter().enumerate() {
        f(&Row {
            file,
            line: i + 2,
            header: &header,
            rec,
        })?;
    }
    Ok(())
}

/// Parse the study's `dataset_inventory.csv`. Sparsity is recomputed from the exact counts
/// (the file prints the fraction to 6 decimals only).
pub fn read_inventory(reader: impl Read) -> Result<Vec<DatasetRecord>> {
    const FILE: &str = "dataset_inventory.csv";
    let (header, rows) = rows_of(FILE, reader)?;
    let mut out = Vec::with_capacity(rows.len());
    for (i, rec) in rows.iter().enumerate() {
        let row = Row {
            file: FILE,
            line: i + 2,
            header: &header,
            rec,
        };
        let dims = parse_tuple(row.str("shape")?).ok_or_else(|| {
            AnalysisError::Study(format!("{FILE} line {}: malformed shape", i + 2))
        })?;
        let n_elements = row.u64("n_elements")?;
        let zero_count = row.u64("zero_count")?;
        if n_elements == 0 {
            return Err(AnalysisError::Study(format!(
                "{FILE} line {}: n_elements is 0",
                i + 2
            )));
        }
        let bits = row.str("max_bits_int")?;
        out.push(DatasetRecord {
            dataset: row.str("dataset_id")?.to_string(),
            shape: crate::record::format_shape(&dims),
            dtype: row.str("dtype")?.to_string(),
            itemsize: row.u64("itemsize_bytes")? as u32,
            uncompressed_bytes: row.u64("uncompressed_bytes")?,
            zero_count,
            sparsity: zero_count as f64 / n_elements as f64,
            min: None,
            max: row.f64("max_value")?,
            bits_used: if bits.is_empty() {
                None
            } else {
                Some(bits.parse().map_err(|_| row.bad("max_bits_int", bits))?)
            },
            count_gt_4095: row.u64("count_gt_4095")?,
            count_gt_16383: row.u64("count_gt_16383")?,
            h0_bits: None,
            sha256: None,
        });
    }
    Ok(out)
}

/// Parse the study's `Table3_dataset_summary.csv`: per dataset, the best mean ratio and the
/// implementation that reached it.
pub fn read_table3_best(reader: impl Read) -> Result<BTreeMap<String, (f64, String)>> {
    let mut out = BTreeMap::new();
    each_row("Table3_dataset_summary.csv", reader, |row| {
        out.insert(
            row.str("dataset")?.to_string(),
            (
                row.f64("best_ratio")?,
                row.str("implementation")?.to_string(),
            ),
        );
        Ok(())
    })?;
    Ok(out)
}

/// Parse the study's `statistics.csv` for its balanced-chunking rows: per dataset, codec
/// (`blosc_zstd`, from `balanced_blosc_zstd`) → mean compression ratio.
pub fn read_balanced_means(reader: impl Read) -> Result<BTreeMap<String, BTreeMap<String, f64>>> {
    let mut out: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    each_row("statistics.csv", reader, |row| {
        if let Some(codec) = row.str("method")?.strip_prefix("balanced_") {
            out.entry(row.str("dataset")?.to_string())
                .or_default()
                .insert(codec.to_string(), row.f64("compression_ratio_mean")?);
        }
        Ok(())
    })?;
    Ok(out)
}

/// Parse the study's `all_runs_combined.csv`. `datasets` supplies each dataset's uncompressed
/// size (the file does not carry it for every method).
pub fn read_runs(reader: impl Read, datasets: &[DatasetRecord]) -> Result<Vec<Measurement>> {
    const FILE: &str = "all_runs_combined.csv";
    let sizes: HashMap<&str, u64> = datasets
        .iter()
        .map(|d| (d.dataset.as_str(), d.uncompressed_bytes))
        .collect();
    let (header, rows) = rows_of(FILE, reader)?;
    let mut out = Vec::with_capacity(rows.len());
    for (i, rec) in rows.iter().enumerate() {
        let row = Row {
            file: FILE,
            line: i + 2,
            header: &header,
            rec,
        };
        let dataset = row.str("dataset")?.to_string();
        let uncompressed_bytes = *sizes.get(dataset.as_str()).ok_or_else(|| {
            AnalysisError::Study(format!(
                "{FILE} line {}: dataset `{dataset}` is not in the inventory",
                i + 2
            ))
        })?;
        let (chunking, method) = split_method(row.str("method")?);
        let chunk_shape = match row.str("chunk_size")? {
            "" => String::new(),
            t => crate::record::format_shape(&parse_tuple(t).ok_or_else(|| {
                AnalysisError::Study(format!("{FILE} line {}: malformed chunk_size", i + 2))
            })?),
        };
        // file_size_mb is os.path.getsize / 2^20, so it maps back to whole bytes exactly.
        let file_bytes = (row.f64("file_size_mb")? * (1u64 << 20) as f64).round() as u64;
        out.push(Measurement {
            dataset,
            method,
            chunking,
            chunk_shape,
            engine: Engine::Serial,
            threads: 1,
            cache: Cache::Warm,
            run: row.u64("run_number")? as u32,
            uncompressed_bytes,
            file_bytes,
            payload_bytes: None,
            ratio: row.f64("compression_ratio")?,
            write_s: row.f64("write_time")?,
            fsync_s: None,
            read_s: row.opt_f64("read_time")?,
            write_gib_s: row.opt_f64("write_throughput_gbs")?,
            read_gib_s: row.opt_f64("read_throughput_gbs")?,
            lossless: None,
            chunks: None,
            chunks_stored_raw: None,
            objects: None,
        });
    }
    Ok(out)
}

/// The study's datasets: display label (Table 1) and description.
pub fn dataset_infos() -> Vec<DatasetInfo> {
    [
        ("4D_EELS", "4D_EELS", "Full 4D EELS spectrum imaging"),
        ("4D_Diff", "4D_Diff", "4D STEM diffraction (unbinned)"),
        (
            "4D_Diff-2x2-binning",
            "4D_Diff-2x2",
            "4D STEM diffraction (2$\\times$2 binned)",
        ),
        (
            "4D_Diff-4x4-binning",
            "4D_Diff-4x4",
            "4D STEM diffraction (4$\\times$4 binned)",
        ),
        ("3D_EELS", "3D_EELS", "Y-summed EELS spectrum image"),
    ]
    .into_iter()
    .map(|(d, l, t)| DatasetInfo {
        dataset: d.into(),
        label: l.into(),
        description: t.into(),
    })
    .collect()
}

/// The study's 13 HDF5 methods (Table 2): family, HDF5 filter id and settings, from the
/// catalogue.
pub fn methods() -> Vec<MethodInfo> {
    catalogue::study_hdf5()
        .map(|m| MethodInfo {
            method: m.name.into(),
            family: m.label.into(),
            filter_id: m.filter_id,
            settings: m.settings.into(),
        })
        .collect()
}

/// The implementation families of the study's Table 4, with their printed labels.
pub fn table4_families() -> Vec<FamilySpec> {
    catalogue::TABLE4_FAMILIES
        .into_iter()
        .map(|(m, l)| FamilySpec {
            method: m.into(),
            label: l.into(),
        })
        .collect()
}

/// The dataset the study's Table 5 summarises.
pub const TABLE5_DATASET: &str = "4D_Diff";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::NO_CHUNKING;

    #[test]
    fn method_names_split_on_known_chunking_prefixes_only() {
        assert_eq!(
            split_method("single_frame_blosc_zstd"),
            ("single_frame".into(), "blosc_zstd".into())
        );
        assert_eq!(
            split_method("real_space_none"),
            ("real_space".into(), "none".into())
        );
        assert_eq!(
            split_method("sparse_csr"),
            (NO_CHUNKING.into(), "sparse_csr".into())
        );
        assert_eq!(join_method("balanced", "lzf"), "balanced_lzf");
        assert_eq!(join_method(NO_CHUNKING, "simple_gzip"), "simple_gzip");
    }

    #[test]
    fn python_tuples_parse_and_format() {
        assert_eq!(parse_tuple("(32, 32, 64, 64)"), Some(vec![32, 32, 64, 64]));
        assert_eq!(parse_tuple("(1, x)"), None);
        assert_eq!(parse_tuple(""), None);
        assert_eq!(format_tuple(&[1, 1, 256, 256]), "(1, 1, 256, 256)");
    }

    #[test]
    fn runs_with_unknown_dataset_are_rejected_with_the_line() {
        let csv = "dataset,method,compression_ratio,file_size_mb,write_time,read_time,write_throughput_gbs,read_throughput_gbs,chunk_size,run_number\nX,lzf,1,1,1,,,,,1\n";
        let err = read_runs(csv.as_bytes(), &[]).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("`X`"), "{err}");
    }
}
