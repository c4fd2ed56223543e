//! The bench crate's error type.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Record {
        path: PathBuf,
        #[source]
        source: crate::record::RecordError,
    },
    #[error(transparent)]
    Data(#[from] stemz_data::DataError),
    #[error(transparent)]
    Codec(#[from] stemz_codecs::error::CodecError),
    #[error("{0}")]
    Invalid(String),
}

impl BenchError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BenchError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = BenchError> = std::result::Result<T, E>;
