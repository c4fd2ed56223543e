//! The data layer's one error type. Every variant names the file it is about, so the CLI can
//! print one clear line.

use std::path::PathBuf;

pub type Result<T, E = DataError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{path}: HDF5: {message}")]
    Hdf5 { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl DataError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        DataError::Format {
            path: path.into(),
            message: message.into(),
        }
    }
    /// An HDF5 failure; HDF5 reports only "write failed", so a full disk, a quota or a file
    /// size limit is named from errno when that is what the failed call left there.
    pub fn hdf5(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Self {
        let hint = storage_errno_hint();
        let message = match hint {
            Some(h) => format!("{err}: {h}"),
            None => err.to_string(),
        };
        DataError::Hdf5 {
            path: path.into(),
            message,
        }
    }
}

/// What the last failed system call of this thread says, when it is one a user must act on
/// (a full disk, a quota, a file-size limit): for errors of libraries (HDF5) that report
/// only "write failed".
pub fn storage_errno_hint() -> Option<&'static str> {
    match std::io::Error::last_os_error().raw_os_error()? {
        libc::ENOSPC => Some("no space left on device"),
        libc::EDQUOT => Some("disk quota exceeded"),
        libc::EFBIG => Some("file too large (file size limit, `ulimit -f`?)"),
        _ => None,
    }
}
