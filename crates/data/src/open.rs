//! One door to every readable format: [`open`] sniffs the file's first bytes (never its
//! extension) and returns the matching [`CubeReader`].

use crate::cube::CubeReader;
use crate::emd;
use crate::error::{DataError, Result};
use crate::mib::{self, MibOptions, MibReader};
use crate::npy::{self, NpyReader};
use crate::zarr::ZarrCube;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// How to open a datacube file; each field applies where the format needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// HDF5: path of the dataset inside the file (default: the only 4D dataset).
    pub dataset: Option<String>,
    /// Scan shape `(scan_y, scan_x)`: required by `.mib` files without a `.hdr`; for HDF5, turns
    /// a 3D frame stack `(N, dy, dx)` into `(sy, sx, dy, dx)`.
    pub scan: Option<(usize, usize)>,
    /// `.mib`: drop an incomplete last frame instead of failing.
    pub drop_truncated: bool,
    /// HDF5: the 3D dataset is a spectrum image `(sy, sx, E)`, read as `(sy, sx, 1, E)`
    /// (a 3D dataset needs this or `scan`; both, or this on 4D data, is an error).
    pub spectrum_image: bool,
}

/// What the first bytes say a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Hdf5,
    Mib,
    Npy,
}

/// The HDF5 superblock signature. It sits at offset 0, or 512, 1024, 2048, ... when the file has
/// a user block.
const HDF5_MAGIC: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Identify a file's format from its content.
pub fn sniff(path: &Path) -> Result<Format> {
    let mut f = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let len = f.metadata().map_err(|e| DataError::io(path, e))?.len();
    if len == 0 {
        return Err(DataError::format(path, "file is empty"));
    }
    let mut head = vec![0u8; 64.min(len as usize)];
    f.read_exact(&mut head)
        .map_err(|e| DataError::io(path, e))?;
    if head.starts_with(HDF5_MAGIC) {
        return Ok(Format::Hdf5);
    }
    if mib::looks_like_mib(&head) {
        return Ok(Format::Mib);
    }
    if npy::looks_like_npy(&head) {
        return Ok(Format::Npy);
    }
    let mut offset = 512u64;
    while offset + 8 <= len {
        let mut sig = [0u8; 8];
        f.seek(SeekFrom::Start(offset))
            .and_then(|_| f.read_exact(&mut sig))
            .map_err(|e| DataError::io(path, e))?;
        if &sig == HDF5_MAGIC {
            return Ok(Format::Hdf5);
        }
        offset *= 2;
    }
    Err(DataError::format(
        path,
        "unknown file format (not HDF5/EMD, Merlin .mib or NumPy .npy)",
    ))
}

/// Open any supported datacube file.
pub fn open(path: &Path, opts: &OpenOptions) -> Result<Box<dyn CubeReader>> {
    if let Err(e) = std::fs::metadata(path) {
        // A link that leads nowhere is not "missing": say what is wrong with it.
        let what = match (std::fs::symlink_metadata(path).is_ok(), e.raw_os_error()) {
            (_, Some(libc::ELOOP)) => "symbolic link loop (too many levels of links)".to_owned(),
            (true, _) => "dangling symbolic link (its target does not exist)".to_owned(),
            (false, _) if e.kind() == std::io::ErrorKind::NotFound => {
                "file does not exist".to_owned()
            }
            _ => e.to_string(),
        };
        return Err(DataError::format(path, what));
    }
    if path.is_dir() {
        if !crate::zarr::is_store(path) {
            return Err(DataError::format(
                path,
                "is a directory, not a file (nor a Zarr v3 store: no zarr.json of format 3)",
            ));
        }
        if opts.scan.is_some() {
            return Err(DataError::format(
                path,
                "--scan does not apply: a Zarr array carries its own shape",
            ));
        }
        let cube = ZarrCube::open(path, opts.dataset.as_deref(), 1)?;
        if opts.spectrum_image && !cube.is_spectrum_image() {
            return Err(DataError::format(
                path,
                "--spectrum-image applies only to 3D arrays",
            ));
        }
        return Ok(Box::new(cube));
    }
    match sniff(path)? {
        Format::Hdf5 if opts.spectrum_image => {
            if opts.scan.is_some() {
                return Err(DataError::format(
                    path,
                    "--scan (a frame stack) and --spectrum-image exclude each other",
                ));
            }
            Ok(Box::new(emd::open_emd_spectra(
                path,
                opts.dataset.as_deref(),
            )?))
        }
        Format::Hdf5 => Ok(Box::new(emd::open_emd(
            path,
            opts.dataset.as_deref(),
            opts.scan,
        )?)),
        Format::Npy | Format::Mib if opts.spectrum_image => Err(DataError::format(
            path,
            "--spectrum-image applies only to 3D HDF5 datasets",
        )),
        Format::Mib => Ok(Box::new(MibReader::open(
            path,
            &MibOptions {
                scan: opts.scan,
                drop_truncated: opts.drop_truncated,
            },
        )?)),
        Format::Npy => {
            let r = NpyReader::open(path)?;
            if opts.scan.is_some() {
                return Err(DataError::format(
                    path,
                    format!(
                        "--scan does not apply: a .npy array carries its own shape {:?}",
                        r.header().file_shape
                    ),
                ));
            }
            Ok(Box::new(r))
        }
    }
}
