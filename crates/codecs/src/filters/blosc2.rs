//! Blosc2 (HDF5 filter 32026), as hdf5plugin 7.1's `hdf5-blosc2` filter (`blosc2_filter.c`,
//! filter revision 1) writes and reads a chunk.
//!
//! What the filter stores, and what this module reproduces call for call on c-blosc2:
//! - cd_values `(1, blocksize, typesize, chunk bytes, clevel, filter, compcode)`, followed for a
//!   chunk of rank 2..=8 by `(rank, chunk dims…)` (written by [`set_local`]).
//! - A chunk of rank 2..=8 is stored as a **B2ND array serialised to a contiguous frame
//!   (cframe)**: shape = chunkshape = the HDF5 chunk shape, one Blosc2 chunk holding it, an
//!   opaque NumPy dtype `|V<typesize>`, and a block shape grown from the HDF5 chunk shape by
//!   [`b2nd_block_shape`] up to a byte budget. The budget is `cd_values[1]` if non-zero, else
//!   what c-blosc2 picks for a chunk of that size (read back from a `blosc2_chunk_zeros` header,
//!   as the filter does, computed with the default shuffle pre-filter whatever the real one).
//! - Any other rank is stored as a plain super-chunk frame with one Blosc2 chunk.
//!
//! Every chunk is compressed with one thread and its own context, so many chunks can be
//! compressed at once (the parallel engine). The c-blosc2 calls are made by stemz's C glue
//! `csrc/stemz_blosc2.c` (flat functions, so no c-blosc2 struct layout is needed here);
//! `build.rs` says how c-blosc2 is built and why it is not `blosc2-src`'s library.
//!
//! **Byte identity with hdf5plugin.** hdf5plugin 7.1.0 embeds c-blosc2 3.3.2 (zstd 1.5.7,
//! lz4 1.10.0); no crate on crates.io bundles a 3.x c-blosc2, and the one used here
//! (`blosc2-src` 0.1.4, the one that builds with `cc` alone, no cmake or libclang) ships
//! c-blosc2 2.15.3.dev, compiled here against zstd-sys's zstd 1.5.7 and lz4-sys's lz4 1.10.0. Both write frame format 2 (RC1), chunk format 5
//! and the same B2ND metalayer, and the interop test (`tests/interop_blosc2.rs`) finds every
//! chunk byte-identical for blosclz, lz4hc and zstd at every clevel and pre-filter, and for lz4
//! at clevel 9. **LZ4 below clevel 9 differs**: c-blosc2 3.x calls `LZ4_compress_fast` with
//! acceleration `10 - clevel`, 2.x (2.15 and 2.21 alike) always with 1. Those chunks decode
//! equal in both directions and are ~3 % smaller here (slower to write); stemz's LZ4 methods
//! use clevel 9, where both libraries use acceleration 1 and the bytes agree.
//!
//! **Blocks that are not contiguous in the chunk.** c-blosc2 2.15's whole-chunk fast path
//! copies a chunk's C-order bytes into the Blosc2 chunk as they are whenever the blocks divide
//! the chunk and the last axis is whole, e.g. (8, 8, 64, 128) blocks of a (8, 8, 128, 128)
//! chunk (LZ4 at clevel 9 on the tiny 4D_Diff, balanced), although the format stores such a
//! chunk block by block; it reads them back the same way, so it round-trips, but c-blosc2 from
//! 2.21.2 on, and so hdf5plugin 7.1, read those elements elsewhere (35 % wrong). The glue
//! hands c-blosc2 the chunk in block order in that case and reorders what it decodes, so stemz
//! writes and reads what the format says (checked by the interop test's `4d_blocks` layout).

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;
use std::sync::Once;

use stemz_record::catalogue::filter::{self, Filter};

use super::h5z::{self, decode_into, Local, Output, Plugin, SetLocal};
use super::{zstd, BloscCompressor, Codec, FilterError, Geometry, Shuffle};

const NAME: &str = filter::BLOSC2.name;

