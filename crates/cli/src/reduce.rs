//! `stemz reduce`: write one reduction of a datacube as EMD 1.0 (py4DSTEM opens it), compressed
//! losslessly and verified, with its provenance.
//!
//! Either the smallest candidate within tolerance (`--keep … --tolerance …`, measured as
//! `stemz fidelity` does), or an explicit reduction (`--bin N [--sum|--mean] --crop Y0:Y1,X0:X1
//! --scan-bin N`), whose targets' errors are then measured in one pass. The reduced cube is
//! streamed from the input through the codec engine (never held whole), verified bitwise
//! against a second reduction of the input, and annotated on the root group with
//! `stemz_source`, `stemz_source_sha256`, `stemz_operations` (JSON list, in order),
//! `stemz_target_errors` (JSON), `stemz_keep`, `stemz_method` and `stemz_version`, before it is
//! renamed into place. The input is never replaced.

use crate::fidelity::{opener, resolve, same_file, study, Select};
use crate::input::open_input;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use stemz_codecs::engine::{self, Engine, Layout, WriteOptions};
use stemz_codecs::{Chunking, Method};
use stemz_data::{AtomicFile, CubeReader};
use stemz_fidelity::eval::evaluate;
use stemz_fidelity::provenance::{annotate, sha256_file};
use stemz_fidelity::{Agg, Crop, ReducedReader, Reduction, TargetError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input datacube (EMD 1.0 / HDF5, Merlin .mib, NumPy .npy).
    pub input: PathBuf,
    /// Output EMD 1.0 file.
    pub output: PathBuf,
    #[command(flatten)]
    pub select: Select,
    /// Explicit: detector bin factor (1 × N along energy for a spectrum image).
    #[arg(long)]
    pub bin: Option<usize>,
    /// Explicit: sum the bins (default; into a type that cannot overflow).
    #[arg(long, conflicts_with = "mean")]
    pub sum: bool,
    /// Explicit: average the bins into float32.
    #[arg(long)]
    pub mean: bool,
    /// Explicit: detector crop Y0:Y1,X0:X1 (half-open, original pixels), applied first.
    #[arg(long)]
    pub crop: Option<String>,
    /// Explicit: scan bin factor.
    #[arg(long)]
    pub scan_bin: Option<usize>,
    /// Lossless method of the output (default: the smallest measured for the chosen candidate;
    /// blosc_zstd_bitshuffle for an explicit reduction).
    #[arg(long)]
    pub method: Option<String>,
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json_num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:e}")
    } else {
        "null".into()
    }
}

