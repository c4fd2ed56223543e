//! The one zlib of stemz's deflate, for HDF5's filter 1 and for stemz's own encoder alike.
//!
//! It is the system's `libz.so.1`, loaded at run time, when there is one: the zlib the peer's
//! HDF5 (h5py's wheel) calls. The zlib compiled into the binary (libz-sys, vendored and static,
//! which c-blosc's build forces; the one c-blosc's zlib codec calls) writes the same bytes but
//! took 17–29 % more CPU for the same 4D_EELS frames at level 9 (4.22–4.59 s against
//! 3.55–3.62 s for 64 frames); it is the fallback where no `libz.so.1` can be loaded.
//!
//! HDF5 is compiled with its five zlib calls renamed (`.cargo/hdf5-zlib-names.h`); the
//! `stemz_zlib_*` functions below are those names, so the serial engine's filter and the
//! parallel engine's encoder run the same zlib.

use std::ffi::{c_char, c_int, c_ulong, c_void};
use std::sync::OnceLock;

/// zlib.h's `compress2(dest, &destLen, source, sourceLen, level)`.
pub type Compress2 =
    unsafe extern "C" fn(*mut u8, *mut c_ulong, *const u8, c_ulong, c_int) -> c_int;
/// zlib.h's `uncompress(dest, &destLen, source, sourceLen)`.
pub type Uncompress = unsafe extern "C" fn(*mut u8, *mut c_ulong, *const u8, c_ulong) -> c_int;
type CompressBound = unsafe extern "C" fn(c_ulong) -> c_ulong;
type InflateInit = unsafe extern "C" fn(*mut c_void, *const c_char, c_int) -> c_int;
type Inflate = unsafe extern "C" fn(*mut c_void, c_int) -> c_int;
type InflateEnd = unsafe extern "C" fn(*mut c_void) -> c_int;
type ZlibVersion = unsafe extern "C" fn() -> *const c_char;

/// The functions of one zlib.
pub struct Zlib {
    pub compress2: Compress2,
    pub uncompress: Uncompress,
    compress_bound: CompressBound,
    inflate_init: InflateInit,
    inflate: Inflate,
    inflate_end: InflateEnd,
    /// `zlibVersion()`.
    pub version: String,
    /// True for the system's `libz.so.1`, false for the compiled-in copy.
    pub system: bool,
}

// The compiled-in zlib (libz-sys's static library, linked wherever HDF5 is).
extern "C" {
    fn compress2(d: *mut u8, dl: *mut c_ulong, s: *const u8, sl: c_ulong, level: c_int) -> c_int;
    fn uncompress(d: *mut u8, dl: *mut c_ulong, s: *const u8, sl: c_ulong) -> c_int;
    #[link_name = "compressBound"]
    fn compress_bound(n: c_ulong) -> c_ulong;
    #[link_name = "inflateInit_"]
    fn inflate_init(strm: *mut c_void, version: *const c_char, size: c_int) -> c_int;
    fn inflate(strm: *mut c_void, flush: c_int) -> c_int;
    #[link_name = "inflateEnd"]
    fn inflate_end(strm: *mut c_void) -> c_int;
    #[link_name = "zlibVersion"]
    fn zlib_version() -> *const c_char;
}

/// The zlib in use, chosen once per process.
pub fn zlib() -> &'static Zlib {
    static ZLIB: OnceLock<Zlib> = OnceLock::new();
    ZLIB.get_or_init(|| system().unwrap_or_else(compiled_in))
}

/// The version of the zlib compiled into the binary, the one c-blosc's zlib codec calls.
pub fn compiled_in_version() -> String {
    // SAFETY: zlibVersion returns a pointer to a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(zlib_version()) }
        .to_string_lossy()
        .into_owned()
}

fn compiled_in() -> Zlib {
    Zlib {
        compress2,
        uncompress,
        compress_bound,
        inflate_init,
        inflate,
        inflate_end,
        version: compiled_in_version(),
        system: false,
    }
}