/// hdf5-blosc2's FILTER_BLOSC2_VERSION, stored as cd_values[0].
const FILTER_VERSION: u32 = 1;
/// B2ND_MAX_DIM: chunks of rank 2..=8 are stored as B2ND arrays.
const MAX_DIM: usize = 8;
/// BLOSC_MAX_TYPESIZE: a Blosc2 header stores the type size in one byte.
const MAX_TYPESIZE: usize = 255;

// csrc/stemz_blosc2.c; each returns a negative value on failure.
extern "C" {
    fn stemz_b2_init();
    fn stemz_b2_version() -> *const c_char;
    fn stemz_b2_free(p: *mut c_void);
    fn stemz_b2_auto_blocksize(compcode: c_int, clevel: c_int, typesize: c_int, nbytes: i32)
        -> i32;
    fn stemz_b2_encode_b2nd(
        src: *const c_void,
        nbytes: i64,
        compcode: c_int,
        clevel: c_int,
        typesize: c_int,
        filter: c_int,
        blocksize: i32,
        ndim: c_int,
        shape: *const i64,
        blockshape: *const i32,
        out: *mut *mut u8,
    ) -> i64;
    fn stemz_b2_encode_plain(
        src: *const c_void,
        nbytes: i32,
        compcode: c_int,
        clevel: c_int,
        typesize: c_int,
        filter: c_int,
        blocksize: i32,
        out: *mut *mut u8,
    ) -> i64;
    fn stemz_b2_decoded_len(frame: *const u8, len: i64) -> i64;
    fn stemz_b2_decode(frame: *const u8, len: i64, out: *mut c_void, outlen: i64) -> c_int;
}

/// c-blosc2's global state (codec and I/O tables) is set up once; everything after is per context.
fn init() {
    static INIT: Once = Once::new();
    // SAFETY: takes no arguments; guarded to run once, before any other c-blosc2 call.
    INIT.call_once(|| unsafe { stemz_b2_init() });
}

/// The c-blosc2 version this crate links.
pub(super) fn library_version() -> String {
    // SAFETY: returns a pointer to a static NUL-terminated string.
    unsafe { CStr::from_ptr(stemz_b2_version()) }
        .to_string_lossy()
        .into_owned()
}

/// hdf5plugin's Blosc2 with `compressor` at `clevel` (0..=9) after `shuffle`, in blocks of
/// `blocksize` bytes (0 = c-blosc2's automatic size, all `hdf5plugin.Blosc2` can ask for; any
/// other value is written to cd_values[1], which stock hdf5plugin reads back unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blosc2 {
    pub compressor: BloscCompressor,
    pub clevel: u8,
    pub shuffle: Shuffle,
    pub blocksize: u32,
}

impl Codec for Blosc2 {
    /// hdf5plugin.Blosc2's filter_options (0, 0, 0, 0, clevel, filters, compression), with our
    /// block size in slot 1 (set_local keeps it).
    fn user_cd_values(&self) -> Vec<u32> {
        vec![
            0,
            self.blocksize,
            0,
            0,
            u32::from(self.clevel),
            self.shuffle.code(),
            self.compressor.code(),
        ]
    }

    fn stored_cd_values(&self, g: Geometry) -> Option<Vec<u32>> {
        h5z::stored::<Blosc2>(self.user_cd_values(), g)
    }

    fn encode(&self, chunk: &[u8], g: Geometry) -> Result<Option<Vec<u8>>, FilterError> {
        encode(chunk, g.typesize, g.shape, self).map(Some)
    }

    fn decode(&self, stored: &[u8], _: Geometry, out: &mut [u8]) -> Result<(), FilterError> {
        decode(stored, out)
    }
}

/// hdf5-blosc2's defaults for cd_values the user left out: clevel 5, byte shuffle, blosclz.
const DEFAULT_CLEVEL: u32 = 5;
const DEFAULT_SHUFFLE: u32 = 1;
const DEFAULT_COMPCODE: u32 = 0;

