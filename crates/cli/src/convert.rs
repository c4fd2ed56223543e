//! `stemz convert`: any readable datacube to an uncompressed EMD 1.0 file.
//!
//! The output's datacube sits at the study's path `version_1/data/datacubes/datacube_000/data`,
//! stored contiguous (no chunking, no filters): the plain reference the compression methods are
//! measured against, and readable by any HDF5 reader without plugins. The input is streamed in
//! frame blocks of at most 64 MB, and the file appears under its name only once complete.

use crate::inspect::{open_input, parse_scan};
use anyhow::Result;
use std::path::PathBuf;
use stemz_data::emd::create_emd;
use stemz_data::CubeWriter;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input datacube (EMD 1.0 / HDF5, Merlin .mib, NumPy .npy).
    pub input: PathBuf,
    /// Output EMD 1.0 file.
    pub output: PathBuf,
    /// HDF5 input: path of the dataset (default: the file's only 4D dataset).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Scan shape SYxSX (.mib without .hdr; HDF5 3D frame stacks).
    #[arg(long, value_parser = parse_scan)]
    pub scan: Option<(usize, usize)>,
    /// HDF5: the 3D dataset is a spectrum image (sy, sx, E), read as (sy, sx, 1, E).
    #[arg(long)]
    pub spectrum_image: bool,
    /// Replace the output file if it exists (never the input).
    #[arg(long)]
    pub force: bool,
}

const BLOCK_BYTES: usize = 64 << 20;

pub fn run(args: Args) -> Result<()> {
    crate::checks::output(&args.input, &args.output, args.force)?;
    let mut reader = open_input(&args.input, args.dataset, args.scan, args.spectrum_image)?;
    let (shape, dtype) = (reader.shape(), reader.dtype());
    let mut writer = create_emd(&args.output, shape, dtype, None, |_| Ok(()))?;
    let mut buf = Vec::new();
    for slab in stemz_data::Hyperslab::frame_blocks(shape, dtype.itemsize(), BLOCK_BYTES) {
        buf.resize(slab.len() * dtype.itemsize(), 0u8);
        reader.read_slab(&slab, &mut buf)?;
        writer.write_slab(&slab, &buf)?;
    }
    let out = Box::new(writer).finish()?;
    eprintln!(
        "wrote {} ({}x{}x{}x{} {dtype}, EMD 1.0)",
        out.display(),
        shape[0],
        shape[1],
        shape[2],
        shape[3]
    );
    Ok(())
}
