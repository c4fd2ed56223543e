//! `cargo xtask …`: the one entry point. Every subcommand is declared in [`flags`]; `main` only
//! dispatches, one module per task.

mod ci;
mod clone_check;
mod flags;
mod perf;
mod pyenv;
mod setup;
mod stages;
mod tidy;
mod util;

use clap::Parser;
use flags::{Cmd, Xtask};

fn main() -> anyhow::Result<()> {
    let args = Xtask::parse();
    match args.cmd {
        Cmd::Setup => setup::run(),
        Cmd::Ci(ci) => ci::run(&ci),
        Cmd::Pyenv => pyenv::ensure().map(|py| println!("{}", py.display())),
        Cmd::Datasets(a) => stages::datasets(&a),
        Cmd::Bench(a) => stages::bench(&a),
        Cmd::Report => stages::report(),
        Cmd::Check => stages::check(),
        Cmd::Reproduce(a) => stages::reproduce(&a),
        Cmd::Fidelity => stages::fidelity_records(),
        Cmd::Perf(a) => perf::run(&a),
        Cmd::CloneCheck => clone_check::run(),
    }
}
