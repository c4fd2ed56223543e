//! Records, for run metadata (`run.toml`), the compiler version and the revision this build is
//! made from. The revision is taken when the build is made, not when a run starts: a binary
//! names the sources it was compiled from, wherever and whenever it runs.

use std::path::{Path, PathBuf};
use std::process::Command;

include!("src/sources.rs");

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let o = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// `HEAD`'s commit, with `+dirty` when [`SOURCES`] differ from it; `unknown` outside a checkout.
fn revision(root: &Path) -> String {
    let Some(head) = git(root, &["rev-parse", "HEAD"]) else {
        return "unknown".into();
    };
    let mut status = vec!["status", "--porcelain", "--untracked-files=no", "--"];
    status.extend(SOURCES);
    match git(root, &status) {
        Some(s) if s.is_empty() => head,
        _ => format!("{head}+dirty"),
    }
}

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=STEMZ_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-env-changed=RUSTC");

    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("../..");
    println!("cargo:rustc-env=STEMZ_GIT_REVISION={}", revision(&root));
    // Taken again when HEAD moves (a commit, a checkout), the index changes, or a source does.
    let mut watched: Vec<String> = SOURCES
        .iter()
        .map(|s| root.join(s).display().to_string())
        .collect();
    if let Some(sym) = git(&root, &["rev-parse", "--symbolic-full-name", "HEAD"]) {
        for p in ["HEAD", "index", "packed-refs", sym.as_str()] {
            if let Some(path) = git(
                &root,
                &["rev-parse", "--path-format=absolute", "--git-path", p],
            ) {
                watched.push(path);
            }
        }
    }
    for path in watched {
        println!("cargo:rerun-if-changed={path}");
    }
}
