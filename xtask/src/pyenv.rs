//! The interop venv: the real Python clients (h5py, hdf5plugin, rosettasciio, py4DSTEM), pinned in
//! `xtask/interop-requirements.txt`, installed under `target/interop-venv` and re-installed only
//! when that file changes. A failed install is an error, never a skipped test.

use crate::util::root;
use anyhow::Result;
use std::path::PathBuf;

pub fn ensure() -> Result<PathBuf> {
    crate::setup::run()?;
    let root = root();
    let venv = crate::setup::venv(
        &root.join("target/interop-venv"),
        &root.join("xtask/interop-requirements.txt"),
    )?;
    Ok(venv.join("bin/python"))
}
