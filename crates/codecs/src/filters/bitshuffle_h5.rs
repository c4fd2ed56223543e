//! The Bitshuffle HDF5 filter (32008) with LZ4 or zstd, as bitshuffle's `bshuf_h5filter.c`
//! writes a chunk: an 8-byte big-endian uncompressed size, a 4-byte big-endian block size in
//! bytes, then per block a 4-byte big-endian length and the compressed bit-shuffled block.
//!
//! Blocks follow `bshuf_blocked_wrap_fun`: whole blocks of `block_size` elements, then one
//! block of the remaining elements rounded down to a multiple of 8, then the last `n % 8`
//! elements copied as they are. Each block is compressed whatever its result (no raw fallback).

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

use ::lz4::liblz4::{LZ4_compressBound, LZ4_compress_default, LZ4_decompress_safe};
use stemz_record::catalogue::filter::{self, Filter};
use zstd::zstd_safe;

use super::bitshuffle::{trans_bit_elem, untrans_bit_elem};
use super::h5z::{self, decode_into, Local, Output, Plugin, SetLocal};
use super::{lz4, zstd as zstd_filter, BitshuffleCodec, Codec, FilterError, Geometry};

const NAME: &str = filter::BITSHUFFLE.name;

/// BSHUF_VERSION_MAJOR / MINOR of the bitshuffle bundled in hdf5plugin 7.1 (0.4.x), which
/// its set_local stores as cd_values[0..2].
const VERSION_MAJOR: u32 = 0;
const VERSION_MINOR: u32 = 4;

/// Bitshuffle then `codec` in blocks of `block_size` elements (0 = bitshuffle's automatic
/// size): hdf5plugin's `Bitshuffle(nelems, cname, clevel)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bitshuffle {
    pub codec: BitshuffleCodec,
    pub block_size: u32,
}

impl Codec for Bitshuffle {
    /// (block size, compressor code[, zstd level]).
    fn user_cd_values(&self) -> Vec<u32> {
        match self.codec {
            BitshuffleCodec::Lz4 => vec![self.block_size, self.codec.code()],
            BitshuffleCodec::Zstd { level } => {
                vec![self.block_size, self.codec.code(), level as u32]
            }
        }
    }

    fn stored_cd_values(&self, g: Geometry) -> Option<Vec<u32>> {
        h5z::stored::<Bitshuffle>(self.user_cd_values(), g)
    }

    fn encode(&self, chunk: &[u8], g: Geometry) -> Result<Option<Vec<u8>>, FilterError> {
        encode(chunk, g.typesize, self.block_size, self.codec).map(Some)
    }

    fn decode(&self, stored: &[u8], g: Geometry, out: &mut [u8]) -> Result<(), FilterError> {
        decode(stored, g.typesize, self.codec, out)
    }
}

impl Plugin for Bitshuffle {
    const FILTER: Filter = filter::BITSHUFFLE;
    const CLASS_NAME: &'static CStr = c"bitshuffle (stemz)";
    const SET_LOCAL: Option<SetLocal> = Some(set_local);

    fn run(reverse: bool, cd: &[u32], input: &[u8]) -> Result<Output, FilterError> {
        let (Some(&elem_size), block) = (cd.get(2), cd.get(3).copied().unwrap_or(0)) else {
            return Err(FilterError::unsupported(NAME, "fewer than 3 cd_values"));
        };
        let elem_size = elem_size as usize;
        if elem_size == 0 {
            return Err(FilterError::unsupported(NAME, "element size 0"));
        }
        let codec = match cd.get(4).copied().unwrap_or(0) {
            0 => return shuffle_only(input, elem_size, block as usize, reverse).map(Output::from),
            2 => BitshuffleCodec::Lz4,
            3 => BitshuffleCodec::Zstd {
                level: cd
                    .get(5)
                    .map(|&v| v as i32)
                    .unwrap_or(zstd_filter::DEFAULT_LEVEL),
            },
            other => {
                return Err(FilterError::unsupported(
                    NAME,
                    format!("compressor code {other}"),
                ))
            }
        };
        if reverse {
            let ratio = match codec {
                BitshuffleCodec::Lz4 => lz4::MAX_RATIO,
                BitshuffleCodec::Zstd { .. } => zstd_filter::MAX_RATIO,
            };
            let claimed = decoded_len(input)?;
            if claimed % elem_size != 0 {
                return Err(FilterError::decode(NAME, "non-integer number of elements"));
            }
            decode_into(NAME, claimed, input.len(), ratio, |out| {
                decode(input, elem_size, codec, out)
            })
        } else {
            if input.len() % elem_size != 0 {
                return Err(FilterError::unsupported(
                    NAME,
                    "non-integer number of elements",
                ));
            }
            encode(input, elem_size, block, codec).map(Output::from)
        }
    }
}

