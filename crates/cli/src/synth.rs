//! `stemz synth`: generate the synthetic stand-ins for the study's five datasets as uncompressed
//! EMD 1.0 files, or check / update their checksums in `data/datasets.toml`.
//!
//! Generation streams whole-frame batches (bounded memory) from a `SynthReader`, which computes
//! each batch's frames on all cores, into an EMD writer that only shows the file under its final
//! name once complete. The SHA-256 of the bytes is computed on the way and printed.

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;
use stemz_data::synth::{to_little_endian, Manifest, Scale, SynthReader, BATCH_BYTES};
use stemz_data::{CubeReader, CubeWriter};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset size: tiny (8x8 scan), small (benchmark-sized), paper (the study's shapes).
    #[arg(long, default_value = "small", value_parser = crate::checks::parse_scale)]
    scale: Scale,
    /// Datasets to generate (default: all five), e.g. `--datasets 4D_Diff,3D_EELS` or `--datasets 4D_Diff 3D_EELS`.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    datasets: Vec<String>,
    /// Output directory (default: data/generated/<scale>/ under the current directory).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Manifest to read (default: the one built into stemz; `--update-manifest` needs the file).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Write no files: recompute the SHA-256s and fail, naming the datasets, if any differs
    /// from the manifest.
    #[arg(long, conflicts_with = "update_manifest")]
    verify: bool,
    /// Write no files: recompute the SHA-256s and rewrite them (and the generator version) in
    /// the manifest.
    #[arg(long)]
    update_manifest: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut manifest = Manifest::load_or_embedded(args.manifest.as_deref())?;
    let manifest_path = manifest.path.clone();
    let scale = args.scale;

    if args.verify {
        let bad = manifest.verify(scale, &args.datasets)?;
        for m in &bad {
            eprintln!(
                "{}: expected {}, generated {}",
                m.name,
                m.expected.as_deref().unwrap_or("(no checksum)"),
                m.actual
            );
        }
        if !bad.is_empty() {
            let names: Vec<&str> = bad.iter().map(|m| m.name.as_str()).collect();
            bail!(
                "{}: `{scale}` checksums differ for {} (run `stemz synth --scale {scale} \
                 --update-manifest` if the generator changed on purpose)",
                manifest_path.display(),
                names.join(", ")
            );
        }
        outln!("{} `{scale}` checksums match", manifest_path.display());
        return Ok(());
    }

    if args.update_manifest {
        let names: Vec<String> = manifest
            .selected(&args.datasets)?
            .iter()
            .map(|d| d.name.clone())
            .collect();
        for name in names {
            let mut reader = SynthReader::new(manifest.spec(&name)?, scale)?;
            let sha = stemz_data::synth::sha256_of(&mut reader)?;
            outln!("{name} [{scale}] sha256 {sha}");
            manifest.set_sha256(&name, scale, &sha)?;
        }
        manifest.write_checksums()?;
        outln!("updated {}", manifest_path.display());
        return Ok(());
    }

    let out_dir = args
        .out
        .unwrap_or_else(|| PathBuf::from("data/generated").join(scale.name()));
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("creating output directory {}", out_dir.display()))?;
    for spec in manifest.selected(&args.datasets)? {
        let t0 = Instant::now();
        let mut reader = SynthReader::new(spec, scale)?;
        let (shape, dtype) = (reader.shape(), reader.dtype());
        let path = out_dir.join(format!("{}.emd", spec.name));
        let mut writer = Box::new(stemz_data::emd::create_emd(
            &path,
            shape,
            dtype,
            None,
            |_| Ok(()),
        )?);
        let mut hasher = Sha256::new();
        let mut buf = Vec::new();
        // Progress for a person watching only: not into a pipe or a log.
        let bar = if std::io::stderr().is_terminal() {
            let b =
                ProgressBar::with_draw_target(Some(reader.nbytes()), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.set_message(spec.name.clone());
            b
        } else {
            ProgressBar::hidden()
        };
        for slab in stemz_data::Hyperslab::frame_blocks(shape, dtype.itemsize(), BATCH_BYTES) {
            buf.resize(slab.len() * dtype.itemsize(), 0);
            reader.read_slab(&slab, &mut buf)?;
            writer.write_slab(&slab, &buf)?;
            to_little_endian(&mut buf, dtype.itemsize());
            hasher.update(&buf);
            bar.inc(buf.len() as u64);
        }
        bar.finish_and_clear();
        let written = writer.finish()?;
        let sha: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let status = match spec.sha256(scale) {
            Some(h) if h == sha => "matches manifest",
            Some(_) => "DIFFERS from manifest",
            None => "no manifest checksum",
        };
        outln!(
            "{} {:?} {dtype} in {:.1}s: {} (sha256 {sha}, {status})",
            spec.name,
            shape,
            t0.elapsed().as_secs_f64(),
            written.display()
        );
    }
    Ok(())
}
