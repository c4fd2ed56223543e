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
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_library_reports_a_dotted_version() {
        let v = super::library_versions();
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
