//! Blosc (HDF5 filter 32001), as hdf5-blosc's `blosc_filter.c` compresses: one
//! `blosc_compress` of the whole chunk into a buffer exactly as long as the chunk (so a chunk
//! that does not shrink is declined and HDF5 stores it raw), blocksize automatic, one thread.
//!
//! We call `blosc_compress_ctx`, c-blosc's lock-free twin of `blosc_compress`: same code path
//! (compressor, automatic blocksize, split mode), but no global compressor state, so many
//! threads can compress at once.

use std::ffi::{CStr, CString};
use std::os::raw::c_int;

use stemz_record::catalogue::filter::{self, Filter};

use super::h5z::{self, decode_c, H5Buf, Local, Output, Plugin, SetLocal};
use super::raw_out::RawOut;
use super::{BloscCompressor, Codec, FilterError, Geometry, Shuffle};

const NAME: &str = filter::BLOSC.name;

/// hdf5-blosc with `compressor` at `clevel` (0..=9) after `shuffle`: hdf5plugin's
/// `Blosc(cname, clevel, shuffle)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blosc {
    pub compressor: BloscCompressor,
    pub clevel: u8,
    pub shuffle: Shuffle,
}

impl Codec for Blosc {
    /// hdf5plugin's filter_options (0, 0, 0, 0, clevel, shuffle, compressor).
    fn user_cd_values(&self) -> Vec<u32> {
        vec![
            0,
            0,
            0,
            0,
            u32::from(self.clevel),
            self.shuffle.code(),
            self.compressor.code(),
        ]
    }

    fn stored_cd_values(&self, g: Geometry) -> Option<Vec<u32>> {
        h5z::stored::<Blosc>(self.user_cd_values(), g)
    }

    fn encode(&self, chunk: &[u8], g: Geometry) -> Result<Option<Vec<u8>>, FilterError> {
        encode(
            chunk,
            g.typesize,
            self.compressor,
            self.clevel,
            self.shuffle,
        )
    }

    fn decode(&self, stored: &[u8], _: Geometry, out: &mut [u8]) -> Result<(), FilterError> {
        decode(stored, out)
    }
}

impl Plugin for Blosc {
    const FILTER: Filter = filter::BLOSC;
    const CLASS_NAME: &'static CStr = c"blosc";
    const SET_LOCAL: Option<SetLocal> = Some(set_local);

    fn run(reverse: bool, cd: &[u32], input: &[u8]) -> Result<Output, FilterError> {
        if reverse {
            let nbytes = decoded_len(input)?;
            // Every Blosc codec expands less than zstd's RLE blocks do.
            // SAFETY: decode_raw writes all `len` bytes or fails, and no more.
            return unsafe {
                decode_c(
                    NAME,
                    nbytes,
                    input.len(),
                    super::zstd::MAX_RATIO,
                    |p, len| decode_raw(input, p, len),
                )
            };
        }
        // hdf5-blosc's defaults when the optional cd_values are absent.
        let typesize = cd.get(2).copied().unwrap_or(0) as usize;
        if typesize == 0 {
            return Err(FilterError::unsupported(NAME, "typesize 0 in cd_values"));
        }
        let clevel = cd.get(4).copied().unwrap_or(5);
        let shuffle = Shuffle::from_code(NAME, cd.get(5).copied().unwrap_or(1))?;
        let compressor = BloscCompressor::from_code(NAME, cd.get(6).copied().unwrap_or(0))?;
        let clevel = u8::try_from(clevel)
            .map_err(|_| FilterError::unsupported(NAME, format!("clevel {clevel}")))?;
        // Declining (HDF5 stores the chunk raw) is a failure return for the callback.
        encode::<H5Buf>(input, typesize, compressor, clevel, shuffle)?
            .map(Output::Hdf5)
            .ok_or_else(|| FilterError::encode(NAME, "does not shrink"))
    }
}

/// hdf5-blosc's `blosc_set_local`: cd_values become (2, BLOSC_VERSION_FORMAT, typesize, chunk
/// bytes, user values from the fifth on), at least four of them; the typesize is the array
/// base type's, 1 when wider than Blosc shuffles.
fn set_local(l: &Local) -> Option<Vec<u32>> {
    let mut values = l.values.clone();
    values.resize(values.len().max(4), 0);
    values[0] = FILTER_VERSION;
    values[1] = VERSION_FORMAT;
    values[2] = effective_typesize(l.base_size) as u32;
    values[3] = l
        .chunk
        .iter()
        .fold(l.typesize as u64, |acc, &d| acc.saturating_mul(d)) as u32;
    Some(values)
}

