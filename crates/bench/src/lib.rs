//! The benchmark runner: the study's matrix, measured and recorded one row per measurement.

pub mod matrix;
pub mod record;
pub mod runinfo;
