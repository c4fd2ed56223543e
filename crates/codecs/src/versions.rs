//! Versions of the compression libraries linked into this process, for run provenance
//! (`run.toml`): a compressed size can move when a library version does.

use std::collections::BTreeMap;

/// Library name → version string: the filters' codec libraries, plus HDF5.
pub fn library_versions() -> BTreeMap<String, String> {
    let mut v: BTreeMap<String, String> = crate::filters::library_versions()
        .into_iter()
        .map(|(name, version)| (name.to_string(), version))
        .collect();
    let h = hdf5::library_version();
    v.insert("hdf5".into(), format!("{}.{}.{}", h.0, h.1, h.2));
    // Built by cargo from hdf5-metno-src and linked statically: no system libhdf5.
    v.insert("hdf5-build".into(), "static (hdf5-metno-src)".into());
    v.insert(
        "szip".into(),
        format!("libaec {}", stemz_data::LIBAEC_VERSION),
    );
    v
}

/// One line for `stemz --version`: the HDF5 and szip this binary carries.
pub fn summary() -> String {
    let v = library_versions();
    format!(
        "HDF5 {} ({}), szip from {}, zlib {}",
        v["hdf5"], v["hdf5-build"], v["szip"], v["zlib-deflate"]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_library_reports_a_dotted_version() {
        let v = super::library_versions();
        assert!(v["szip"].starts_with("libaec "), "{}", v["szip"]);
        assert!(
            v["hdf5"].starts_with("2."),
            "HDF5 {}: stemz builds 2.x",
            v["hdf5"]
        );
        for lib in [
            "hdf5",
            "c-blosc",
            "zlib-blosc",
            "zlib-deflate",
            "zstd",
            "lz4",
        ] {
            let s = &v[lib];
            assert!(s.split('.').count() >= 3, "{lib}: {s}");
        }
    }
}
