//! Datacubes: the 4D arrays `(scan_y, scan_x, det_y, det_x)` of 4D-STEM, read and written in
//! hyperslabs so that no stage ever needs a whole dataset in memory.
//!
//! Key design decision: a slab travels as raw bytes in native byte order, C order, tagged by a
//! [`DType`]. Every codec works on bytes, every format decodes into bytes, and typed views are a
//! `bytemuck` cast away. A 3D spectrum image is the cube `(sy, sx, 1, E)`.
//!
//! Formats live one per module (`h5`/`emd` for HDF5 files, `mib` for Merlin, `npy`, `zarr`
//! for Zarr v3 stores); `open` picks one from the file's content.

pub mod atomic;
pub mod chunk_guard;
pub mod cube;
pub mod emd;
pub mod error;
pub mod h5;
pub mod mem;
pub mod mib;
pub mod npy;
pub mod open;
pub mod stats;
pub mod synth;
pub mod zarr;
pub mod zlib;

/// The libaec (szip) linked into this binary, as its header states (see build.rs).
pub const LIBAEC_VERSION: &str = env!("STEMZ_LIBAEC_VERSION");

pub use atomic::AtomicFile;
pub use cube::{CubeReader, CubeWriter, DType, Hyperslab, Shape4, SourceInfo};
pub use error::{DataError, Result};
