//! `cargo xtask perf`: stemz serial and parallel against h5py + hdf5plugin, same data, same
//! machine, same run (being written).

use crate::flags::PerfArgs;
use anyhow::{bail, Result};

pub fn run(_args: &PerfArgs) -> Result<()> {
    bail!("`cargo xtask perf` is not implemented yet")
}
