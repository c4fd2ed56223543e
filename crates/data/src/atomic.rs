//! Outputs appear complete or not at all: write to a temporary sibling, then rename.

use crate::error::{DataError, Result};
use std::path::{Path, PathBuf};

/// A file being written under a temporary name next to its final path. [`AtomicFile::commit`]
/// renames it into place; dropping it without committing removes the temporary file.
#[derive(Debug)]
pub struct AtomicFile {
    final_path: PathBuf,
    temp_path: PathBuf,
    committed: bool,
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
        let temp_path = parent.join(format!(
            ".{}.{}.partial",
            name.to_string_lossy(),
            std::process::id()
        ));
        Ok(AtomicFile {
            final_path: final_path.to_path_buf(),
            temp_path,
            committed: false,
        })
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
        std::fs::rename(&self.temp_path, &self.final_path)
            .map_err(|e| DataError::io(&self.final_path, e))?;
        self.committed = true;
        Ok(self.final_path.clone())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}
