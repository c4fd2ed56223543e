//! `simple_gzip`: the whole array's `.npy` bytes through gzip at level 9, as the study's
//! `gzip.open(path, "wb")` + `np.save(f, data)` did, streamed scan row by scan row.
//!
//! The `.npy` header is byte-identical to numpy ≥ 1.24's `np.save` (format 1.0, the dict padded
//! with numpy's 21-digit growth space and aligned to 64 bytes). The gzip member is Python's
//! `GzipFile` header (XFL 2, OS 255) with two deliberate differences, for reproducible outputs:
//! mtime is 0 (Python writes the current time) and there is no FNAME field (Python stores the
//! file name minus `.gz`, 1 byte per character plus a NUL). With flate2 on its zlib backend, as
//! this crate builds it, the deflate stream is zlib's, so the whole file is byte-identical to
//! `gzip.GzipFile(filename="", fileobj=f, mode="wb", mtime=0)` + `np.save` (checked by
//! `tests/interop_engines.rs`). `numpy.load(gzip.open(path))` reads it.

use super::{for_each_scan_row, swap_le, FrameDecoder, SequentialReader};
use crate::error::{CodecError, Result};
use flate2::read::GzDecoder;
use flate2::{Compression, GzBuilder};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use stemz_data::npy::{npy_header, NpyHeader};
use stemz_data::{CubeReader, DType, Shape4};

/// Encode `reader` into `out`. Returns the file size in bytes.
pub fn write(reader: &mut dyn CubeReader, out: &Path) -> Result<u64> {
    let shape = reader.shape();
    let dtype = reader.dtype();
    let io = |e| CodecError::io(out, e);
    let file = File::create(out).map_err(io)?;
    let mut gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(BufWriter::with_capacity(1 << 20, file), Compression::new(9));
    gz.write_all(&npy_header(shape, dtype)).map_err(io)?;
    let mut le = Vec::new();
    for_each_scan_row(reader, |bytes, _| {
        le.clear();
        le.extend_from_slice(bytes);
        swap_le(&mut le, dtype.itemsize());
        gz.write_all(&le).map_err(io)
    })?;
    let w = gz.finish().map_err(io)?;
    let file = w.into_inner().map_err(|e| io(e.into_error()))?;
    // No fsync here: the timed write is create + write + close, as for the HDF5 methods;
    // the benchmark times fsync separately (`fsync_s`).
    drop(file);
    Ok(std::fs::metadata(out).map_err(io)?.len())
}

/// Open a `.npy.gz` file (ours or Python's) for sequential decoding.
pub fn open(path: &Path) -> Result<SequentialReader<NpyGzDecoder>> {
    let file = File::open(path).map_err(|e| CodecError::io(path, e))?;
    let mut r = GzDecoder::new(BufReader::with_capacity(1 << 20, file));
    let (dtype, shape) = read_npy_header(&mut r, path)?;
    let decoder = NpyGzDecoder {
        path: path.to_path_buf(),
        r,
        itemsize: dtype.itemsize(),
    };
    Ok(SequentialReader::new(
        path,
        "gzip'd .npy",
        shape,
        dtype,
        decoder,
    ))
}

/// The header of a gzip'd `.npy` (ours or `np.save`'s), parsed by the one `.npy` parser; this
/// decoder reads little-endian C-order arrays.
fn read_npy_header(r: &mut impl Read, path: &Path) -> Result<(DType, Shape4)> {
    let h = NpyHeader::read_from(path, r)?;
    if h.big_endian && h.dtype.itemsize() > 1 {
        return Err(CodecError::format(
            path,
            "big-endian .npy data is not supported here",
        ));
    }
    if h.fortran_order {
        return Err(CodecError::format(
            path,
            "Fortran-order arrays are not supported",
        ));
    }
    Ok((h.dtype, h.cube_shape(path)?))
}

/// Streams frames out of the gzip'd `.npy` data.
pub struct NpyGzDecoder {
    path: PathBuf,
    r: GzDecoder<BufReader<File>>,
    itemsize: usize,
}

impl FrameDecoder for NpyGzDecoder {
    fn decode_frames(&mut self, _count: usize, out: &mut [u8]) -> Result<()> {
        self.r
            .read_exact(out)
            .map_err(|e| CodecError::format(&self.path, format!("truncated .npy data: {e}")))?;
        swap_le(out, self.itemsize);
        Ok(())
    }
}
