//! The names the analysis groups by, defined below every other module: the chunkings and how
//! they join a codec into the study's method names, and the catalogue entries (datasets,
//! methods, Table 4 families) a caller supplies.

use crate::record::NO_CHUNKING;
use serde::Serialize;
/// The study's chunking strategies, in its table order, with their method-name prefixes.
pub use stemz_record::catalogue::CHUNKINGS;

/// Split a study method name `<chunking>_<codec>` into (chunking, codec); methods without a
/// chunking prefix get [`NO_CHUNKING`].
pub fn split_method(name: &str) -> (String, String) {
    for ch in CHUNKINGS {
        if let Some(codec) = name
            .strip_prefix(ch)
            .and_then(|rest| rest.strip_prefix('_'))
        {
            return (ch.to_string(), codec.to_string());
        }
    }
    (NO_CHUNKING.to_string(), name.to_string())
}

/// The study's method name for a (chunking, codec) pair: the inverse of [`split_method`].
pub fn join_method(chunking: &str, codec: &str) -> String {
    if chunking == NO_CHUNKING {
        codec.to_string()
    } else {
        format!("{chunking}_{codec}")
    }
}

/// Display information about a dataset, supplied by the caller.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetInfo {
    pub dataset: String,
    /// Name printed in Table 1.
    pub label: String,
    pub description: String,
}

/// One compression method of Table 2, supplied by the caller (analysis does not know codecs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodInfo {
    pub method: String,
    pub family: String,
    /// Registered HDF5 filter id; `None` for no filter.
    pub filter_id: Option<u32>,
    pub settings: String,
}

/// A Table 4 family: the method whose balanced rows represent it, and its label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FamilySpec {
    pub method: String,
    pub label: String,
}
