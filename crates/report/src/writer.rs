//! The one place that writes generated files: atomically (temporary sibling, then rename), or
//! in check mode only comparing, so `cargo xtask check` can name what is stale.

use crate::{ReportError, Result};
use std::path::{Path, PathBuf};

fn io(path: &Path, source: std::io::Error) -> ReportError {
    ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Write each `(relative path, bytes)` under `root`, or with `check` write nothing. Returns the
/// relative paths whose content differed or was missing (in write mode: the ones rewritten).
/// Files whose bytes are already equal are not touched, so timestamps stay stable.
pub fn write_or_check(
    root: &Path,
    files: &[(PathBuf, Vec<u8>)],
    check: bool,
) -> Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    for (rel, bytes) in files {
        let path = root.join(rel);
        match std::fs::read(&path) {
            Ok(old) if &old == bytes => continue,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&path, e)),
        }
        changed.push(rel.clone());
        if check {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
        std::fs::write(&tmp, bytes).map_err(|e| io(&tmp, e))?;
        if let Err(e) = std::fs::rename(&tmp, &path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(&path, e));
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_mode_reports_missing_and_changed_files_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            (PathBuf::from("a/x.csv"), b"1\n".to_vec()),
            (PathBuf::from("y.md"), b"2\n".to_vec()),
        ];
        let stale = write_or_check(dir.path(), &files, true).unwrap();
        assert_eq!(stale.len(), 2);
        assert!(
            !dir.path().join("y.md").exists(),
            "check mode must not write"
        );
        assert_eq!(write_or_check(dir.path(), &files, false).unwrap().len(), 2);
        assert_eq!(std::fs::read(dir.path().join("a/x.csv")).unwrap(), b"1\n");
        assert!(write_or_check(dir.path(), &files, true).unwrap().is_empty());
        std::fs::write(dir.path().join("y.md"), b"edited").unwrap();
        assert_eq!(
            write_or_check(dir.path(), &files, true).unwrap(),
            vec![PathBuf::from("y.md")]
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
