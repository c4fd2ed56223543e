//! `uint8_overflow`: every value as one byte, 255 marking "look in the overflow list", exactly
//! the study's `compression_benchmark.py` strategy 1:
//!
//! ```text
//! data_uint8 = np.clip(data, 0, 254).astype(np.uint8)
//! overflow_mask = data >= 255;  data_uint8[overflow_mask] = 255
//! coords = np.column_stack(np.where(overflow_mask))   # int64, (n, 4)
//! values = data[overflow_mask]                        # the cube's dtype
//! np.save(main, data_uint8); np.savez_compressed(overflow, coords=coords, values=values)
//! ```
//!
//! It is lossless for integer cubes (u8/u16/u32). On float32 cubes it is **lossy**, as in the
//! study: values below 255 are clipped to 0..=254 and truncated toward zero (`2.75` → 2, `-1` → 0,
//! `254.5` → 254, NaN → 0 as numpy's cast gives on x86-64); only values `>= 255` (including
//! +inf) are kept exactly, through the overflow list. Verification then reports
//! `lossless = false`, honestly.
//!
//! File layout (little-endian): the common 48-byte header of [`crate::nonhdf5`] with magic
//! `STEMZU8O`, then
//!
//! | field | type |
//! | --- | --- |
//! | body: one byte per element, C order (the study's `.npy`, uncompressed, without its header) | u8 × n |
//! | `n_overflow` | u64 |
//! | `coords_len`, then the coordinates `(sy, sx, qy, qx)` of each overflow, C order, as i64 × 4, raw-deflated | u64 + bytes |
//! | `values_len`, then the overflow values in the cube's dtype, raw-deflated | u64 + bytes |
//!
//! Deflate level 6: `savez_compressed` uses `zipfile.ZIP_DEFLATED` at zlib's default level, 6.
//! (The study's `.npz` also carried zip and `.npy` headers, a few hundred bytes.) The overflow
//! streams are compressed in memory while the body streams to disk, so memory grows with the
//! compressed size of the overflow list only.

use super::{
    for_each_scan_row, read_header, write_header, FrameDecoder, SequentialReader, HEADER_LEN,
};
use crate::error::{CodecError, Result};
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Take, Write};
use std::path::{Path, PathBuf};
use stemz_data::{CubeReader, DType, Shape4};

const MAGIC: &[u8; 8] = b"STEMZU8O";
const MARK: u8 = 255;

/// Encode `reader` into `out`. Returns the file size in bytes.
pub fn write(reader: &mut dyn CubeReader, out: &Path) -> Result<u64> {
    let shape = reader.shape();
    let dtype = reader.dtype();
    let item = dtype.itemsize();
    let io = |e| CodecError::io(out, e);
    let file = File::create(out).map_err(io)?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    write_header(&mut w, MAGIC, dtype, shape).map_err(io)?;
    let mut coords = DeflateEncoder::new(Vec::new(), Compression::new(6));
    let mut values = DeflateEncoder::new(Vec::new(), Compression::new(6));
    let mut n_overflow = 0u64;
    let mut flat = 0usize; // C-order index of the next element
    let mut body = Vec::new();
    for_each_scan_row(reader, |bytes, _| {
        body.clear();
        body.reserve(bytes.len() / item);
        for e in bytes.chunks_exact(item) {
            let (byte, overflow) = to_byte(e, dtype);
            body.push(if overflow { MARK } else { byte });
            if overflow {
                n_overflow += 1;
                for c in unravel(flat, shape) {
                    coords.write_all(&(c as i64).to_le_bytes()).map_err(io)?;
                }
                values.write_all(&le_bytes(e, dtype)).map_err(io)?;
            }
            flat += 1;
        }
        w.write_all(&body).map_err(io)
    })?;
    let coords = coords.finish().map_err(io)?;
    let values = values.finish().map_err(io)?;
    w.write_all(&n_overflow.to_le_bytes()).map_err(io)?;
    w.write_all(&(coords.len() as u64).to_le_bytes())
        .map_err(io)?;
    w.write_all(&coords).map_err(io)?;
    w.write_all(&(values.len() as u64).to_le_bytes())
        .map_err(io)?;
    w.write_all(&values).map_err(io)?;
    let file = w.into_inner().map_err(|e| io(e.into_error()))?;
    // No fsync here: the timed write is create + write + close, as for the HDF5 methods;
    // the benchmark times fsync separately (`fsync_s`).
    drop(file);
    Ok(std::fs::metadata(out).map_err(io)?.len())
}

/// The study's byte for one native-endian element, and whether it overflows.
fn to_byte(e: &[u8], dtype: DType) -> (u8, bool) {
    match dtype {
        DType::U8 => (e[0].min(254), e[0] == MARK),
        DType::U16 => {
            let v = u16::from_ne_bytes([e[0], e[1]]);
            (v.min(254) as u8, v >= 255)
        }
        DType::U32 => {
            let v = u32::from_ne_bytes([e[0], e[1], e[2], e[3]]);
            (v.min(254) as u8, v >= 255)
        }
        DType::F32 => {
            let v = f32::from_ne_bytes([e[0], e[1], e[2], e[3]]);
            // `as u8` truncates toward zero and maps NaN to 0; clamp keeps NaN as NaN.
            (v.clamp(0.0, 254.0) as u8, v >= 255.0)
        }
    }
}

