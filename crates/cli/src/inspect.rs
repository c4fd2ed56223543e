//! `stemz inspect`: what a datacube file is (format, shape, dtype, chunking, filters) and what
//! its values look like (one streaming statistics pass), as text or one JSON object.

use crate::input::InputArgs;
use anyhow::Result;
use serde::Serialize;
use std::path::{Path, PathBuf};
use stemz_data::stats::{cube_stats, StatsSummary};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The datacube file (EMD 1.0 / HDF5, Merlin .mib, NumPy .npy, a Zarr v3 store).
    pub file: PathBuf,
    #[command(flatten)]
    pub source: InputArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    file: String,
    format: String,
    dataset: Option<String>,
    shape: [usize; 4],
    dtype: String,
    nbytes: u64,
    chunks: Option<Vec<usize>>,
    filters: Vec<String>,
    details: Vec<(String, String)>,
    stats: StatsSummary,
}

pub fn run(args: Args) -> Result<()> {
    let mut reader = match args.source.open(&args.file) {
        Ok(r) => r,
        // A recording whose scan shape nothing tells: show what it holds, say the scan is
        // unknown (the other subcommands refuse it).
        Err(e) if args.source.scan.is_none() && is_mib(&args.file) => {
            match stemz_data::mib::MibReader::open_unknown_scan(&args.file) {
                Ok(r) => Box::new(r),
                Err(_) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    let info = reader.info();
    let stats = cube_stats(reader.as_mut())?.summary();
    let report = Report {
        file: args.file.display().to_string(),
        format: info.format,
        dataset: info.dataset,
        shape: reader.shape(),
        dtype: reader.dtype().to_string(),
        nbytes: reader.nbytes(),
        chunks: info.chunks,
        filters: info.filters,
        details: info.details,
        stats,
    };
    if args.json {
        outln!("{}", serde_json::to_string(&report)?);
    } else {
        out!("{}", render_text(&report));
    }
    Ok(())
}

/// Whether `path` starts like a Merlin `.mib` file.
fn is_mib(path: &Path) -> bool {
    matches!(
        stemz_data::open::sniff(path),
        Ok(stemz_data::open::Format::Mib)
    )
}

fn opt(v: Option<f64>) -> String {
    v.map_or("-".to_owned(), |x| format!("{x}"))
}

fn render_text(r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let [sy, sx, dy, dx] = r.shape;
    let _ = writeln!(s, "file      {}", r.file);
    let _ = writeln!(s, "format    {}", r.format);
    if let Some(d) = &r.dataset {
        let _ = writeln!(s, "dataset   {d}");
    }
    let _ = writeln!(s, "shape     {sy} x {sx} scan, {dy} x {dx} detector");
    let _ = writeln!(s, "dtype     {}", r.dtype);
    let _ = writeln!(
        s,
        "size      {} bytes ({:.3} GB)",
        r.nbytes,
        r.nbytes as f64 / 1e9
    );
    match &r.chunks {
        Some(c) => {
            let _ = writeln!(s, "chunks    {c:?}");
        }
        None => {
            let _ = writeln!(s, "chunks    none (contiguous)");
        }
    }
    if r.filters.is_empty() {
        let _ = writeln!(s, "filters   none");
    }
    for f in &r.filters {
        let _ = writeln!(s, "filter    {f}");
    }
    for (k, v) in &r.details {
        let _ = writeln!(s, "{k:<9} {v}");
    }
    let t = &r.stats;
    let _ = writeln!(
        s,
        "values    {} ({} zeros, sparsity {:.4})",
        t.count, t.zeros, t.sparsity
    );
    let _ = writeln!(
        s,
        "range     {} .. {}, mean {}",
        opt(t.min),
        opt(t.max),
        opt(t.mean)
    );
    if let Some(b) = t.bits_used {
        let _ = writeln!(s, "bits used {b}");
    }
    if t.nans > 0 {
        let _ = writeln!(s, "NaNs      {}", t.nans);
    }
    let _ = writeln!(s, "> 4095    {}   > 16383 {}", t.above_4095, t.above_16383);
    if let Some(d) = t.distinct_values {
        let _ = writeln!(s, "distinct  {d}");
    }
    let _ = writeln!(
        s,
        "H0        {} bits/value (ratio bound {})",
        opt(t.h0_bits),
        opt(t.bound_h0)
    );
    let _ = writeln!(
        s,
        "H2        {} bits/value (ratio bound {})",
        t.h2_bits,
        opt(t.bound_h2)
    );
    s
}
