//! LZ4 (HDF5 filter 32004), hdf5plugin's `H5Zlz4.c`: an 8-byte big-endian uncompressed size,
//! a 4-byte big-endian block size (the requested one, 0 meaning 1 GiB, clamped to the chunk),
//! then per block a 4-byte big-endian length and an `LZ4_compress_default` block — or the raw
//! block when compression did not shrink it (length == block size tells the decoder).

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

use lz4::liblz4::{LZ4_compressBound, LZ4_compress_default, LZ4_decompress_safe};
use stemz_record::catalogue::filter::{self, Filter};

use super::h5z::{decode_into, H5Buf, Output, Plugin};
use super::raw_out::RawOut;
use super::{Codec, FilterError, Geometry};

const NAME: &str = filter::LZ4.name;

/// LZ4's largest expansion: a match length grows by 255 per extra length byte.
pub(super) const MAX_RATIO: usize = 256;

/// hdf5plugin's LZ4 in blocks of `block_size` bytes; 0 = the filter's default (1 GiB, i.e.
/// one block per chunk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lz4 {
    pub block_size: u32,
}

impl Codec for Lz4 {
    fn user_cd_values(&self) -> Vec<u32> {
        vec![self.block_size]
    }

    fn encode(&self, chunk: &[u8], _: Geometry) -> Result<Option<Vec<u8>>, FilterError> {
        encode::<Vec<u8>>(chunk, self.block_size).map(Some)
    }

    fn decode(&self, stored: &[u8], _: Geometry, out: &mut [u8]) -> Result<(), FilterError> {
        decode(stored, out)
    }
}

impl Plugin for Lz4 {
    const FILTER: Filter = filter::LZ4;
    const CLASS_NAME: &'static CStr = c"HDF5 lz4 filter (stemz)";

    fn run(reverse: bool, cd: &[u32], input: &[u8]) -> Result<Output, FilterError> {
        if reverse {
            decode_into(NAME, decoded_len(input)?, input.len(), MAX_RATIO, |out| {
                decode(input, out)
            })
        } else {
            encode::<H5Buf>(input, cd.first().copied().unwrap_or(0)).map(Output::Hdf5)
        }
    }
}

/// H5Zlz4.c's DEFAULT_BLOCK_SIZE (1 << 30).
const DEFAULT_BLOCK_SIZE: usize = 1 << 30;

/// The 8-byte uncompressed size and the 4-byte block size.
const HEADER: usize = 12;

/// The liblz4 version this crate links, e.g. "1.10.0".
pub(super) fn library_version() -> String {
    // SAFETY: a pure query of a constant.
    let v = unsafe { lz4::liblz4::LZ4_versionNumber() };
    format!("{}.{}.{}", v / 10000, v / 100 % 100, v % 100)
}

