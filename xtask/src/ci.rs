//! `cargo xtask ci`: the README's test command and all that `.ci/run` calls.
//!
//! Convention: every `#[ignore]`d test in the workspace is an interop test that needs the real
//! Python clients; it reads the venv's interpreter from `STEMZ_INTEROP_PYTHON` and fails (never
//! skips) without it. Plain `cargo test` leaves them out; `cargo xtask ci` runs them.

use crate::flags::CiArgs;
use crate::util::{cargo, exec};
use anyhow::Result;

pub fn run(args: &CiArgs) -> Result<()> {
    crate::setup::run()?;
    exec(cargo().args(["fmt", "--all", "--check"]))?;
    exec(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // CI never writes snapshots: a changed or new snapshot fails the run.
    exec(
        cargo()
            .args(["test", "--workspace"])
            .env("INSTA_UPDATE", "no")
            .env("INSTA_FORCE_PASS", "0"),
    )?;
    if !args.no_interop {
        let python = crate::pyenv::ensure()?;
        exec(
            cargo()
                .args(["test", "--workspace", "--", "--ignored"])
                .env("STEMZ_INTEROP_PYTHON", &python),
        )?;
    }
    // Freshness: the committed tables, figures and report equal what the committed records give.
    crate::stages::check()?;
    eprintln!("ci: all checks passed");
    Ok(())
}
