//! The catalogue: every method and chunking name stemz knows, with its family, HDF5 filter id and
//! settings, defined once. The codecs (`stemz_codecs::Method`, `Chunking`) take their names from
//! here and test that their filters agree with the ids and settings below; analysis, report,
//! xtask and the CLI read the names, lists and Table 2 rows from here. This crate links no HDF5,
//! so everything downstream of a run folder can use the catalogue without the native stack.
//!
//! Names are exactly the study's (`gzip_6`, `blosc_zstd`, `bitshuffle_lz4`, …), so records
//! line up with the study's `all_runs_combined.csv` rows; a row's method is
//! `<chunking>_<method>` there, `method` plus a `chunking` column here.

/// The chunkless marker of the study's own formats (`sparse_csr`, `uint8_overflow`,
/// `simple_gzip`), and the name of the unfiltered HDF5 method.
pub const NONE: &str = "none";

/// The study's chunking strategies, in its table order.
pub const CHUNKINGS: [&str; 3] = [REAL_SPACE, BALANCED, SINGLE_FRAME];
/// `(min(32,sy), min(32,sx), min(256,qy), min(256,qx))`.
pub const REAL_SPACE: &str = "real_space";
/// `(min(16,sy), min(16,sx), min(128,qy), min(128,qx))`: the chunking of the study's tables.
pub const BALANCED: &str = "balanced";
/// `(1, 1, qy, qx)`: one chunk per diffraction pattern.
pub const SINGLE_FRAME: &str = "single_frame";

/// Method names used by name elsewhere (defaults, claims, figures). The full list is
/// [`METHODS`].
pub mod name {
    pub const NONE: &str = super::NONE;
    pub const GZIP_1: &str = "gzip_1";
    pub const GZIP_6: &str = "gzip_6";
    pub const GZIP_9: &str = "gzip_9";
    pub const LZF: &str = "lzf";
    pub const SZIP: &str = "szip";
    pub const BLOSC_BLOSCLZ: &str = "blosc_blosclz";
    pub const BLOSC_LZ4: &str = "blosc_lz4";
    pub const BLOSC_LZ4HC: &str = "blosc_lz4hc";
    pub const BLOSC_ZLIB: &str = "blosc_zlib";
    pub const BLOSC_ZSTD: &str = "blosc_zstd";
    pub const LZ4_HDF5: &str = "lz4_hdf5";
    pub const BITSHUFFLE_LZ4: &str = "bitshuffle_lz4";
    pub const SPARSE_CSR: &str = "sparse_csr";
    pub const UINT8_OVERFLOW: &str = "uint8_overflow";
    pub const SIMPLE_GZIP: &str = "simple_gzip";
    pub const ZSTD_3: &str = "zstd_3";
    pub const ZSTD_9: &str = "zstd_9";
    pub const BITSHUFFLE_ZSTD: &str = "bitshuffle_zstd";
    pub const BLOSC_ZSTD_BITSHUFFLE: &str = "blosc_zstd_bitshuffle";
    pub const BLOSC_ZSTD_BITSHUFFLE_5: &str = "blosc_zstd_bitshuffle_5";
    pub const BLOSC_LZ4_BITSHUFFLE: &str = "blosc_lz4_bitshuffle";
    pub const BLOSC2_ZSTD_BITSHUFFLE_1: &str = "blosc2_zstd_bitshuffle_1";
    pub const BLOSC2_ZSTD_BITSHUFFLE_5: &str = "blosc2_zstd_bitshuffle_5";
    pub const BLOSC2_ZSTD_SHUFFLE_1: &str = "blosc2_zstd_shuffle_1";
    pub const BLOSC2_LZ4_BITSHUFFLE_9: &str = "blosc2_lz4_bitshuffle_9";
    pub const BLOSC2_LZ4_SHUFFLE_9: &str = "blosc2_lz4_shuffle_9";
    pub const ZARR_BLOSC_ZSTD: &str = "zarr_blosc_zstd";
    pub const ZARR_BLOSC_ZSTD_BITSHUFFLE: &str = "zarr_blosc_zstd_bitshuffle";
    pub const ZARR_BLOSC_LZ4: &str = "zarr_blosc_lz4";
    pub const ZARR_ZSTD_3: &str = "zarr_zstd_3";
}

