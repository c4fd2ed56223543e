//! Outputs appear complete or not at all: write to a temporary sibling, then rename.
//!
//! Every temporary name is registered while it exists, so that [`install_signal_cleanup`]'s
//! handler can unlink them when the process is interrupted (SIGINT, SIGTERM, SIGHUP) before
//! the signal ends it; errors unwind through [`Drop`], which removes the file too.

use crate::error::{DataError, Result};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Once;

/// The longest file name Linux file systems accept, in bytes.
const NAME_MAX: usize = 255;

/// A file being written under a temporary name next to its final path. [`AtomicFile::commit`]
/// renames it into place; dropping it without committing removes the temporary file.
#[derive(Debug)]
pub struct AtomicFile {
    final_path: PathBuf,
    temp_path: PathBuf,
    slot: Option<usize>,
    committed: bool,
    /// The output is a directory (a Zarr store), removed whole when not committed.
    dir: bool,
}

impl AtomicFile {
    /// Reserve a temporary path beside `final_path`. Fails with a clear error when the parent
    /// directory does not exist.
    pub fn new(final_path: &Path) -> Result<Self> {
        let parent = match final_path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            return Err(DataError::Invalid(format!(
                "{}: output directory {} does not exist",
                final_path.display(),
                parent.display()
            )));
        }
        let name = final_path.file_name().ok_or_else(|| {
            DataError::Invalid(format!("{}: not a file path", final_path.display()))
        })?;
        let temp_path = parent.join(temp_name(&name.to_string_lossy()));
        let slot = register(&temp_path);
        Ok(AtomicFile {
            final_path: final_path.to_path_buf(),
            temp_path,
            slot,
            committed: false,
            dir: false,
        })
    }

    /// Like [`AtomicFile::new`] for an output that is a directory (a Zarr store): the temporary
    /// directory is created now, removed with everything in it unless committed, and replaces
    /// an existing `final_path` in one step (`renameat2(RENAME_EXCHANGE)`) when committed. A
    /// signal cannot remove a directory tree safely, so an interrupted write leaves the hidden
    /// `.NAME.PID-N.partial` directory behind, never a store under the final name.
    pub fn new_dir(final_path: &Path) -> Result<Self> {
        let mut a = AtomicFile::new(final_path)?;
        if let Some(slot) = a.slot.take() {
            unregister(slot);
        }
        a.dir = true;
        std::fs::create_dir(&a.temp_path).map_err(|e| DataError::io(&a.temp_path, e))?;
        Ok(a)
    }

    /// Where to write now.
    pub fn temp_path(&self) -> &Path {
        &self.temp_path
    }

    /// Where the file will be once committed.
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// Move the finished temporary file into place.
    pub fn commit(mut self) -> Result<PathBuf> {
        if self.dir && std::fs::symlink_metadata(&self.final_path).is_ok() {
            exchange(&self.temp_path, &self.final_path)?;
            // The temporary name now holds what was there before.
            let old = &self.temp_path;
            let removed = if old.is_dir() {
                std::fs::remove_dir_all(old)
            } else {
                std::fs::remove_file(old)
            };
            self.committed = true;
            removed.map_err(|e| DataError::io(old, e))?;
            return Ok(self.final_path.clone());
        }
        std::fs::rename(&self.temp_path, &self.final_path)
            .map_err(|e| DataError::io(&self.final_path, e))?;
        self.committed = true;
        if let Some(slot) = self.slot.take() {
            unregister(slot);
        }
        Ok(self.final_path.clone())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            if self.dir {
                let _ = std::fs::remove_dir_all(&self.temp_path);
            } else {
                let _ = std::fs::remove_file(&self.temp_path);
            }
        }
        if let Some(slot) = self.slot.take() {
            unregister(slot);
        }
    }
}

/// Swap two paths in one step (both must exist, on one file system).
fn exchange(a: &Path, b: &Path) -> Result<()> {
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| DataError::Invalid(format!("{}: path holds a NUL byte", p.display())))
    };
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: both are valid NUL-terminated paths that outlive the call; AT_FDCWD resolves
    // them relative to the working directory, as std::fs does.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc != 0 {
        return Err(DataError::io(b, std::io::Error::last_os_error()));
    }
    Ok(())
}

