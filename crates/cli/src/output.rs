//! Checks on an output path before anything is written: never the input (after resolving
//! links, hard links included), and an existing file only with `--force`.

use anyhow::{bail, Result};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Refuse to write `output` when it is `input` (same file after links) or exists without `force`.
pub fn check(input: &Path, output: &Path, force: bool) -> Result<()> {
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
    if meta.is_dir() {
        bail!("{}: is a directory, not an output file", output.display());
    }
    if !force {
        bail!(
            "{}: already exists (use --force to replace it)",
            output.display()
        );
    }
    Ok(())
}
