//! The HDF5 filters of the study, each producing the very bytes h5py + hdf5plugin 7.1 store.
//!
//! This module owns one [`FilterSpec`] per filter (deflate, lzf, szip, blosc, lz4, bitshuffle,
//! zstd, blosc2): how it is added to a dataset-creation property list ([`FilterSpec::apply`]), which
//! cd_values end up stored in the file ([`FilterSpec::stored_cd_values`]), and a chunk codec
//! ([`FilterSpec::encode`] / [`FilterSpec::decode`]) that reproduces the HDF5 filter byte for
//! byte, so the engines can compress chunks in parallel outside HDF5 and write them with
//! `H5Dwrite_chunk`. [`register_all`] makes the same filters available to libhdf5 itself
//! (32004, 32008, 32015 are implemented here in Rust, 32026 is Rust glue over c-blosc2, 32000
//! and 32001 come from hdf5-metno).
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
mod lz4;
mod lzf;
mod plugins;
mod raw_out;
mod szip;
mod zstd;

use std::os::raw::c_uint;
use stemz_record::catalogue::filter::{self, Filter};

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

/// One HDF5 filter with its user parameters, as hdf5plugin / h5py spell them.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterSpec {
    /// id 1, zlib `compress2` at `level` (h5py's `compression="gzip"`).
    Deflate { level: u32 },
    /// id 32000 (h5py's `compression="lzf"`).
    Lzf,
    /// id 4, HDF5's szip through libaec, nearest-neighbour coding.
    Szip { pixels_per_block: u32 },
    /// id 32001, hdf5-blosc.
    Blosc {
        compressor: BloscCompressor,
        clevel: u8,
        shuffle: Shuffle,
    },
    /// id 32004; `block_size` 0 = the filter's default (1 GiB, i.e. one block per chunk).
    Lz4 { block_size: u32 },
    /// id 32008; `block_size` in elements, 0 = bitshuffle's automatic size.
    Bitshuffle {
        codec: BitshuffleCodec,
        block_size: u32,
    },
    /// id 32015, one zstd frame per chunk.
    Zstd { level: i32 },
    /// id 32026, hdf5plugin's Blosc2: a B2ND frame per chunk (see `blosc2`). `blocksize` in
    /// bytes, 0 = c-blosc2's automatic size (all `hdf5plugin.Blosc2` can ask for; any other
    /// value is written to cd_values[1], which stock hdf5plugin reads back unchanged).
    Blosc2 {
        compressor: BloscCompressor,
        clevel: u8,
        shuffle: Shuffle,
        blocksize: u32,
    },
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

/// Bytes of one whole chunk.
fn chunk_bytes(typesize: usize, chunk_shape: &[usize]) -> usize {
    chunk_shape.iter().product::<usize>() * typesize
}

impl FilterSpec {
    /// The registered HDF5 filter (id and name) of the catalogue.
    pub fn registered(&self) -> Filter {
        match self {
            FilterSpec::Deflate { .. } => filter::DEFLATE,
            FilterSpec::Lzf => filter::LZF,
            FilterSpec::Szip { .. } => filter::SZIP,
            FilterSpec::Blosc { .. } => filter::BLOSC,
            FilterSpec::Lz4 { .. } => filter::LZ4,
            FilterSpec::Bitshuffle { .. } => filter::BITSHUFFLE,
            FilterSpec::Zstd { .. } => filter::ZSTD,
            FilterSpec::Blosc2 { .. } => filter::BLOSC2,
        }
    }

    /// The HDF5 filter id.
    pub fn id(&self) -> u32 {
        self.registered().id
    }

