//! Blosc (HDF5 filter 32001), as hdf5-blosc's `blosc_filter.c` compresses: one
//! `blosc_compress` of the whole chunk into a buffer exactly as long as the chunk (so a chunk
//! that does not shrink is declined and HDF5 stores it raw), blocksize automatic, one thread.
//!
//! We call `blosc_compress_ctx`, c-blosc's lock-free twin of `blosc_compress`: same code path
//! (compressor, automatic blocksize, split mode), but no global compressor state, so many
//! threads can compress at once.

use std::ffi::CString;
use std::os::raw::c_int;

use super::{BloscCompressor, FilterError, Shuffle};

const NAME: &str = "blosc";

/// hdf5-blosc's FILTER_BLOSC_VERSION, stored as cd_values[0].
pub(super) const FILTER_VERSION: u32 = 2;
/// BLOSC_VERSION_FORMAT of c-blosc 1.x, stored as cd_values[1].
pub(super) const VERSION_FORMAT: u32 = blosc_src::BLOSC_VERSION_FORMAT;

/// hdf5-blosc's set_local stores typesize 1 when the type is wider than Blosc can shuffle.
pub(super) fn effective_typesize(typesize: usize) -> usize {
    if typesize > blosc_src::BLOSC_MAX_TYPESIZE as usize {
        1
    } else {
        typesize
    }
}

/// The c-blosc version this crate links (blosc-src's bundled copy).
pub(super) fn library_version() -> String {
    blosc_src::BLOSC_VERSION_STRING
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect()
}

pub(super) fn encode(
    chunk: &[u8],
    typesize: usize,
    compressor: BloscCompressor,
    clevel: u8,
    shuffle: Shuffle,
) -> Result<Option<Vec<u8>>, FilterError> {
    encode_threads(chunk, typesize, compressor, clevel, shuffle, 1)
}

/// [`encode`] on `threads` of c-blosc's own threads (blocks compressed in parallel, written in
/// block order: the same bytes for any thread count).
pub(super) fn encode_threads(
    chunk: &[u8],
    typesize: usize,
    compressor: BloscCompressor,
    clevel: u8,
    shuffle: Shuffle,
    threads: usize,
) -> Result<Option<Vec<u8>>, FilterError> {
    if clevel > 9 {
        return Err(FilterError::unsupported(
            NAME,
            format!("clevel {clevel} is outside 0..=9"),
        ));
    }
    let cname =
        CString::new(compressor.name()).map_err(|e| FilterError::encode(NAME, e.to_string()))?;
    let mut out = vec![0u8; chunk.len()];
    // SAFETY: src and dest are valid for nbytes / destsize bytes and do not overlap; the
    // compressor name is NUL-terminated and outlives the call.
    let status = unsafe {
        blosc_src::blosc_compress_ctx(
            c_int::from(clevel),
            shuffle.code() as c_int,
            effective_typesize(typesize),
            chunk.len(),
            chunk.as_ptr().cast(),
            out.as_mut_ptr().cast(),
            out.len(),
            cname.as_ptr(),
            0,
            threads.clamp(1, 256) as c_int,
        )
    };
    match status {
        0 => Ok(None),
        n if n > 0 => {
            out.truncate(n as usize);
            Ok(Some(out))
        }
        n => Err(FilterError::encode(
            NAME,
            format!(
                "blosc_compress_ctx({}) returned error {n} (compressor not built in?)",
                compressor.name()
            ),
        )),
    }
}

pub(super) fn decode(stored: &[u8], out: &mut [u8]) -> Result<(), FilterError> {
    let mut nbytes = 0usize;
    // SAFETY: validate reads at most `stored.len()` bytes of the header.
    let valid = unsafe {
        blosc_src::blosc_cbuffer_validate(stored.as_ptr().cast(), stored.len(), &mut nbytes)
    };
    if valid < 0 {
        return Err(FilterError::decode(NAME, "not a valid Blosc buffer"));
    }
    if nbytes != out.len() {
        return Err(FilterError::decode(
            NAME,
            format!(
                "the Blosc header says {nbytes} bytes, the chunk has {}",
                out.len()
            ),
        ));
    }
    // SAFETY: the header was validated against the source length; dest holds destsize bytes.
    let n = unsafe {
        blosc_src::blosc_decompress_ctx(
            stored.as_ptr().cast(),
            out.as_mut_ptr().cast(),
            out.len(),
            1,
        )
    };
    if n < 0 || n as usize != out.len() {
        return Err(FilterError::decode(
            NAME,
            format!(
                "blosc_decompress_ctx returned {n} for a {}-byte chunk",
                out.len()
            ),
        ));
    }
    Ok(())
}