/// `.NAME.PID-N.partial`, with NAME cut (at a character boundary) so that the whole stays
/// within [`NAME_MAX`] bytes whatever the length of the output's name; N tells apart the
/// temporaries of one process.
fn temp_name(name: &str) -> String {
    static SERIAL: AtomicUsize = AtomicUsize::new(0);
    let suffix = format!(
        ".{}-{}.partial",
        std::process::id(),
        SERIAL.fetch_add(1, Ordering::Relaxed)
    );
    let room = NAME_MAX - 1 - suffix.len();
    let mut cut = name.len().min(room);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(".{}{suffix}", &name[..cut])
}

/// Temporary files that exist now, as C strings the signal handler can unlink. Slots hold
/// leaked `CString`s; a slot is freed only when no handler can be reading it.
const SLOTS: usize = 64;
static TEMPS: [AtomicPtr<libc::c_char>; SLOTS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];
/// Set by the handler before it reads any slot: from then on, nothing is freed.
static CLEANING: AtomicBool = AtomicBool::new(false);

fn register(path: &Path) -> Option<usize> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?.into_raw();
    for (i, slot) in TEMPS.iter().enumerate() {
        if slot
            .compare_exchange(std::ptr::null_mut(), c, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return Some(i);
        }
    }
    // More than SLOTS temporaries at once: this one is still removed on errors, not on signals.
    // SAFETY: `c` came from CString::into_raw just above and was not stored.
    drop(unsafe { CString::from_raw(c) });
    None
}

fn unregister(slot: usize) {
    let c = TEMPS[slot].swap(std::ptr::null_mut(), Ordering::SeqCst);
    // A handler that started before the swap may still read `c`: then leak it (the process
    // is ending anyway). One that starts after it no longer sees it.
    if !c.is_null() && !CLEANING.load(Ordering::SeqCst) {
        // SAFETY: `c` came from CString::into_raw in `register`, and is no longer reachable.
        drop(unsafe { CString::from_raw(c) });
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    CLEANING.store(true, Ordering::SeqCst);
    for slot in &TEMPS {
        let c = slot.load(Ordering::SeqCst);
        if !c.is_null() {
            // SAFETY: a NUL-terminated path leaked by `register` (never freed once CLEANING is
            // set); unlink is async-signal-safe.
            unsafe { libc::unlink(c) };
        }
    }
    // SAFETY: signal and raise are async-signal-safe; with the default disposition back, the
    // process ends as the signal intends (exit status 128 + sig).
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Remove registered temporaries on SIGINT, SIGTERM and SIGHUP, then die of the signal; and
/// ignore SIGXFSZ, so a write beyond `ulimit -f` fails with EFBIG (reported as "file too
/// large") instead of killing the process silently. Idempotent; called once by the CLI.
pub fn install_signal_cleanup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: `on_signal` only does async-signal-safe work (atomic loads, unlink,
            // signal, raise).
            unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
        }
        // SAFETY: setting a disposition has no memory-safety preconditions.
        unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_fit_in_255_bytes_for_any_legal_output_name() {
        for len in [1, 200, 240, 253, 255] {
            let name = "é".repeat(len / 2) + &"x".repeat(len % 2);
            let t = temp_name(&name);
            assert!(t.len() <= NAME_MAX, "{len}: {} bytes", t.len());
            assert!(t.starts_with('.') && t.ends_with(".partial"));
        }
    }

    #[test]
    fn temp_names_of_one_process_differ() {
        assert_ne!(temp_name("a.h5"), temp_name("a.h5"));
    }

    #[test]
    fn dropping_an_uncommitted_file_removes_it_and_frees_its_slot() {
        let dir = tempfile::tempdir().unwrap();
        let a = AtomicFile::new(&dir.path().join("out.h5")).unwrap();
        std::fs::write(a.temp_path(), b"x").unwrap();
        let (temp, slot) = (a.temp_path().to_path_buf(), a.slot.unwrap());
        assert!(!TEMPS[slot].load(Ordering::SeqCst).is_null());
        drop(a);
        assert!(!temp.exists());
        assert!(TEMPS[slot].load(Ordering::SeqCst).is_null());
    }
}