/// hdf5-blosc's FILTER_BLOSC_VERSION, stored as cd_values[0].
const FILTER_VERSION: u32 = 2;
/// BLOSC_VERSION_FORMAT of c-blosc 1.x, stored as cd_values[1].
const VERSION_FORMAT: u32 = blosc_src::BLOSC_VERSION_FORMAT;

/// hdf5-blosc's set_local stores typesize 1 when the type is wider than Blosc can shuffle.
fn effective_typesize(typesize: usize) -> usize {
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

/// One `blosc_compress_ctx` on one thread, as hdf5-blosc's filter runs. Never on more: c-blosc
/// 1.x's threads place each compressed block where the output stands when the block is done
/// (`t_blosc_do_job`), so with two threads the blocks' order, and the chunk's bytes, change
/// from run to run. The output buffer is as long as the chunk, as hdf5-blosc's, and is never
/// zeroed: c-blosc writes what it returns.
fn encode<B: RawOut>(
    chunk: &[u8],
    typesize: usize,
    compressor: BloscCompressor,
    clevel: u8,
    shuffle: Shuffle,
) -> Result<Option<B>, FilterError> {
    if clevel > 9 {
        return Err(FilterError::unsupported(
            NAME,
            format!("clevel {clevel} is outside 0..=9"),
        ));
    }
    let cname =
        CString::new(compressor.name()).map_err(|e| FilterError::encode(NAME, e.to_string()))?;
    let compress = |dest: *mut u8| {
        // SAFETY: src is valid for nbytes bytes, dest (from `written_by`) for destsize =
        // chunk.len() bytes, and they do not overlap; the compressor name is NUL-terminated
        // and outlives the call. c-blosc never writes more than destsize bytes.
        let status = unsafe {
            blosc_src::blosc_compress_ctx(
                c_int::from(clevel),
                shuffle.code() as c_int,
                effective_typesize(typesize),
                chunk.len(),
                chunk.as_ptr().cast(),
                dest.cast(),
                chunk.len(),
                cname.as_ptr(),
                0,
                1,
            )
        };
        match status {
            0 => Ok(None),
            n if n > 0 => Ok(Some(n as usize)),
            n => Err(FilterError::encode(
                NAME,
                format!(
                    "blosc_compress_ctx({}) returned error {n} (compressor not built in?)",
                    compressor.name()
                ),
            )),
        }
    };
    // SAFETY: a positive return of blosc_compress_ctx is the number of bytes it wrote at the
    // start of dest, at most destsize (the capacity).
    unsafe { B::written_by(chunk.len(), NAME, compress) }
}

/// The decoded size a Blosc chunk's header states, once `blosc_cbuffer_validate` has checked
/// the header against the stored length.
fn decoded_len(stored: &[u8]) -> Result<usize, FilterError> {
    let mut nbytes = 0usize;
    // SAFETY: validate reads at most `stored.len()` bytes of the header.
    let valid = unsafe {
        blosc_src::blosc_cbuffer_validate(stored.as_ptr().cast(), stored.len(), &mut nbytes)
    };
    if valid < 0 {
        return Err(FilterError::decode(NAME, "not a valid Blosc buffer"));
    }
    Ok(nbytes)
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
    let nbytes = decoded_len(stored)?;
    if nbytes != len {
        return Err(FilterError::decode(
            NAME,
            format!("the Blosc header says {nbytes} bytes, the chunk has {len}"),
        ));
    }
    // SAFETY: the header was validated against the source length; dest holds destsize = len
    // bytes (the caller's contract).
    let n = unsafe { blosc_src::blosc_decompress_ctx(stored.as_ptr().cast(), dest.cast(), len, 1) };
    if n < 0 || n as usize != len {
        return Err(FilterError::decode(
            NAME,
            format!("blosc_decompress_ctx returned {n} for a {len}-byte chunk"),
        ));
    }
    Ok(())
}
