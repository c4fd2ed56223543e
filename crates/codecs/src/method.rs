//! The compression methods: the study's 16 (13 HDF5 filters plus 3 file formats of its own) and
//! the newer ones stemz adds. A [`Method`] is a name and, for HDF5 methods, the exact
//! [`FilterSpec`] h5py + hdf5plugin would put in the dataset-creation property list.
//!
//! Names, families, filter ids and settings in words come from the catalogue
//! (`stemz_record::catalogue`), the one list every stage reads; this module adds what only the
//! codecs know: the exact filter and its parameters.

use crate::error::{CodecError, Result};
use crate::filters::{
    Bitshuffle, BitshuffleCodec, Blosc, Blosc2, BloscCompressor, Deflate, FilterSpec, Lz4, Lzf,
    Shuffle, Szip, Zstd,
};
use std::fmt;
use stemz_record::catalogue::{Kind, MethodEntry, METHODS};

/// One compression method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// Chunked, no filter.
    None,
    Gzip1,
    Gzip6,
    Gzip9,
    Lzf,
    /// h5py's default szip: nearest-neighbour coding, 8 pixels per block.
    Szip,
    BloscBloscLz,
    BloscLz4,
    BloscLz4Hc,
    BloscZlib,
    BloscZstd,
    /// hdf5plugin's LZ4 filter (id 32004), default block size.
    Lz4Hdf5,
    /// hdf5plugin's Bitshuffle filter (id 32008) with LZ4, automatic block size.
    BitshuffleLz4,
    /// One CSR matrix per frame, in one binary file (see [`crate::nonhdf5::sparse_csr`]).
    SparseCsr,
    /// Values as u8 with 255 marking overflow, plus a deflated overflow list
    /// (see [`crate::nonhdf5::uint8_overflow`]).
    Uint8Overflow,
    /// The whole array's `.npy` bytes through gzip level 9 (see [`crate::nonhdf5::simple_gzip`]).
    SimpleGzip,
    // Newer methods, not in the study.
    Zstd3,
    Zstd9,
    BitshuffleZstd,
    BloscZstdBitshuffle,
    /// Blosc zstd at clevel 5 with bit-shuffle: the smallest method that stays at Blosc-zstd's
    /// write speed on the EELS spectrum image (3D_EELS), where the Blosc2 methods gain least.
    BloscZstdBitshuffle5,
    BloscLz4Bitshuffle,
    // Blosc2 (hdf5plugin.Blosc2, filter 32026): name = blosc2_<codec>_<pre-filter>_<clevel>.
    // zstd at 1 (fast, nearly zstd 5's ratio on detector counts) and 5 (hdf5plugin's default
    // level); lz4 at 9, the one level where c-blosc2 2.x and hdf5plugin's 3.x write the same
    // bytes (both use LZ4 acceleration 1, see `filters::blosc2`).
    Blosc2ZstdBitshuffle1,
    Blosc2ZstdBitshuffle5,
    Blosc2ZstdShuffle1,
    Blosc2Lz4Bitshuffle9,
    Blosc2Lz4Shuffle9,
    // Zarr v3 stores (see `crate::zarr`): zarr_<codec>, each with the settings of the HDF5
    // method it is measured against (`Method::hdf5_twin`).
    ZarrBloscZstd,
    ZarrBloscZstdBitshuffle,
    ZarrBloscLz4,
    ZarrZstd3,
}

/// Every method, in the catalogue's order (`stemz_record::catalogue::METHODS`, whose entry
/// `i` is variant `i`; a test holds them together): the study's 16, the new HDF5 ones, Zarr.
const ALL: [Method; 31] = [
    Method::None,
    Method::Gzip1,
    Method::Gzip6,
    Method::Gzip9,
    Method::Lzf,
    Method::Szip,
    Method::BloscBloscLz,
    Method::BloscLz4,
    Method::BloscLz4Hc,
    Method::BloscZlib,
    Method::BloscZstd,
    Method::Lz4Hdf5,
    Method::BitshuffleLz4,
    Method::SparseCsr,
    Method::Uint8Overflow,
    Method::SimpleGzip,
    Method::Zstd3,
    Method::Zstd9,
    Method::BitshuffleZstd,
    Method::BloscZstdBitshuffle,
    Method::BloscZstdBitshuffle5,
    Method::BloscLz4Bitshuffle,
    Method::Blosc2ZstdBitshuffle1,
    Method::Blosc2ZstdBitshuffle5,
    Method::Blosc2ZstdShuffle1,
    Method::Blosc2Lz4Bitshuffle9,
    Method::Blosc2Lz4Shuffle9,
    Method::ZarrBloscZstd,
    Method::ZarrBloscZstdBitshuffle,
    Method::ZarrBloscLz4,
    Method::ZarrZstd3,
];