impl Plugin for Blosc2 {
    const FILTER: Filter = filter::BLOSC2;
    const CLASS_NAME: &'static CStr = c"blosc2 (stemz)";
    const MAX_CD_VALUES: usize = 8 + MAX_DIM;
    const SET_LOCAL: Option<SetLocal> = Some(set_local);

    fn run(reverse: bool, cd: &[u32], input: &[u8]) -> Result<Output, FilterError> {
        if cd.len() < 4 {
            return Err(FilterError::unsupported(NAME, "fewer than 4 cd_values"));
        }
        if reverse {
            let claimed = decoded_len(input)?;
            return decode_into(NAME, claimed, input.len(), zstd::MAX_RATIO, |out| {
                decode(input, out)
            });
        }
        let (blocksize, typesize) = (cd[1], cd[2] as usize);
        // The chunk shape, for B2ND, is what set_local recorded after the rank in slot 7.
        let shape: Vec<usize> = match cd.get(7) {
            Some(&rank) => {
                let rank = rank as usize;
                if !is_b2nd_rank(rank) || cd.len() < 8 + rank {
                    return Err(FilterError::unsupported(
                        NAME,
                        format!("chunk rank {rank} with {} cd_values", cd.len()),
                    ));
                }
                cd[8..8 + rank].iter().map(|&d| d as usize).collect()
            }
            None => vec![input.len() / typesize.max(1)],
        };
        if cd.len() < 6 {
            return Err(FilterError::unsupported(
                NAME,
                "fewer than 6 cd_values for compression",
            ));
        }
        let compressor =
            BloscCompressor::from_code(NAME, cd.get(6).copied().unwrap_or(DEFAULT_COMPCODE))?;
        // Only the lossless pre-filters are written by stemz (DELTA and TRUNC_PREC are declined,
        // so HDF5 stores such a chunk raw; reading them works, c-blosc2 undoes any filter).
        let shuffle = Shuffle::from_code(NAME, cd[5])?;
        let clevel = u8::try_from(cd[4])
            .map_err(|_| FilterError::unsupported(NAME, format!("clevel {}", cd[4])))?;
        let params = Blosc2 {
            compressor,
            clevel,
            shuffle,
            blocksize,
        };
        encode(input, typesize, &shape, &params).map(Output::from)
    }
}

/// hdf5-blosc2's `blosc2_set_local`: slot 0 the filter revision, slot 2 the (base) type size,
/// slot 3 the chunk's bytes; for a chunk of rank 2..=8 the defaults of slots 4–6 where the user
/// gave none, then the rank and the chunk dimensions, so the file records
/// (1, blocksize, typesize, chunk bytes, clevel, filter, compcode, rank, dims…).
fn set_local(l: &Local) -> Option<Vec<u32>> {
    let given = l.values.len();
    let mut values = l.values.clone();
    values.resize(8 + MAX_DIM, 0);
    let mut n = given.max(4);
    values[0] = FILTER_VERSION;
    values[2] = l.base_size as u32;
    values[3] = l.chunk_bytes() as u32;
    if is_b2nd_rank(l.chunk.len()) {
        if given < 5 {
            values[4] = DEFAULT_CLEVEL;
        }
        if given < 6 {
            values[5] = DEFAULT_SHUFFLE;
        }
        if given < 7 {
            values[6] = DEFAULT_COMPCODE;
        }
        values[7] = l.chunk.len() as u32;
        for (slot, &d) in values[8..].iter_mut().zip(&l.chunk) {
            *slot = d as u32;
        }
        n = 8 + l.chunk.len();
    }
    values.truncate(n);
    Some(values)
}

/// Whether a chunk of this rank is stored as a B2ND array (else as a plain super-chunk).
fn is_b2nd_rank(rank: usize) -> bool {
    (2..=MAX_DIM).contains(&rank)
}

