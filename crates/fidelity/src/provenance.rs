//! Provenance of a reduced file: the source's SHA-256 and the attributes that say how the file
//! was made, written on the root group of the EMD file as variable-length UTF-8 strings (the
//! attribute type emdfile itself writes, so py4DSTEM reads past them).

use crate::{FidelityError, Result};
use hdf5::types::VarLenUnicode;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// SHA-256 of a file's bytes (hex), read in 8 MiB pieces.
pub fn sha256_file(path: &Path) -> Result<String> {
    let io = |e| FidelityError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 8 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Write string attributes on the root group of the HDF5 file at `path` (opened read-write).
pub fn annotate(path: &Path, attrs: &[(String, String)]) -> Result<()> {
    let h5 = |what: &str, e: hdf5::Error| {
        FidelityError::Data(stemz_data::DataError::hdf5(path, format!("{what}: {e}")))
    };
    let file = hdf5::File::open_rw(path).map_err(|e| h5("opening to annotate", e))?;
    for (name, value) in attrs {
        let v: VarLenUnicode = value.parse().map_err(|e| {
            FidelityError::invalid(format!("{}: attribute {name}: {e}", path.display()))
        })?;
        file.new_attr::<VarLenUnicode>()
            .create(name.as_str())
            .and_then(|a| a.write_scalar(&v))
            .map_err(|e| h5(&format!("writing attribute {name}"), e))?;
    }
    file.close().map_err(|e| h5("closing", e))
}

/// Read back a string attribute of the root group (for tests and `stemz inspect`-like checks).
pub fn read_attr(path: &Path, name: &str) -> Result<String> {
    let file = hdf5::File::open(path)
        .map_err(|e| FidelityError::Data(stemz_data::DataError::hdf5(path, e)))?;
    let v: VarLenUnicode = file
        .attr(name)
        .and_then(|a| a.read_scalar())
        .map_err(|e| FidelityError::Data(stemz_data::DataError::hdf5(path, e)))?;
    Ok(v.as_str().to_string())
}
