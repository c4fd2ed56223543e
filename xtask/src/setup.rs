//! `cargo xtask setup`: what the build needs beyond cargo, installed under `target/` without root.
//!
//! stemz links HDF5 2.x statically, built by cargo itself: `hdf5-metno-sys`'s `static` feature
//! compiles the HDF5 sources that `hdf5-metno-src` ships, with cmake, and `.cargo/hdf5.cmake`
//! (read as cmake's toolchain file, see `.cargo/config.toml`) switches szip on. That build needs
//! two things no fresh Debian machine has, and this command provides them, once, cached:
//! - cmake ≥ 3.26 (Debian 12 has 3.25): the PyPI wheel pinned in `xtask/build-requirements.txt`,
//!   in a venv at `target/build-tools` (`CMAKE` points at it);
//! - libaec, szip's implementation: the sources that the `libaec-sys` crate ships (a pinned,
//!   optional dependency of xtask, never compiled: cargo only fetches it), built static into
//!   `target/libaec` (`STEMZ_LIBAEC_DIR`), where HDF5's cmake finds it and `stemz-data` links it.
//!
//! Besides: a C compiler and Python 3 with venv. Where one is missing and we are root with apt,
//! it is installed; otherwise the exact command is printed and setup fails.

use crate::util::{cargo, exec, is_root, output, root};
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The libaec-sys release whose libaec sources we build; keep equal to xtask/Cargo.toml.
const LIBAEC_SYS: &str = "libaec-sys-0.1.3";
const LIBAEC_SRC: &str = "libaec-1.1.4";

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
        what: "a C compiler",
        present: || has("cc", &["--version"]) && has("make", &["--version"]),
        apt: &["gcc", "libc6-dev", "make"],
    },
    Need {
        what: "Python 3 with venv",
        present: || has("python3", &["-c", "import venv, ensurepip"]),
        apt: &["python3", "python3-venv"],
    },
];

pub fn run() -> Result<()> {
    system_needs()?;
    let cmake = build_tools()?;
    libaec(&cmake)?;
    Ok(())
}

fn system_needs() -> Result<()> {
    let missing: Vec<&Need> = NEEDS.iter().filter(|n| !(n.present)()).collect();
    if missing.is_empty() {
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
        return Ok(());
    }
    let hint = if apt {
        format!(
            "sudo apt-get update && sudo apt-get install -y {}",
            packages.join(" ")
        )
    } else {
        "install a C compiler, make and Python 3 with venv".to_string()
    };
    bail!(
        "setup: missing {}. Install them with:\n    {hint}\nthen run the command again.",
        names.join(", ")
    )
}

/// A venv at `dir` with `requirements` installed, re-installed only when that file changes;
/// returns the venv's directory.
pub fn venv(dir: &Path, requirements: &Path) -> Result<PathBuf> {
    let python = dir.join("bin/python");
    let stamp = dir.join("requirements.sha256");
    let want = hex(&Sha256::digest(
        std::fs::read(requirements).with_context(|| requirements.display().to_string())?,
    ));
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return Ok(dir.to_path_buf());
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    exec(Command::new("python3").arg("-m").arg("venv").arg(dir))?;
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
            .arg(requirements),
    )?;
    std::fs::write(&stamp, &want)?;
    Ok(dir.to_path_buf())
}

/// The build-tools venv (cmake); returns its cmake.
fn build_tools() -> Result<PathBuf> {
    let root = root();
    let dir = venv(
        &root.join("target/build-tools"),
        &root.join("xtask/build-requirements.txt"),
    )?;
    Ok(dir.join("bin/cmake"))
}

/// libaec built static (libsz.a, which holds libaec's objects too, and libaec.a) and installed
/// into `target/libaec`, unless the installed one was built from the same sources and options.
fn libaec(cmake: &Path) -> Result<()> {
    let root = root();
    let prefix = root.join("target/libaec");
    let options = [
        "-DCMAKE_BUILD_TYPE=Release",
        "-DBUILD_SHARED_LIBS=OFF",
        "-DBUILD_STATIC_LIBS=ON",
        "-DCMAKE_POSITION_INDEPENDENT_CODE=ON",
        "-DCMAKE_INSTALL_LIBDIR=lib",
    ];
    let recipe = format!("{LIBAEC_SYS}/{LIBAEC_SRC} {}\n", options.join(" "));
    let stamp = prefix.join("stemz-recipe.txt");
    if prefix.join("lib/libsz.a").is_file()
        && std::fs::read_to_string(&stamp).ok().as_deref() == Some(recipe.as_str())
    {
        return Ok(());
    }
    let src = libaec_sources()?;
    let build = root.join("target/build-tools/libaec-build");
    if build.exists() {
        std::fs::remove_dir_all(&build)?;
    }
    if prefix.exists() {
        std::fs::remove_dir_all(&prefix)?;
    }
    // cmake reads CMAKE_TOOLCHAIN_FILE from the environment, and cargo's [env] sets it to HDF5's
    // (.cargo/hdf5.cmake, which needs this very libaec): not for libaec.
    exec(
        Command::new(cmake)
            .env_remove("CMAKE_TOOLCHAIN_FILE")
            .arg("-S")
            .arg(&src)
            .arg("-B")
            .arg(&build)
            .args(options)
            .arg(format!("-DCMAKE_INSTALL_PREFIX={}", prefix.display())),
    )?;
    exec(
        Command::new(cmake)
            .arg("--build")
            .arg(&build)
            .args(["--parallel", "2"]),
    )?;
    exec(Command::new(cmake).arg("--install").arg(&build))?;
    std::fs::write(&stamp, recipe)?;
    eprintln!("setup: libaec built into {}", prefix.display());
    Ok(())
}

/// The libaec sources inside the `libaec-sys` crate that cargo fetched into its registry.
fn libaec_sources() -> Result<PathBuf> {
    let find = || -> Option<PathBuf> {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        std::fs::read_dir(home.join("registry/src"))
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join(LIBAEC_SYS).join(LIBAEC_SRC))
            .find(|p| p.join("CMakeLists.txt").is_file())
    };
    if let Some(dir) = find() {
        return Ok(dir);
    }
    // `cargo fetch` downloads and unpacks every package of Cargo.lock, optional ones included.
    exec(cargo().args(["fetch", "--quiet"]))?;
    find().with_context(|| {
        format!("cargo fetch did not unpack {LIBAEC_SYS} (the libaec sources) into the registry")
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
