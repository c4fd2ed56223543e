//! Registration of the Rust-implemented filters 32004 (LZ4), 32008 (Bitshuffle), 32015
//! (Zstd), 32026 (Blosc2, Rust glue over c-blosc2) and 32001 (Blosc, see below) with libhdf5, so HDF5's own pipeline (h5py-style writes, reading any file) uses the
//! very codecs of this module.
//!
//! 32000 (LZF) is registered here too, replacing hdf5-metno's class: its set_local stores
//! lzf-sys's LZF_VERSION 262 where h5py stores 261, and files should record what h5py records.
//! Its codec is the same liblzf call either way.
//!
//! 32001 (Blosc) is registered here too, replacing hdf5-metno's class, whose decoder trusts the
//! chunk's header (`blosc_cbuffer_sizes` and `blosc_decompress` without the source length):
//! ours checks the buffer with `blosc_cbuffer_validate` and the decoded size against the
//! dataset's chunk first. Its set_local and encoder are hdf5-blosc's, so files are unchanged.
//!
//! The callbacks follow HDF5's H5Z contract: on success the input buffer is released and
//! replaced by one from `H5allocate_memory`, `*buf_size` is its size and the return value the
//! number of valid bytes; on failure they return 0 and leave the buffer alone. They never let
//! a panic unwind into C.