/// bitshuffle's `bshuf_h5_set_local`: shift the user's cd_values up by three and put the
/// format version and the element size in front, so the file records (0, 4, size, block,
/// codec[, level]); a block size that is not a multiple of 8 refuses the dataset.
fn set_local(l: &Local) -> Option<Vec<u32>> {
    let mut values = vec![VERSION_MAJOR, VERSION_MINOR, l.typesize as u32];
    values.extend_from_slice(&l.values);
    (values.len() <= 3 || values[3] % 8 == 0).then_some(values)
}

const TARGET_BLOCK_SIZE_B: usize = 8192;
const BLOCKED_MULT: usize = 8;
const MIN_RECOMMEND_BLOCK: usize = 128;

/// `bshuf_default_block_size`: about 8 KiB of elements, a multiple of 8, at least 128.
pub fn default_block_size(elem_size: usize) -> usize {
    let b = TARGET_BLOCK_SIZE_B / elem_size.max(1);
    (b / BLOCKED_MULT * BLOCKED_MULT).max(MIN_RECOMMEND_BLOCK)
}

/// Sizes in elements of the shuffled blocks of an `n`-element chunk, and the leftover count.
fn blocks(n: usize, block: usize) -> (impl Iterator<Item = usize>, usize) {
    let whole = n / block;
    let last = n % block - n % block % BLOCKED_MULT;
    let it = std::iter::repeat_n(block, whole).chain((last > 0).then_some(last));
    (it, n % BLOCKED_MULT)
}

fn encode(
    chunk: &[u8],
    elem_size: usize,
    block_size: u32,
    codec: BitshuffleCodec,
) -> Result<Vec<u8>, FilterError> {
    let block = match block_size as usize {
        0 => default_block_size(elem_size),
        b if b % BLOCKED_MULT == 0 => b,
        b => {
            return Err(FilterError::unsupported(
                NAME,
                format!("block size {b} is not a multiple of 8"),
            ))
        }
    };
    let n = chunk.len() / elem_size;
    let header_block = u32::try_from(block * elem_size)
        .map_err(|_| FilterError::unsupported(NAME, "block size too large"))?;
    let mut out = Vec::with_capacity(12 + chunk.len() / 2);
    out.extend_from_slice(&(chunk.len() as u64).to_be_bytes());
    out.extend_from_slice(&header_block.to_be_bytes());

    let block_bytes = block * elem_size;
    let mut shuffled = vec![0u8; block_bytes];
    let bound = match codec {
        BitshuffleCodec::Lz4 => {
            // SAFETY: a pure function of its argument.
            (unsafe { LZ4_compressBound(block_bytes as c_int) }).max(0) as usize
        }
        BitshuffleCodec::Zstd { .. } => zstd_safe::compress_bound(block_bytes),
    };
    let mut packed = vec![0u8; bound];
    let (sizes, leftover) = blocks(n, block);
    let mut pos = 0;
    for size in sizes {
        let bytes = size * elem_size;
        let src = &chunk[pos..pos + bytes];
        let dst = &mut shuffled[..bytes];
        trans_bit_elem(src, dst, elem_size)
            .map_err(|e| FilterError::encode(NAME, e.to_string()))?;
        let clen = match codec {
            BitshuffleCodec::Lz4 => {
                // SAFETY: dst is `bytes` long, packed holds compressBound(block_bytes) >=
                // compressBound(bytes).
                let r = unsafe {
                    LZ4_compress_default(
                        dst.as_ptr().cast::<c_char>(),
                        packed.as_mut_ptr().cast::<c_char>(),
                        bytes as c_int,
                        LZ4_compressBound(bytes as c_int),
                    )
                };
                if r <= 0 {
                    return Err(FilterError::encode(NAME, "LZ4_compress_default failed"));
                }
                r as usize
            }
            BitshuffleCodec::Zstd { level } => zstd_safe::compress(&mut packed[..], dst, level)
                .map_err(|code| {
                    FilterError::encode(NAME, zstd_safe::get_error_name(code).to_string())
                })?,
        };
        out.extend_from_slice(&(clen as u32).to_be_bytes());
        out.extend_from_slice(&packed[..clen]);
        pos += bytes;
    }
    out.extend_from_slice(&chunk[pos..pos + leftover * elem_size]);
    Ok(out)
}

