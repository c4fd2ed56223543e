//! The benchmark runner: the study's matrix, measured and recorded one row per measurement.

pub mod error;
pub mod lock;
pub mod matrix;
pub mod measure;
pub mod merge;
pub mod recommend;
pub mod runner;

/// The record types live in `stemz-record` (so analysis and report need not link this crate);
/// re-exported because every measurement is made into them.
pub use stemz_record::{record, runinfo};
