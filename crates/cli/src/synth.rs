//! `stemz synth` (being written).

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`stemz synth` is not implemented yet")
}
