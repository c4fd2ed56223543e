//! Zstandard (HDF5 filter 32015), hdf5plugin's `zstd_h5plugin.c`: one `ZSTD_compress` frame per
//! chunk at the level of cd_values[0] (read back as a signed int and clamped to zstd's range).

use std::ffi::CStr;

use stemz_record::catalogue::filter::{self, Filter};
use zstd::zstd_safe;

use super::h5z::{decode_into, Output, Plugin};
use super::{Codec, FilterError, Geometry};

const NAME: &str = filter::ZSTD.name;

/// zstd's ZSTD_CLEVEL_DEFAULT, used by the plugin when no level is given.
pub(super) const DEFAULT_LEVEL: i32 = 3;

/// zstd's largest expansion: an RLE block of 4 bytes stands for up to 128 KiB.
pub(super) const MAX_RATIO: usize = 1 << 15;

/// hdf5plugin's Zstd at `level` (negative levels allowed; clamped to zstd's range as the
/// plugin does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zstd {
    pub level: i32,
}

impl Codec for Zstd {
    /// cd_values are unsigned: a negative level travels as its two's complement, and the
    /// plugin casts it back to int.
    fn user_cd_values(&self) -> Vec<u32> {
        vec![self.level as u32]
    }

    fn encode(&self, chunk: &[u8], _: Geometry) -> Result<Option<Vec<u8>>, FilterError> {
        encode(chunk, self.level).map(Some)
    }

    fn decode(&self, stored: &[u8], _: Geometry, out: &mut [u8]) -> Result<(), FilterError> {
        decode(stored, out)
    }
}

impl Plugin for Zstd {
    const FILTER: Filter = filter::ZSTD;
    const CLASS_NAME: &'static CStr = c"HDF5 zstd filter (stemz)";

    fn run(reverse: bool, cd: &[u32], input: &[u8]) -> Result<Output, FilterError> {
        if reverse {
            decode_into(NAME, decoded_len(input)?, input.len(), MAX_RATIO, |out| {
                decode(input, out)
            })
        } else {
            let level = cd.first().map(|&v| v as i32).unwrap_or(DEFAULT_LEVEL);
            encode(input, level).map(Output::from)
        }
    }
}

/// The libzstd version this crate links, e.g. "1.5.7".
pub(super) fn library_version() -> String {
    let v = zstd_safe::version_number();
    format!("{}.{}.{}", v / 10000, v / 100 % 100, v % 100)
}

/// The level the plugin really uses: clamped to [ZSTD_minCLevel, ZSTD_maxCLevel].
fn effective_level(level: i32) -> i32 {
    level.clamp(zstd_safe::min_c_level(), zstd_safe::max_c_level())
}

fn encode(chunk: &[u8], level: i32) -> Result<Vec<u8>, FilterError> {
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(chunk.len()));
    // zstd_safe::compress is ZSTD_compress itself (content size in the frame, no checksum),
    // not the streaming API, so the frame is the plugin's.
    zstd_safe::compress(&mut out, chunk, effective_level(level))
        .map_err(|code| FilterError::encode(NAME, zstd_safe::get_error_name(code).to_string()))?;
    Ok(out)
}

/// The uncompressed size the frame header records, if it does.
fn decoded_len(stored: &[u8]) -> Result<usize, FilterError> {
    match zstd_safe::get_frame_content_size(stored) {
        Ok(Some(n)) => usize::try_from(n)
            .map_err(|_| FilterError::decode(NAME, "frame content size does not fit in memory")),
        Ok(None) => Err(FilterError::decode(NAME, "frame without a content size")),
        Err(_) => Err(FilterError::decode(NAME, "not a zstd frame")),
    }
}

fn decode(stored: &[u8], out: &mut [u8]) -> Result<(), FilterError> {
    match zstd_safe::decompress(out, stored) {
        Ok(n) if n == out.len() => Ok(()),
        Ok(n) => Err(FilterError::decode(
            NAME,
            format!("the frame gave {n} bytes, the chunk has {}", out.len()),
        )),
        Err(code) => Err(FilterError::decode(NAME, zstd_safe::get_error_name(code))),
    }
}
