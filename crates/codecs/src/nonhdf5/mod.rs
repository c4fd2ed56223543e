//! The study's three methods that are not HDF5 filters, each as one documented binary file:
//! [`sparse_csr`], [`uint8_overflow`] and [`simple_gzip`].
//!
//! Each encodes streaming, one scan row of frames at a time, and each decodes back through a
//! [`CubeReader`] that yields frames in scan order, so verification streams too.
//!
//! `sparse_csr` and `uint8_overflow` files share a 48-byte header, all little-endian:
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic (`STEMZCSR` or `STEMZU8O`) |
//! | 8 | 4 | format version, u32 = 1 |
//! | 12 | 1 | dtype code: 1 = uint8, 2 = uint16, 3 = uint32, 4 = float32 |
//! | 13 | 3 | zero |
//! | 16 | 32 | shape `(scan_y, scan_x, det_y, det_x)`, four u64 |
//!
//! `simple_gzip` is a plain gzip'd `.npy` file that `numpy.load(gzip.open(path))` reads.
//!
//! Each format has its own file name extension ([`extension`]): `.csr`, `.u8o`, `.npy.gz`; the
//! CLI refuses to write them under another name (an `.h5` that is not HDF5 misleads every reader).

pub mod simple_gzip;
pub mod sparse_csr;
pub mod uint8_overflow;

use crate::error::{CodecError, Result};
use crate::method::Method;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use stemz_data::{CubeReader, DType, DataError, Hyperslab, Shape4, SourceInfo};

pub(crate) const HEADER_LEN: u64 = 48;
const VERSION: u32 = 1;

/// The file name extension (without the dot) of a non-HDF5 `method`'s format; None for HDF5 methods.
pub fn extension(method: Method) -> Option<&'static str> {
    match method {
        Method::SparseCsr => Some("csr"),
        Method::Uint8Overflow => Some("u8o"),
        Method::SimpleGzip => Some("npy.gz"),
        _ => None,
    }
}

/// Write `reader`'s cube to `out` with a non-HDF5 `method`. Returns the bytes written.
pub fn write(method: Method, reader: &mut dyn CubeReader, out: &Path) -> Result<u64> {
    match method {
        Method::SparseCsr => sparse_csr::write(reader, out),
        Method::Uint8Overflow => uint8_overflow::write(reader, out),
        Method::SimpleGzip => simple_gzip::write(reader, out),
        other => Err(CodecError::Invalid(format!(
            "{}: method {other} is an HDF5 method, not a stemz file format",
            out.display()
        ))),
    }
}

/// Open a file written by [`write`] for decoding. The reader yields whole frames in scan order
/// only (slabs of [`Hyperslab::frames`] shape, each following the previous one).
pub fn open(method: Method, path: &Path) -> Result<Box<dyn CubeReader>> {
    match method {
        Method::SparseCsr => Ok(Box::new(sparse_csr::open(path)?)),
        Method::Uint8Overflow => Ok(Box::new(uint8_overflow::open(path)?)),
        Method::SimpleGzip => Ok(Box::new(simple_gzip::open(path)?)),
        other => Err(CodecError::Invalid(format!(
            "{}: method {other} is an HDF5 method, not a stemz file format",
            path.display()
        ))),
    }
}

fn dtype_code(d: DType) -> u8 {
    match d {
        DType::U8 => 1,
        DType::U16 => 2,
        DType::U32 => 3,
        DType::F32 => 4,
    }
}

fn dtype_from_code(c: u8) -> Option<DType> {
    match c {
        1 => Some(DType::U8),
        2 => Some(DType::U16),
        3 => Some(DType::U32),
        4 => Some(DType::F32),
        _ => None,
    }
}

pub(crate) fn write_header(
    w: &mut impl Write,
    magic: &[u8; 8],
    dtype: DType,
    shape: Shape4,
) -> std::io::Result<()> {
    w.write_all(magic)?;
    w.write_all(&VERSION.to_le_bytes())?;
    w.write_all(&[dtype_code(dtype), 0, 0, 0])?;
    for n in shape {
        w.write_all(&(n as u64).to_le_bytes())?;
    }
    Ok(())
}

