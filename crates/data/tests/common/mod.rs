//! Helpers shared by the data crate's integration tests: the real instrument fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

const REALDATA_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/realdata"
);

/// The real instrument fixture `name` in `../shared/reference/realdata/` (beside the checkout,
/// from the artifact's `shared/`, not part of the repository). When the folder or the file is
/// absent the test fails with one line naming what is missing, not deep inside a reader.
pub fn realdata(name: &str) -> PathBuf {
    realdata_in(Path::new(REALDATA_DIR), name)
}

/// [`realdata`] under another folder (`dir` stands for `../shared/reference/realdata/`).
pub fn realdata_in(dir: &Path, name: &str) -> PathBuf {
    let missing = if !dir.is_dir() {
        dir.to_path_buf()
    } else if !dir.join(name).is_file() {
        dir.join(name)
    } else {
        return dir.join(name);
    };
    panic!(
        "the real instrument fixtures are missing: {} (this test needs the artifact's shared/ \
         beside the checkout)",
        shown(&missing)
    );
}

/// `path` as `../shared/reference/realdata/…` when it is under the fixture folder.
fn shown(path: &Path) -> String {
    match path.strip_prefix(REALDATA_DIR) {
        Ok(rest) => Path::new("../shared/reference/realdata")
            .join(rest)
            .display()
            .to_string(),
        Err(_) => path.display().to_string(),
    }
}