/// The B2ND block shape for a byte budget: every dimension starts at 2 (1 where the chunk is
/// 1 thick) and, innermost first, is doubled (or, when doubling would overshoot the chunk,
/// widened to the whole chunk dimension) while the block stays within the budget; sweeps
/// repeat until nothing grows. Returns the block's byte size and shape.
///
/// This is the rule of hdf5-blosc2's `compute_b2nd_block_shape` (itself python-blosc2's
/// `compute_partition`), which decides the stored bytes, so it must match it exactly.
fn b2nd_block_shape(budget_bytes: usize, typesize: usize, chunk: &[usize]) -> (usize, Vec<usize>) {
    let target = budget_bytes / typesize.max(1);
    let mut block: Vec<usize> = chunk.iter().map(|&c| if c == 1 { 1 } else { 2 }).collect();
    let mut items: usize = block.iter().product();
    if items >= target {
        return (items * typesize, block);
    }
    loop {
        let before = items;
        for i in (0..chunk.len()).rev() {
            if block[i] * 2 <= chunk[i] {
                if items * 2 <= target {
                    items *= 2;
                    block[i] *= 2;
                }
            } else if block[i] < chunk[i] {
                let widened = items / block[i] * chunk[i];
                if widened <= target {
                    items = widened;
                    block[i] = chunk[i];
                }
            }
        }
        if items >= target || items == before {
            break;
        }
    }
    (items * typesize, block)
}

fn check_params(params: &Blosc2, typesize: usize, nbytes: usize) -> Result<(), FilterError> {
    if params.clevel > 9 {
        return Err(FilterError::unsupported(
            NAME,
            format!("clevel {} is outside 0..=9", params.clevel),
        ));
    }
    if typesize == 0 || typesize > MAX_TYPESIZE {
        return Err(FilterError::unsupported(
            NAME,
            format!("type size {typesize} is outside 1..={MAX_TYPESIZE}"),
        ));
    }
    if nbytes > i32::MAX as usize || params.blocksize > i32::MAX as u32 {
        return Err(FilterError::unsupported(
            NAME,
            format!("a chunk of {nbytes} bytes exceeds Blosc2's 2 GiB chunk limit"),
        ));
    }
    if params.compressor == BloscCompressor::Zlib {
        return Err(FilterError::unsupported(
            NAME,
            "stemz's c-blosc2 is built without zlib; use zstd, lz4, lz4hc or blosclz",
        ));
    }
    Ok(())
}

/// Take a frame the glue malloc'ed: copy it into a Vec and free it.
///
/// # Safety
/// `p` must point to `len` bytes allocated by the glue (or be null when `len` < 0).
unsafe fn take_frame(p: *mut u8, len: i64, what: &str) -> Result<Vec<u8>, FilterError> {
    if len <= 0 || p.is_null() {
        if !p.is_null() {
            stemz_b2_free(p.cast());
        }
        return Err(FilterError::encode(NAME, format!("{what} failed ({len})")));
    }
    let out = std::slice::from_raw_parts(p, len as usize).to_vec();
    stemz_b2_free(p.cast());
    Ok(out)
}