pub(crate) fn read_header(
    r: &mut impl Read,
    magic: &[u8; 8],
    path: &Path,
) -> Result<(DType, Shape4)> {
    let mut h = [0u8; HEADER_LEN as usize];
    r.read_exact(&mut h)
        .map_err(|e| CodecError::format(path, format!("cannot read the 48-byte header: {e}")))?;
    if &h[0..8] != magic {
        return Err(CodecError::format(
            path,
            format!(
                "not a stemz {} file (magic {:?})",
                String::from_utf8_lossy(magic),
                String::from_utf8_lossy(&h[0..8])
            ),
        ));
    }
    let version = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    if version != VERSION {
        return Err(CodecError::format(
            path,
            format!("format version {version}, this stemz reads {VERSION}"),
        ));
    }
    let dtype = dtype_from_code(h[12])
        .ok_or_else(|| CodecError::format(path, format!("unknown dtype code {}", h[12])))?;
    let mut shape = [0usize; 4];
    for (i, s) in shape.iter_mut().enumerate() {
        let at = 16 + 8 * i;
        let mut b = [0u8; 8];
        b.copy_from_slice(&h[at..at + 8]);
        *s = usize::try_from(u64::from_le_bytes(b))
            .map_err(|_| CodecError::format(path, "shape does not fit in memory addresses"))?;
    }
    Ok((dtype, shape))
}

/// Swap native-endian elements to little-endian (and back: the swap is its own inverse).
/// A no-op on little-endian machines, which is every machine stemz has been run on.
pub(crate) fn swap_le(buf: &mut [u8], itemsize: usize) {
    if cfg!(target_endian = "big") && itemsize > 1 {
        for e in buf.chunks_exact_mut(itemsize) {
            e.reverse();
        }
    }
}

/// Visit the cube one scan row of frames at a time (bounded memory): `visit(bytes, frames)`.
pub(crate) fn for_each_scan_row(
    reader: &mut dyn CubeReader,
    mut visit: impl FnMut(&[u8], usize) -> Result<()>,
) -> Result<()> {
    let shape = reader.shape();
    let frames_per_row = shape[1];
    let frame_bytes = shape[2] * shape[3] * reader.dtype().itemsize();
    let mut buf = vec![0u8; frames_per_row * frame_bytes];
    for y in 0..shape[0] {
        let slab = Hyperslab::frames(shape, y * frames_per_row, frames_per_row)?;
        reader.read_slab(&slab, &mut buf)?;
        visit(&buf, frames_per_row)?;
    }
    Ok(())
}

/// Decodes frames in scan order into a caller's buffer.
pub trait FrameDecoder: Send {
    fn decode_frames(&mut self, count: usize, out: &mut [u8]) -> Result<()>;
}

/// A [`CubeReader`] over a [`FrameDecoder`]: answers slabs of whole frames, in order.
pub struct SequentialReader<D> {
    path: PathBuf,
    format: &'static str,
    shape: Shape4,
    dtype: DType,
    next_frame: usize,
    decoder: D,
}

impl<D: FrameDecoder> SequentialReader<D> {
    pub(crate) fn new(
        path: &Path,
        format: &'static str,
        shape: Shape4,
        dtype: DType,
        decoder: D,
    ) -> Self {
        SequentialReader {
            path: path.to_path_buf(),
            format,
            shape,
            dtype,
            next_frame: 0,
            decoder,
        }
    }
}

impl<D: FrameDecoder> CubeReader for SequentialReader<D> {
    fn shape(&self) -> Shape4 {
        self.shape
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn info(&self) -> SourceInfo {
        SourceInfo {
            format: self.format.into(),
            ..SourceInfo::default()
        }
    }
    fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> stemz_data::Result<()> {
        let sx = self.shape[1];
        let first = slab.origin[0] * sx + slab.origin[1];
        let count = slab.extent[0] * slab.extent[1];
        let in_order = first == self.next_frame
            && slab.origin[2] == 0
            && slab.origin[3] == 0
            && slab.extent[2] == self.shape[2]
            && slab.extent[3] == self.shape[3]
            && Hyperslab::frames(self.shape, first, count).ok().as_ref() == Some(slab);
        if !in_order {
            return Err(DataError::format(
                &self.path,
                format!(
                    "{} files decode sequentially: expected whole frames from frame {}, got slab {:?}+{:?}",
                    self.format, self.next_frame, slab.origin, slab.extent
                ),
            ));
        }
        slab.check_read(self.shape, self.dtype, out.len(), &self.path.display())?;
        self.decoder
            .decode_frames(count, out)
            .map_err(|e| DataError::Invalid(e.to_string()))?;
        self.next_frame += count;
        Ok(())
    }
}
