//! `cargo xtask ci`: the README's test command and all that `.ci/run` calls.
//!
//! Convention: every `#[ignore]`d test in the workspace is an interop test that needs the real
//! Python clients; it reads the venv's interpreter from `STEMZ_INTEROP_PYTHON` and fails (never
//! skips) without it. Plain `cargo test` leaves them out; `cargo xtask ci` runs them.
//!
//! Tests that read the real instrument files of `../shared/reference/realdata/` (not part of
//! the repository) are named `realdata_*` and fail, saying what is missing, without them. A
//! clone with nothing beside it passes `cargo xtask ci` by leaving those tests out, and says so.

use crate::flags::CiArgs;
use crate::util::{cargo, exec};
use anyhow::Result;

/// Where the real instrument fixtures are looked for, beside the checkout.
const REALDATA: &str = "../shared/reference/realdata";

pub fn run(args: &CiArgs) -> Result<()> {
    crate::setup::run()?;
    // The committed reference must be one a reader can trust (a clean build, no local paths).
    crate::stages::reference_run()?;
    crate::stages::paper_reference_run()?;
    let realdata = crate::util::root().join(REALDATA).is_dir();
    let skip: &[&str] = if realdata {
        &[]
    } else {
        &["--skip", "realdata_"]
    };
    exec(cargo().args(["fmt", "--all", "--check"]))?;
    exec(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // CI never writes snapshots: a changed or new snapshot fails the run, and so does a
    // snapshot file no test referenced (insta lists the ones it used in the references file).
    let references = crate::util::root().join("target/insta-references.txt");
    let _ = std::fs::remove_file(&references);
    exec(
        cargo()
            .args(["test", "--workspace", "--"])
            .args(skip)
            .env("INSTA_UPDATE", "no")
            .env("INSTA_FORCE_PASS", "0")
            .env("INSTA_SNAPSHOT_REFERENCES_FILE", &references),
    )?;
    let used = std::fs::read_to_string(&references).unwrap_or_default();
    let orphans = crate::tidy::unreferenced(&crate::util::root(), &used);
    if !orphans.is_empty() {
        let list: Vec<String> = orphans.iter().map(|p| p.display().to_string()).collect();
        anyhow::bail!(
            "snapshots no test references (delete them): {}",
            list.join(", ")
        );
    }
    if !args.no_interop {
        let python = crate::pyenv::ensure()?;
        exec(
            cargo()
                .args(["test", "--workspace", "--", "--ignored"])
                .args(skip)
                .env("STEMZ_INTEROP_PYTHON", &python),
        )?;
    }
    // Freshness (the committed tables, figures and report equal what the committed records
    // give) ran above as `crates/report/tests/fresh.rs`, with the workspace's build: a separate
    // `cargo run -p stemz-report` would resolve features for that crate alone and rebuild
    // polars and its dependencies (measured: over 5 minutes of a fresh CI run).
    if !realdata {
        eprintln!(
            "ci: {REALDATA} is not beside the checkout: the tests of real instrument files \
             (named realdata_*) were not run"
        );
    }
    eprintln!("ci: all checks passed");
    Ok(())
}
