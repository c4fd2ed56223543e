//! Zstandard (HDF5 filter 32015), hdf5plugin's `zstd_h5plugin.c`: one `ZSTD_compress` frame per
//! chunk at the level of cd_values[0] (read back as a signed int and clamped to zstd's range).

use zstd::zstd_safe;

use super::FilterError;

const NAME: &str = stemz_record::catalogue::filter::ZSTD.name;

/// The libzstd version this crate links, e.g. "1.5.7".
pub(super) fn library_version() -> String {
    let v = zstd_safe::version_number();
    format!("{}.{}.{}", v / 10000, v / 100 % 100, v % 100)
}

/// The level the plugin really uses: clamped to [ZSTD_minCLevel, ZSTD_maxCLevel].
fn effective_level(level: i32) -> i32 {
    level.clamp(zstd_safe::min_c_level(), zstd_safe::max_c_level())
}

pub(super) fn encode(chunk: &[u8], level: i32) -> Result<Vec<u8>, FilterError> {
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(chunk.len()));
    // zstd_safe::compress is ZSTD_compress itself (content size in the frame, no checksum),
    // not the streaming API, so the frame is the plugin's.
    zstd_safe::compress(&mut out, chunk, effective_level(level))
        .map_err(|code| FilterError::encode(NAME, zstd_safe::get_error_name(code).to_string()))?;
    Ok(out)
}

/// The uncompressed size the frame header records, if it does.
pub(super) fn decoded_len(stored: &[u8]) -> Result<usize, FilterError> {
    match zstd_safe::get_frame_content_size(stored) {
        Ok(Some(n)) => usize::try_from(n)
            .map_err(|_| FilterError::decode(NAME, "frame content size does not fit in memory")),
        Ok(None) => Err(FilterError::decode(NAME, "frame without a content size")),
        Err(_) => Err(FilterError::decode(NAME, "not a zstd frame")),
    }
}

pub(super) fn decode(stored: &[u8], out: &mut [u8]) -> Result<(), FilterError> {
    match zstd_safe::decompress(out, stored) {
        Ok(n) if n == out.len() => Ok(()),
        Ok(n) => Err(FilterError::decode(
            NAME,
            format!("the frame gave {n} bytes, the chunk has {}", out.len()),
        )),
        Err(code) => Err(FilterError::decode(NAME, zstd_safe::get_error_name(code))),
    }
}