fn be32(stored: &[u8], at: usize) -> Result<usize, FilterError> {
    stored
        .get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map(|b| u32::from_be_bytes(b) as usize)
        .ok_or_else(|| FilterError::decode(NAME, format!("truncated at byte {at}")))
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

fn decode(
    stored: &[u8],
    elem_size: usize,
    codec: BitshuffleCodec,
    out: &mut [u8],
) -> Result<(), FilterError> {
    let total = decoded_len(stored)?;
    if total != out.len() {
        return Err(FilterError::decode(
            NAME,
            format!("the header says {total} bytes, the chunk has {}", out.len()),
        ));
    }
    // The block size comes from the header, as the reference decoder does.
    let block = be32(stored, 8)? / elem_size;
    if block == 0 || block % BLOCKED_MULT != 0 {
        return Err(FilterError::decode(
            NAME,
            format!("block of {block} elements in the header"),
        ));
    }
    let n = total / elem_size;
    // No block is longer than the chunk, whatever the header's block size says.
    let mut shuffled = vec![0u8; block.min(n) * elem_size];
    let (sizes, leftover) = blocks(n, block);
    let mut pos = 12;
    let mut done = 0;
    for size in sizes {
        let bytes = size * elem_size;
        let clen = be32(stored, pos)?;
        pos += 4;
        let src = stored
            .get(pos..pos + clen)
            .ok_or_else(|| FilterError::decode(NAME, format!("block at byte {pos} truncated")))?;
        let tmp = &mut shuffled[..bytes];
        let got = match codec {
            BitshuffleCodec::Lz4 => {
                // SAFETY: reads at most clen bytes of src, writes at most `bytes` into tmp.
                let r = unsafe {
                    LZ4_decompress_safe(
                        src.as_ptr().cast::<c_char>(),
                        tmp.as_mut_ptr().cast::<c_char>(),
                        clen as c_int,
                        bytes as c_int,
                    )
                };
                usize::try_from(r).unwrap_or(usize::MAX)
            }
            BitshuffleCodec::Zstd { .. } => zstd_safe::decompress(tmp, src).unwrap_or(usize::MAX),
        };
        if got != bytes {
            return Err(FilterError::decode(
                NAME,
                format!("block at byte {pos} did not decompress to {bytes} bytes"),
            ));
        }
        untrans_bit_elem(tmp, &mut out[done..done + bytes], elem_size)
            .map_err(|e| FilterError::decode(NAME, e.to_string()))?;
        pos += clen;
        done += bytes;
    }
    let rest = leftover * elem_size;
    let src = stored
        .get(pos..pos + rest)
        .ok_or_else(|| FilterError::decode(NAME, "leftover elements truncated"))?;
    out[done..done + rest].copy_from_slice(src);
    Ok(())
}

/// The filter without a compressor (cd_values[4] absent or 0): blocks bit-shuffled (or
/// unshuffled when `reverse`) in place of the chunk, same size, no header.
fn shuffle_only(
    input: &[u8],
    elem_size: usize,
    block_size: usize,
    reverse: bool,
) -> Result<Vec<u8>, FilterError> {
    let block = if block_size == 0 {
        default_block_size(elem_size)
    } else {
        block_size
    };
    if block % BLOCKED_MULT != 0 || elem_size == 0 || input.len() % elem_size != 0 {
        return Err(FilterError::unsupported(
            NAME,
            format!(
                "block {block}, element size {elem_size}, {} bytes",
                input.len()
            ),
        ));
    }
    let mut out = vec![0u8; input.len()];
    let (sizes, _) = blocks(input.len() / elem_size, block);
    let mut pos = 0;
    for size in sizes {
        let range = pos..pos + size * elem_size;
        let r = if reverse {
            untrans_bit_elem(&input[range.clone()], &mut out[range.clone()], elem_size)
        } else {
            trans_bit_elem(&input[range.clone()], &mut out[range.clone()], elem_size)
        };
        r.map_err(|e| FilterError::encode(NAME, e.to_string()))?;
        pos = range.end;
    }
    out[pos..].copy_from_slice(&input[pos..]);
    Ok(out)
}
