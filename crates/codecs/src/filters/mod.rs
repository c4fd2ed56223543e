//! The HDF5 filters of the study, each producing the very bytes h5py + hdf5plugin 7.1 store.
//!
//! Each filter (deflate, lzf, szip, blosc, lz4, bitshuffle, zstd, blosc2) is one file: its
//! parameters type, how it is added to a dataset-creation property list
//! ([`FilterSpec::apply`]), which cd_values end up stored in the file
//! ([`FilterSpec::stored_cd_values`], from the filter's own set_local), a chunk codec
//! ([`FilterSpec::encode`] / [`FilterSpec::decode`]) that reproduces the HDF5 filter byte for
//! byte, so the engines can compress chunks in parallel outside HDF5 and write them with
//! `H5Dwrite_chunk`, and, for the six filters stemz registers with libhdf5 itself
//! ([`register_all`]: 32000, 32001, 32004, 32008, 32015, 32026), the HDF5 callback over that
//! codec (`h5z` holds what the callbacks share). This file holds [`FilterSpec`], the shared
//! parameter enums and the errors.
//!
//! Why our own codec and not HDF5's pipeline: the pipeline runs under HDF5's global lock, one
//! chunk at a time; `encode`/`decode` are pure functions of the chunk, safe to call from many
//! threads.

pub mod bitshuffle;
mod bitshuffle_h5;
mod blosc;
mod blosc2;
mod deflate;
pub mod fletcher32;
mod h5z;
mod lz4;
mod lzf;
mod raw_out;
mod szip;
mod zstd;

use std::os::raw::c_uint;
use stemz_record::catalogue::filter::{self, Filter};

pub use bitshuffle_h5::Bitshuffle;
pub use blosc::Blosc;
pub use blosc2::Blosc2;
pub use deflate::Deflate;
pub use lz4::Lz4;
pub use lzf::Lzf;
pub use szip::Szip;
pub use zstd::Zstd;

use hdf5_sys::h5i::hid_t;

/// The compressor inside a Blosc chunk (hdf5-blosc's `compcode` cd_value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BloscCompressor {
    BloscLz,
    Lz4,
    Lz4Hc,
    Zlib,
    Zstd,
}

impl BloscCompressor {
    /// c-blosc's compressor code (BLOSC_BLOSCLZ = 0 … BLOSC_ZSTD = 5; 3 is snappy, unused).
    pub fn code(self) -> u32 {
        match self {
            BloscCompressor::BloscLz => 0,
            BloscCompressor::Lz4 => 1,
            BloscCompressor::Lz4Hc => 2,
            BloscCompressor::Zlib => 4,
            BloscCompressor::Zstd => 5,
        }
    }

    /// The compressor of c-blosc code `code` (as a filter reads it from cd_values).
    fn from_code(filter: &'static str, code: u32) -> Result<Self, FilterError> {
        [
            BloscCompressor::BloscLz,
            BloscCompressor::Lz4,
            BloscCompressor::Lz4Hc,
            BloscCompressor::Zlib,
            BloscCompressor::Zstd,
        ]
        .into_iter()
        .find(|c| c.code() == code)
        .ok_or_else(|| FilterError::unsupported(filter, format!("compressor code {code}")))
    }

    /// The compressor name c-blosc's `blosc_compress_ctx` takes (and hdf5plugin's `cname`).
    pub fn name(self) -> &'static str {
        match self {
            BloscCompressor::BloscLz => "blosclz",
            BloscCompressor::Lz4 => "lz4",
            BloscCompressor::Lz4Hc => "lz4hc",
            BloscCompressor::Zlib => "zlib",
            BloscCompressor::Zstd => "zstd",
        }
    }
}

/// Blosc's pre-filter (hdf5plugin's `shuffle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shuffle {
    None,
    Byte,
    Bit,
}

impl Shuffle {
    /// BLOSC_NOSHUFFLE = 0, BLOSC_SHUFFLE = 1, BLOSC_BITSHUFFLE = 2.
    pub fn code(self) -> u32 {
        match self {
            Shuffle::None => 0,
            Shuffle::Byte => 1,
            Shuffle::Bit => 2,
        }
    }

    /// The pre-filter of Blosc code `code` (as a filter reads it from cd_values).
    fn from_code(filter: &'static str, code: u32) -> Result<Self, FilterError> {
        [Shuffle::None, Shuffle::Byte, Shuffle::Bit]
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or_else(|| FilterError::unsupported(filter, format!("shuffle code {code}")))
    }
}

