//! All xtask subcommands, one doc line each.

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "stemz's one entry point")]
pub struct Xtask {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Check for (and as root, install) the system libraries the build needs: libhdf5 with szip.
    Setup,
    /// The test command: format, clippy, tests, interop tests with h5py/hdf5plugin, freshness.
    Ci(CiArgs),
    /// Create or update the pinned Python interop venv under target/ and print its python path.
    Pyenv,
}

#[derive(Debug, Args)]
pub struct CiArgs {
    /// Skip the interop tests (for quick local iterations; CI never passes this).
    #[arg(long)]
    pub no_interop: bool,
}
