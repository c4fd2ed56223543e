//! Szip (HDF5 filter 4) through libaec's libsz, framed as HDF5's `H5Zszip.c` does: a 4-byte
//! little-endian uncompressed size, then the raw szip stream. A chunk that does not fit in its
//! own size is declined (the filter is optional, HDF5 stores it raw).
//!
//! The parameters are computed like HDF5's `set_local` (`H5Z__set_local_szip`): K13 and RAW
//! always on, CHIP off, endianness from the datatype, bits per pixel from its precision,
//! pixels per scanline from the chunk's fastest dimension.

use std::os::raw::c_int;

use hdf5_sys::h5i::hid_t;
use stemz_record::catalogue::filter::{self, Filter};

use super::{Codec, FilterError, Geometry};

const NAME: &str = filter::SZIP.name;

/// H5_SZIP_NN_OPTION_MASK: h5py's default coding ("nn").
const NN_OPTION_MASK: u32 = 32;
const ALLOW_K13_OPTION_MASK: u32 = 1;
const CHIP_OPTION_MASK: u32 = 2;
const LSB_OPTION_MASK: u32 = 8;
const MSB_OPTION_MASK: u32 = 16;
const RAW_OPTION_MASK: u32 = 128;
const MAX_BLOCKS_PER_SCANLINE: usize = 128;
const MAX_PIXELS_PER_SCANLINE: usize = 128 * 32;
const SZ_OK: c_int = 0;
const SZ_OUTBUFF_FULL: c_int = 2;

#[repr(C)]
struct SzCom {
    options_mask: c_int,
    bits_per_pixel: c_int,
    pixels_per_block: c_int,
    pixels_per_scanline: c_int,
}

// libaec's libsz, linked (static) by stemz-data's build script.
extern "C" {
    fn SZ_BufftoBuffCompress(
        dest: *mut std::ffi::c_void,
        dest_len: *mut usize,
        source: *const std::ffi::c_void,
        source_len: usize,
        param: *mut SzCom,
    ) -> c_int;
    fn SZ_BufftoBuffDecompress(
        dest: *mut std::ffi::c_void,
        dest_len: *mut usize,
        source: *const std::ffi::c_void,
        source_len: usize,
        param: *mut SzCom,
    ) -> c_int;
}

/// szip with nearest-neighbour coding and `pixels_per_block` (even, 2..=32): h5py's
/// `compression="szip", compression_opts=("nn", ppb)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Szip {
    pub pixels_per_block: u32,
}

impl Szip {
    /// What HDF5's set_local makes of these settings for a chunk.
    fn params(&self, g: Geometry) -> Params {
        Params::new(self.pixels_per_block, g.typesize, g.shape)
    }
}

impl Codec for Szip {
    fn user_cd_values(&self) -> Vec<u32> {
        vec![NN_OPTION_MASK, self.pixels_per_block]
    }

    /// HDF5's own szip set_local ([`Params::new`]).
    fn stored_cd_values(&self, g: Geometry) -> Option<Vec<u32>> {
        Some(self.params(g).cd_values())
    }

    /// `H5Pset_szip`, HDF5's own setter (h5py's).
    fn apply(&self, dcpl: hid_t, f: Filter) -> Result<(), FilterError> {
        // SAFETY: `dcpl` is a live dataset-creation property list (the caller's contract).
        let status = hdf5::sync::sync(|| unsafe {
            hdf5_sys::h5p::H5Pset_szip(dcpl, NN_OPTION_MASK, self.pixels_per_block)
        });
        super::added(f, status)
    }

    fn encode(&self, chunk: &[u8], g: Geometry) -> Result<Option<Vec<u8>>, FilterError> {
        encode(chunk, &self.params(g))
    }

    fn decode(&self, stored: &[u8], g: Geometry, out: &mut [u8]) -> Result<(), FilterError> {
        decode(stored, &self.params(g), out)
    }
}

/// The four cd_values HDF5 stores for szip: options mask, pixels per block, bits per pixel,
/// pixels per scanline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Params {
    mask: u32,
    pixels_per_block: u32,
    bits_per_pixel: u32,
    pixels_per_scanline: u32,
}