/// The compressor applied to each bit-shuffled block of the Bitshuffle filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BitshuffleCodec {
    Lz4,
    Zstd { level: i32 },
}

impl BitshuffleCodec {
    /// bitshuffle's BSHUF_H5_COMPRESS_LZ4 = 2, BSHUF_H5_COMPRESS_ZSTD = 3.
    pub fn code(self) -> u32 {
        match self {
            BitshuffleCodec::Lz4 => 2,
            BitshuffleCodec::Zstd { .. } => 3,
        }
    }
}

/// One HDF5 filter with its parameters: the job of one filter file, behind [`FilterSpec`].
///
/// Adding a codec is its file (this trait and, for a filter stemz registers with libhdf5,
/// [`h5z::Plugin`]), one line in [`filter_specs!`] below, its catalogue entry
/// (`stemz_record::catalogue::filter`) and its methods in `method.rs`.
trait Codec {
    /// The cd_values the user hands to `H5Pset_filter`, as hdf5plugin's `filter_options`
    /// (h5py's `compression_opts`).
    fn user_cd_values(&self) -> Vec<u32>;

    /// The cd_values h5py + hdf5plugin leave in the file: what the filter's set_local makes of
    /// [`Codec::user_cd_values`] on this chunk (None: it refuses the dataset). Unchanged by
    /// default (filters without a set_local).
    fn stored_cd_values(&self, _: Geometry) -> Option<Vec<u32>> {
        Some(self.user_cd_values())
    }

    /// Add the filter to a dataset-creation property list as h5py + hdf5plugin do. By default
    /// `H5Pset_filter` with H5Z_FLAG_OPTIONAL and [`Codec::user_cd_values`], after registering
    /// stemz's plugins.
    fn apply(&self, dcpl: hid_t, f: Filter) -> Result<(), FilterError> {
        register_all()?;
        let values = self.user_cd_values();
        let id = f.id as hdf5_sys::h5z::H5Z_filter_t;
        // SAFETY: `dcpl` is live (the caller's contract) and `values` holds `values.len()`
        // cd_values.
        let status = hdf5::sync::sync(|| unsafe {
            hdf5_sys::h5p::H5Pset_filter(dcpl, id, FLAG_OPTIONAL, values.len(), values.as_ptr())
        });
        added(f, status)
    }

    /// Compress one whole chunk (C-order bytes of the full, padded chunk) exactly as the HDF5
    /// filter would, byte for byte; Ok(None) when the filter declines.
    fn encode(&self, chunk: &[u8], g: Geometry) -> Result<Option<Vec<u8>>, FilterError>;

    /// Decompress one stored chunk into `out` (exactly the chunk's uncompressed byte size).
    fn decode(&self, stored: &[u8], g: Geometry, out: &mut [u8]) -> Result<(), FilterError>;
}

/// The chunk a [`Codec`] works on: its element size and shape.
#[derive(Debug, Clone, Copy)]
struct Geometry<'a> {
    typesize: usize,
    shape: &'a [usize],
}

/// The error for a failed `H5Pset_*` of filter `f` (`status` < 0), Ok otherwise.
fn added(f: Filter, status: i32) -> Result<(), FilterError> {
    if status < 0 {
        return Err(FilterError::hdf5(
            f.name,
            format!(
                "adding filter {} to the dataset-creation property list failed",
                f.id
            ),
        ));
    }
    Ok(())
}

