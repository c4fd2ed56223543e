//! The benchmark runner: the study's matrix, measured and recorded one row per measurement.

pub mod record;