fn errors_json(errors: &[TargetError]) -> String {
    let items: Vec<String> = errors
        .iter()
        .map(|e| {
            format!(
                "{{\"target\":{},\"rms\":{},\"max\":{},\"unit\":{},\"exact\":{}}}",
                json_str(&e.target),
                json_num(e.rms),
                json_num(e.max),
                json_str(e.unit),
                e.exact
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

pub fn run(args: Args) -> Result<()> {
    if same_file(&args.output, &args.input) || args.output == args.input {
        bail!(
            "{}: the output must not replace the input",
            args.output.display()
        );
    }
    let explicit =
        args.bin.is_some() || args.crop.is_some() || args.scan_bin.is_some() || args.mean;
    let sel = &args.select;
    let (reduction, errors, keep, measured_method) = if explicit {
        let reduction = Reduction {
            crop: args
                .crop
                .as_deref()
                .map(Crop::parse)
                .transpose()
                .with_context(|| args.input.display().to_string())?,
            bin: args.bin.unwrap_or(1),
            agg: if args.mean { Agg::Mean } else { Agg::Sum },
            scan_bin: args.scan_bin.unwrap_or(1),
        };
        let mut reader = open_input(&args.input, sel.dataset.clone(), sel.scan, false)?;
        reduction
            .check(reader.shape())
            .with_context(|| args.input.display().to_string())?;
        let res =
            resolve(sel, reader.as_mut()).with_context(|| args.input.display().to_string())?;
        let ev = evaluate(reader.as_mut(), &res.keep, res.geometry, &[reduction])
            .with_context(|| args.input.display().to_string())?;
        let errors = ev.candidates[0].errors.clone();
        (reduction, errors, res.keep.to_string(), None)
    } else {
        let report = study(&args.input, sel)?;
        let Some(best) = report.best else {
            bail!(
                "{}: no candidate keeps every target within tolerance {} (CoM {} px); run \
                 `stemz fidelity` to see the errors",
                args.input.display(),
                sel.tolerance,
                sel.com_tolerance
            );
        };
        let row = &report.rows[best];
        (
            row.cand.reduction,
            row.cand.errors.clone(),
            report.eval.keep.to_string(),
            Some(row.stored.method.clone()),
        )
    };
    let method = match (&args.method, measured_method) {
        (Some(m), _) => Method::parse(m)?,
        (None, Some(m)) => Method::parse(&m)?,
        (None, None) => Method::BloscZstdBitshuffle,
    };
    if !method.is_hdf5() {
        bail!("--method {method}: EMD output needs an HDF5 method");
    }
    let sha = sha256_file(&args.input)?;
    let open = opener(&args.input, sel);
    let source = open()?;
    let (src_shape, src_dtype) = (source.shape(), source.dtype());
    let mut reduced = ReducedReader::new(source, reduction)?;
    let final_file = AtomicFile::new(&args.output)?;
    let staged = final_file.temp_path().to_path_buf();
    let mut opts = WriteOptions::new(
        method,
        Chunking::Balanced,
        Engine::Parallel { threads: 0 },
        Layout::Emd,
    );
    opts.slab_bytes = 64 << 20;
    let rep = engine::write(&mut reduced, &staged, &opts)
        .with_context(|| format!("writing {}", args.output.display()))?;
    let ops: Vec<String> = reduction
        .operations(src_shape, src_dtype)
        .into_iter()
        .chain(std::iter::once(format!(
            "compress {method} (lossless, verified bitwise), chunks {}",
            rep.chunk_shape
                .map(|c| format!("{}x{}x{}x{}", c[0], c[1], c[2], c[3]))
                .unwrap_or_default()
        )))
        .collect();
    let ops_json = format!(
        "[{}]",
        ops.iter()
            .map(|o| json_str(o))
            .collect::<Vec<_>>()
            .join(",")
    );
    let attrs = vec![
        ("stemz_source".to_string(), args.input.display().to_string()),
        ("stemz_source_sha256".into(), sha),
        (
            "stemz_source_shape".into(),
            format!("{src_shape:?} {src_dtype}"),
        ),
        ("stemz_operations".into(), ops_json),
        ("stemz_keep".into(), keep),
        ("stemz_target_errors".into(), errors_json(&errors)),
        ("stemz_method".into(), method.name().to_string()),
        (
            "stemz_version".into(),
            format!("stemz {}", env!("CARGO_PKG_VERSION")),
        ),
    ];
    annotate(&staged, &attrs)?;
    let out = final_file.commit()?;
    let s = reduced.shape();
    outln!(
        "wrote      {} ({}x{}x{}x{} {}, {}, EMD 1.0)",
        out.display(),
        s[0],
        s[1],
        s[2],
        s[3],
        reduced.dtype(),
        reduction.label()
    );
    outln!(
        "size       {} bytes ({:.1}x smaller than the input's {} raw bytes), {method}",
        rep.file_bytes,
        (src_shape.iter().product::<usize>() * src_dtype.itemsize()) as f64
            / rep.file_bytes.max(1) as f64,
        src_shape.iter().product::<usize>() * src_dtype.itemsize()
    );
    for e in &errors {
        outln!(
            "error      {:<20} {}",
            e.target,
            if e.exact {
                "exact".to_string()
            } else if e.unit == "px" {
                format!("rms {:.4} px, max {:.4} px", e.rms, e.max)
            } else {
                format!("rms {:.3e}, max {:.3e} (relative)", e.rms, e.max)
            }
        );
    }
    Ok(())
}
