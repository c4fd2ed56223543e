//! The SHA-256 of a cube's decoded data, stored as an attribute of the dataset it describes,
//! so that `stemz verify` can check an archived file years later without its source.
//!
//! The digest is [`stemz_data::synth::sha256_of`]: element bytes, little-endian, C order —
//! the same definition `data/datasets.toml` and `run.toml` use for datasets.

use crate::error::{CodecError, Result};
use hdf5::types::VarLenUnicode;
use std::path::Path;

/// Name of the dataset attribute holding the lower-case hex digest.
pub const ATTRIBUTE: &str = "stemz_sha256";

/// Store `sha256` as [`ATTRIBUTE`] of `dataset` in the (closed) HDF5 file at `path`.
pub fn store(path: &Path, dataset: &str, sha256: &str) -> Result<()> {
    let h = |e: hdf5::Error| CodecError::hdf5(path, format!("storing the SHA-256 attribute: {e}"));
    let file = hdf5::File::open_rw(path).map_err(h)?;
    let ds = file.dataset(dataset).map_err(h)?;
    let value: VarLenUnicode = sha256
        .parse()
        .map_err(|e| CodecError::hdf5(path, format!("SHA-256 text: {e}")))?;
    ds.new_attr::<VarLenUnicode>()
        .create(ATTRIBUTE)
        .and_then(|a| a.write_scalar(&value))
        .map_err(h)?;
    file.close().map_err(h)
}

/// The digest stored with `dataset` of the HDF5 file at `path`, if any.
pub fn stored(path: &Path, dataset: &str) -> Result<Option<String>> {
    let h = |e: hdf5::Error| CodecError::hdf5(path, e);
    let file = hdf5::File::open(path).map_err(h)?;
    let ds = file.dataset(dataset).map_err(h)?;
    if !ds.attr_names().map_err(h)?.iter().any(|n| n == ATTRIBUTE) {
        return Ok(None);
    }
    let v: VarLenUnicode = ds
        .attr(ATTRIBUTE)
        .and_then(|a| a.read_scalar())
        .map_err(h)?;
    Ok(Some(v.as_str().to_owned()))
}
