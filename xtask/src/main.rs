//! `cargo xtask …`: the one entry point. Every subcommand is declared in [`flags`]; `main` only
//! dispatches, one module per task.

mod ci;
mod flags;
mod pyenv;
mod setup;
mod util;

use clap::Parser;
use flags::{Cmd, Xtask};

fn main() -> anyhow::Result<()> {
    let args = Xtask::parse();
    match args.cmd {
        Cmd::Setup => setup::run(),
        Cmd::Ci(ci) => ci::run(&ci),
        Cmd::Pyenv => pyenv::ensure().map(|py| println!("{}", py.display())),
    }
}
