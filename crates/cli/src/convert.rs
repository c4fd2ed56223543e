//! `stemz convert`: any readable datacube to an uncompressed EMD 1.0 file.
//!
//! The output's datacube sits at the study's path `version_1/data/datacubes/datacube_000/data`,
//! stored contiguous (no chunking, no filters): the plain reference the compression methods are
//! measured against, and readable by any HDF5 reader without plugins. The input is streamed in
//! frame blocks of at most 64 MB, and the file appears under its name only once complete.

use crate::input::InputArgs;
use anyhow::Result;
use std::path::PathBuf;
use stemz_data::emd::create_emd;
use stemz_data::CubeWriter;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input datacube (EMD 1.0 / HDF5, Merlin .mib, NumPy .npy, a Zarr v3 store).
    pub input: PathBuf,
    /// Output EMD 1.0 file.
    pub output: PathBuf,
    #[command(flatten)]
    pub source: InputArgs,
    /// Replace the output file if it exists (never the input).
    #[arg(long)]
    pub force: bool,
}

const BLOCK_BYTES: usize = 64 << 20;

pub fn run(args: Args) -> Result<()> {
    crate::checks::output(&args.input, &args.output, args.force)?;
    let mut reader = args.source.open(&args.input)?;
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