/// HDF5 filters by registered id (the HDF Group's registry; hdf5plugin's constants) and the
/// short name errors, records and `stemz inspect` give them.
pub mod filter {
    /// One registered HDF5 filter.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Filter {
        pub id: u32,
        pub name: &'static str,
    }

    const fn f(id: u32, name: &'static str) -> Filter {
        Filter { id, name }
    }

    pub const DEFLATE: Filter = f(1, "deflate");
    pub const SHUFFLE: Filter = f(2, "shuffle");
    /// HDF5's Fletcher-32 checksum (`--checksum`).
    pub const FLETCHER32: Filter = f(3, "fletcher32");
    pub const SZIP: Filter = f(4, "szip");
    pub const LZF: Filter = f(32000, "lzf");
    pub const BLOSC: Filter = f(32001, "blosc");
    pub const LZ4: Filter = f(32004, "lz4");
    pub const BITSHUFFLE: Filter = f(32008, "bitshuffle");
    pub const ZSTD: Filter = f(32015, "zstd");
    pub const BLOSC2: Filter = f(32026, "blosc2");

    /// Every filter stemz can name, including ones it only reads about in other files.
    pub const KNOWN: [Filter; 16] = [
        DEFLATE,
        SHUFFLE,
        FLETCHER32,
        SZIP,
        f(5, "nbit"),
        f(6, "scaleoffset"),
        f(307, "bzip2"),
        LZF,
        BLOSC,
        LZ4,
        BITSHUFFLE,
        f(32013, "zfp"),
        ZSTD,
        f(32017, "sz"),
        f(32018, "fcidecomp"),
        BLOSC2,
    ];

    /// The name of a known filter id.
    pub fn name(id: u32) -> Option<&'static str> {
        KNOWN.iter().find(|k| k.id == id).map(|k| k.name)
    }
}

/// What a method writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An HDF5 dataset, chunked by one of the chunkings, through one filter (or none).
    Hdf5,
    /// One of the study's own file formats (no chunking).
    OwnFormat,
    /// A sharded Zarr v3 store whose inner chunks are one of the chunkings.
    Zarr,
}

/// One method of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodEntry {
    pub name: &'static str,
    /// The codec family for grouping (`gzip`, `blosc`, `blosc2`, `zarr`, …).
    pub family: &'static str,
    /// The family as the study's Table 2 prints it (`Gzip`, `Blosc`, `LZ4`, …).
    pub label: &'static str,
    /// The HDF5 filter; `None` for no filter and for the non-HDF5 methods.
    pub filter_id: Option<u32>,
    /// The settings, in words (Table 2's column).
    pub settings: &'static str,
    pub kind: Kind,
    /// Whether the study benchmarked it.
    pub in_study: bool,
}

impl MethodEntry {
    /// Whether rows of this method carry a chunking (HDF5 datasets and Zarr stores).
    pub fn is_chunked(&self) -> bool {
        self.kind != Kind::OwnFormat
    }
}

const fn entry(
    name: &'static str,
    family: &'static str,
    label: &'static str,
    filter_id: Option<u32>,
    settings: &'static str,
    kind: Kind,
    in_study: bool,
) -> MethodEntry {
    MethodEntry {
        name,
        family,
        label,
        filter_id,
        settings,
        kind,
        in_study,
    }
}

use name as n;
use Kind::{Hdf5, OwnFormat, Zarr};

