//! `stemz compress`: any readable datacube to HDF5, EMD 1.0 or a Zarr v3 store with one
//! compression method, verified bitwise after writing (unless `--no-verify`), written
//! atomically.
//!
//! HDF5 methods write a chunked dataset (plain HDF5 at `--out-dataset`, or EMD 1.0 when the
//! output ends in `.emd` or with `--emd`); Zarr methods (`zarr_*`) write a sharded store, a
//! directory named `*.zarr` (see `stemz_codecs::zarr`); the study's three non-HDF5 methods
//! write their own file format (see `stemz_codecs::nonhdf5`).

use crate::input::InputArgs;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use stemz_analysis::catalogue::{name as n, BALANCED};
use stemz_codecs::engine::{self, Engine, Layout, WriteOptions};
use stemz_codecs::{Chunking, Method};
use stemz_data::{CubeReader, DType, Hyperslab, Shape4, SourceInfo};

/// The method `stemz compress` uses unless told otherwise (see `--method`).
pub const DEFAULT_METHOD: &str = n::BLOSC2_ZSTD_BITSHUFFLE_1;

/// The method for a `.zarr` output unless told otherwise: Blosc zstd with bit-shuffle, the
/// Zarr twin of the HDF5 method closest to the default (c-blosc 1.x, as zarr-python 3's
/// `BloscCodec` writes it; Zarr has no Blosc2 codec).
pub const DEFAULT_ZARR_METHOD: &str = n::ZARR_BLOSC_ZSTD_BITSHUFFLE;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input datacube (EMD 1.0 / HDF5, Merlin .mib, NumPy .npy, a Zarr v3 store).
    pub input: PathBuf,
    /// Output file, or a Zarr v3 store (a directory ending in .zarr) for the zarr_* methods.
    pub output: PathBuf,
    /// Compression method (see `stemz methods`). The default, blosc2_zstd_bitshuffle_1
    /// (hdf5plugin.Blosc2(cname="zstd", clevel=1, filters=BITSHUFFLE), filter 32026), was the
    /// measured winner on the synthetic 4D-STEM cubes at paper scale: 1.27-1.39x smaller than
    /// the study's best, blosc_zstd, on raw counts and 1.4-1.5x faster to write (CHANGELOG.md,
    /// "Beyond the study"); h5py + hdf5plugin 7.1 read it. Smaller still, but slower to write:
    /// blosc2_zstd_bitshuffle_5 (1.08-1.45x). On EELS spectrum images blosc_zstd_bitshuffle_5
    /// is smaller (1.11x), and on tiny, extremely sparse files (a few KiB per chunk compressed)
    /// blosc_zstd can be; `stemz recommend` measures your file. For a .zarr output the
    /// default is zarr_blosc_zstd_bitshuffle.
    #[arg(long)]
    pub method: Option<String>,
    /// Chunking: real_space, balanced, single_frame, or an explicit SYxSXxQYxQX.
    #[arg(long, default_value = BALANCED)]
    pub chunking: String,
    /// serial (HDF5's pipeline, as h5py) or parallel (chunks compressed on all threads).
    #[arg(long, default_value = "parallel", value_parser = ["serial", "parallel"])]
    pub engine: String,
    /// Threads of the parallel engine (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    #[command(flatten)]
    pub source: InputArgs,
    /// Plain HDF5 output: path of the dataset (default: `data`; EMD outputs use the EMD path).
    #[arg(long)]
    pub out_dataset: Option<String>,
    /// Write EMD 1.0 (implied by an output ending in .emd).
    #[arg(long)]
    pub emd: bool,
    /// Skip reading the file back and comparing it bitwise.
    #[arg(long)]
    pub no_verify: bool,
    /// Add HDF5's Fletcher-32 checksum filter to the pipeline (Zarr: a crc32c codec after
    /// every inner chunk): any reader (h5py, zarr-python too) then refuses a chunk altered
    /// after writing.
    #[arg(long)]
    pub checksum: bool,
    /// Write a method that is lossy on this input by design (`uint8_overflow` on float32).
    #[arg(long)]
    pub allow_lossy: bool,
    /// Replace the output file if it exists (never the input).
    #[arg(long)]
    pub force: bool,
}