impl Params {
    /// What `H5Pset_szip(NN, ppb)` followed by HDF5's set_local gives for a little-endian,
    /// full-precision type of `typesize` bytes and this chunk shape.
    fn new(pixels_per_block: u32, typesize: usize, chunk_shape: &[usize]) -> Params {
        // H5Pset_szip: CHIP off, K13 and RAW on, LSB/MSB left to set_local.
        let mut mask = NN_OPTION_MASK;
        mask &= !CHIP_OPTION_MASK;
        mask |= ALLOW_K13_OPTION_MASK | RAW_OPTION_MASK;
        mask &= !(LSB_OPTION_MASK | MSB_OPTION_MASK);
        // set_local: our types are native little-endian.
        mask |= LSB_OPTION_MASK;
        let mut bpp = (typesize * 8) as u32;
        if bpp > 24 {
            bpp = if bpp <= 32 { 32 } else { 64 };
        }
        let ppb = pixels_per_block as usize;
        let npoints: usize = chunk_shape.iter().product();
        let last = chunk_shape.last().copied().unwrap_or(1);
        let scanline = if last < ppb {
            (ppb * MAX_BLOCKS_PER_SCANLINE).min(npoints)
        } else if last <= MAX_PIXELS_PER_SCANLINE {
            (ppb * MAX_BLOCKS_PER_SCANLINE).min(last)
        } else {
            ppb * MAX_BLOCKS_PER_SCANLINE
        };
        Params {
            mask,
            pixels_per_block,
            bits_per_pixel: bpp,
            pixels_per_scanline: scanline as u32,
        }
    }

    fn cd_values(&self) -> Vec<u32> {
        vec![
            self.mask,
            self.pixels_per_block,
            self.bits_per_pixel,
            self.pixels_per_scanline,
        ]
    }

    fn sz_com(&self) -> SzCom {
        SzCom {
            options_mask: self.mask as c_int,
            bits_per_pixel: self.bits_per_pixel as c_int,
            pixels_per_block: self.pixels_per_block as c_int,
            pixels_per_scanline: self.pixels_per_scanline as c_int,
        }
    }

    fn check(&self) -> Result<(), FilterError> {
        let ppb = self.pixels_per_block;
        if ppb == 0 || ppb % 2 == 1 || ppb > 32 {
            return Err(FilterError::unsupported(
                NAME,
                format!("pixels_per_block {ppb} (must be even, 2..=32)"),
            ));
        }
        if self.pixels_per_scanline < ppb {
            return Err(FilterError::unsupported(
                NAME,
                format!("pixels_per_block {ppb} greater than the elements of a chunk"),
            ));
        }
        Ok(())
    }
}

fn encode(chunk: &[u8], params: &Params) -> Result<Option<Vec<u8>>, FilterError> {
    params.check()?;
    let nbytes = u32::try_from(chunk.len())
        .map_err(|_| FilterError::unsupported(NAME, "chunks of 4 GiB or more"))?;
    // H5Zszip.c allocates nbytes + 4 and lets szip write at most nbytes after the header.
    let mut out = vec![0u8; chunk.len() + 4];
    out[..4].copy_from_slice(&nbytes.to_le_bytes());
    let mut size_out = chunk.len();
    let mut com = params.sz_com();
    // SAFETY: dest holds size_out bytes after the header, source chunk.len() bytes.
    let status = unsafe {
        SZ_BufftoBuffCompress(
            out[4..].as_mut_ptr().cast(),
            &mut size_out,
            chunk.as_ptr().cast(),
            chunk.len(),
            &mut com,
        )
    };
    match status {
        SZ_OK if size_out <= chunk.len() => {
            out.truncate(size_out + 4);
            Ok(Some(out))
        }
        SZ_OUTBUFF_FULL => Ok(None),
        s => Err(FilterError::encode(
            NAME,
            format!("SZ_BufftoBuffCompress returned {s} (size {size_out})"),
        )),
    }
}

fn decode(stored: &[u8], params: &Params, out: &mut [u8]) -> Result<(), FilterError> {
    params.check()?;
    let head: [u8; 4] = stored
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| FilterError::decode(NAME, "shorter than its 4-byte header"))?;
    let n = u32::from_le_bytes(head) as usize;
    if n != out.len() {
        return Err(FilterError::decode(
            NAME,
            format!("the header says {n} bytes, the chunk has {}", out.len()),
        ));
    }
    let mut size_out = out.len();
    let mut com = params.sz_com();
    // SAFETY: dest holds size_out bytes; libaec never writes past it.
    let status = unsafe {
        SZ_BufftoBuffDecompress(
            out.as_mut_ptr().cast(),
            &mut size_out,
            stored[4..].as_ptr().cast(),
            stored.len() - 4,
            &mut com,
        )
    };
    if status != SZ_OK || size_out != out.len() {
        return Err(FilterError::decode(
            NAME,
            format!("SZ_BufftoBuffDecompress returned {status} with {size_out} bytes"),
        ));
    }
    Ok(())
}