/// `libz.so.1` with every function above, or `None`.
fn system() -> Option<Zlib> {
    // SAFETY: the name is a NUL-terminated literal; loading zlib runs no initialisers with
    // preconditions. The handle is never closed, so the symbols stay valid for the process.
    let handle = unsafe { libc::dlopen(c"libz.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return None;
    }
    let sym = |name: &std::ffi::CStr| {
        // SAFETY: `handle` is the live handle above and `name` is NUL-terminated.
        let p = unsafe { libc::dlsym(handle, name.as_ptr()) };
        (!p.is_null()).then_some(p)
    };
    let (c, u, b) = (
        sym(c"compress2")?,
        sym(c"uncompress")?,
        sym(c"compressBound")?,
    );
    let (ii, i, ie, v) = (
        sym(c"inflateInit_")?,
        sym(c"inflate")?,
        sym(c"inflateEnd")?,
        sym(c"zlibVersion")?,
    );
    // SAFETY: the symbols are zlib's functions of these names, whose C signatures (zlib.h,
    // unchanged since zlib 1.0; `uLong`/`uLongf` are `unsigned long`, `z_streamp` a pointer)
    // are the pointer types here; `zlibVersion` returns a static NUL-terminated string.
    unsafe {
        use std::mem::transmute as t;
        let version = t::<*mut c_void, ZlibVersion>(v)();
        Some(Zlib {
            compress2: t::<*mut c_void, Compress2>(c),
            uncompress: t::<*mut c_void, Uncompress>(u),
            compress_bound: t::<*mut c_void, CompressBound>(b),
            inflate_init: t::<*mut c_void, InflateInit>(ii),
            inflate: t::<*mut c_void, Inflate>(i),
            inflate_end: t::<*mut c_void, InflateEnd>(ie),
            version: std::ffi::CStr::from_ptr(version)
                .to_string_lossy()
                .into_owned(),
            system: true,
        })
    }
}

// HDF5's deflate filter calls these (see the module doc). Each passes its arguments unchanged
// to the same function of [`zlib`]; a stream is initialised, inflated and ended by one zlib,
// since the choice is made once per process.

/// # Safety
/// As zlib's `compress2`.
#[no_mangle]
pub unsafe extern "C" fn stemz_zlib_compress2(
    dest: *mut u8,
    dest_len: *mut c_ulong,
    source: *const u8,
    source_len: c_ulong,
    level: c_int,
) -> c_int {
    // SAFETY: the caller's contract is compress2's.
    unsafe { (zlib().compress2)(dest, dest_len, source, source_len, level) }
}

/// # Safety
/// As zlib's `compressBound` (none: a pure function).
#[no_mangle]
pub unsafe extern "C" fn stemz_zlib_compressBound(source_len: c_ulong) -> c_ulong {
    // SAFETY: compressBound reads nothing but its argument.
    unsafe { (zlib().compress_bound)(source_len) }
}

/// # Safety
/// As zlib's `inflateInit_`.
#[no_mangle]
pub unsafe extern "C" fn stemz_zlib_inflateInit_(
    strm: *mut c_void,
    version: *const c_char,
    stream_size: c_int,
) -> c_int {
    // SAFETY: the caller's contract is inflateInit_'s; the z_stream layout is zlib.h's for
    // every zlib 1.x, which inflateInit_ checks through `version` and `stream_size`.
    unsafe { (zlib().inflate_init)(strm, version, stream_size) }
}

/// # Safety
/// As zlib's `inflate`.
#[no_mangle]
pub unsafe extern "C" fn stemz_zlib_inflate(strm: *mut c_void, flush: c_int) -> c_int {
    // SAFETY: the caller's contract is inflate's; `strm` was initialised by this same zlib.
    unsafe { (zlib().inflate)(strm, flush) }
}

/// # Safety
/// As zlib's `inflateEnd`.
#[no_mangle]
pub unsafe extern "C" fn stemz_zlib_inflateEnd(strm: *mut c_void) -> c_int {
    // SAFETY: the caller's contract is inflateEnd's; `strm` was initialised by this same zlib.
    unsafe { (zlib().inflate_end)(strm) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shims_round_trip_through_the_chosen_zlib() {
        let src: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        // SAFETY: buffers sized as compressBound / the source length say; lengths passed in.
        unsafe {
            let bound = stemz_zlib_compressBound(src.len() as c_ulong);
            let mut out = vec![0u8; bound as usize];
            let mut len = bound;
            assert_eq!(
                stemz_zlib_compress2(out.as_mut_ptr(), &mut len, src.as_ptr(), src.len() as _, 6),
                0
            );
            let mut back = vec![0u8; src.len()];
            let mut back_len = back.len() as c_ulong;
            assert_eq!(
                (zlib().uncompress)(back.as_mut_ptr(), &mut back_len, out.as_ptr(), len),
                0
            );
            assert_eq!(back, src);
        }
        assert!(zlib().version.starts_with("1."), "{}", zlib().version);
    }
}
