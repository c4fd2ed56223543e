//! Compression methods, each byte-identical to what h5py + hdf5plugin write.

pub mod filters;