/// [`FilterSpec`], one variant per filter type, and its dispatch to the [`Codec`] inside.
macro_rules! filter_specs {
    ($($(#[$doc:meta])* $variant:ident($ty:ty) = $filter:ident,)*) => {
        /// One HDF5 filter with its user parameters, as hdf5plugin / h5py spell them.
        #[derive(Debug, Clone, PartialEq)]
        pub enum FilterSpec {
            $($(#[$doc])* $variant($ty),)*
        }

        impl FilterSpec {
            fn codec(&self) -> &dyn Codec {
                match self {
                    $(FilterSpec::$variant(c) => c,)*
                }
            }

            /// The registered HDF5 filter (id and name) of the catalogue.
            pub fn registered(&self) -> Filter {
                match self {
                    $(FilterSpec::$variant(_) => filter::$filter,)*
                }
            }
        }
    };
}

filter_specs! {
    /// id 1, zlib `compress2` (h5py's `compression="gzip"`).
    Deflate(Deflate) = DEFLATE,
    /// id 32000 (h5py's `compression="lzf"`).
    Lzf(Lzf) = LZF,
    /// id 4, HDF5's szip through libaec, nearest-neighbour coding.
    Szip(Szip) = SZIP,
    /// id 32001, hdf5-blosc.
    Blosc(Blosc) = BLOSC,
    /// id 32004, hdf5plugin's LZ4.
    Lz4(Lz4) = LZ4,
    /// id 32008, bitshuffle with LZ4 or zstd.
    Bitshuffle(Bitshuffle) = BITSHUFFLE,
    /// id 32015, one zstd frame per chunk.
    Zstd(Zstd) = ZSTD,
    /// id 32026, hdf5plugin's Blosc2: a B2ND frame per chunk.
    Blosc2(Blosc2) = BLOSC2,
}

/// The classes of the filters stemz registers with libhdf5 (the [`h5z::Plugin`]s).
fn plugin_classes() -> Vec<hdf5_sys::h5z::H5Z_class2_t> {
    vec![
        h5z::class::<Lz4>(),
        h5z::class::<Bitshuffle>(),
        h5z::class::<Zstd>(),
        h5z::class::<Lzf>(),
        h5z::class::<Blosc2>(),
        h5z::class::<Blosc>(),
    ]
}

/// Everything that can go wrong in a filter; each variant names the filter.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// A call into libhdf5 failed (adding the filter to a property list, registering it).
    #[error("{filter} filter: HDF5: {message}")]
    Hdf5 {
        filter: &'static str,
        message: String,
    },
    /// The compressor itself reported an error (not merely "output did not shrink").
    #[error("{filter} filter: compression failed: {message}")]
    Encode {
        filter: &'static str,
        message: String,
    },
    /// A stored chunk that does not decode to exactly the expected bytes.
    #[error("{filter} filter: corrupt or truncated chunk: {message}")]
    Decode {
        filter: &'static str,
        message: String,
    },
    /// Parameters or a chunk the filter cannot handle (e.g. typesize not dividing the chunk).
    #[error("{filter} filter: unsupported: {message}")]
    Unsupported {
        filter: &'static str,
        message: String,
    },
    /// An output buffer (encoded or decoded chunk) could not be allocated.
    #[error("{filter} filter: cannot allocate {bytes} bytes for its output")]
    Alloc { filter: &'static str, bytes: usize },
}

impl FilterError {
    pub(crate) fn decode(filter: &'static str, message: impl Into<String>) -> Self {
        FilterError::Decode {
            filter,
            message: message.into(),
        }
    }
    pub(crate) fn encode(filter: &'static str, message: impl Into<String>) -> Self {
        FilterError::Encode {
            filter,
            message: message.into(),
        }
    }
    pub(crate) fn unsupported(filter: &'static str, message: impl Into<String>) -> Self {
        FilterError::Unsupported {
            filter,
            message: message.into(),
        }
    }
    pub(crate) fn hdf5(filter: &'static str, message: impl Into<String>) -> Self {
        FilterError::Hdf5 {
            filter,
            message: message.into(),
        }
    }
}

/// HDF5 filter ids, from the catalogue.
pub const DEFLATE_ID: u32 = filter::DEFLATE.id;
/// HDF5's Fletcher-32 checksum filter (`--checksum`).
pub const FLETCHER32_ID: u32 = filter::FLETCHER32.id;
pub const SZIP_ID: u32 = filter::SZIP.id;
pub const LZF_ID: u32 = filter::LZF.id;
pub const BLOSC_ID: u32 = filter::BLOSC.id;
pub const LZ4_ID: u32 = filter::LZ4.id;
pub const BITSHUFFLE_ID: u32 = filter::BITSHUFFLE.id;
pub const ZSTD_ID: u32 = filter::ZSTD.id;
pub const BLOSC2_ID: u32 = filter::BLOSC2.id;

/// H5Z_FLAG_OPTIONAL: h5py adds every non-builtin filter with it, so a chunk the filter
/// declines is stored raw with its filter-mask bit set instead of failing the write.
const FLAG_OPTIONAL: c_uint = 0x0001;

impl FilterSpec {
    /// The HDF5 filter id.
    pub fn id(&self) -> u32 {
        self.registered().id
    }

    /// Short lower-case name, used in errors and records.
    pub fn name(&self) -> &'static str {
        self.registered().name
    }

    /// cd_values as h5py + hdf5plugin leave them stored in the file, computed by the filter's
    /// own set_local; None when that set_local refuses such a dataset.
    pub fn stored_cd_values(&self, typesize: usize, chunk_shape: &[usize]) -> Option<Vec<u32>> {
        self.codec().stored_cd_values(Geometry {
            typesize,
            shape: chunk_shape,
        })
    }

    /// Add the filter to a dataset-creation property list exactly as h5py + hdf5plugin do
    /// (same flags — h5py uses H5Z_FLAG_OPTIONAL for plugin filters —, same user cd_values).
    ///
    /// `typesize` and `chunk_shape` are unused today (HDF5's set_local callbacks derive what
    /// they need from the dcpl and datatype) and kept for filters whose options depend on them.
    pub fn apply(
        &self,
        dcpl: hid_t,
        _typesize: usize,
        _chunk_shape: &[usize],
    ) -> Result<(), FilterError> {
        self.codec().apply(dcpl, self.registered())
    }

    /// Compress one whole chunk (C-order bytes of the full, padded chunk) exactly as the HDF5
    /// filter would, byte for byte. Ok(None) when the filter declines (an optional filter's failure:
    /// HDF5 then stores the chunk raw and sets the filter-mask bit).
    pub fn encode(
        &self,
        chunk: &[u8],
        typesize: usize,
        chunk_shape: &[usize],
    ) -> Result<Option<Vec<u8>>, FilterError> {
        check_typesize(self.name(), chunk.len(), typesize)?;
        self.codec().encode(
            chunk,
            Geometry {
                typesize,
                shape: chunk_shape,
            },
        )
    }

    /// Decompress one stored chunk into `out` (exactly the chunk's uncompressed byte size).
    pub fn decode(
        &self,
        stored: &[u8],
        typesize: usize,
        chunk_shape: &[usize],
        out: &mut [u8],
    ) -> Result<(), FilterError> {
        check_typesize(self.name(), out.len(), typesize)?;
        let g = Geometry {
            typesize,
            shape: chunk_shape,
        };
        self.codec().decode(stored, g, out)
    }
}

fn check_typesize(filter: &'static str, nbytes: usize, typesize: usize) -> Result<(), FilterError> {
    if typesize == 0 || nbytes % typesize != 0 {
        return Err(FilterError::unsupported(
            filter,
            format!("a chunk of {nbytes} bytes is not a whole number of {typesize}-byte elements"),
        ));
    }
    Ok(())
}

/// Register every filter stemz needs with the HDF5 library of this process (idempotent, thread-safe):
/// 32004, 32008, 32015 implemented in Rust here, 32026 over c-blosc2, and 32001 and 32000 with
/// our decoders around c-blosc and liblzf (replacing hdf5-metno's classes).
///
/// Note: 32000 is re-registered with this module's class (h5py's set_local, see `lzf`),
/// replacing hdf5-metno's, so files record h5py's cd_values (4, 261, chunk bytes).
pub fn register_all() -> Result<(), FilterError> {
    // hdf5-metno registers blosc and lzf when its library handle is first initialised, which
    // `sync` inside `h5z::register` forces first; then we check they are really there.
    h5z::register(plugin_classes)?;
    for filter::Filter { id, name } in [filter::BLOSC, filter::LZF] {
        if !available(id) {
            return Err(FilterError::hdf5(
                name,
                format!("filter {id} is not registered (hdf5-metno built without the `{name}` feature?)"),
            ));
        }
    }
    Ok(())
}

/// Versions of the C compression libraries this build links, for run records:
/// `[("c-blosc", …), ("c-blosc2", …), ("lz4", …), …]`. Two zlibs: c-blosc's (the one
/// compiled in) and deflate's (the system's, which libhdf5 calls too).
pub fn library_versions() -> Vec<(&'static str, String)> {
    vec![
        ("c-blosc", blosc::library_version()),
        ("c-blosc2", blosc2::library_version()),
        ("lz4", lz4::library_version()),
        ("zlib-blosc", deflate::vendored_version()),
        ("zlib-deflate", deflate::library_version()),
        ("zstd", zstd::library_version()),
    ]
}

/// Whether libhdf5 in this process can apply filter `id` (H5Zfilter_avail).
pub fn available(id: u32) -> bool {
    // SAFETY: H5Zfilter_avail only looks the id up in the filter table.
    hdf5::sync::sync(|| unsafe {
        hdf5_sys::h5z::H5Zfilter_avail(id as hdf5_sys::h5z::H5Z_filter_t) > 0
    })
}
