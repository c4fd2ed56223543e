//! `stemz verify FILE [--against SRC]`: decode every chunk of an archived file and check it —
//! against the SHA-256 that `stemz compress` stored with the dataset, and/or bitwise against
//! the source file. Exit 0 only when every check made passes; Fletcher-32 chunks
//! (`compress --checksum`) are checked by HDF5 while decoding.

use crate::input::{open_input, parse_scan};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
use stemz_codecs::{nonhdf5, Method};
use stemz_data::{CubeReader, Shape4};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file to check (HDF5/EMD or a Zarr v3 store written by `stemz compress`, or a
    /// .csr/.u8o/.npy.gz file).
    pub file: PathBuf,
    /// Also compare the decoded data bitwise with this source datacube.
    #[arg(long)]
    pub against: Option<PathBuf>,
    /// HDF5: path of the dataset (default: the file's only 4D dataset).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Scan shape SYxSX of the `--against` source, when it needs one (.mib without .hdr).
    #[arg(long, value_parser = parse_scan)]
    pub scan: Option<(usize, usize)>,
}

/// The stemz format a file name says, for the three non-HDF5 methods.
fn own_format(path: &Path) -> Option<Method> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    [Method::SparseCsr, Method::Uint8Overflow, Method::SimpleGzip]
        .into_iter()
        .find(|&m| nonhdf5::extension(m).is_some_and(|e| name.ends_with(&format!(".{e}"))))
}

pub fn run(args: Args) -> Result<()> {
    let file = &args.file;
    let (mut reader, stored): (Box<dyn CubeReader>, Option<String>) = match own_format(file) {
        Some(method) => (nonhdf5::open(method, file)?, None),
        None if stemz_data::zarr::is_store(file) => {
            let cube = stemz_data::zarr::ZarrCube::open(file, args.dataset.as_deref(), 1)?;
            let stored = stemz_codecs::zarr::stored_digest(cube.attributes());
            (Box::new(cube), stored)
        }
        None => {
            let reader = open_input(file, args.dataset.clone(), None, false)?;
            let stored = match reader.info().dataset {
                Some(ds) => stemz_codecs::digest::stored(file, &ds)?,
                None => None,
            };
            (reader, stored)
        }
    };
    if stored.is_none() && args.against.is_none() {
        bail!(
            "{}: no stored SHA-256 ({} attribute; not written by `stemz compress`?): give \
             --against SOURCE to compare with the source instead",
            file.display(),
            stemz_codecs::digest::ATTRIBUTE
        );
    }
    let shape = reader.shape();
    if let Some(want) = &stored {
        // Decodes every chunk (HDF5 checks any Fletcher-32 on the way).
        let got = stemz_data::synth::sha256_of(reader.as_mut())?;
        if &got != want {
            bail!(
                "{}: DAMAGED: the decoded data has SHA-256 {got}, the file recorded {want} when \
                 it was written",
                file.display()
            );
        }
        outln!("{}: sha256 {got} matches the stored digest", file.display());
    }
    if let Some(src) = &args.against {
        let mut source = open_input(src, None, args.scan, false)?;
        let slab: Shape4 = [1, shape[1], shape[2], shape[3]];
        let v = stemz_codecs::verify::compare(source.as_mut(), reader.as_mut(), slab)?;
        if !v.lossless {
            bail!(
                "{}: differs from {}: {} of {} elements ({})",
                file.display(),
                src.display(),
                v.mismatches,
                v.elements,
                v.first_mismatch.map(|m| m.to_string()).unwrap_or_default()
            );
        }
        outln!(
            "{}: bitwise equal to {} ({} elements)",
            file.display(),
            src.display(),
            v.elements
        );
    }
    Ok(())
}
