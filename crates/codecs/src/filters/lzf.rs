//! LZF (HDF5 filter 32000), h5py's `lzf_filter.c`: one `lzf_compress` of the whole chunk into a
//! buffer as long as the chunk; a chunk that does not fit is declined (stored raw by HDF5).
//!
//! liblzf's output depends on its compile-time tuning (hash size, "very fast" mode), and
//! lzf-sys and h5py may build it differently, so only the decoded bytes are promised equal.

use std::os::raw::c_uint;

use super::raw_out::RawOut;
use super::FilterError;

const NAME: &str = stemz_record::catalogue::filter::LZF.name;

/// h5py's H5PY_FILTER_LZF_VERSION, stored as cd_values[0].
pub(super) const H5PY_FILTER_VERSION: u32 = 4;
/// LZF_VERSION of the liblzf bundled with h5py (0x0105), stored as cd_values[1].
pub(super) const H5PY_LZF_VERSION: u32 = 0x0105;

/// The output buffer is as long as the chunk and never zeroed: lzf_compress writes what it
/// returns.
pub(super) fn encode<B: RawOut>(chunk: &[u8]) -> Result<Option<B>, FilterError> {
    let len = c_uint::try_from(chunk.len())
        .map_err(|_| FilterError::unsupported(NAME, "chunks of 4 GiB or more"))?;
    let compress = |out: *mut u8| {
        // SAFETY: `chunk` is valid for `len` bytes and `out` (from `written_by`) for `len`
        // bytes of writes; lzf_compress never writes past out_len.
        let n = unsafe { lzf_sys::lzf_compress(chunk.as_ptr().cast(), len, out.cast(), len) };
        Ok((n != 0).then_some(n as usize))
    };
    // SAFETY: a non-zero return of lzf_compress is the number of bytes it wrote, <= out_len.
    unsafe { B::written_by(chunk.len(), NAME, compress) }
}

pub(super) fn decode(stored: &[u8], out: &mut [u8]) -> Result<(), FilterError> {
    // SAFETY: `out` is valid for writes of its length.
    unsafe { decode_raw(stored, out.as_mut_ptr(), out.len()) }
}

/// Decode `stored` into the `len` bytes at `dest`, all of which are written when this returns
/// Ok (the decoded size must be exactly `len`).
///
/// # Safety
/// `dest` must be valid for writes of `len` bytes and not overlap `stored`.
pub(super) unsafe fn decode_raw(
    stored: &[u8],
    dest: *mut u8,
    len: usize,
) -> Result<(), FilterError> {
    let (Ok(in_len), Ok(out_len)) = (c_uint::try_from(stored.len()), c_uint::try_from(len)) else {
        return Err(FilterError::unsupported(NAME, "chunks of 4 GiB or more"));
    };
    // SAFETY: lzf_decompress checks every read against in_len and every write against out_len,
    // and `dest` is valid for out_len bytes (the caller's contract).
    let n =
        unsafe { lzf_sys::lzf_decompress(stored.as_ptr().cast(), in_len, dest.cast(), out_len) };
    if n as usize != len {
        return Err(FilterError::decode(
            NAME,
            format!("lzf_decompress gave {n} bytes for a {len}-byte chunk"),
        ));
    }
    Ok(())
}
