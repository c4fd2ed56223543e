//! The method table: names, order and settings exactly as the study's records spell them.

use stemz_codecs::filters::{
    self, Bitshuffle, BitshuffleCodec, Blosc, Blosc2, BloscCompressor, Deflate, FilterSpec, Lz4,
    Shuffle, Zstd,
};
use stemz_codecs::Method;

#[test]
fn study_methods_are_the_studys_sixteen_in_its_order() {
    let names: Vec<&str> = Method::study().iter().map(|m| m.name()).collect();
    assert_eq!(
        names,
        [
            "none",
            "gzip_1",
            "gzip_6",
            "gzip_9",
            "lzf",
            "szip",
            "blosc_blosclz",
            "blosc_lz4",
            "blosc_lz4hc",
            "blosc_zlib",
            "blosc_zstd",
            "lz4_hdf5",
            "bitshuffle_lz4",
            "sparse_csr",
            "uint8_overflow",
            "simple_gzip"
        ]
    );
    assert_eq!(Method::study().iter().filter(|m| m.is_hdf5()).count(), 13);
    assert!(Method::study().iter().all(|m| m.in_study()));
    assert!(Method::new_methods()
        .iter()
        .all(|m| !m.in_study() && m.is_hdf5()));
    assert_eq!(Method::zarr().len(), 4);
    assert!(Method::zarr()
        .iter()
        .all(|m| m.is_zarr() && m.is_chunked() && !m.is_hdf5() && !m.in_study()));
    assert_eq!(Method::all().len(), 31);
}

#[test]
fn zarr_methods_use_their_hdf5_twins_codec_settings() {
    use stemz_codecs::filters::FilterSpec;
    use stemz_codecs::zarr::ZarrCodec;
    for &m in Method::zarr() {
        let twin = m.hdf5_twin().expect("every Zarr method has an HDF5 twin");
        assert!(twin.is_hdf5());
        match (m.zarr_codec().unwrap(), twin.filter().unwrap()) {
            (
                ZarrCodec::Blosc {
                    compressor,
                    clevel,
                    shuffle,
                },
                FilterSpec::Blosc(Blosc {
                    compressor: c,
                    clevel: l,
                    shuffle: s,
                }),
            ) => assert_eq!((compressor, clevel, shuffle), (c, l, s), "{m}"),
            (ZarrCodec::Zstd { level }, FilterSpec::Zstd(Zstd { level: l })) => {
                assert_eq!(level, l, "{m}")
            }
            (z, f) => panic!("{m}: {z:?} against {twin}'s {f:?}"),
        }
        assert!(m.filter().is_none() && m.name().starts_with("zarr_"));
    }
}

#[test]
fn every_name_parses_back_to_its_method() {
    for m in Method::all() {
        assert_eq!(Method::parse(m.name()).unwrap(), m);
        assert_eq!(Method::parse(&m.name().to_uppercase()).unwrap(), m);
    }
}

#[test]
fn unknown_method_error_lists_the_valid_names() {
    let err = Method::parse("gzip_5").unwrap_err().to_string();
    assert!(err.contains("gzip_5"), "{err}");
    assert!(
        err.contains("blosc_zstd") && err.contains("bitshuffle_zstd"),
        "{err}"
    );
}

#[test]
fn filter_settings_follow_the_study() {
    use Method::*;
    assert_eq!(Method::None.filter(), Option::None);
    assert_eq!(
        Gzip9.filter(),
        Some(FilterSpec::Deflate(Deflate { level: 9 }))
    );
    assert_eq!(
        Szip.filter(),
        Some(FilterSpec::Szip(filters::Szip {
            pixels_per_block: 8
        }))
    );
    for (m, c) in [
        (BloscBloscLz, BloscCompressor::BloscLz),
        (BloscLz4, BloscCompressor::Lz4),
        (BloscLz4Hc, BloscCompressor::Lz4Hc),
        (BloscZlib, BloscCompressor::Zlib),
    ] {
        assert_eq!(
            m.filter(),
            Some(FilterSpec::Blosc(Blosc {
                compressor: c,
                clevel: 5,
                shuffle: Shuffle::Byte
            }))
        );
    }
    assert_eq!(
        BloscZstd.filter(),
        Some(FilterSpec::Blosc(Blosc {
            compressor: BloscCompressor::Zstd,
            clevel: 3,
            shuffle: Shuffle::Byte
        }))
    );
    assert_eq!(
        Lz4Hdf5.filter(),
        Some(FilterSpec::Lz4(Lz4 { block_size: 0 }))
    );
    assert_eq!(
        BitshuffleLz4.filter(),
        Some(FilterSpec::Bitshuffle(Bitshuffle {
            codec: BitshuffleCodec::Lz4,
            block_size: 0
        }))
    );
    for m in [SparseCsr, Uint8Overflow, SimpleGzip] {
        assert!(!m.is_hdf5());
        assert_eq!(m.filter(), Option::None);
    }
    let ids: Vec<u32> = Method::hdf5()
        .iter()
        .filter_map(|m| m.filter().map(|f| f.id()))
        .collect();
    for id in [1, 4, 32000, 32001, 32004, 32008, 32015] {
        assert!(ids.contains(&id), "filter {id} used by some method");
    }
}

