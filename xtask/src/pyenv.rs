//! The interop venv: the real Python clients (h5py, hdf5plugin, rosettasciio, py4DSTEM), pinned in
//! `xtask/interop-requirements.txt`, installed under `target/interop-venv` and re-installed only
//! when that file changes. A failed install is an error, never a skipped test.

use crate::util::{exec, root};
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::process::Command;

pub fn ensure() -> Result<PathBuf> {
    crate::setup::run()?;
    let root = root();
    let req = root.join("xtask/interop-requirements.txt");
    let venv = root.join("target/interop-venv");
    let python = venv.join("bin/python");
    let stamp = venv.join("requirements.sha256");
    let want = hex(&Sha256::digest(
        std::fs::read(&req).with_context(|| req.display().to_string())?,
    ));
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return Ok(python);
    }
    if venv.exists() {
        std::fs::remove_dir_all(&venv).with_context(|| format!("removing {}", venv.display()))?;
    }
    exec(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    exec(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&req),
    )?;
    std::fs::write(&stamp, &want)?;
    Ok(python)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
