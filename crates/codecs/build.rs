//! Builds c-blosc2 (for the Blosc2 filter 32026) from the sources of the `blosc2-src` crate,
//! plus stemz's glue `csrc/stemz_blosc2.c`.
//!
//! Why not link `blosc2-src`'s own library: it compiles its private zstd 1.5.6 and lz4, and
//! c-blosc2's blosclz, into one static library whose symbols collide with those of zstd-sys
//! (zstd 1.5.7, used by filter 32015 and Blosc), lz4-sys and c-blosc 1.x (blosc-src, whose
//! `blosclz_compress` has another signature). The linker silently keeps one of each, which
//! changed the bytes of stemz's zstd and Blosc chunks. So here c-blosc2 is compiled against
//! zstd-sys's and lz4-sys's headers (one zstd and one lz4 in the binary, zstd 1.5.7 as in
//! hdf5plugin 7.1), and its blosclz symbols are renamed. `blosc2-src` is only a
//! build-dependency: the registry crate that ships the sources, never linked.

use std::path::PathBuf;

/// The blosc2-src release whose c-blosc2 (2.15.3.dev) we compile; keep equal to Cargo.toml.
const BLOSC2_SRC: &str = "blosc2-src-0.1.4";

/// c-blosc2 symbols that c-blosc 1.x also defines (found with `nm`), renamed on our side.
const RENAMED: [&str; 6] = [
    "blosclz_compress",
    "blosclz_decompress",
    "copy_match",
    "fastcopy",
    "get_match",
    "get_run_16",
];

fn c_blosc2_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("STEMZ_C_BLOSC2_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME or CARGO_HOME")).join(".cargo")
        });
    let registry = home.join("registry").join("src");
    let found = std::fs::read_dir(&registry).ok().and_then(|entries| {
        entries
            .filter_map(|e| e.ok())
            .map(|e| e.path().join(BLOSC2_SRC).join("c-blosc2"))
            .find(|p| p.join("blosc").join("blosc2.c").is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "stemz-codecs: cannot find {BLOSC2_SRC}/c-blosc2 under {} (fetched by cargo as a \
             build-dependency); set STEMZ_C_BLOSC2_DIR to a c-blosc2 2.15 source tree",
            registry.display()
        )
    })
}

fn main() {
    let src = c_blosc2_dir();
    println!("cargo:rerun-if-changed=csrc/stemz_blosc2.c");
    println!("cargo:rerun-if-env-changed=STEMZ_C_BLOSC2_DIR");
    let zstd_include = std::env::var("DEP_ZSTD_INCLUDE").expect("zstd-sys include dir");
    let lz4_include = std::env::var("DEP_LZ4_INCLUDE").expect("lz4-sys include dir");

    let mut build = cc::Build::new();
    build
        .include(src.join("include"))
        .include(src.join("blosc"))
        .include(zstd_include)
        .include(lz4_include)
        .define("HAVE_ZSTD", None)
        .define("HAVE_LZ4", None)
        .warnings(false);
    let target_arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if target_arch == "x86_64" {
        // SSE2 is part of x86_64; AVX2 code paths are compiled only for targets that have it
        // (the shuffles' output is the same bytes either way).
        build.define("SHUFFLE_SSE2_ENABLED", "1").flag("-msse2");
    }
    for sym in RENAMED {
        build.define(sym, Some(format!("stemz_c_blosc2_{sym}").as_str()));
    }
    let blosc = src.join("blosc");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&blosc)
        .expect("c-blosc2/blosc")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        // The AVX2/AVX512/NEON/Altivec variants need their own -m flags and are unused here.
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !["avx2", "avx512", "neon", "altivec"]
                .iter()
                .any(|v| name.contains(v))
        })
        .collect();
    files.sort();
    build.files(files).file("csrc/stemz_blosc2.c");
    build.compile("stemz_c_blosc2");
}