    /// Short lower-case name, used in errors and records.
    pub fn name(&self) -> &'static str {
        self.registered().name
    }

    /// The cd_values the user hands to `H5Pset_filter`, as hdf5plugin's `filter_options`
    /// (h5py's `compression_opts`). Deflate and szip use their own HDF5 setters instead.
    fn user_cd_values(&self) -> Vec<u32> {
        match *self {
            FilterSpec::Deflate { level } => vec![level],
            // h5py passes none; set_local (ours, h5py's logic) fills (4, 261, chunk bytes).
            FilterSpec::Lzf => vec![],
            FilterSpec::Szip { pixels_per_block } => vec![szip::NN_OPTION_MASK, pixels_per_block],
            FilterSpec::Blosc {
                compressor,
                clevel,
                shuffle,
            } => vec![
                0,
                0,
                0,
                0,
                u32::from(clevel),
                shuffle.code(),
                compressor.code(),
            ],
            FilterSpec::Lz4 { block_size } => vec![block_size],
            FilterSpec::Bitshuffle { codec, block_size } => match codec {
                BitshuffleCodec::Lz4 => vec![block_size, codec.code()],
                BitshuffleCodec::Zstd { level } => vec![block_size, codec.code(), level as u32],
            },
            // cd_values are unsigned: a negative level travels as its two's complement, and
            // the zstd plugin casts it back to int.
            FilterSpec::Zstd { level } => vec![level as u32],
            // hdf5plugin.Blosc2's filter_options (0, 0, 0, 0, clevel, filters, compression),
            // with our block size in slot 1 (set_local keeps it).
            FilterSpec::Blosc2 {
                compressor,
                clevel,
                shuffle,
                blocksize,
            } => vec![
                0,
                blocksize,
                0,
                0,
                u32::from(clevel),
                shuffle.code(),
                compressor.code(),
            ],
        }
    }

    /// cd_values as h5py + hdf5plugin leave them stored in the file (after the filter's set_local).
    pub fn stored_cd_values(&self, typesize: usize, chunk_shape: &[usize]) -> Vec<u32> {
        let nbytes = chunk_bytes(typesize, chunk_shape) as u32;
        match *self {
            FilterSpec::Deflate { level } => vec![level],
            FilterSpec::Lzf => vec![lzf::H5PY_FILTER_VERSION, lzf::H5PY_LZF_VERSION, nbytes],
            FilterSpec::Szip { pixels_per_block } => {
                szip::Params::new(pixels_per_block, typesize, chunk_shape).cd_values()
            }
            FilterSpec::Blosc {
                compressor,
                clevel,
                shuffle,
            } => vec![
                blosc::FILTER_VERSION,
                blosc::VERSION_FORMAT,
                blosc::effective_typesize(typesize) as u32,
                nbytes,
                u32::from(clevel),
                shuffle.code(),
                compressor.code(),
            ],
            FilterSpec::Lz4 { block_size } => vec![block_size],
            FilterSpec::Bitshuffle { codec, block_size } => {
                let mut v = vec![
                    bitshuffle_h5::VERSION_MAJOR,
                    bitshuffle_h5::VERSION_MINOR,
                    typesize as u32,
                    block_size,
                    codec.code(),
                ];
                if let BitshuffleCodec::Zstd { level } = codec {
                    v.push(level as u32);
                }
                v
            }
            FilterSpec::Zstd { level } => vec![level as u32],
            FilterSpec::Blosc2 {
                compressor,
                clevel,
                shuffle,
                blocksize,
            } => blosc2::stored_cd_values(
                &blosc2::Params {
                    compressor,
                    clevel,
                    shuffle,
                    blocksize,
                },
                typesize,
                chunk_shape,
            ),
        }
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
        let name = self.name();
        let status = match self {
            FilterSpec::Deflate { level } => {
                // SAFETY: `dcpl` is a live dataset-creation property list (the caller's contract).
                hdf5::sync::sync(|| unsafe { hdf5_sys::h5p::H5Pset_deflate(dcpl, *level) })
            }
            // SAFETY: `dcpl` is a live dataset-creation property list (the caller's contract).
            FilterSpec::Szip { pixels_per_block } => hdf5::sync::sync(|| unsafe {
                hdf5_sys::h5p::H5Pset_szip(dcpl, szip::NN_OPTION_MASK, *pixels_per_block)
            }),
            _ => {
                register_all()?;
                let values = self.user_cd_values();
                let id = self.id() as hdf5_sys::h5z::H5Z_filter_t;
                // SAFETY: `dcpl` is live (the caller's contract) and `values` is a live Vec of `values.len()` cd_values.
                hdf5::sync::sync(|| unsafe {
                    hdf5_sys::h5p::H5Pset_filter(
                        dcpl,
                        id,
                        FLAG_OPTIONAL,
                        values.len(),
                        values.as_ptr(),
                    )
                })
            }
        };
        if status < 0 {
            return Err(FilterError::hdf5(
                name,
                format!(
                    "adding filter {} to the dataset-creation property list failed",
                    self.id()
                ),
            ));
        }
        Ok(())
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
        match *self {
            FilterSpec::Deflate { level } => deflate::encode(chunk, level).map(Some),
            FilterSpec::Lzf => lzf::encode(chunk),
            FilterSpec::Szip { pixels_per_block } => szip::encode(
                chunk,
                &szip::Params::new(pixels_per_block, typesize, chunk_shape),
            ),
            FilterSpec::Blosc {
                compressor,
                clevel,
                shuffle,
            } => blosc::encode(chunk, typesize, compressor, clevel, shuffle),
            FilterSpec::Lz4 { block_size } => lz4::encode::<Vec<u8>>(chunk, block_size).map(Some),
            FilterSpec::Bitshuffle { codec, block_size } => {
                bitshuffle_h5::encode(chunk, typesize, block_size, codec).map(Some)
            }
            FilterSpec::Zstd { level } => zstd::encode(chunk, level).map(Some),
            FilterSpec::Blosc2 {
                compressor,
                clevel,
                shuffle,
                blocksize,
            } => blosc2::encode(
                chunk,
                typesize,
                chunk_shape,
                &blosc2::Params {
                    compressor,
                    clevel,
                    shuffle,
                    blocksize,
                },
            )
            .map(Some),
        }
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
        match *self {
            FilterSpec::Deflate { .. } => deflate::decode(stored, out),
            FilterSpec::Lzf => lzf::decode(stored, out),
            FilterSpec::Szip { pixels_per_block } => szip::decode(
                stored,
                &szip::Params::new(pixels_per_block, typesize, chunk_shape),
                out,
            ),
            FilterSpec::Blosc { .. } => blosc::decode(stored, out),
            FilterSpec::Lz4 { .. } => lz4::decode(stored, out),
            FilterSpec::Bitshuffle { codec, .. } => {
                bitshuffle_h5::decode(stored, typesize, codec, out)
            }
            FilterSpec::Zstd { .. } => zstd::decode(stored, out),
            FilterSpec::Blosc2 { .. } => blosc2::decode(stored, out),
        }
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
/// Note: 32000 is re-registered with this module's class (h5py's set_local, see `plugins`),
/// replacing hdf5-metno's, so files record h5py's cd_values (4, 261, chunk bytes).
pub fn register_all() -> Result<(), FilterError> {
    // hdf5-metno registers blosc and lzf when its library handle is first initialised, which
    // `sync` inside `plugins::register` forces first; then we check they are really there.
    plugins::register()?;
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
