/// What is compiled into stemz, as paths from the workspace root: a build made while any of
/// these differs from `HEAD` records its revision as `<commit>+dirty`; the records a run writes
/// (`data/runs/`) do not count. Shared by `build.rs` (through `include!`) and `cargo xtask`.
pub const SOURCES: [&str; 7] = [
    "crates",
    "xtask",
    "Cargo.toml",
    "Cargo.lock",
    ".cargo",
    "data/datasets.toml",
    "data/study",
];