/// The input as the engine reads it, drawing a progress bar of the bytes read so far on a
/// terminal's stderr (nothing when stderr is a pipe or a log).
struct Watched<'a> {
    inner: &'a mut dyn CubeReader,
    bar: ProgressBar,
}

impl<'a> Watched<'a> {
    fn new(inner: &'a mut dyn CubeReader, passes: u64) -> Self {
        let bar = if std::io::stderr().is_terminal() {
            let b = ProgressBar::with_draw_target(
                Some(inner.nbytes() * passes),
                ProgressDrawTarget::stderr(),
            );
            b.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        } else {
            ProgressBar::hidden()
        };
        Watched { inner, bar }
    }
}

impl CubeReader for Watched<'_> {
    fn shape(&self) -> Shape4 {
        self.inner.shape()
    }
    fn dtype(&self) -> DType {
        self.inner.dtype()
    }
    fn info(&self) -> SourceInfo {
        self.inner.info()
    }
    fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> stemz_data::Result<()> {
        self.inner.read_slab(slab, out)?;
        self.bar.inc(out.len() as u64);
        Ok(())
    }
}

fn zarr_names() -> String {
    let names: Vec<&str> = Method::zarr().iter().map(|m| m.name()).collect();
    names.join(", ")
}

pub fn run(args: Args) -> Result<()> {
    crate::checks::output(&args.input, &args.output, args.force)?;
    let zarr_out = args
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zarr"));
    let method = match &args.method {
        Some(m) => Method::parse(m)?,
        None if zarr_out => Method::parse(DEFAULT_ZARR_METHOD)?,
        None => Method::parse(DEFAULT_METHOD)?,
    };
    if method.is_zarr() != zarr_out {
        if zarr_out {
            bail!(
                "{}: a .zarr output is a Zarr v3 store; choose a Zarr method ({}), or name the \
                 output .h5/.emd",
                args.output.display(),
                zarr_names()
            );
        }
        bail!(
            "{}: {method} writes a Zarr v3 store, a directory; name the output *.zarr",
            args.output.display()
        );
    }
    if method.is_zarr() && (args.emd || args.out_dataset.is_some()) {
        bail!(
            "{}: --emd and --out-dataset apply to HDF5 outputs, not to a Zarr store (its array \
             is the store's root, with the EMD attributes)",
            args.output.display()
        );
    }
    let chunking = Chunking::parse(&args.chunking)?;
    let engine = match args.engine.as_str() {
        "serial" => Engine::Serial,
        _ => Engine::Parallel {
            threads: crate::checks::threads(args.threads),
        },
    };
    let emd = args.emd
        || args
            .output
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("emd"));
    let layout = if emd {
        Layout::Emd
    } else {
        Layout::Hdf5 {
            dataset: args
                .out_dataset
                .clone()
                .unwrap_or_else(|| "data".to_owned()),
        }
    };
    if emd && args.out_dataset.is_some() {
        bail!(
            "{}: --out-dataset does not apply to EMD 1.0 output (its datacube path is fixed by \
             the format); drop it, or write plain HDF5 (.h5)",
            args.output.display()
        );
    }
    if let Some(ext) = stemz_codecs::nonhdf5::extension(method) {
        let name = args.output.to_string_lossy().to_ascii_lowercase();
        if !name.ends_with(&format!(".{ext}")) || args.emd {
            bail!(
                "{}: {method} writes its own file format, not HDF5/EMD; name the output \
                 *.{ext} (or choose an HDF5 method)",
                args.output.display()
            );
        }
    }
    let mut reader = args.source.open(&args.input)?;
    if method.is_chunked() {
        crate::checks::chunking_fits(&chunking, reader.shape(), &args.input)?;
    }
    if !method.lossless_for(reader.dtype()) && !args.allow_lossy {
        bail!(
            "{}: {method} is lossy on {} data by design (values are truncated to bytes); pass \
             --allow-lossy to write it anyway, or choose a lossless method",
            args.input.display(),
            reader.dtype()
        );
    }
    let mut opts = WriteOptions::new(method, chunking, engine, layout);
    opts.verify = !args.no_verify;
    if args.checksum && !method.is_chunked() {
        bail!(
            "{}: --checksum adds an HDF5 filter and does not apply to {method}'s own file format",
            args.output.display()
        );
    }
    opts.checksum = args.checksum;
    // Every HDF5 output records the SHA-256 of its data, for `stemz verify`.
    opts.digest = true;
    // Passes over the input: the write, the verification, the SHA-256.
    let passes = 1 + u64::from(opts.verify) + u64::from(opts.digest && method.is_chunked());
    let mut watched = Watched::new(reader.as_mut(), passes);
    let r = engine::write(&mut watched, &args.output, &opts)
        .with_context(|| format!("compressing {}", args.input.display()));
    watched.bar.finish_and_clear();
    let r = r?;

    let size = |b: u64| {
        if b < 1 << 20 {
            format!("{b} B")
        } else {
            format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
        }
    };
    let gib_s = r.uncompressed_bytes as f64 / (1u64 << 30) as f64 / r.write_s.max(1e-9);
    let shape = reader.shape();
    outln!("wrote      {}", r.path.display());
    outln!(
        "input      {}x{}x{}x{} {}  {}",
        shape[0],
        shape[1],
        shape[2],
        shape[3],
        reader.dtype(),
        size(r.uncompressed_bytes)
    );
    match r.chunk_shape {
        Some(c) => outln!(
            "method     {method} ({}), chunks {}x{}x{}x{} ({chunking}), {} engine",
            method.family(),
            c[0],
            c[1],
            c[2],
            c[3],
            engine.name()
        ),
        None => outln!("method     {method} ({}), own file format", method.family()),
    }
    let payload = if method.is_zarr() {
        format!(
            "store in {} objects, {} of shards",
            r.objects,
            size(r.payload_bytes)
        )
    } else {
        format!("file, {} payload", size(r.payload_bytes))
    };
    outln!(
        "size       {} {payload}, ratio {:.3}",
        size(r.file_bytes),
        r.ratio()
    );
    outln!("write      {:.3} s, {gib_s:.3} GiB/s", r.write_s);
    if method.is_zarr() {
        outln!(
            "chunks     {} inner chunks stored in shards (all-zero chunks are left out)",
            r.chunks
        );
    } else if r.chunk_shape.is_some() {
        outln!(
            "chunks     {} ({} stored raw: filter declined)",
            r.chunks,
            r.chunks_stored_raw
        );
    }
    match &r.verify {
        Some(v) if v.lossless => outln!("lossless   yes (bitwise, {} elements)", v.elements),
        Some(v) => outln!(
            "lossless   NO: {} of {} elements differ, {} ({method} is lossy on {})",
            v.mismatches,
            v.elements,
            v.first_mismatch.map(|m| m.to_string()).unwrap_or_default(),
            reader.dtype()
        ),
        None => outln!("lossless   not verified (--no-verify)"),
    }
    if let (Some(sha), true) = (&r.sha256, method.is_zarr()) {
        outln!(
            "sha256     {sha} (attributes.stemz.{} of zarr.json{})",
            stemz_codecs::digest::ATTRIBUTE,
            if args.checksum {
                "; chunks carry crc32c"
            } else {
                ""
            }
        );
    } else if let Some(sha) = &r.sha256 {
        outln!(
            "sha256     {sha} (attribute {} of the dataset{})",
            stemz_codecs::digest::ATTRIBUTE,
            if args.checksum {
                "; chunks carry Fletcher-32"
            } else {
                ""
            }
        );
    }
    Ok(())
}
