//! Compression methods, each byte-identical to what h5py + hdf5plugin write, and the engines
//! that apply them to whole datacubes.
//!
//! Key design decision: a method is data ([`Method`] → [`filters::FilterSpec`]), and there is one
//! engine for all HDF5 methods. The serial engine hands the filter to HDF5's own pipeline, exactly
//! as h5py does; the parallel engine compresses whole chunks on worker threads with the filters'
//! Rust/C codecs and writes them with `H5Dwrite_chunk`. Both produce the same chunk bytes, which
//! the tests check. The study's three non-HDF5 methods are files of their own ([`nonhdf5`]).
//! Everything streams in chunk-aligned slabs: memory is bounded by a few chunk rows, never a cube.

pub mod chunking;
pub mod digest;
pub mod engine;
pub mod error;
pub mod filters;
pub mod method;
pub mod nonhdf5;
pub mod testing;
pub mod verify;
pub mod versions;
pub mod zarr;

pub use chunking::Chunking;
pub use engine::{read_verify, verify, write, Engine, Layout, WriteOptions, WriteReport};
pub use error::{CodecError, Result};
pub use method::Method;
pub use verify::{Mismatch, VerifyReport};