#[test]
fn only_uint8_overflow_on_floats_is_lossy_by_design() {
    use stemz_data::DType;
    for m in Method::all() {
        for d in [DType::U8, DType::U16, DType::U32, DType::F32] {
            let lossy = m == Method::Uint8Overflow && d == DType::F32;
            assert_eq!(m.lossless_for(d), !lossy, "{m} {d}");
        }
    }
}

#[test]
fn blosc2_methods_are_hdf5plugin_blosc2_settings_with_automatic_block_size() {
    use stemz_codecs::filters::{BloscCompressor, Shuffle};
    let expect = [
        (
            Method::Blosc2ZstdBitshuffle1,
            BloscCompressor::Zstd,
            1,
            Shuffle::Bit,
        ),
        (
            Method::Blosc2ZstdBitshuffle5,
            BloscCompressor::Zstd,
            5,
            Shuffle::Bit,
        ),
        (
            Method::Blosc2ZstdShuffle1,
            BloscCompressor::Zstd,
            1,
            Shuffle::Byte,
        ),
        (
            Method::Blosc2Lz4Bitshuffle9,
            BloscCompressor::Lz4,
            9,
            Shuffle::Bit,
        ),
        (
            Method::Blosc2Lz4Shuffle9,
            BloscCompressor::Lz4,
            9,
            Shuffle::Byte,
        ),
    ];
    for (m, compressor, clevel, shuffle) in expect {
        assert_eq!(
            m.filter(),
            Some(FilterSpec::Blosc2(Blosc2 {
                compressor,
                clevel,
                shuffle,
                blocksize: 0
            })),
            "{m}"
        );
        assert_eq!(m.family(), "blosc2");
        assert_eq!(m.filter().map(|f| f.id()), Some(32026));
        assert!(m.name().starts_with("blosc2_"));
    }
}

/// The catalogue (`stemz_record::catalogue`) is the one list of names; each variant is its
/// entry, and the filter the codecs build is the one the catalogue names, at the settings it
/// states in words.
#[test]
fn every_method_is_its_catalogue_entry_and_builds_the_filter_it_names() {
    use stemz_record::catalogue::{self, Kind};
    assert_eq!(Method::all().len(), catalogue::METHODS.len());
    for (m, e) in Method::all().into_iter().zip(catalogue::METHODS) {
        assert_eq!(m.name(), e.name);
        assert_eq!(Method::parse(e.name).unwrap(), m);
        assert_eq!(m.is_hdf5(), e.kind == Kind::Hdf5, "{m}");
        assert_eq!(m.is_zarr(), e.kind == Kind::Zarr, "{m}");
        assert_eq!(m.filter().map(|f| f.id()), e.filter_id, "{m}");
        let level = |l: &dyn std::fmt::Display| format!("level {l}");
        let clevel = |l: u8| format!("clevel {l}");
        let shuffle = |s: Shuffle| match s {
            Shuffle::Bit => "bit shuffle",
            Shuffle::Byte => "byte shuffle",
            Shuffle::None => "no shuffle",
        };
        let words: Vec<String> = match (m.filter(), m.zarr_codec()) {
            (Some(FilterSpec::Deflate(Deflate { level: l })), _) => vec![level(&l)],
            (Some(FilterSpec::Zstd(Zstd { level: l })), _) => vec![level(&l)],
            (
                Some(
                    FilterSpec::Blosc(Blosc {
                        compressor,
                        clevel: l,
                        shuffle: s,
                    })
                    | FilterSpec::Blosc2(Blosc2 {
                        compressor,
                        clevel: l,
                        shuffle: s,
                        ..
                    }),
                ),
                _,
            )
            | (
                _,
                Some(stemz_codecs::zarr::ZarrCodec::Blosc {
                    compressor,
                    clevel: l,
                    shuffle: s,
                }),
            ) => vec![
                format!(" {},", compressor.name()),
                clevel(l),
                shuffle(s).to_string(),
            ],
            (_, Some(stemz_codecs::zarr::ZarrCodec::Zstd { level: l })) => vec![level(&l)],
            _ => vec![],
        };
        for w in words {
            assert!(e.settings.contains(&w), "{m}: `{}` lacks `{w}`", e.settings);
        }
    }
}
