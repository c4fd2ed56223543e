//! Checks on what the user asked for, before anything runs: an output path is never the input
//! (after resolving links, hard links included) and replaces an existing file only with
//! `--force`; thread counts stay within a sane multiple of the cores; explicit chunk shapes
//! fit the cube. Also the parsers of the flags several commands share, and their scratch
//! folders.

use anyhow::{bail, Result};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use stemz_codecs::Chunking;

/// Refuse to write `output` when it is `input` (same file after links) or exists without `force`.
pub fn output(input: &Path, output: &Path, force: bool) -> Result<()> {
    let meta = match std::fs::metadata(output) {
        Ok(m) => m,
        // Nothing there (or a dangling link, which the rename replaces): fine.
        Err(_) => return Ok(()),
    };
    if let Ok(inp) = std::fs::metadata(input) {
        if (inp.dev(), inp.ino()) == (meta.dev(), meta.ino()) {
            bail!(
                "{}: is the input {} (the same file); choose another output",
                output.display(),
                input.display()
            );
        }
    }
    if meta.is_dir() && !stemz_data::zarr::is_store(output) {
        bail!(
            "{}: is a directory (and not a Zarr store), not an output",
            output.display()
        );
    }
    if !force {
        bail!(
            "{}: already exists (use --force to replace it)",
            output.display()
        );
    }
    Ok(())
}

/// More threads than this many per core only add contention (the parallel engine's work is
/// CPU-bound; time grew about quadratically with threads in measurements of 10 000).
const THREADS_PER_CORE: usize = 4;

/// `requested` threads (0: one per core), capped at [`THREADS_PER_CORE`] per core with a note
/// on stderr.
pub fn threads(requested: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = cores * THREADS_PER_CORE;
    if requested > cap {
        eprintln!(
            "note: --threads {requested} capped at {cap} ({THREADS_PER_CORE} per core, {cores} cores)"
        );
        cap
    } else {
        requested
    }
}

/// An explicit chunk shape must fit in the cube (the named chunkings adapt to it).
pub fn chunking_fits(chunking: &Chunking, shape: [usize; 4], input: &Path) -> Result<()> {
    if let Chunking::Explicit(c) = chunking {
        if c.iter().zip(shape).any(|(&c, s)| c > s) {
            bail!(
                "{}: --chunking {}x{}x{}x{} is larger than the cube {}x{}x{}x{} (each chunk axis \
                 must be at most the cube's)",
                input.display(),
                c[0],
                c[1],
                c[2],
                c[3],
                shape[0],
                shape[1],
                shape[2],
                shape[3]
            );
        }
    }
    Ok(())
}

/// Parse `--scale`: tiny, small or paper.
pub fn parse_scale(s: &str) -> Result<stemz_data::synth::Scale, String> {
    stemz_data::synth::Scale::parse(s)
        .ok_or_else(|| format!("unknown scale {s:?} (tiny, small, paper)"))
}

/// A scratch folder `<parent>/stemz-<what>-…`, removed with whatever is left in it when dropped.
pub fn scratch_dir(parent: &Path, what: &str) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("stemz-{what}-"))
        .tempdir_in(parent)
        .map_err(|e| anyhow::anyhow!("{}: cannot create a scratch folder: {e}", parent.display()))
}