/// Every method: the study's 16 in the study's order (`compression_benchmark.py`: the HDF5
/// methods, then sparse, uint8 + overflow, simple gzip), the HDF5 methods stemz adds, then the
/// Zarr stores. `stemz_codecs::Method`'s variants are in this order (a test holds them to it).
#[rustfmt::skip]
pub const METHODS: [MethodEntry; 31] = [
    entry(n::NONE, "none", "None", None, "uncompressed, chunked", Hdf5, true),
    entry(n::GZIP_1, "gzip", "Gzip", Some(filter::DEFLATE.id), "deflate level 1", Hdf5, true),
    entry(n::GZIP_6, "gzip", "Gzip", Some(filter::DEFLATE.id), "deflate level 6", Hdf5, true),
    entry(n::GZIP_9, "gzip", "Gzip", Some(filter::DEFLATE.id), "deflate level 9", Hdf5, true),
    entry(n::LZF, "lzf", "LZF", Some(filter::LZF.id), "default", Hdf5, true),
    entry(n::SZIP, "szip", "Szip", Some(filter::SZIP.id), "nearest-neighbour coding, 8 pixels per block", Hdf5, true),
    entry(n::BLOSC_BLOSCLZ, "blosc", "Blosc", Some(filter::BLOSC.id), "Blosc blosclz, clevel 5, byte shuffle", Hdf5, true),
    entry(n::BLOSC_LZ4, "blosc", "Blosc", Some(filter::BLOSC.id), "Blosc lz4, clevel 5, byte shuffle", Hdf5, true),
    entry(n::BLOSC_LZ4HC, "blosc", "Blosc", Some(filter::BLOSC.id), "Blosc lz4hc, clevel 5, byte shuffle", Hdf5, true),
    entry(n::BLOSC_ZLIB, "blosc", "Blosc", Some(filter::BLOSC.id), "Blosc zlib, clevel 5, byte shuffle", Hdf5, true),
    entry(n::BLOSC_ZSTD, "blosc", "Blosc", Some(filter::BLOSC.id), "Blosc zstd, clevel 3, byte shuffle", Hdf5, true),
    entry(n::LZ4_HDF5, "lz4", "LZ4", Some(filter::LZ4.id), "block size 0 (default)", Hdf5, true),
    entry(n::BITSHUFFLE_LZ4, "bitshuffle", "Bitshuffle", Some(filter::BITSHUFFLE.id), "bitshuffle + LZ4, block size 0", Hdf5, true),
    entry(n::SPARSE_CSR, "sparse", "Sparse", None, "one CSR matrix per frame, one binary file", OwnFormat, true),
    entry(n::UINT8_OVERFLOW, "uint8_overflow", "uint8 + overflow", None, "u8 values, 255 marks overflow, deflated overflow list", OwnFormat, true),
    entry(n::SIMPLE_GZIP, "npy_gzip", "npy + gzip", None, "the array's .npy bytes through gzip level 9", OwnFormat, true),
    entry(n::ZSTD_3, "zstd", "Zstd", Some(filter::ZSTD.id), "zstd level 3", Hdf5, false),
    entry(n::ZSTD_9, "zstd", "Zstd", Some(filter::ZSTD.id), "zstd level 9", Hdf5, false),
    entry(n::BITSHUFFLE_ZSTD, "bitshuffle", "Bitshuffle", Some(filter::BITSHUFFLE.id), "bitshuffle + zstd level 3, block size 0", Hdf5, false),
    entry(n::BLOSC_ZSTD_BITSHUFFLE, "blosc", "Blosc", Some(filter::BLOSC.id), "Blosc zstd, clevel 3, bit shuffle", Hdf5, false),
    entry(n::BLOSC_ZSTD_BITSHUFFLE_5, "blosc", "Blosc", Some(filter::BLOSC.id), "Blosc zstd, clevel 5, bit shuffle", Hdf5, false),
    entry(n::BLOSC_LZ4_BITSHUFFLE, "blosc", "Blosc", Some(filter::BLOSC.id), "Blosc lz4, clevel 5, bit shuffle", Hdf5, false),
    entry(n::BLOSC2_ZSTD_BITSHUFFLE_1, "blosc2", "Blosc2", Some(filter::BLOSC2.id), "Blosc2 zstd, clevel 1, bit shuffle", Hdf5, false),
    entry(n::BLOSC2_ZSTD_BITSHUFFLE_5, "blosc2", "Blosc2", Some(filter::BLOSC2.id), "Blosc2 zstd, clevel 5, bit shuffle", Hdf5, false),
    entry(n::BLOSC2_ZSTD_SHUFFLE_1, "blosc2", "Blosc2", Some(filter::BLOSC2.id), "Blosc2 zstd, clevel 1, byte shuffle", Hdf5, false),
    entry(n::BLOSC2_LZ4_BITSHUFFLE_9, "blosc2", "Blosc2", Some(filter::BLOSC2.id), "Blosc2 lz4, clevel 9, bit shuffle", Hdf5, false),
    entry(n::BLOSC2_LZ4_SHUFFLE_9, "blosc2", "Blosc2", Some(filter::BLOSC2.id), "Blosc2 lz4, clevel 9, byte shuffle", Hdf5, false),
    entry(n::ZARR_BLOSC_ZSTD, "zarr", "Zarr", None, "Zarr v3 shards, blosc zstd, clevel 3, byte shuffle", Zarr, false),
    entry(n::ZARR_BLOSC_ZSTD_BITSHUFFLE, "zarr", "Zarr", None, "Zarr v3 shards, blosc zstd, clevel 3, bit shuffle", Zarr, false),
    entry(n::ZARR_BLOSC_LZ4, "zarr", "Zarr", None, "Zarr v3 shards, blosc lz4, clevel 5, byte shuffle", Zarr, false),
    entry(n::ZARR_ZSTD_3, "zarr", "Zarr", None, "Zarr v3 shards, zstd level 3", Zarr, false),
];

