//! How every command opens an input datacube: the options that say which cube a file holds
//! ([`InputArgs`], flattened into each command's arguments) and [`open_input`].

use anyhow::{Context, Result};
use std::path::Path;
use stemz_data::open::{open, OpenOptions};
use stemz_data::CubeReader;

/// Which cube of an input file to read.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct InputArgs {
    /// HDF5: path of the dataset (default: the file's only 4D dataset); Zarr: path of the
    /// array in the store (default: the root, or the store's only 4D array).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Scan shape SYxSX, e.g. 256x256 (.mib without .hdr; HDF5 3D frame stacks).
    #[arg(long, value_parser = parse_scan)]
    pub scan: Option<(usize, usize)>,
    /// HDF5: the 3D dataset is a spectrum image (sy, sx, E), read as (sy, sx, 1, E).
    #[arg(long)]
    pub spectrum_image: bool,
}

impl InputArgs {
    /// Open `file` with these options.
    pub fn open(&self, file: &Path) -> Result<Box<dyn CubeReader>> {
        open_input(file, self.dataset.clone(), self.scan, self.spectrum_image)
    }
}

/// Parse `SYxSX` (e.g. `4x2`) into `(scan_y, scan_x)`.
pub fn parse_scan(s: &str) -> Result<(usize, usize), String> {
    let (y, x) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("scan shape {s:?} is not SYxSX (e.g. 256x256)"))?;
    let num = |t: &str| {
        t.trim()
            .parse::<usize>()
            .ok()
            .filter(|&v| v > 0)
            .ok_or_else(|| format!("scan shape {s:?}: {t:?} is not a positive integer"))
    };
    Ok((num(y)?, num(x)?))
}

/// Register the HDF5 filter plugins (bitshuffle, LZ4, zstd, ...) so compressed datasets written
/// by other software can be read.
pub fn register_filters() -> Result<()> {
    stemz_codecs::filters::register_all().context("registering HDF5 compression filters")
}

/// Open with the CLI's options; errors already name the file.
pub fn open_input(
    file: &Path,
    dataset: Option<String>,
    scan: Option<(usize, usize)>,
    spectrum_image: bool,
) -> Result<Box<dyn CubeReader>> {
    register_filters()?;
    Ok(open(
        file,
        &OpenOptions {
            dataset,
            scan,
            drop_truncated: false,
            spectrum_image,
        },
    )?)
}
