//! Analysis of run records. Pure: no file I/O, no clock — every function takes records (or
//! readers the caller opened) and returns values, so the whole stage is testable on the study's
//! own published records.
//!
//! Aggregation is a polars lazy query over a DataFrame of the records (see `aggregate`), with
//! groups sorted so the output order is deterministic.
//!
//! - [`study`]: adapter from the reference study's CSV formats to [`record`] types, and the
//!   study's static catalogue (methods, dataset descriptions, Table 4 families).
//! - [`aggregate`]: per-configuration statistics (the study's `statistics.csv`).
//! - [`tables`]: Tables 1–5 as typed rows.
//! - [`fit`]: Equation 1, the power law C = a·s^b + c.
//! - [`bounds`]: entropy bounds per dataset.
//! - [`claims`]: the headline claims recomputed as numbers.
//! - [`calibration`]: the synthetic datasets' criteria against the study, and their record.
//! - [`recommend`]: a sampled candidate projected to the whole file, and the goals that pick.

pub mod aggregate;
pub mod bounds;
pub mod calibration;
pub mod claims;
pub mod fit;
pub mod names;
pub mod recommend;
pub mod study;
pub mod tables;

pub use stemz_record::catalogue;
/// `machine-load.csv` (from `stemz-record`), for the report's provenance.
pub use stemz_record::load;
/// The `cargo xtask perf` record types (from `stemz-record`), for `paper/PERF.md`.
pub use stemz_record::perf;
/// The record types this stage consumes (from `stemz-record`), re-exported for the renderers.
pub use stemz_record::record;
pub use stemz_record::runinfo;

/// Errors of the analysis stage.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// A study CSV could not be parsed (the message names the row and column).
    #[error("study data: {0}")]
    Study(String),
    /// A record CSV was malformed.
    #[error(transparent)]
    Record(#[from] record::RecordError),
    /// The records do not contain what a table or fit needs.
    #[error("missing data: {0}")]
    Missing(String),
    /// A value given by the user is not one this stage knows.
    #[error("{0}")]
    Invalid(String),
    /// The least-squares fit failed.
    #[error("power-law fit: {0}")]
    Fit(String),
}

/// Result with [`AnalysisError`].
pub type Result<T> = std::result::Result<T, AnalysisError>;
