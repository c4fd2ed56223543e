//! The codecs crate's one error type. Variants carry the file they are about, so the CLI prints
//! one clear line.

use crate::filters::FilterError;
use std::path::PathBuf;
use stemz_data::DataError;

pub type Result<T, E = CodecError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Reading the source cube failed.
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("{path}: {source}")]
    Filter {
        path: PathBuf,
        #[source]
        source: FilterError,
    },
    #[error("{path}: HDF5: {message}")]
    Hdf5 { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file that is not what its reader expects (bad magic, truncated, inconsistent sizes).
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    /// Bad user input: unknown method or chunking name, malformed chunk spec, unsupported dtype.
    #[error("{0}")]
    Invalid(String),
}

impl CodecError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CodecError::Io {
            path: path.into(),
            source,
        }
    }
    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        CodecError::Format {
            path: path.into(),
            message: message.into(),
        }
    }
    /// An HDF5 failure; HDF5 reports only "write failed", so a full disk, a quota or a file
    /// size limit is named from errno when that is what the failed call left there.
    pub fn hdf5(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Self {
        let hint = stemz_data::error::storage_errno_hint();
        let message = match hint {
            Some(h) => format!("{err}: {h}"),
            None => err.to_string(),
        };
        CodecError::Hdf5 {
            path: path.into(),
            message,
        }
    }
    /// The same error about `to` where it was about `from` (a temporary file's errors are
    /// reported under the output's name).
    pub fn retarget(mut self, from: &std::path::Path, to: &std::path::Path) -> Self {
        match &mut self {
            CodecError::Filter { path, .. }
            | CodecError::Hdf5 { path, .. }
            | CodecError::Io { path, .. }
            | CodecError::Format { path, .. } => {
                if path == from {
                    *path = to.to_path_buf();
                }
            }
            CodecError::Data(DataError::Io { path, .. })
            | CodecError::Data(DataError::Format { path, .. })
            | CodecError::Data(DataError::Hdf5 { path, .. }) => {
                if path == from {
                    *path = to.to_path_buf();
                }
            }
            CodecError::Data(DataError::Invalid(_)) | CodecError::Invalid(_) => {}
        }
        self
    }
    pub fn filter(path: impl Into<PathBuf>, source: FilterError) -> Self {
        CodecError::Filter {
            path: path.into(),
            source,
        }
    }
}
