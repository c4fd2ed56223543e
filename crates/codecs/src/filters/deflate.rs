//! Deflate (HDF5 filter 1): what HDF5's H5Zdeflate.c does, one zlib `compress2` call into a
//! `compressBound`-sized buffer, so the output is always stored (even when larger than the input).
//!
//! The zlib is [`stemz_data::zlib`], the one HDF5's own filter calls too (its calls are
//! renamed to stemz's, see that module): the parallel engine runs the very code of the serial
//! engine's filter.

use std::ffi::{c_int, c_ulong};
use stemz_data::zlib::zlib;

use hdf5_sys::h5i::hid_t;
use stemz_record::catalogue::filter::{self, Filter};

use super::raw_out::RawOut;
use super::{Codec, FilterError, Geometry};

const NAME: &str = filter::DEFLATE.name;

/// Deflate at zlib `level` (0..=9): h5py's `compression="gzip", compression_opts=level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deflate {
    pub level: u32,
}

impl Codec for Deflate {
    fn user_cd_values(&self) -> Vec<u32> {
        vec![self.level]
    }

    /// `H5Pset_deflate`, HDF5's own setter (h5py's).
    fn apply(&self, dcpl: hid_t, f: Filter) -> Result<(), FilterError> {
        // SAFETY: `dcpl` is a live dataset-creation property list (the caller's contract).
        let status =
            hdf5::sync::sync(|| unsafe { hdf5_sys::h5p::H5Pset_deflate(dcpl, self.level) });
        super::added(f, status)
    }

    fn encode(&self, chunk: &[u8], _: Geometry) -> Result<Option<Vec<u8>>, FilterError> {
        encode(chunk, self.level).map(Some)
    }

    fn decode(&self, stored: &[u8], _: Geometry, out: &mut [u8]) -> Result<(), FilterError> {
        decode(stored, out)
    }
}

/// zlib's compressBound: the worst case of a single deflate call with the zlib wrapper.
fn compress_bound(n: usize) -> usize {
    n + (n >> 12) + (n >> 14) + (n >> 25) + 13
}

/// zlib's return codes used here.
const Z_OK: c_int = 0;
const Z_BUF_ERROR: c_int = -5;

/// The zlib that deflate runs: the system's version, or the compiled-in one's (the fallback)
/// marked as such.
pub(super) fn library_version() -> String {
    let z = zlib();
    if z.system {
        z.version.clone()
    } else {
        format!("{} (vendored)", z.version)
    }
}

/// The version of the zlib compiled into the binary (libz-sys, vendored and static): the one
/// c-blosc's zlib codec calls.
pub(super) fn vendored_version() -> String {
    stemz_data::zlib::compiled_in_version()
}

/// One-shot deflate with the zlib header, exactly `compress2(dst, &len, src, n, level)`:
/// what HDF5's H5Zdeflate.c calls.
pub(super) fn encode(chunk: &[u8], level: u32) -> Result<Vec<u8>, FilterError> {
    if level > 9 {
        return Err(FilterError::unsupported(
            NAME,
            format!("level {level} is outside zlib's 0..=9"),
        ));
    }
    let z = zlib();
    {
        let cap = compress_bound(chunk.len());
        let compress = |dst: *mut u8| {
            let mut len = cap as c_ulong;
            // SAFETY: `dst` has `cap` bytes of room (`written_by`), which `len` declares as the
            // destination size; zlib writes at most that many and reports in `len` how many it
            // wrote. `chunk` is valid for its length. `level` is in 0..=9 (checked above).
            let rc = unsafe {
                (z.compress2)(
                    dst,
                    &mut len,
                    chunk.as_ptr(),
                    chunk.len() as c_ulong,
                    level as c_int,
                )
            };
            if rc != Z_OK {
                return Err(FilterError::encode(
                    NAME,
                    format!(
                        "zlib compress2 returned {rc} for a {}-byte chunk",
                        chunk.len()
                    ),
                ));
            }
            Ok(Some(len as usize))
        };
        // SAFETY: `compress` writes at most `cap` bytes and reports the `len <= cap` it wrote.
        let out = unsafe { <Vec<u8> as RawOut>::written_by(cap, NAME, compress) }?;
        out.ok_or_else(|| FilterError::encode(NAME, "zlib produced no output"))
    }
}

pub(super) fn decode(stored: &[u8], out: &mut [u8]) -> Result<(), FilterError> {
    let z = zlib();
    {
        let mut len = out.len() as c_ulong;
        // SAFETY: `out` is valid for writes of `len` bytes, the destination size zlib is given;
        // `stored` is valid for its length.
        let rc = unsafe {
            (z.uncompress)(
                out.as_mut_ptr(),
                &mut len,
                stored.as_ptr(),
                stored.len() as c_ulong,
            )
        };
        match rc {
            Z_OK if len as usize == out.len() => Ok(()),
            Z_OK => Err(FilterError::decode(
                NAME,
                format!(
                    "the zlib stream gave {len} bytes where the chunk has {}",
                    out.len()
                ),
            )),
            Z_BUF_ERROR => Err(FilterError::decode(
                NAME,
                format!(
                    "the zlib stream gives more than the chunk's {} bytes, or is truncated",
                    out.len()
                ),
            )),
            rc => Err(FilterError::decode(
                NAME,
                format!("zlib uncompress returned {rc}: the stream is corrupt"),
            )),
        }
    }
}