/// Compress one whole chunk (C-order bytes of `chunk_shape` elements of `typesize` bytes) as
/// hdf5-blosc2 does. Never declines: a frame larger than the chunk is still stored.
fn encode(
    chunk: &[u8],
    typesize: usize,
    chunk_shape: &[usize],
    params: &Blosc2,
) -> Result<Vec<u8>, FilterError> {
    init();
    check_params(params, typesize, chunk.len())?;
    let (compcode, clevel, filter) = (
        params.compressor.code() as c_int,
        c_int::from(params.clevel),
        params.shuffle.code() as c_int,
    );
    let ts = typesize as c_int;
    let chunk_elems: usize = chunk_shape.iter().product();
    let mut out: *mut u8 = ptr::null_mut();
    // Like the filter, fall back to a plain super-chunk when the input is not exactly the chunk.
    if is_b2nd_rank(chunk_shape.len()) && chunk_elems * typesize == chunk.len() {
        let budget = match params.blocksize {
            0 => {
                // SAFETY: plain values.
                let b =
                    unsafe { stemz_b2_auto_blocksize(compcode, clevel, ts, chunk.len() as i32) };
                if b <= 0 {
                    return Err(FilterError::encode(
                        NAME,
                        "cannot get the automatic block size",
                    ));
                }
                b as usize
            }
            b => b as usize,
        };
        let (block_bytes, block) = b2nd_block_shape(budget, typesize, chunk_shape);
        let shape: Vec<i64> = chunk_shape.iter().map(|&d| d as i64).collect();
        let blockshape: Vec<i32> = block.iter().map(|&d| d as i32).collect();
        // SAFETY: the source holds chunk.len() bytes; shape and blockshape hold ndim entries;
        // `out` receives a malloc'ed frame, taken below.
        unsafe {
            let len = stemz_b2_encode_b2nd(
                chunk.as_ptr().cast(),
                chunk.len() as i64,
                compcode,
                clevel,
                ts,
                filter,
                block_bytes as i32,
                chunk_shape.len() as c_int,
                shape.as_ptr(),
                blockshape.as_ptr(),
                &mut out,
            );
            take_frame(out, len, "B2ND compression")
        }
    } else {
        // SAFETY: as above.
        unsafe {
            let len = stemz_b2_encode_plain(
                chunk.as_ptr().cast(),
                chunk.len() as i32,
                compcode,
                clevel,
                ts,
                filter,
                params.blocksize as i32,
                &mut out,
            );
            take_frame(out, len, "super-chunk compression")
        }
    }
}

/// Decompress one stored chunk (a frame as hdf5-blosc2 writes it, B2ND or plain) into `out`,
/// which must be exactly the size the frame holds.
fn decode(stored: &[u8], out: &mut [u8]) -> Result<(), FilterError> {
    init();
    let expected = decoded_len(stored)?;
    if expected != out.len() {
        return Err(FilterError::decode(
            NAME,
            format!(
                "the frame holds {expected} bytes, the chunk has {}",
                out.len()
            ),
        ));
    }
    // SAFETY: the glue copies the frame (c-blosc2 never writes to ours) and writes exactly
    // out.len() bytes, the size it just reported.
    let r = unsafe {
        stemz_b2_decode(
            stored.as_ptr(),
            stored.len() as i64,
            out.as_mut_ptr().cast(),
            out.len() as i64,
        )
    };
    if r < 0 {
        return Err(FilterError::decode(
            NAME,
            format!("c-blosc2 decompression failed ({r})"),
        ));
    }
    Ok(())
}

/// The decoded size a stored frame announces (for the HDF5 callback, which is not told it).
fn decoded_len(stored: &[u8]) -> Result<usize, FilterError> {
    init();
    let Ok(len) = i64::try_from(stored.len()) else {
        return Err(FilterError::decode(NAME, "chunk too large"));
    };
    // SAFETY: the pointer is valid for `len` bytes, which the glue only reads (copying them).
    let n = unsafe { stemz_b2_decoded_len(stored.as_ptr(), len) };
    usize::try_from(n).map_err(|_| FilterError::decode(NAME, "not a Blosc2 frame"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_shape_starts_at_two_and_grows_innermost_first() {
        // 16 items of budget in a (4, 8, 8) chunk: (2, 2, 2) = 8, then the last axis doubles.
        assert_eq!(b2nd_block_shape(32, 2, &[4, 8, 8]), (32, vec![2, 2, 4]));
        // A budget below the minimal block keeps the minimal block.
        assert_eq!(b2nd_block_shape(2, 2, &[4, 1, 8]), (8, vec![2, 1, 2]));
    }

    #[test]
    fn block_shape_widens_to_an_odd_chunk_dimension() {
        // 2 → 4 would exceed 3, so the axis is widened to the whole 3 when that fits.
        assert_eq!(b2nd_block_shape(4 * 12, 4, &[3, 2]), (24, vec![3, 2]));
    }

    #[test]
    fn block_shape_never_exceeds_the_chunk() {
        let (bytes, block) = b2nd_block_shape(1 << 30, 2, &[2, 3, 5, 7]);
        assert_eq!(block, vec![2, 3, 5, 7]);
        assert_eq!(bytes, 2 * 3 * 5 * 7 * 2);
    }
}
