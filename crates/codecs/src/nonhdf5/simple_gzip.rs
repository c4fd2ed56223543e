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
use stemz_data::{CubeReader, DType, Shape4};

/// numpy's `descr` for a dtype, little-endian.
fn descr(d: DType) -> &'static str {
    match d {
        DType::U8 => "|u1",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::F32 => "<f4",
    }
}

/// The `.npy` format-1.0 header numpy ≥ 1.24 writes for a C-order array.
pub fn npy_header(dtype: DType, shape: Shape4) -> Vec<u8> {
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': ({}, {}, {}, {}), }}",
        descr(dtype),
        shape[0],
        shape[1],
        shape[2],
        shape[3]
    );
    // numpy leaves room for the first axis to grow to 21 digits.
    let digits = shape[0].to_string().len();
    dict.push_str(&" ".repeat(21usize.saturating_sub(digits)));
    let hlen = dict.len() + 1; // + '\n'
    let padlen = 64 - ((8 + 2 + hlen) % 64);
    let mut out = Vec::with_capacity(10 + hlen + padlen);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&((hlen + padlen) as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padlen));
    out.push(b'\n');
    out
}

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
    gz.write_all(&npy_header(dtype, shape)).map_err(io)?;
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

/// Parse a format 1.0/2.0 `.npy` header for a little-endian, C-order, 4D array.
fn read_npy_header(r: &mut impl Read, path: &Path) -> Result<(DType, Shape4)> {
    let bad = |m: &str| CodecError::format(path, format!("not a 4D .npy stream: {m}"));
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic).map_err(|e| bad(&e.to_string()))?;
    if &magic[..6] != b"\x93NUMPY" {
        return Err(bad("missing \\x93NUMPY magic"));
    }
    let hlen = match magic[6] {
        1 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b).map_err(|e| bad(&e.to_string()))?;
            u16::from_le_bytes(b) as usize
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            r.read_exact(&mut b).map_err(|e| bad(&e.to_string()))?;
            u32::from_le_bytes(b) as usize
        }
        v => return Err(bad(&format!("unknown .npy version {v}"))),
    };
    if hlen > 1 << 20 {
        return Err(bad("header longer than 1 MiB"));
    }
    let mut h = vec![0u8; hlen];
    r.read_exact(&mut h).map_err(|e| bad(&e.to_string()))?;
    let h = String::from_utf8_lossy(&h);
    let field = |key: &str| -> Option<&str> {
        let at = h.find(&format!("'{key}':"))? + key.len() + 3;
        Some(h[at..].trim_start())
    };
    let descr_s = field("descr").ok_or_else(|| bad("no descr"))?;
    let dtype = [DType::U8, DType::U16, DType::U32, DType::F32]
        .into_iter()
        .find(|d| descr_s.starts_with(&format!("'{}'", descr(*d))))
        .ok_or_else(|| bad("dtype is not |u1, <u2, <u4 or <f4"))?;
    if !field("fortran_order").is_some_and(|f| f.starts_with("False")) {
        return Err(bad("Fortran-order arrays are not supported"));
    }
    let shape_s = field("shape").ok_or_else(|| bad("no shape"))?;
    let close = shape_s.find(')').ok_or_else(|| bad("unterminated shape"))?;
    let dims: Vec<usize> = shape_s[1..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| bad("shape is not a tuple of integers"))?;
    let shape: Shape4 = dims
        .try_into()
        .map_err(|_| bad("shape does not have four axes"))?;
    Ok((dtype, shape))
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