/// Encode `chunk` straight into `B`'s uninitialised memory, as H5Zlz4.c does into the buffer it
/// hands HDF5: each block compressed in place after its length word, the raw block copied over
/// it when compression did not shrink it. No zeroed scratch block, no copy into a `Vec` and from
/// it into HDF5's memory (the serial `single_frame` writes of 16 KiB chunks took the same time
/// with and without those copies, profiled in the README's speed section).
fn encode<B: RawOut>(chunk: &[u8], block_size: u32) -> Result<B, FilterError> {
    let nbytes = chunk.len();
    if nbytes > i32::MAX as usize {
        return Err(FilterError::unsupported(NAME, "chunks of 2 GiB or more"));
    }
    let requested = if block_size > 0 {
        block_size as usize
    } else {
        DEFAULT_BLOCK_SIZE
    };
    let block = requested.min(nbytes);
    let nblocks = nbytes.div_ceil(block.max(1));
    // SAFETY: a pure function of its argument; `block` <= i32::MAX, checked above.
    let bound = unsafe { LZ4_compressBound(block as c_int) } as usize;
    // H5Zlz4.c's maxDestSize: the header, then per block a length word and a worst-case block.
    let capacity = nblocks
        .checked_mul(4 + bound)
        .and_then(|n| n.checked_add(HEADER))
        .ok_or_else(|| FilterError::unsupported(NAME, "a chunk this large"))?;
    let write = |out: *mut u8| {
        let mut head = [0u8; HEADER];
        head[..8].copy_from_slice(&(nbytes as u64).to_be_bytes());
        head[8..].copy_from_slice(&(block as u32).to_be_bytes());
        // SAFETY: `out` holds `capacity` >= HEADER writable bytes, not overlapping `head`.
        unsafe { std::ptr::copy_nonoverlapping(head.as_ptr(), out, HEADER) };
        let mut pos = HEADER;
        for src in chunk.chunks(block.max(1)) {
            // Each block has 4 + bound bytes of `capacity` to itself, so `pos + 4 + bound` never
            // passes it, and compressBound(src.len()) <= bound.
            // SAFETY: `src` is valid for src.len() bytes; `out + pos + 4` for `bound` bytes of
            // writes, which do not overlap the chunk (a separate allocation).
            let n = unsafe {
                LZ4_compress_default(
                    src.as_ptr().cast::<c_char>(),
                    out.add(pos + 4).cast::<c_char>(),
                    src.len() as c_int,
                    bound as c_int,
                )
            };
            if n <= 0 {
                return Err(FilterError::encode(
                    NAME,
                    format!("LZ4_compress_default failed on a {}-byte block", src.len()),
                ));
            }
            let mut n = n as usize;
            if n >= src.len() {
                // Stored raw: the decoder tells by the length word equal to the block size.
                // SAFETY: src.len() <= block <= bound bytes fit where the compressed block was.
                unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), out.add(pos + 4), src.len()) };
                n = src.len();
            }
            let word = (n as u32).to_be_bytes();
            // SAFETY: the 4 bytes at `out + pos` are this block's length word, within capacity.
            unsafe { std::ptr::copy_nonoverlapping(word.as_ptr(), out.add(pos), 4) };
            pos += 4 + n;
        }
        Ok(Some(pos))
    };
    // SAFETY: `write` initialises the header and, block after block, every byte up to the `pos`
    // it returns (a length word, then the compressed or raw block right after it), and never
    // writes past `capacity` (above).
    let out = unsafe { B::written_by(capacity, NAME, write) }?;
    out.ok_or_else(|| FilterError::encode(NAME, "the encoder wrote nothing"))
}

/// The uncompressed size a stored chunk announces in its header.
fn decoded_len(stored: &[u8]) -> Result<usize, FilterError> {
    let head: [u8; 8] = stored
        .get(..8)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| FilterError::decode(NAME, "shorter than its 12-byte header"))?;
    usize::try_from(u64::from_be_bytes(head))
        .map_err(|_| FilterError::decode(NAME, "uncompressed size does not fit in memory"))
}

fn be32(stored: &[u8], at: usize) -> Result<usize, FilterError> {
    stored
        .get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map(|b| u32::from_be_bytes(b) as usize)
        .ok_or_else(|| FilterError::decode(NAME, format!("truncated at byte {at}")))
}

fn decode(stored: &[u8], out: &mut [u8]) -> Result<(), FilterError> {
    let total = decoded_len(stored)?;
    if total != out.len() {
        return Err(FilterError::decode(
            NAME,
            format!("the header says {total} bytes, the chunk has {}", out.len()),
        ));
    }
    let mut block = be32(stored, 8)?.min(total);
    if block == 0 && total > 0 {
        return Err(FilterError::decode(NAME, "block size 0 in the header"));
    }
    let mut pos = 12;
    let mut done = 0;
    while done < total {
        block = block.min(total - done);
        let clen = be32(stored, pos)?;
        pos += 4;
        let src = stored
            .get(pos..pos + clen)
            .ok_or_else(|| FilterError::decode(NAME, format!("block at byte {pos} truncated")))?;
        let dst = &mut out[done..done + block];
        if clen == block {
            dst.copy_from_slice(src);
        } else {
            // SAFETY: LZ4_decompress_safe reads at most clen bytes and writes at most `block`.
            let n = unsafe {
                LZ4_decompress_safe(
                    src.as_ptr().cast::<c_char>(),
                    dst.as_mut_ptr().cast::<c_char>(),
                    clen as c_int,
                    block as c_int,
                )
            };
            if n < 0 || n as usize != block {
                return Err(FilterError::decode(
                    NAME,
                    format!("block at byte {pos} decoded to {n} bytes, expected {block}"),
                ));
            }
        }
        pos += clen;
        done += block;
    }
    Ok(())
}
