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
    pub fn hdf5(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Self {
        CodecError::Hdf5 {
            path: path.into(),
            message: err.to_string(),
        }
    }
    pub fn filter(path: impl Into<PathBuf>, source: FilterError) -> Self {
        CodecError::Filter {
            path: path.into(),
            source,
        }
    }
}
