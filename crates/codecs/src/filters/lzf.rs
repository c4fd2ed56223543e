//! LZF (HDF5 filter 32000), h5py's `lzf_filter.c`: one `lzf_compress` of the whole chunk into a
//! buffer as long as the chunk; a chunk that does not fit is declined (stored raw by HDF5).
//!
//! liblzf's output depends on its compile-time tuning (hash size, "very fast" mode), and
//! lzf-sys and h5py may build it differently, so only the decoded bytes are promised equal.

use std::os::raw::c_uint;

use super::FilterError;

const NAME: &str = "lzf";

/// h5py's H5PY_FILTER_LZF_VERSION, stored as cd_values[0].
pub(super) const H5PY_FILTER_VERSION: u32 = 4;
/// LZF_VERSION of the liblzf bundled with h5py (0x0105), stored as cd_values[1].
pub(super) const H5PY_LZF_VERSION: u32 = 0x0105;

pub(super) fn encode(chunk: &[u8]) -> Result<Option<Vec<u8>>, FilterError> {
    let len = c_uint::try_from(chunk.len())
        .map_err(|_| FilterError::unsupported(NAME, "chunks of 4 GiB or more"))?;
    let mut out = vec![0u8; chunk.len()];
    // SAFETY: both buffers are valid for `len` bytes; lzf_compress never writes past out_len.
    let n =
        unsafe { lzf_sys::lzf_compress(chunk.as_ptr().cast(), len, out.as_mut_ptr().cast(), len) };
    if n == 0 {
        return Ok(None);
    }
    out.truncate(n as usize);
    Ok(Some(out))
}

pub(super) fn decode(stored: &[u8], out: &mut [u8]) -> Result<(), FilterError> {
    let (Ok(in_len), Ok(out_len)) = (c_uint::try_from(stored.len()), c_uint::try_from(out.len()))
    else {
        return Err(FilterError::unsupported(NAME, "chunks of 4 GiB or more"));
    };
    // SAFETY: lzf_decompress checks every read against in_len and every write against out_len.
    let n = unsafe {
        lzf_sys::lzf_decompress(
            stored.as_ptr().cast(),
            in_len,
            out.as_mut_ptr().cast(),
            out_len,
        )
    };
    if n as usize != out.len() {
        return Err(FilterError::decode(
            NAME,
            format!(
                "lzf_decompress gave {n} bytes for a {}-byte chunk",
                out.len()
            ),
        ));
    }
    Ok(())
}
