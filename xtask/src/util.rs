//! Paths rooted at the workspace, and a small command runner (no shell strings).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root, from this crate's manifest directory (never the cwd).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Run a command from the workspace root, echoing it, failing on a non-zero exit.
pub fn exec(cmd: &mut Command) -> Result<()> {
    if cmd.get_current_dir().is_none() {
        cmd.current_dir(root());
    }
    eprintln!("$ {}", display(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{}`", display(cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", display(cmd));
    }
    Ok(())
}

/// Run a command and capture its stdout; `None` when it cannot start or fails.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn display(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// True when running as root (uid 0), read from /proc so xtask needs no libc binding.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// A run folder's `run.toml`: its text and what it says.
pub fn read_run_info(path: &Path) -> Result<(String, stemz_record::runinfo::RunInfo)> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let info = toml::from_str(&text).with_context(|| path.display().to_string())?;
    Ok((text, info))
}

/// True for a revision another checkout can build again: a commit, not `+dirty` or `unknown`.
pub fn is_commit(revision: &str) -> bool {
    !revision.ends_with("+dirty") && revision != "unknown"
}

/// Revision `rev` checked out (detached) in `target/worktrees/<commit>`, created once and
/// reused: an earlier revision built with its own xtask, set-up and `target/`.
pub fn revision_worktree(rev: &str) -> Result<PathBuf> {
    let root = root();
    let commit = output(
        Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(["rev-parse", "--verify", "--quiet"])
            .arg(format!("{rev}^{{commit}}")),
    )
    .with_context(|| format!("`{rev}` is not a commit of this repository"))?;
    let worktree = root.join("target/worktrees").join(&commit);
    if !worktree.join(".git").exists() {
        std::fs::create_dir_all(root.join("target/worktrees"))?;
        exec(
            Command::new("git")
                .args(["worktree", "add", "--detach"])
                .arg(&worktree)
                .arg(&commit),
        )?;
    }
    Ok(worktree)
}

/// `cargo` run in another checkout (a [`revision_worktree`]): this checkout's `[env]` paths
/// (`.cargo/config.toml`, set in this process by `cargo xtask`) must not leak into its build.
pub fn cargo_in(checkout: &Path) -> Command {
    let mut c = cargo();
    c.current_dir(checkout)
        .env_remove("CMAKE")
        .env_remove("CMAKE_TOOLCHAIN_FILE")
        .env_remove("STEMZ_LIBAEC_DIR");
    c
}
