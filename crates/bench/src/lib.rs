//! The benchmark runner: the study's matrix, measured and recorded one row per measurement.

pub mod calibration;
pub mod error;
pub mod lock;
pub mod matrix;
pub mod measure;
pub mod merge;
pub mod recommend;
pub mod record;
pub mod runinfo;
pub mod runner;
