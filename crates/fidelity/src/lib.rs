//! Beyond lossless: what each data reduction costs each analysis, and the least that suffices.
//!
//! A microscopist keeps a 4D-STEM cube for a few *inference targets* ([`target::Target`]:
//! virtual bright-field and annular dark-field images, centre-of-mass maps, the mean pattern,
//! per-position counts; for EELS the summed spectrum and energy-window images). This crate
//! computes those targets on the full data and on every *candidate reduction*
//! ([`reduce::Reduction`]: a detector crop, detector binning summed or averaged, scan binning,
//! composed in that order) in **one streaming pass** over frame blocks ([`eval::evaluate`]),
//! maps each reduced target back to the original grid and reports its error; [`stored`]
//! measures the bytes each candidate needs after lossless compression through the real codec
//! engine; [`render`] prints the table, CSV, Markdown and the Pareto figure.
//!
//! Key design decision: reduced targets are computed on the reduced data exactly as stored
//! (integer sums, or the float32-rounded means), never on a shortcut of the full data, so an
//! error of zero is a measured fact, not an assumption. Masks follow py4DSTEM 0.14.18's
//! conventions (pixel centres at integer indices, strict `<` for a disk, strict `>`/`<` for an
//! annulus), evaluated at the centre of each reduced pixel in original detector coordinates.

pub mod eval;
pub mod provenance;
pub mod reduce;
pub mod render;
pub mod stored;
pub mod target;

pub use eval::{evaluate, CandidateErrors, Evaluation, TargetError};
pub use reduce::{Agg, Crop, ReducedReader, Reduction};
pub use target::{Geometry, Keep, Target};

pub type Result<T, E = FidelityError> = std::result::Result<T, E>;

/// Everything that can go wrong while measuring fidelity or reducing a cube.
#[derive(Debug, thiserror::Error)]
pub enum FidelityError {
    #[error(transparent)]
    Data(#[from] stemz_data::DataError),
    #[error(transparent)]
    Codec(#[from] stemz_codecs::CodecError),
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl FidelityError {
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        FidelityError::Invalid(msg.into())
    }
}