/// A native-endian element as little-endian bytes.
fn le_bytes(e: &[u8], dtype: DType) -> Vec<u8> {
    let mut b = e.to_vec();
    super::swap_le(&mut b, dtype.itemsize());
    b
}

fn unravel(mut flat: usize, shape: Shape4) -> [usize; 4] {
    let mut idx = [0usize; 4];
    for axis in (0..4).rev() {
        idx[axis] = flat % shape[axis].max(1);
        flat /= shape[axis].max(1);
    }
    idx
}

/// Open a `uint8_overflow` file for sequential decoding.
pub fn open(path: &Path) -> Result<SequentialReader<U8Decoder>> {
    let io = |e| CodecError::io(path, e);
    let mut body = BufReader::with_capacity(1 << 20, File::open(path).map_err(io)?);
    let (dtype, shape) = read_header(&mut body, MAGIC, path)?;
    let n: u64 = shape.iter().map(|&s| s as u64).product();
    let trailer_at = HEADER_LEN + n;
    // The overflow streams are read through their own handles, in step with the body.
    let mut t = File::open(path).map_err(io)?;
    t.seek(SeekFrom::Start(trailer_at)).map_err(io)?;
    let mut t = BufReader::new(t);
    let bad = |what: &str| CodecError::format(path, format!("truncated overflow list ({what})"));
    let n_overflow = read_u64(&mut t).map_err(|_| bad("count"))?;
    let coords_len = read_u64(&mut t).map_err(|_| bad("coordinates length"))?;
    let coords_at = trailer_at + 16;
    let values_len_at = coords_at + coords_len;
    let mut v = File::open(path).map_err(io)?;
    v.seek(SeekFrom::Start(values_len_at)).map_err(io)?;
    let mut v = BufReader::new(v);
    let values_len = read_u64(&mut v).map_err(|_| bad("values length"))?;
    let mut c = File::open(path).map_err(io)?;
    c.seek(SeekFrom::Start(coords_at)).map_err(io)?;
    let decoder = U8Decoder {
        path: path.to_path_buf(),
        shape,
        dtype,
        body,
        coords: DeflateDecoder::new(BufReader::new(c).take(coords_len)),
        values: DeflateDecoder::new(v.take(values_len)),
        remaining_overflow: n_overflow,
        flat: 0,
    };
    Ok(SequentialReader::new(
        path,
        "stemz uint8 + overflow",
        shape,
        dtype,
        decoder,
    ))
}

fn read_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// Decodes the byte body, taking each 255 from the overflow list.
pub struct U8Decoder {
    path: PathBuf,
    shape: Shape4,
    dtype: DType,
    body: BufReader<File>,
    coords: DeflateDecoder<Take<BufReader<File>>>,
    values: DeflateDecoder<Take<BufReader<File>>>,
    remaining_overflow: u64,
    flat: usize,
}

impl FrameDecoder for U8Decoder {
    fn decode_frames(&mut self, count: usize, out: &mut [u8]) -> Result<()> {
        let item = self.dtype.itemsize();
        let n = count * self.shape[2] * self.shape[3];
        let mut bytes = vec![0u8; n];
        self.body
            .read_exact(&mut bytes)
            .map_err(|e| CodecError::format(&self.path, format!("truncated uint8 body: {e}")))?;
        for (b, slot) in bytes.iter().zip(out.chunks_exact_mut(item)) {
            if *b == MARK {
                self.next_overflow(slot)?;
            } else {
                match self.dtype {
                    DType::U8 => slot[0] = *b,
                    DType::U16 => slot.copy_from_slice(&u16::from(*b).to_ne_bytes()),
                    DType::U32 => slot.copy_from_slice(&u32::from(*b).to_ne_bytes()),
                    DType::F32 => slot.copy_from_slice(&f32::from(*b).to_ne_bytes()),
                }
            }
            self.flat += 1;
        }
        Ok(())
    }
}

impl U8Decoder {
    fn next_overflow(&mut self, slot: &mut [u8]) -> Result<()> {
        let bad = |m: String| CodecError::format(&self.path, m);
        if self.remaining_overflow == 0 {
            return Err(bad(format!(
                "element {} is marked 255 but the overflow list is exhausted",
                self.flat
            )));
        }
        self.remaining_overflow -= 1;
        let mut c = [0u8; 32];
        self.coords
            .read_exact(&mut c)
            .map_err(|e| bad(format!("overflow coordinates: {e}")))?;
        let got: Vec<i64> = c
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect();
        let want = unravel(self.flat, self.shape);
        if got.iter().zip(want).any(|(g, w)| *g != w as i64) {
            return Err(bad(format!(
                "overflow list out of step: next entry is at {got:?}, body marks {want:?}"
            )));
        }
        self.values
            .read_exact(slot)
            .map_err(|e| bad(format!("overflow values: {e}")))?;
        super::swap_le(slot, self.dtype.itemsize());
        Ok(())
    }
}
