//! The run-folder lock: only the process that owns a run folder writes into it.
//!
//! The owner holds an exclusive `flock` on the folder itself (no lock file to commit or clean
//! up); the kernel releases it when the process exits, however it exits. A second `stemz bench`
//! on the same folder is refused while the first runs, and readers ([`is_running`]) can tell a
//! run still being written from a finished or crashed one. Only the owner may repair a torn
//! last line of `raw.csv` ([`crate::runner::drop_torn_tail`] takes the lock as proof).

use crate::error::{BenchError, Result};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// An exclusive hold on a run folder, released on drop or process exit.
#[derive(Debug)]
pub struct RunLock {
    dir: PathBuf,
    // Held open: closing the descriptor releases the flock.
    _file: File,
}

impl RunLock {
    /// Take the folder `dir` (which must exist) for this process, or fail at once when another
    /// process holds it.
    pub fn acquire(dir: &Path) -> Result<RunLock> {
        let file = File::open(dir).map_err(|e| BenchError::io(dir, e))?;
        // SAFETY: flock on a descriptor we own; no memory is passed.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(BenchError::Invalid(format!(
                    "{}: another stemz process is writing this run folder right now (two \
                     shards with the same --out and --run-id?); give each shard its own \
                     --run-id, or wait for it to finish",
                    dir.display()
                )));
            }
            return Err(BenchError::io(dir, e));
        }
        Ok(RunLock {
            dir: dir.to_path_buf(),
            _file: file,
        })
    }

    /// The folder held.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Whether some process holds the run folder `dir` now (a bench still measuring into it).
pub fn is_running(dir: &Path) -> Result<bool> {
    let file = File::open(dir).map_err(|e| BenchError::io(dir, e))?;
    // SAFETY: as in `acquire`; a shared non-blocking probe, released when `file` closes.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    if r == 0 {
        return Ok(false);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(true)
    } else {
        Err(BenchError::io(dir, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_folder_is_refused_to_a_second_owner_and_seen_as_running() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_running(dir.path()).unwrap());
        let lock = RunLock::acquire(dir.path()).unwrap();
        // flock is per open file description: a second open in this process conflicts too.
        let err = RunLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(err.contains("another stemz process"), "{err}");
        assert!(is_running(dir.path()).unwrap());
        drop(lock);
        assert!(!is_running(dir.path()).unwrap());
        RunLock::acquire(dir.path()).unwrap();
    }
}
