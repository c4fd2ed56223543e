//! LZF (HDF5 filter 32000), h5py's `lzf_filter.c`: one `lzf_compress` of the whole chunk into a
//! buffer as long as the chunk; a chunk that does not fit is declined (stored raw by HDF5).
//!
//! liblzf's output depends on its compile-time tuning (hash size, "very fast" mode), and
//! lzf-sys and h5py may build it differently, so only the decoded bytes are promised equal.

use std::ffi::CStr;
use std::os::raw::c_uint;

use stemz_record::catalogue::filter::{self, Filter};

use super::h5z::{self, decode_c, H5Buf, Local, Output, Plugin, SetLocal};
use super::raw_out::RawOut;
use super::{Codec, FilterError, Geometry};

const NAME: &str = filter::LZF.name;

/// h5py's H5PY_FILTER_LZF_VERSION, stored as cd_values[0].
const H5PY_FILTER_VERSION: u32 = 4;
/// LZF_VERSION of the liblzf bundled with h5py (0x0105), stored as cd_values[1].
const H5PY_LZF_VERSION: u32 = 0x0105;
/// LZF expands at most about 1:264 (a back reference of up to 264 bytes in 2–3 bytes).
const MAX_RATIO: usize = 264;

/// LZF, no parameters: h5py's `compression="lzf"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lzf;

impl Codec for Lzf {
    /// h5py passes none; set_local fills (4, 261, chunk bytes).
    fn user_cd_values(&self) -> Vec<u32> {
        Vec::new()
    }

    fn stored_cd_values(&self, g: Geometry) -> Option<Vec<u32>> {
        h5z::stored::<Lzf>(self.user_cd_values(), g)
    }

    fn encode(&self, chunk: &[u8], _: Geometry) -> Result<Option<Vec<u8>>, FilterError> {
        encode(chunk)
    }

    fn decode(&self, stored: &[u8], _: Geometry, out: &mut [u8]) -> Result<(), FilterError> {
        decode(stored, out)
    }
}

impl Plugin for Lzf {
    const FILTER: Filter = filter::LZF;
    const CLASS_NAME: &'static CStr = c"lzf";
    const SET_LOCAL: Option<SetLocal> = Some(set_local);

    fn run(reverse: bool, cd: &[u32], input: &[u8]) -> Result<Output, FilterError> {
        if reverse {
            // h5py's decoder trusts cd_values[2] (the chunk size set_local recorded).
            let size = cd.get(2).copied().unwrap_or(0) as usize;
            if size == 0 {
                return Err(FilterError::decode(NAME, "no chunk size in cd_values"));
            }
            // SAFETY: decode_raw writes all `len` bytes or fails, and no more.
            unsafe {
                decode_c(NAME, size, input.len(), MAX_RATIO, |p, len| {
                    decode_raw(input, p, len)
                })
            }
        } else {
            // Declining (HDF5 stores the chunk raw) is a failure return for the callback.
            encode::<H5Buf>(input)?
                .map(Output::Hdf5)
                .ok_or_else(|| FilterError::encode(NAME, "does not shrink"))
        }
    }
}

/// h5py's `register_lzf` set_local: cd_values become (4, 261, chunk bytes), keeping any
/// non-zero value the user gave for the first two.
fn set_local(l: &Local) -> Option<Vec<u32>> {
    let mut values = l.values.clone();
    values.resize(values.len().max(3), 0);
    if values[0] == 0 {
        values[0] = H5PY_FILTER_VERSION;
    }
    if values[1] == 0 {
        values[1] = H5PY_LZF_VERSION;
    }
    values[2] = l.chunk_bytes() as u32;
    Some(values)
}

/// The output buffer is as long as the chunk and never zeroed: lzf_compress writes what it
/// returns.
fn encode<B: RawOut>(chunk: &[u8]) -> Result<Option<B>, FilterError> {
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

fn decode(stored: &[u8], out: &mut [u8]) -> Result<(), FilterError> {
    // SAFETY: `out` is valid for writes of its length.
    unsafe { decode_raw(stored, out.as_mut_ptr(), out.len()) }
}

/// Decode `stored` into the `len` bytes at `dest`, all of which are written when this returns
/// Ok (the decoded size must be exactly `len`).
///
/// # Safety
/// `dest` must be valid for writes of `len` bytes and not overlap `stored`.
unsafe fn decode_raw(stored: &[u8], dest: *mut u8, len: usize) -> Result<(), FilterError> {
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
