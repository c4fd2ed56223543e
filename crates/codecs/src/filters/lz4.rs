//! LZ4 (HDF5 filter 32004), hdf5plugin's `H5Zlz4.c`: an 8-byte big-endian uncompressed size,
//! a 4-byte big-endian block size (the requested one, 0 meaning 1 GiB, clamped to the chunk),
//! then per block a 4-byte big-endian length and an `LZ4_compress_default` block — or the raw
//! block when compression did not shrink it (length == block size tells the decoder).

use std::os::raw::{c_char, c_int};

use lz4::liblz4::{LZ4_compressBound, LZ4_compress_default, LZ4_decompress_safe};

use super::FilterError;

const NAME: &str = "lz4";

/// H5Zlz4.c's DEFAULT_BLOCK_SIZE (1 << 30).
const DEFAULT_BLOCK_SIZE: usize = 1 << 30;

/// The liblz4 version this crate links, e.g. "1.10.0".
pub(super) fn library_version() -> String {
    // SAFETY: a pure query of a constant.
    let v = unsafe { lz4::liblz4::LZ4_versionNumber() };
    format!("{}.{}.{}", v / 10000, v / 100 % 100, v % 100)
}

pub(super) fn encode(chunk: &[u8], block_size: u32) -> Result<Vec<u8>, FilterError> {
    let nbytes = chunk.len();
    if nbytes > i32::MAX as usize {
        return Err(FilterError::unsupported(NAME, "chunks of 2 GiB or more"));
    }
    let mut block = if block_size > 0 {
        block_size as usize
    } else {
        DEFAULT_BLOCK_SIZE
    };
    block = block.min(nbytes);
    let mut out = Vec::with_capacity(12 + nbytes + nbytes / 200 + 64);
    out.extend_from_slice(&(nbytes as u64).to_be_bytes());
    out.extend_from_slice(&(block as u32).to_be_bytes());
    if nbytes == 0 {
        return Ok(out);
    }
    // SAFETY: a pure function of its argument.
    let bound = unsafe { LZ4_compressBound(block as c_int) } as usize;
    let mut scratch = vec![0u8; bound];
    for src in chunk.chunks(block) {
        // SAFETY: src is valid for src.len() bytes, scratch for `bound` >= compressBound(src.len()).
        let n = unsafe {
            LZ4_compress_default(
                src.as_ptr().cast::<c_char>(),
                scratch.as_mut_ptr().cast::<c_char>(),
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
        let n = n as usize;
        if n >= src.len() {
            out.extend_from_slice(&(src.len() as u32).to_be_bytes());
            out.extend_from_slice(src);
        } else {
            out.extend_from_slice(&(n as u32).to_be_bytes());
            out.extend_from_slice(&scratch[..n]);
        }
    }
    Ok(out)
}

/// The uncompressed size a stored chunk announces in its header.
pub(super) fn decoded_len(stored: &[u8]) -> Result<usize, FilterError> {
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

pub(super) fn decode(stored: &[u8], out: &mut [u8]) -> Result<(), FilterError> {
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
