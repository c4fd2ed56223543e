//! The HDF5 side of the filters stemz registers with libhdf5 (32000 LZF, 32001 Blosc, 32004
//! LZ4, 32008 Bitshuffle, 32015 Zstd, 32026 Blosc2), so HDF5's own pipeline (h5py-style
//! writes, reading any file) runs the very codecs of this module. Each filter implements
//! [`Plugin`] in its own file (its callback's work and its set_local); this file holds what they
//! share: the one H5Z callback, the one set_local callback, the memory HDF5 takes over, and the
//! size checks before a chunk is decoded.
//!
//! 32000 (LZF) and 32001 (Blosc) replace hdf5-metno's classes: its LZF set_local stores
//! lzf-sys's LZF_VERSION 262 where h5py stores 261, and its Blosc decoder trusts the chunk's
//! header. Ours record what h5py records and check a chunk before decoding it.
//!
//! The callbacks follow HDF5's H5Z contract: on success the input buffer is released and
//! replaced by one from `H5allocate_memory`, `*buf_size` is its size and the return value the
//! number of valid bytes; on failure they return 0 and leave the buffer alone. They never let
//! a panic unwind into C.

use std::ffi::CStr;
use std::os::raw::{c_uint, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::OnceLock;

use hdf5_sys::h5::{H5allocate_memory, H5free_memory};
use hdf5_sys::h5i::hid_t;
use hdf5_sys::h5p::{H5Pget_chunk, H5Pget_filter_by_id2, H5Pmodify_filter};
use hdf5_sys::h5t::{H5T_class_t, H5Tclose, H5Tget_class, H5Tget_size, H5Tget_super};
use hdf5_sys::h5z::{H5Z_class2_t, H5Z_filter_t, H5Zregister, H5Z_CLASS_T_VERS, H5Z_FLAG_REVERSE};
use stemz_record::catalogue::filter::Filter;

use super::raw_out::RawOut;
use super::{FilterError, Geometry};
use stemz_data::chunk_guard;

/// A set_local's pure part: the cd_values to store for a dataset ([`Local`]), None to refuse it.
pub(super) type SetLocal = fn(&Local) -> Option<Vec<u32>>;

/// A filter callback's work: (reverse, cd_values, input) → output.
type Run = fn(bool, &[u32], &[u8]) -> Result<Output, FilterError>;

/// A filter registered with libhdf5, implemented beside its codec in the filter's own file.
pub(super) trait Plugin {
    /// Its catalogue entry (id and short name).
    const FILTER: Filter;
    /// The class name HDF5 lists (h5dump, `H5Zget_filter_info`).
    const CLASS_NAME: &'static CStr;
    /// How many of the user's cd_values its set_local reads.
    const MAX_CD_VALUES: usize = 8;
    /// Its set_local: the cd_values the file records, from the user's ([`Local::values`]) and
    /// the dataset's chunk and type; None refuses the dataset. None here: the filter has no
    /// set_local, the user's values are stored as given. The same function gives
    /// [`FilterSpec::stored_cd_values`](super::FilterSpec::stored_cd_values) ([`stored`]).
    const SET_LOCAL: Option<SetLocal> = None;
    /// The filter callback's work: (reverse, cd_values, input) → output.
    fn run(reverse: bool, cd: &[u32], input: &[u8]) -> Result<Output, FilterError>;
}

/// The cd_values plugin `P` leaves in a file for `user` values on chunks of `g`: its
/// set_local run on what HDF5 would give it.
pub(super) fn stored<P: Plugin>(user: Vec<u32>, g: Geometry) -> Option<Vec<u32>> {
    match P::SET_LOCAL {
        None => Some(user),
        Some(set_local) => set_local(&Local {
            values: user,
            chunk: g.shape.iter().map(|&d| d as u64).collect(),
            typesize: g.typesize,
            base_size: g.typesize,
        }),
    }
}

/// The H5Z class of plugin `P`: its id and name, the shared callbacks over its [`Plugin`] items.
pub(super) fn class<P: Plugin>() -> H5Z_class2_t {
    H5Z_class2_t {
        version: H5Z_CLASS_T_VERS as _,
        id: P::FILTER.id as H5Z_filter_t,
        encoder_present: 1,
        decoder_present: 1,
        name: P::CLASS_NAME.as_ptr(),
        can_apply: None,
        set_local: P::SET_LOCAL.map(|_| set_local_callback::<P> as SetLocalFn),
        filter: Some(filter::<P>),
    }
}

static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();

/// Register `classes` once per process (the first call's list stands).
pub(super) fn register(classes: impl FnOnce() -> Vec<H5Z_class2_t>) -> Result<(), FilterError> {
    REGISTERED
        .get_or_init(|| {
            hdf5::sync::sync(|| {
                for class in classes() {
                    // SAFETY: HDF5 copies the class; its name is a static C string.
                    let r = unsafe { H5Zregister(ptr::from_ref(&class).cast()) };
                    if r < 0 {
                        return Err(format!("H5Zregister({}) failed", class.id));
                    }
                }
                Ok(())
            })
        })
        .clone()
        .map_err(|message| FilterError::hdf5("register", message))
}

type SetLocalFn = extern "C" fn(hid_t, hid_t, hid_t) -> i32;

/// A filter's output: bytes in Rust's memory (copied into HDF5's), or bytes already in HDF5's
/// (handed over as they are: a decoded chunk, or what a C codec encoded there).
pub(super) enum Output {
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

/// The H5Z filter callback of every plugin, over its [`Plugin::run`].
///
/// # Safety
/// Called by HDF5 only, with the arguments of an H5Z filter callback.
unsafe extern "C" fn filter<P: Plugin>(
    flags: c_uint,
    cd_nelmts: usize,
    cd_values: *const c_uint,
    nbytes: usize,
    buf_size: *mut usize,
    buf: *mut *mut c_void,
) -> usize {
    // SAFETY: the arguments are HDF5's, passed through unchanged.
    unsafe { run(flags, cd_nelmts, cd_values, nbytes, buf_size, buf, P::run) }
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
    f: Run,
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
fn decode_buffer(
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

/// Decode a chunk whose header claims `claimed` bytes with `decode`, into a [`decode_buffer`]
/// that becomes the callback's output.
pub(super) fn decode_into(
    filter: &'static str,
    claimed: usize,
    stored: usize,
    max_ratio: usize,
    decode: impl FnOnce(&mut [u8]) -> Result<(), FilterError>,
) -> Result<Output, FilterError> {
    let mut out = decode_buffer(filter, claimed, stored, max_ratio)?;
    decode(&mut out)?;
    Ok(Output::Hdf5(out))
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
pub(super) unsafe fn decode_c(
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

/// What a set_local callback reads from HDF5: the cd_values the user gave (at most `max`),
/// the chunk's dimensions, the datatype's size and its base element's
/// size (an array type's element; the type's own size otherwise).
pub(super) struct Local {
    pub(super) values: Vec<u32>,
    pub(super) chunk: Vec<u64>,
    pub(super) typesize: usize,
    pub(super) base_size: usize,
}

impl Local {
    /// Bytes of one chunk (wrapping as the C filters' arithmetic does).
    pub(super) fn chunk_bytes(&self) -> u64 {
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

/// The set_local callback of plugin `P`: [`set_local`] over its [`Plugin::SET_LOCAL`].
extern "C" fn set_local_callback<P: Plugin>(dcpl: hid_t, type_id: hid_t, _space: hid_t) -> i32 {
    set_local(dcpl, type_id, P::FILTER.id, P::MAX_CD_VALUES, |local| {
        P::SET_LOCAL.and_then(|f| f(&local))
    })
}