/// The study's methods lead the catalogue.
const STUDY_LEN: usize = {
    let mut i = 0;
    while i < METHODS.len() && METHODS[i].in_study {
        i += 1;
    }
    i
};
/// The Zarr methods close it.
const ZARR_LEN: usize = {
    let mut i = METHODS.len();
    while i > 0 && matches!(METHODS[i - 1].kind, Kind::Zarr) {
        i -= 1;
    }
    METHODS.len() - i
};

impl Method {
    /// The study's 16 methods, in the study's order.
    pub fn study() -> &'static [Method] {
        &ALL[..STUDY_LEN]
    }

    /// The methods stemz adds (not in the study).
    pub fn new_methods() -> &'static [Method] {
        &ALL[STUDY_LEN..ALL.len() - ZARR_LEN]
    }

    /// The Zarr v3 methods.
    pub fn zarr() -> &'static [Method] {
        &ALL[ALL.len() - ZARR_LEN..]
    }

    /// Every method: the study's, then the new HDF5 ones, then the Zarr ones.
    pub fn all() -> Vec<Method> {
        ALL.to_vec()
    }

    /// The method's catalogue entry: its name, family, filter id and settings.
    pub fn entry(self) -> &'static MethodEntry {
        &METHODS[self as usize]
    }

    /// Every method that writes an HDF5 dataset (study's first, then new).
    pub fn hdf5() -> Vec<Method> {
        Self::all().into_iter().filter(|m| m.is_hdf5()).collect()
    }

    /// The study's name.
    pub fn name(self) -> &'static str {
        self.entry().name
    }

    /// The codec family, for grouping: `none`, `gzip`, `lzf`, `szip`, `blosc`, `lz4`,
    /// `bitshuffle`, `zstd`, `blosc2`, `sparse`, `uint8_overflow`, `npy_gzip`, `zarr`.
    pub fn family(self) -> &'static str {
        self.entry().family
    }

    /// The HDF5 filter, `None` for `none` and for the three non-HDF5 methods.
    pub fn filter(self) -> Option<FilterSpec> {
        let blosc = |compressor, clevel, shuffle| {
            FilterSpec::Blosc(Blosc {
                compressor,
                clevel,
                shuffle,
            })
        };
        // hdf5plugin.Blosc2(cname, clevel, filters): the block size stays c-blosc2's choice.
        let blosc2 = |compressor, clevel, shuffle| {
            FilterSpec::Blosc2(Blosc2 {
                compressor,
                clevel,
                shuffle,
                blocksize: 0,
            })
        };
        match self {
            Method::None | Method::SparseCsr | Method::Uint8Overflow | Method::SimpleGzip => None,
            Method::ZarrBloscZstd
            | Method::ZarrBloscZstdBitshuffle
            | Method::ZarrBloscLz4
            | Method::ZarrZstd3 => None,
            Method::Gzip1 => Some(FilterSpec::Deflate(Deflate { level: 1 })),
            Method::Gzip6 => Some(FilterSpec::Deflate(Deflate { level: 6 })),
            Method::Gzip9 => Some(FilterSpec::Deflate(Deflate { level: 9 })),
            Method::Lzf => Some(FilterSpec::Lzf(Lzf)),
            Method::Szip => Some(FilterSpec::Szip(Szip {
                pixels_per_block: 8,
            })),
            Method::BloscBloscLz => Some(blosc(BloscCompressor::BloscLz, 5, Shuffle::Byte)),
            Method::BloscLz4 => Some(blosc(BloscCompressor::Lz4, 5, Shuffle::Byte)),
            Method::BloscLz4Hc => Some(blosc(BloscCompressor::Lz4Hc, 5, Shuffle::Byte)),
            Method::BloscZlib => Some(blosc(BloscCompressor::Zlib, 5, Shuffle::Byte)),
            Method::BloscZstd => Some(blosc(BloscCompressor::Zstd, 3, Shuffle::Byte)),
            Method::Lz4Hdf5 => Some(FilterSpec::Lz4(Lz4 { block_size: 0 })),
            Method::BitshuffleLz4 => Some(FilterSpec::Bitshuffle(Bitshuffle {
                codec: BitshuffleCodec::Lz4,
                block_size: 0,
            })),
            Method::Zstd3 => Some(FilterSpec::Zstd(Zstd { level: 3 })),
            Method::Zstd9 => Some(FilterSpec::Zstd(Zstd { level: 9 })),
            // hdf5plugin.Bitshuffle(cname="zstd") defaults to clevel=3.
            Method::BitshuffleZstd => Some(FilterSpec::Bitshuffle(Bitshuffle {
                codec: BitshuffleCodec::Zstd { level: 3 },
                block_size: 0,
            })),
            Method::BloscZstdBitshuffle => Some(blosc(BloscCompressor::Zstd, 3, Shuffle::Bit)),
            Method::BloscZstdBitshuffle5 => Some(blosc(BloscCompressor::Zstd, 5, Shuffle::Bit)),
            Method::BloscLz4Bitshuffle => Some(blosc(BloscCompressor::Lz4, 5, Shuffle::Bit)),
            Method::Blosc2ZstdBitshuffle1 => Some(blosc2(BloscCompressor::Zstd, 1, Shuffle::Bit)),
            Method::Blosc2ZstdBitshuffle5 => Some(blosc2(BloscCompressor::Zstd, 5, Shuffle::Bit)),
            Method::Blosc2ZstdShuffle1 => Some(blosc2(BloscCompressor::Zstd, 1, Shuffle::Byte)),
            Method::Blosc2Lz4Bitshuffle9 => Some(blosc2(BloscCompressor::Lz4, 9, Shuffle::Bit)),
            Method::Blosc2Lz4Shuffle9 => Some(blosc2(BloscCompressor::Lz4, 9, Shuffle::Byte)),
        }
    }

    /// Whether the method writes an HDF5 dataset (every method but the study's three own formats
    /// and the Zarr stores).
    pub fn is_hdf5(self) -> bool {
        self.entry().kind == Kind::Hdf5
    }

    /// Whether the method writes a Zarr v3 store (a directory).
    pub fn is_zarr(self) -> bool {
        self.entry().kind == Kind::Zarr
    }

    /// Whether the method stores chunks of a chunking (HDF5 and Zarr methods).
    pub fn is_chunked(self) -> bool {
        self.entry().is_chunked()
    }

    /// The codec of a Zarr method's inner chunks.
    pub fn zarr_codec(self) -> Option<crate::zarr::ZarrCodec> {
        use crate::zarr::ZarrCodec;
        let blosc = |compressor, clevel, shuffle| ZarrCodec::Blosc {
            compressor,
            clevel,
            shuffle,
        };
        match self {
            Method::ZarrBloscZstd => Some(blosc(BloscCompressor::Zstd, 3, Shuffle::Byte)),
            Method::ZarrBloscZstdBitshuffle => Some(blosc(BloscCompressor::Zstd, 3, Shuffle::Bit)),
            Method::ZarrBloscLz4 => Some(blosc(BloscCompressor::Lz4, 5, Shuffle::Byte)),
            Method::ZarrZstd3 => Some(ZarrCodec::Zstd { level: 3 }),
            _ => None,
        }
    }

    /// The HDF5 method with the same codec and settings as a Zarr method.
    pub fn hdf5_twin(self) -> Option<Method> {
        match self {
            Method::ZarrBloscZstd => Some(Method::BloscZstd),
            Method::ZarrBloscZstdBitshuffle => Some(Method::BloscZstdBitshuffle),
            Method::ZarrBloscLz4 => Some(Method::BloscLz4),
            Method::ZarrZstd3 => Some(Method::Zstd3),
            _ => None,
        }
    }

    /// Whether the method reproduces every bit of a `dtype` cube. Only `uint8_overflow` on
    /// float32 is lossy (by the study's design: values below 255 are truncated to bytes).
    pub fn lossless_for(self, dtype: stemz_data::DType) -> bool {
        !(self == Method::Uint8Overflow && dtype.is_float())
    }

    /// Whether the study benchmarked this method.
    pub fn in_study(self) -> bool {
        self.entry().in_study
    }

    /// Parse a method name (exactly as [`Method::name`] spells it, case-insensitive).
    pub fn parse(name: &str) -> Result<Method> {
        let wanted = name.trim().to_ascii_lowercase();
        Self::all()
            .into_iter()
            .find(|m| m.name() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::all().iter().map(|m| m.name()).collect();
                CodecError::Invalid(format!(
                    "unknown method `{name}`; valid methods: {}",
                    names.join(", ")
                ))
            })
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Method {
    type Err = CodecError;
    fn from_str(s: &str) -> Result<Self> {
        Method::parse(s)
    }
}
