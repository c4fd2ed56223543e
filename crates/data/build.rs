//! Links libaec's libsz (szip), which the static HDF5 calls for filter 4 and stemz-codecs calls
//! for its parallel szip: the static library `cargo xtask setup` builds into
//! `$STEMZ_LIBAEC_DIR/lib` (set in .cargo/config.toml). Whole-archive, because cargo places
//! this crate's native libraries before hdf5-sys's libhdf5.a on the link line, and a static
//! archive only resolves symbols that are already undefined when the linker reaches it.

fn main() {
    println!("cargo:rerun-if-env-changed=STEMZ_LIBAEC_DIR");
    let Some(dir) = std::env::var_os("STEMZ_LIBAEC_DIR") else {
        panic!("stemz-data: STEMZ_LIBAEC_DIR is not set (.cargo/config.toml sets it): run `cargo xtask setup`");
    };
    let dir = std::path::PathBuf::from(dir);
    let lib = dir.join("lib");
    let header = dir.join("include/libaec.h");
    if !lib.join("libsz.a").is_file() {
        panic!(
            "stemz-data: no libaec in {}: run `cargo xtask setup` (it builds libaec there)",
            dir.display()
        );
    }
    println!("cargo:rerun-if-changed={}", lib.join("libsz.a").display());
    println!("cargo:rustc-link-search=native={}", lib.display());
    println!("cargo:rustc-link-lib=static:+whole-archive=sz");
    // The version, for run provenance and `stemz --version`.
    let text = std::fs::read_to_string(&header).unwrap_or_default();
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("#define AEC_VERSION_STR"))
        .map(|v| v.trim().trim_matches('"').to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=STEMZ_LIBAEC_VERSION={version}");
}
