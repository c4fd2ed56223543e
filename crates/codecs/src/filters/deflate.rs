//! Deflate (HDF5 filter 1): what HDF5's H5Zdeflate.c does, one zlib `compress2` call into a
//! `compressBound`-sized buffer, so the output is always stored (even when larger than the input).
//!
//! The zlib is the one HDF5 itself calls, the system's `libz.so.1`, looked up at run time: the
//! parallel engine then runs the very code of the serial engine's filter. The zlib compiled into
//! the binary (flate2 → libz-sys, vendored 1.3.2, which blosc-src's `static` feature forces)
//! writes the same bytes but took 17–29 % more CPU for the same 4D_EELS frames at level 9
//! (4.22–4.59 s against 3.55–3.62 s for 64 frames) and capped parallel gzip at ~1.7× the serial
//! engine on 2 cores. It stays the fallback where no `libz.so.1` can be loaded.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use std::ffi::{c_int, c_ulong, c_void};
use std::sync::OnceLock;

use super::raw_out::RawOut;
use super::FilterError;

const NAME: &str = "deflate";

/// zlib's compressBound: the worst case of a single deflate call with the zlib wrapper.
fn compress_bound(n: usize) -> usize {
    n + (n >> 12) + (n >> 14) + (n >> 25) + 13
}

/// zlib.h's `compress2(dest, &destLen, source, sourceLen, level)`.
type Compress2 = unsafe extern "C" fn(*mut u8, *mut c_ulong, *const u8, c_ulong, c_int) -> c_int;
/// zlib.h's `uncompress(dest, &destLen, source, sourceLen)`.
type Uncompress = unsafe extern "C" fn(*mut u8, *mut c_ulong, *const u8, c_ulong) -> c_int;
/// zlib.h's `zlibVersion()`.
type ZlibVersion = unsafe extern "C" fn() -> *const std::ffi::c_char;

/// `compress2` and `uncompress` of the system zlib, and its `zlibVersion()`.
struct SystemZlib {
    compress2: Compress2,
    uncompress: Uncompress,
    version: String,
}

/// zlib's return codes used here.
const Z_OK: c_int = 0;
const Z_BUF_ERROR: c_int = -5;

/// The system zlib, loaded once; `None` where `libz.so.1` or its symbols are missing.
fn system_zlib() -> Option<&'static SystemZlib> {
    static ZLIB: OnceLock<Option<SystemZlib>> = OnceLock::new();
    ZLIB.get_or_init(|| {
        // SAFETY: the name is a NUL-terminated literal; loading zlib runs no initialisers with
        // preconditions. The handle is never closed, so the symbols stay valid for the process.
        let handle = unsafe { libc::dlopen(c"libz.so.1".as_ptr(), libc::RTLD_NOW) };
        if handle.is_null() {
            return None;
        }
        // SAFETY: `handle` is the live handle above and the names are NUL-terminated literals.
        let (c, u, v) = unsafe {
            (
                libc::dlsym(handle, c"compress2".as_ptr()),
                libc::dlsym(handle, c"uncompress".as_ptr()),
                libc::dlsym(handle, c"zlibVersion".as_ptr()),
            )
        };
        if c.is_null() || u.is_null() || v.is_null() {
            return None;
        }
        // SAFETY: the symbols are zlib's `compress2`, `uncompress` and `zlibVersion`, whose C
        // signatures (zlib.h, unchanged since zlib 1.0, `uLongf` = `unsigned long`) are the
        // pointer types here; `zlibVersion` returns a static NUL-terminated string.
        Some(unsafe {
            let version = std::mem::transmute::<*mut c_void, ZlibVersion>(v)();
            SystemZlib {
                compress2: std::mem::transmute::<*mut c_void, Compress2>(c),
                uncompress: std::mem::transmute::<*mut c_void, Uncompress>(u),
                version: std::ffi::CStr::from_ptr(version)
                    .to_string_lossy()
                    .into_owned(),
            }
        })
    })
    .as_ref()
}

/// The zlib that deflate runs: the system's version, or the vendored one's (the fallback)
/// marked as such.
pub(super) fn library_version() -> String {
    match system_zlib() {
        Some(z) => z.version.clone(),
        None => format!("{} (vendored)", vendored_version()),
    }
}

/// The version of the zlib compiled into the binary (libz-sys, vendored and static): the one
/// c-blosc's zlib codec and flate2 call.
pub(super) fn vendored_version() -> String {
    extern "C" {
        fn zlibVersion() -> *const std::ffi::c_char;
    }
    // SAFETY: zlibVersion returns a pointer to a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(zlibVersion()) }
        .to_string_lossy()
        .into_owned()
}

/// One-shot deflate with the zlib header, exactly `compress2(dst, &len, src, n, level)`:
/// flate2's `zlib` backend calls the same libz with windowBits 15, memLevel 8, default strategy.
pub(super) fn encode(chunk: &[u8], level: u32) -> Result<Vec<u8>, FilterError> {
    if level > 9 {
        return Err(FilterError::unsupported(
            NAME,
            format!("level {level} is outside zlib's 0..=9"),
        ));
    }
    if let Some(z) = system_zlib() {
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
        return out.ok_or_else(|| FilterError::encode(NAME, "zlib produced no output"));
    }
    let mut z = Compress::new(Compression::new(level), true);
    let mut out = Vec::with_capacity(compress_bound(chunk.len()));
    match z.compress_vec(chunk, &mut out, FlushCompress::Finish) {
        Ok(Status::StreamEnd) => Ok(out),
        Ok(status) => Err(FilterError::encode(
            NAME,
            format!(
                "zlib stopped with {status:?} before the end of a {}-byte chunk",
                chunk.len()
            ),
        )),
        Err(e) => Err(FilterError::encode(NAME, e.to_string())),
    }
}

pub(super) fn decode(stored: &[u8], out: &mut [u8]) -> Result<(), FilterError> {
    if let Some(z) = system_zlib() {
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
        return match rc {
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
        };
    }
    let mut z = Decompress::new(true);
    match z.decompress(stored, out, FlushDecompress::Finish) {
        Ok(Status::StreamEnd) if z.total_out() as usize == out.len() => Ok(()),
        Ok(_) => Err(FilterError::decode(
            NAME,
            format!(
                "the zlib stream gave {} bytes (or more) where the chunk has {}",
                z.total_out(),
                out.len()
            ),
        )),
        Err(e) => Err(FilterError::decode(NAME, e.to_string())),
    }
}