use std::os::raw::{c_uint, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::OnceLock;

use hdf5_sys::h5::{H5allocate_memory, H5free_memory};
use hdf5_sys::h5i::hid_t;
use hdf5_sys::h5p::{H5Pget_chunk, H5Pget_filter_by_id2, H5Pmodify_filter};
use hdf5_sys::h5t::{H5T_class_t, H5Tclose, H5Tget_class, H5Tget_size, H5Tget_super};
use hdf5_sys::h5z::{H5Z_class2_t, H5Z_filter_t, H5Zregister, H5Z_CLASS_T_VERS, H5Z_FLAG_REVERSE};

use super::raw_out::RawOut;
use super::{
    bitshuffle_h5, blosc2, lz4, zstd, BitshuffleCodec, BloscCompressor, FilterError, Shuffle,
};
use super::{blosc, lzf, BITSHUFFLE_ID, BLOSC2_ID, BLOSC_ID, LZ4_ID, LZF_ID, ZSTD_ID};
use stemz_data::chunk_guard;

const LZ4_NAME: &[u8] = b"HDF5 lz4 filter (stemz)\0";
const BSHUF_NAME: &[u8] = b"bitshuffle (stemz)\0";
const ZSTD_NAME: &[u8] = b"HDF5 zstd filter (stemz)\0";
const LZF_NAME: &[u8] = b"lzf\0";
const BLOSC2_NAME: &[u8] = b"blosc2 (stemz)\0";
const BLOSC_NAME: &[u8] = b"blosc\0";

/// zstd's ZSTD_CLEVEL_DEFAULT, used by the plugin when no level is given.
const ZSTD_DEFAULT_LEVEL: i32 = 3;

static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();

/// Register the filters once per process.
pub(super) fn register() -> Result<(), FilterError> {
    REGISTERED
        .get_or_init(|| {
            hdf5::sync::sync(|| {
                let classes = [
                    (LZ4_ID, LZ4_NAME, None, filter::<Lz4> as FilterFn),
                    (
                        BITSHUFFLE_ID,
                        BSHUF_NAME,
                        Some(set_local_bitshuffle as SetLocalFn),
                        filter::<Bitshuffle>,
                    ),
                    (ZSTD_ID, ZSTD_NAME, None, filter::<Zstd>),
                    (
                        LZF_ID,
                        LZF_NAME,
                        Some(set_local_lzf as SetLocalFn),
                        filter::<Lzf>,
                    ),
                    (
                        BLOSC2_ID,
                        BLOSC2_NAME,
                        Some(set_local_blosc2 as SetLocalFn),
                        filter::<Blosc2>,
                    ),
                    (
                        BLOSC_ID,
                        BLOSC_NAME,
                        Some(set_local_blosc as SetLocalFn),
                        filter::<Blosc>,
                    ),
                ];
                for (id, name, set_local, callback) in classes {
                    let class = H5Z_class2_t {
                        version: H5Z_CLASS_T_VERS as _,
                        id: id as H5Z_filter_t,
                        encoder_present: 1,
                        decoder_present: 1,
                        name: name.as_ptr().cast(),
                        can_apply: None,
                        set_local,
                        filter: Some(callback),
                    };
                    // SAFETY: HDF5 copies the class; the name is a static C string.
                    let r = unsafe { H5Zregister(ptr::from_ref(&class).cast()) };
                    if r < 0 {
                        return Err(format!("H5Zregister({id}) failed"));
                    }
                }
                Ok(())
            })
        })
        .clone()
        .map_err(|message| FilterError::hdf5("register", message))
}

type FilterFn = unsafe extern "C" fn(
    c_uint,
    usize,
    *const c_uint,
    usize,
    *mut usize,
    *mut *mut c_void,
) -> usize;
type SetLocalFn = extern "C" fn(hid_t, hid_t, hid_t) -> i32;
/// [`Body::body`] as a function pointer: (reverse, cd_values, input) → output.
type BodyFn = fn(bool, &[u32], &[u8]) -> Result<Output, FilterError>;

/// One filter's work, (reverse, cd_values, input) → output, behind the one HDF5 callback
/// [`filter`].
trait Body {
    fn body(reverse: bool, cd: &[u32], input: &[u8]) -> Result<Output, FilterError>;
}

/// A filter's output: bytes in Rust's memory (copied into HDF5's), or bytes already in HDF5's
/// (handed over as they are: a decoded chunk, or what a C codec encoded there).
enum Output {
    Owned(Vec<u8>),
    Hdf5(H5Buf),
}

impl From<Vec<u8>> for Output {
    fn from(v: Vec<u8>) -> Self {
        Output::Owned(v)
    }
}

/// Initialised bytes from `H5allocate_memory`, the memory a filter callback must hand back
/// (zeroed for a chunk to decode into, written by a C codec through [`RawOut`], or a copy of
/// encoded bytes), so a chunk is decoded where HDF5 will read it: no copy, no second
/// allocation. (A decoded chunk is as large as the chunk; copying it cost a whole pass over the
/// data on every serial read, 0.55–0.79× the peer on 128 MiB chunks at stop 19.)
pub(super) struct H5Buf {
    ptr: ptr::NonNull<u8>,
    len: usize,
}

impl H5Buf {
    /// `len` zeroed bytes (`H5allocate_memory` with `clear`, i.e. `calloc`: fresh pages cost no
    /// memset); `None` when the allocation fails.
    fn zeroed(len: usize) -> Option<Self> {
        // SAFETY: plain allocation; at least one byte, as HDF5 rejects 0.
        let p = unsafe { H5allocate_memory(len.max(1), 1) };
        ptr::NonNull::new(p.cast::<u8>()).map(|ptr| H5Buf { ptr, len })
    }

    /// A copy of `bytes` in HDF5's memory; `None` when the allocation fails.
    fn copy_of(bytes: &[u8]) -> Option<Self> {
        // SAFETY: plain allocation, uninitialised, of at least one byte (HDF5 rejects 0).
        let p = unsafe { H5allocate_memory(bytes.len().max(1), 0) };
        let ptr = ptr::NonNull::new(p.cast::<u8>())?;
        // SAFETY: `ptr` holds at least `bytes.len()` writable bytes, freshly allocated, so it
        // cannot overlap `bytes`; after the copy all `len` bytes are initialised.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), ptr.as_ptr(), bytes.len()) };
        Some(H5Buf {
            ptr,
            len: bytes.len(),
        })
    }

    /// The buffer for HDF5 to own from now on: its pointer and its allocated size.
    fn into_raw(self) -> (*mut c_void, usize) {
        let raw = (self.ptr.as_ptr().cast::<c_void>(), self.len.max(1));
        std::mem::forget(self);
        raw
    }
}

impl RawOut for H5Buf {
    unsafe fn written_by(
        capacity: usize,
        filter: &'static str,
        write: impl FnOnce(*mut u8) -> Result<Option<usize>, FilterError>,
    ) -> Result<Option<Self>, FilterError> {
        // SAFETY: plain allocation, uninitialised, of at least one byte (HDF5 rejects 0).
        let p = unsafe { H5allocate_memory(capacity.max(1), 0) };
        let ptr = ptr::NonNull::new(p.cast::<u8>()).ok_or(FilterError::Alloc {
            filter,
            bytes: capacity,
        })?;
        // Owned from here: dropped (freed) unless `write` succeeds. Its length stays 0, so
        // nothing uninitialised is ever viewed.
        let mut buf = H5Buf { ptr, len: 0 };
        let Some(n) = write(ptr.as_ptr())? else {
            return Ok(None);
        };
        assert!(
            n <= capacity,
            "{filter}: codec reported {n} of {capacity} bytes"
        );
        // The caller's contract: `write` initialised the first `n` bytes.
        buf.len = n;
        Ok(Some(buf))
    }
}

impl std::ops::Deref for H5Buf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` holds `len` initialised (zeroed, then written) bytes this value owns.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for H5Buf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `deref`, and `&mut self` makes the borrow exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for H5Buf {
    fn drop(&mut self) {
        // SAFETY: allocated by `H5allocate_memory` and not handed to HDF5 (`into_raw` forgets).
        unsafe { H5free_memory(self.ptr.as_ptr().cast()) };
    }
}

/// The H5Z filter callback of every filter registered here, over its [`Body`].
///
/// # Safety
/// Called by HDF5 only, with the arguments of an H5Z filter callback.
unsafe extern "C" fn filter<B: Body>(
    flags: c_uint,
    cd_nelmts: usize,
    cd_values: *const c_uint,
    nbytes: usize,
    buf_size: *mut usize,
    buf: *mut *mut c_void,
) -> usize {
    // SAFETY: the arguments are HDF5's, passed through unchanged.
    unsafe { run(flags, cd_nelmts, cd_values, nbytes, buf_size, buf, B::body) }
}

/// Shared body of the filter callbacks: view HDF5's buffer, run `f`, hand its output to HDF5
/// (a decoded chunk as it is, encoded bytes copied into HDF5's memory). Any error or panic
/// becomes HDF5's failure value 0.
///
/// # Safety
/// The arguments must be those HDF5 passes to an H5Z filter callback.
unsafe fn run(
    flags: c_uint,
    cd_nelmts: usize,
    cd_values: *const c_uint,
    nbytes: usize,
    buf_size: *mut usize,
    buf: *mut *mut c_void,
    f: BodyFn,
) -> usize {
    if buf.is_null() || buf_size.is_null() || (*buf).is_null() {
        return 0;
    }
    let cd: &[u32] = if cd_values.is_null() || cd_nelmts == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(cd_values, cd_nelmts)
    };
    let input = std::slice::from_raw_parts((*buf).cast::<u8>().cast_const(), nbytes);
    let reverse = flags & H5Z_FLAG_REVERSE != 0;
    let output = match catch_unwind(AssertUnwindSafe(|| f(reverse, cd, input))) {
        Ok(Ok(Output::Hdf5(decoded))) => decoded,
        Ok(Ok(Output::Owned(bytes))) => match H5Buf::copy_of(&bytes) {
            Some(copy) => copy,
            None => {
                chunk_guard::record_failure(format!("cannot allocate {} bytes", bytes.len()));
                return 0;
            }
        },
        Ok(Err(e)) => {
            // HDF5 only sees 0; the reader that called H5Dread reports this reason.
            chunk_guard::record_failure(e.to_string());
            return 0;
        }
        Err(_) => {
            chunk_guard::record_failure("filter panicked".into());
            return 0;
        }
    };
    let valid = output.len();
    let (new, size) = output.into_raw();
    H5free_memory(*buf);
    *buf = new;
    *buf_size = size;
    valid
}

/// The output buffer for a chunk whose header claims `claimed` decoded bytes, refused before
/// anything is allocated when the claim is implausible ([`checked_decoded_len`]); allocated
/// fallibly, so a claim that passes the checks but does not fit in memory is an error too,
/// never an abort. It is HDF5's memory, zeroed, handed to HDF5 as the callback's output.
pub(super) fn decode_buffer(
    filter: &'static str,
    claimed: usize,
    stored: usize,
    max_ratio: usize,
) -> Result<H5Buf, FilterError> {
    let len = checked_decoded_len(filter, claimed, stored, max_ratio)?;
    H5Buf::zeroed(len).ok_or_else(|| {
        FilterError::decode(
            filter,
            format!("cannot allocate {len} bytes for the decoded chunk"),
        )
    })
}

/// `claimed` (the decoded size a chunk's header states), refused when it exceeds what a chunk
/// of the dataset being read holds ([`chunk_guard::chunk_limit`]) or what `stored` bytes can
/// expand to at the codec's largest possible ratio (`max_ratio`, plus one block of slack).
fn checked_decoded_len(
    filter: &'static str,
    claimed: usize,
    stored: usize,
    max_ratio: usize,
) -> Result<usize, FilterError> {
    let limit = chunk_guard::chunk_limit();
    if claimed > limit {
        return Err(FilterError::decode(
            filter,
            format!(
                "the header claims {claimed} decoded bytes, more than a chunk of this dataset \
                 holds ({limit})"
            ),
        ));
    }
    let reachable = stored.saturating_mul(max_ratio).saturating_add(1 << 17);
    if claimed > reachable {
        return Err(FilterError::decode(
            filter,
            format!(
                "the header claims {claimed} decoded bytes, more than {stored} stored bytes can \
                 hold"
            ),
        ));
    }
    Ok(claimed)
}

/// Decode with a C codec (`decode_raw`: fills all `len` bytes at the pointer or fails) into
/// uninitialised HDF5 memory, after the checks of [`checked_decoded_len`]: no zeroing pass
/// before the codec writes every byte anyway.
///
/// # Safety
/// `decode_raw(p, len)` must return Ok only after writing all `len` bytes at `p`, and never
/// write more.
unsafe fn decode_c(
    filter: &'static str,
    claimed: usize,
    stored: usize,
    max_ratio: usize,
    decode_raw: impl FnOnce(*mut u8, usize) -> Result<(), FilterError>,
) -> Result<Output, FilterError> {
    let len = checked_decoded_len(filter, claimed, stored, max_ratio)?;
    let write = |p: *mut u8| decode_raw(p, len).map(|()| Some(len));
    // SAFETY: the caller's contract on `decode_raw`: on Ok all `len` bytes are written.
    unsafe { H5Buf::written_by(len, filter, write) }?
        .map(Output::Hdf5)
        .ok_or_else(|| FilterError::decode(filter, "the decoder wrote nothing"))
}

/// LZ4's largest expansion: a match length grows by 255 per extra length byte.
const LZ4_MAX_RATIO: usize = 256;
/// zstd's largest expansion: an RLE block of 4 bytes stands for up to 128 KiB.
const ZSTD_MAX_RATIO: usize = 1 << 15;

struct Lz4;

impl Body for Lz4 {
    fn body(reverse: bool, cd: &[u32], input: &[u8]) -> Result<Output, FilterError> {
        if reverse {
            let mut out =
                decode_buffer("lz4", lz4::decoded_len(input)?, input.len(), LZ4_MAX_RATIO)?;
            lz4::decode(input, &mut out)?;
            Ok(Output::Hdf5(out))
        } else {
            lz4::encode::<H5Buf>(input, cd.first().copied().unwrap_or(0)).map(Output::Hdf5)
        }
    }
}

struct Lzf;

impl Body for Lzf {
    fn body(reverse: bool, cd: &[u32], input: &[u8]) -> Result<Output, FilterError> {
        if reverse {
            // h5py's decoder trusts cd_values[2] (the chunk size set_local recorded).
            let size = cd.get(2).copied().unwrap_or(0) as usize;
            if size == 0 {
                return Err(FilterError::decode("lzf", "no chunk size in cd_values"));
            }
            // LZF expands at most about 1:264 (a back reference of up to 264 bytes in 2–3 bytes).
            // SAFETY: lzf::decode_raw writes all `len` bytes or fails, and no more.
            unsafe {
                decode_c("lzf", size, input.len(), 264, |p, len| {
                    lzf::decode_raw(input, p, len)
                })
            }
        } else {
            // Declining (HDF5 stores the chunk raw) is a failure return for the callback.
            lzf::encode::<H5Buf>(input)?
                .map(Output::Hdf5)
                .ok_or_else(|| FilterError::encode("lzf", "does not shrink"))
        }
    }
}

struct Zstd;

impl Body for Zstd {
    fn body(reverse: bool, cd: &[u32], input: &[u8]) -> Result<Output, FilterError> {
        if reverse {
            let mut out = decode_buffer(
                "zstd",
                zstd::decoded_len(input)?,
                input.len(),
                ZSTD_MAX_RATIO,
            )?;
            zstd::decode(input, &mut out)?;
            Ok(Output::Hdf5(out))
        } else {
            let level = cd.first().map(|&v| v as i32).unwrap_or(ZSTD_DEFAULT_LEVEL);
            zstd::encode(input, level).map(Output::from)
        }
    }
}

struct Bitshuffle;

impl Body for Bitshuffle {
    fn body(reverse: bool, cd: &[u32], input: &[u8]) -> Result<Output, FilterError> {
        let (Some(&elem_size), block) = (cd.get(2), cd.get(3).copied().unwrap_or(0)) else {
            return Err(FilterError::unsupported(
                "bitshuffle",
                "fewer than 3 cd_values",
            ));
        };
        let elem_size = elem_size as usize;
        if elem_size == 0 {
            return Err(FilterError::unsupported("bitshuffle", "element size 0"));
        }
        let codec = match cd.get(4).copied().unwrap_or(0) {
            0 => {
                return bitshuffle_h5::shuffle_only(input, elem_size, block as usize, reverse)
                    .map(Output::from)
            }
            2 => BitshuffleCodec::Lz4,
            3 => BitshuffleCodec::Zstd {
                level: cd.get(5).map(|&v| v as i32).unwrap_or(ZSTD_DEFAULT_LEVEL),
            },
            other => {
                return Err(FilterError::unsupported(
                    "bitshuffle",
                    format!("compressor code {other}"),
                ))
            }
        };
        if reverse {
            let ratio = match codec {
                BitshuffleCodec::Lz4 => LZ4_MAX_RATIO,
                BitshuffleCodec::Zstd { .. } => ZSTD_MAX_RATIO,
            };
            let mut out = decode_buffer(
                "bitshuffle",
                bitshuffle_h5::decoded_len(input)?,
                input.len(),
                ratio,
            )?;
            if out.len() % elem_size != 0 {
                return Err(FilterError::decode(
                    "bitshuffle",
                    "non-integer number of elements",
                ));
            }
            bitshuffle_h5::decode(input, elem_size, codec, &mut out)?;
            Ok(Output::Hdf5(out))
        } else {
            if input.len() % elem_size != 0 {
                return Err(FilterError::unsupported(
                    "bitshuffle",
                    "non-integer number of elements",
                ));
            }
            bitshuffle_h5::encode(input, elem_size, block, codec).map(Output::from)
        }
    }
}

/// hdf5-blosc2's defaults for cd_values the user left out: clevel 5, byte shuffle, blosclz.
const BLOSC2_DEFAULT_CLEVEL: u32 = 5;
const BLOSC2_DEFAULT_SHUFFLE: u32 = 1;
const BLOSC2_DEFAULT_COMPCODE: u32 = 0;

struct Blosc2;

impl Body for Blosc2 {
    fn body(reverse: bool, cd: &[u32], input: &[u8]) -> Result<Output, FilterError> {
        if cd.len() < 4 {
            return Err(FilterError::unsupported("blosc2", "fewer than 4 cd_values"));
        }
        if reverse {
            let mut out = decode_buffer(
                "blosc2",
                blosc2::decoded_len(input)?,
                input.len(),
                ZSTD_MAX_RATIO,
            )?;
            blosc2::decode(input, &mut out)?;
            return Ok(Output::Hdf5(out));
        }
        let (blocksize, typesize) = (cd[1], cd[2] as usize);
        // The chunk shape, for B2ND, is what set_local recorded after the rank in slot 7.
        let shape: Vec<usize> = match cd.get(7) {
            Some(&rank) => {
                let rank = rank as usize;
                if !blosc2::is_b2nd_rank(rank) || cd.len() < 8 + rank {
                    return Err(FilterError::unsupported(
                        "blosc2",
                        format!("chunk rank {rank} with {} cd_values", cd.len()),
                    ));
                }
                cd[8..8 + rank].iter().map(|&d| d as usize).collect()
            }
            None => vec![input.len() / typesize.max(1)],
        };
        if cd.len() < 6 {
            return Err(FilterError::unsupported(
                "blosc2",
                "fewer than 6 cd_values for compression",
            ));
        }
        let compressor = match cd.get(6).copied().unwrap_or(BLOSC2_DEFAULT_COMPCODE) {
            0 => BloscCompressor::BloscLz,
            1 => BloscCompressor::Lz4,
            2 => BloscCompressor::Lz4Hc,
            4 => BloscCompressor::Zlib,
            5 => BloscCompressor::Zstd,
            other => {
                return Err(FilterError::unsupported(
                    "blosc2",
                    format!("compressor code {other}"),
                ))
            }
        };
        // Only the lossless pre-filters are written by stemz (DELTA and TRUNC_PREC are declined,
        // so HDF5 stores such a chunk raw; reading them works, c-blosc2 undoes any filter).
        let shuffle = match cd[5] {
            0 => Shuffle::None,
            1 => Shuffle::Byte,
            2 => Shuffle::Bit,
            other => {
                return Err(FilterError::unsupported(
                    "blosc2",
                    format!("pre-filter code {other}"),
                ))
            }
        };
        let clevel = u8::try_from(cd[4])
            .map_err(|_| FilterError::unsupported("blosc2", format!("clevel {}", cd[4])))?;
        let params = blosc2::Params {
            compressor,
            clevel,
            shuffle,
            blocksize,
        };
        blosc2::encode(input, typesize, &shape, &params).map(Output::from)
    }
}

struct Blosc;

impl Body for Blosc {
    fn body(reverse: bool, cd: &[u32], input: &[u8]) -> Result<Output, FilterError> {
        if reverse {
            let nbytes = blosc::decoded_len(input)?;
            // Every Blosc codec expands less than zstd's RLE blocks do.
            // SAFETY: blosc::decode_raw writes all `len` bytes or fails, and no more.
            unsafe {
                decode_c("blosc", nbytes, input.len(), ZSTD_MAX_RATIO, |p, len| {
                    blosc::decode_raw(input, p, len)
                })
            }
        } else {
            // hdf5-blosc's defaults when the optional cd_values are absent.
            let typesize = cd.get(2).copied().unwrap_or(0) as usize;
            if typesize == 0 {
                return Err(FilterError::unsupported("blosc", "typesize 0 in cd_values"));
            }
            let clevel = cd.get(4).copied().unwrap_or(5);
            let shuffle = match cd.get(5).copied().unwrap_or(1) {
                0 => Shuffle::None,
                1 => Shuffle::Byte,
                2 => Shuffle::Bit,
                other => {
                    return Err(FilterError::unsupported(
                        "blosc",
                        format!("shuffle code {other}"),
                    ))
                }
            };
            let compressor = match cd.get(6).copied().unwrap_or(0) {
                0 => BloscCompressor::BloscLz,
                1 => BloscCompressor::Lz4,
                2 => BloscCompressor::Lz4Hc,
                4 => BloscCompressor::Zlib,
                5 => BloscCompressor::Zstd,
                other => {
                    return Err(FilterError::unsupported(
                        "blosc",
                        format!("compressor code {other}"),
                    ))
                }
            };
            let clevel = u8::try_from(clevel)
                .map_err(|_| FilterError::unsupported("blosc", format!("clevel {clevel}")))?;
            // Declining (HDF5 stores the chunk raw) is a failure return for the callback.
            blosc::encode::<H5Buf>(input, typesize, compressor, clevel, shuffle)?
                .map(Output::Hdf5)
                .ok_or_else(|| FilterError::encode("blosc", "does not shrink"))
        }
    }
}

/// What a set_local callback reads from HDF5: the cd_values the user gave (at most `max`),
/// the chunk's dimensions, the datatype's size and its base element's
/// size (an array type's element; the type's own size otherwise).
struct Local {
    values: Vec<u32>,
    chunk: Vec<u64>,
    typesize: usize,
    base_size: usize,
}

impl Local {
    /// Bytes of one chunk (wrapping as the C filters' arithmetic does).
    fn chunk_bytes(&self) -> u64 {
        self.chunk
            .iter()
            .fold(self.typesize as u64, |acc, &d| acc.wrapping_mul(d))
    }
}

/// The shared part of the set_local callbacks: read [`Local`] for filter `id`, let `f` compute
/// the cd_values to store (None refuses the dataset), store them with the filter's flags. Any failure or panic is
/// HDF5's -1, success 1.
fn set_local(
    dcpl: hid_t,
    type_id: hid_t,
    id: u32,
    max: usize,
    f: impl FnOnce(Local) -> Option<Vec<u32>>,
) -> i32 {
    catch_unwind(AssertUnwindSafe(|| {
        let mut flags: c_uint = 0;
        let mut values = vec![0u32; max];
        let mut n: usize = max;
        // SAFETY: `values` holds `n` entries as announced; the name buffer is absent (length
        // 0); HDF5 calls set_local with a valid property list.
        let r = unsafe {
            H5Pget_filter_by_id2(
                dcpl,
                id as H5Z_filter_t,
                &mut flags,
                &mut n,
                values.as_mut_ptr(),
                0,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if r < 0 {
            return -1;
        }
        values.truncate(n.min(max));
        let mut dims = [0u64; 32];
        // SAFETY: dims holds the 32 dimensions HDF5 may report.
        let ndims = unsafe { H5Pget_chunk(dcpl, dims.len() as i32, dims.as_mut_ptr()) };
        if ndims < 0 || ndims as usize > dims.len() {
            return -1;
        }
        // SAFETY: `type_id` is the dataset's datatype, passed to this callback by HDF5 and
        // alive during it.
        let typesize = unsafe { H5Tget_size(type_id) };
        if typesize == 0 {
            return -1;
        }
        // SAFETY: as above; the super type of an array type is closed after its size is read.
        let base_size = unsafe {
            if H5Tget_class(type_id) == H5T_class_t::H5T_ARRAY {
                let sup = H5Tget_super(type_id);
                if sup < 0 {
                    return -1;
                }
                let size = H5Tget_size(sup);
                H5Tclose(sup);
                size
            } else {
                typesize
            }
        };
        let local = Local {
            values,
            chunk: dims[..ndims as usize].to_vec(),
            typesize,
            base_size,
        };
        let Some(out) = f(local) else {
            return -1;
        };
        // SAFETY: `out` outlives the call and holds `out.len()` entries.
        let r =
            unsafe { H5Pmodify_filter(dcpl, id as H5Z_filter_t, flags, out.len(), out.as_ptr()) };
        if r < 0 {
            -1
        } else {
            1
        }
    }))
    .unwrap_or(-1)
}

/// bitshuffle's `bshuf_h5_set_local`: shift the user's cd_values up by three and put the
/// format version and the element size in front, so the file records (0, 4, size, block, codec[, level]).
extern "C" fn set_local_bitshuffle(dcpl: hid_t, type_id: hid_t, _space: hid_t) -> i32 {
    set_local(dcpl, type_id, BITSHUFFLE_ID, 8, |l| {
        let mut values = vec![
            bitshuffle_h5::VERSION_MAJOR,
            bitshuffle_h5::VERSION_MINOR,
            l.typesize as u32,
        ];
        values.extend_from_slice(&l.values);
        (values.len() <= 3 || values[3] % 8 == 0).then_some(values)
    })
}

/// h5py's `register_lzf` set_local: cd_values become (4, 261, chunk bytes), keeping any
/// non-zero value the user gave for the first two.
extern "C" fn set_local_lzf(dcpl: hid_t, type_id: hid_t, _space: hid_t) -> i32 {
    set_local(dcpl, type_id, LZF_ID, 8, |l| {
        let bufsize = l.chunk_bytes() as u32;
        let mut values = l.values;
        values.resize(values.len().max(3), 0);
        if values[0] == 0 {
            values[0] = lzf::H5PY_FILTER_VERSION;
        }
        if values[1] == 0 {
            values[1] = lzf::H5PY_LZF_VERSION;
        }
        values[2] = bufsize;
        Some(values)
    })
}

/// hdf5-blosc2's `blosc2_set_local`: slot 0 the filter revision, slot 2 the (base) type size,
/// slot 3 the chunk's bytes; for a chunk of rank 2..=8 the defaults of slots 4–6 where the user
/// gave none, then the rank and the chunk dimensions, so the file records
/// (1, blocksize, typesize, chunk bytes, clevel, filter, compcode, rank, dims…).
extern "C" fn set_local_blosc2(dcpl: hid_t, type_id: hid_t, _space: hid_t) -> i32 {
    const MAX_VALUES: usize = 8 + blosc2::MAX_DIM;
    set_local(dcpl, type_id, BLOSC2_ID, MAX_VALUES, |l| {
        let given = l.values.len();
        let mut values = l.values.clone();
        values.resize(MAX_VALUES, 0);
        let mut n = given.max(4);
        values[0] = blosc2::FILTER_VERSION;
        values[2] = l.base_size as u32;
        values[3] = l.chunk_bytes() as u32;
        if blosc2::is_b2nd_rank(l.chunk.len()) {
            if given < 5 {
                values[4] = BLOSC2_DEFAULT_CLEVEL;
            }
            if given < 6 {
                values[5] = BLOSC2_DEFAULT_SHUFFLE;
            }
            if given < 7 {
                values[6] = BLOSC2_DEFAULT_COMPCODE;
            }
            values[7] = l.chunk.len() as u32;
            for (slot, &d) in values[8..].iter_mut().zip(&l.chunk) {
                *slot = d as u32;
            }
            n = 8 + l.chunk.len();
        }
        values.truncate(n);
        Some(values)
    })
}

/// hdf5-blosc's `blosc_set_local`: cd_values become (2, BLOSC_VERSION_FORMAT, typesize, chunk
/// bytes, user values from the fifth on), at least four of them; the typesize is the array
/// base type's, 1 when wider than Blosc shuffles.
extern "C" fn set_local_blosc(dcpl: hid_t, type_id: hid_t, _space: hid_t) -> i32 {
    set_local(dcpl, type_id, BLOSC_ID, 8, |l| {
        let mut values = l.values.clone();
        values.resize(values.len().max(4), 0);
        values[0] = blosc::FILTER_VERSION;
        values[1] = blosc::VERSION_FORMAT;
        values[2] = blosc::effective_typesize(l.base_size) as u32;
        values[3] = l
            .chunk
            .iter()
            .fold(l.typesize as u64, |acc, &d| acc.saturating_mul(d)) as u32;
        Some(values)
    })
}
