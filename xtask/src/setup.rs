//! `cargo xtask setup`: make sure the system has what the build and the interop tests need.
//!
//! Needed: pkg-config and HDF5 ≥ 1.10.3 with szip (Debian/Ubuntu `libhdf5-dev`, whose szip comes
//! from libaec), a C compiler for the bundled codec sources, and Python's venv module for the
//! interop tests. As root with apt, missing pieces are installed (`apt-get update` once, then
//! `apt-get install -y …`); otherwise the exact command is printed and setup fails.

use crate::util::{exec, is_root, output};
use anyhow::{bail, Result};
use std::process::Command;

struct Need {
    what: &'static str,
    present: fn() -> bool,
    apt: &'static [&'static str],
}

fn has(cmd: &str, args: &[&str]) -> bool {
    output(Command::new(cmd).args(args)).is_some()
}

const NEEDS: &[Need] = &[
    Need {
        what: "pkg-config",
        present: || has("pkg-config", &["--version"]),
        apt: &["pkg-config"],
    },
    Need {
        what: "HDF5 development files (libhdf5 with szip)",
        present: || has("pkg-config", &["--exists", "hdf5"]),
        apt: &["libhdf5-dev", "libaec-dev"],
    },
    Need {
        what: "a C compiler",
        present: || has("cc", &["--version"]),
        apt: &["gcc", "libc6-dev"],
    },
    Need {
        what: "Python 3 with venv",
        present: || has("python3", &["-c", "import venv, ensurepip"]),
        apt: &["python3", "python3-venv"],
    },
];

pub fn run() -> Result<()> {
    let missing: Vec<&Need> = NEEDS.iter().filter(|n| !(n.present)()).collect();
    if missing.is_empty() {
        report_hdf5();
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().flat_map(|n| n.apt.iter().copied()).collect();
    let names: Vec<&str> = missing.iter().map(|n| n.what).collect();
    eprintln!("setup: missing {}", names.join(", "));
    let apt = has("apt-get", &["--version"]);
    if apt && is_root() {
        exec(Command::new("apt-get").args(["update", "-qq"]))?;
        exec(
            Command::new("apt-get")
                .args(["install", "-y", "-qq", "--no-install-recommends"])
                .args(&packages)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
        let still: Vec<&str> = NEEDS
            .iter()
            .filter(|n| !(n.present)())
            .map(|n| n.what)
            .collect();
        if !still.is_empty() {
            bail!(
                "setup: still missing after apt-get install: {}",
                still.join(", ")
            );
        }
        report_hdf5();
        return Ok(());
    }
    let hint = if apt {
        format!(
            "sudo apt-get update && sudo apt-get install -y {}",
            packages.join(" ")
        )
    } else if has("brew", &["--version"]) {
        "brew install hdf5 pkg-config python".to_string()
    } else if has("dnf", &["--version"]) {
        "sudo dnf install hdf5-devel pkgconf-pkg-config gcc python3".to_string()
    } else {
        "install HDF5 (with szip) development files, pkg-config, a C compiler and Python 3 with venv".to_string()
    };
    bail!(
        "setup: missing {}. Install them with:\n    {hint}\nthen run the command again.",
        names.join(", ")
    )
}

fn report_hdf5() {
    if let Some(v) = output(Command::new("pkg-config").args(["--modversion", "hdf5"])) {
        eprintln!("setup: HDF5 {v} found through pkg-config");
    }
}