/// The entry of a method name (exact spelling).
pub fn method(name: &str) -> Option<&'static MethodEntry> {
    METHODS.iter().find(|m| m.name == name)
}

/// The study's 13 HDF5 methods (its Table 2), in the study's order.
pub fn study_hdf5() -> impl Iterator<Item = &'static MethodEntry> {
    METHODS
        .iter()
        .filter(|m| m.in_study && m.kind == Kind::Hdf5)
}

/// The HDF5 methods stemz adds to the study's.
pub fn new_hdf5() -> impl Iterator<Item = &'static MethodEntry> {
    METHODS
        .iter()
        .filter(|m| !m.in_study && m.kind == Kind::Hdf5)
}

/// The Zarr v3 methods.
pub fn zarr() -> impl Iterator<Item = &'static MethodEntry> {
    METHODS.iter().filter(|m| m.kind == Kind::Zarr)
}

/// The implementation families of the study's Table 4, in its order, with their printed labels.
pub const TABLE4_FAMILIES: [(&str, &str); 7] = [
    (n::BLOSC_ZLIB, "Blosc (zlib)"),
    (n::BLOSC_ZSTD, "Blosc (zstd)"),
    (n::GZIP_9, "Gzip-9"),
    (n::GZIP_6, "Gzip-6"),
    (n::BLOSC_LZ4HC, "Blosc (lz4hc)"),
    (n::SZIP, "Szip"),
    (n::BLOSC_LZ4, "Blosc (lz4)"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_the_study_has_its_thirteen_hdf5_methods_and_three_formats() {
        let mut names: Vec<&str> = METHODS.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), METHODS.len());
        assert_eq!(study_hdf5().count(), 13);
        let own: Vec<&str> = METHODS
            .iter()
            .filter(|m| m.kind == Kind::OwnFormat)
            .map(|m| m.name)
            .collect();
        assert_eq!(own, [n::SPARSE_CSR, n::UINT8_OVERFLOW, n::SIMPLE_GZIP]);
        assert!(METHODS
            .iter()
            .all(|m| m.in_study || m.kind != Kind::OwnFormat));
        // The study's methods come first, as its loop ran them.
        let first_new = METHODS.iter().position(|m| !m.in_study).unwrap();
        assert!(METHODS[first_new..].iter().all(|m| !m.in_study));
    }

    #[test]
    fn only_hdf5_methods_name_a_filter_and_table4_names_study_methods() {
        for m in METHODS {
            assert!(m.kind == Kind::Hdf5 || m.filter_id.is_none(), "{}", m.name);
            assert!(
                m.filter_id.is_none_or(|id| filter::name(id).is_some()),
                "{}",
                m.name
            );
            assert_eq!(m.is_chunked(), m.kind != Kind::OwnFormat);
            assert!(
                !m.name.starts_with("zarr_") || m.kind == Kind::Zarr,
                "{}",
                m.name
            );
        }
        for (name, _) in TABLE4_FAMILIES {
            assert!(method(name).is_some_and(|m| m.in_study), "{name}");
        }
        assert_eq!(method("nope"), None);
        let mut ids: Vec<u32> = filter::KNOWN.iter().map(|k| k.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), filter::KNOWN.len(), "ids unique and ascending");
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(filter::name(32001), Some("blosc"));
        assert_eq!(filter::name(99), None);
    }
}
