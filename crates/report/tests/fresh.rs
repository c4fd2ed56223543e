//! The committed tables, figures and report are what the committed records give (the same check
//! as `cargo xtask check`, as a test, so plain `cargo test` catches a stale artifact too).

use std::path::Path;
use std::process::Command;

#[test]
fn committed_artifacts_equal_what_the_committed_records_render() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let reference = std::fs::read_to_string(root.join("data/runs/REFERENCE")).unwrap();
    // No --study: the default is the repository's data/study/, the folder xtask names too.
    let o = Command::new(env!("CARGO_BIN_EXE_stemz-report"))
        .arg("--run")
        .arg(root.join("data/runs").join(reference.trim()))
        .arg("--out")
        .arg(&root)
        .args(
            root.join("data/runs/fidelity-small")
                .is_dir()
                .then(|| ["--fidelity".into(), root.join("data/runs/fidelity-small")])
                .into_iter()
                .flatten()
                .collect::<Vec<std::path::PathBuf>>(),
        )
        .args(
            root.join("data/calibration/small.toml")
                .is_file()
                .then(|| {
                    [
                        "--calibration".into(),
                        root.join("data/calibration/small.toml"),
                    ]
                })
                .into_iter()
                .flatten()
                .collect::<Vec<std::path::PathBuf>>(),
        )
        .args(
            std::fs::read_to_string(root.join("data/runs/REFERENCE-paper"))
                .ok()
                .map(|id| ["--paper-run".into(), root.join("data/runs").join(id.trim())])
                .into_iter()
                .flatten()
                .collect::<Vec<std::path::PathBuf>>(),
        )
        .arg("--readme")
        .arg(root.join("README.md"))
        .args(
            root.join("data/runs/clone-check.toml")
                .is_file()
                .then(|| {
                    [
                        "--clone-check".into(),
                        root.join("data/runs/clone-check.toml"),
                    ]
                })
                .into_iter()
                .flatten()
                .collect::<Vec<std::path::PathBuf>>(),
        )
        .arg("--perf")
        .arg(root.join("data/runs"))
        .arg("--blosc2")
        .arg(root.join("data/runs"))
        .arg("--check")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn no_generated_document_names_a_path_of_the_machine_that_made_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut docs: Vec<std::path::PathBuf> = vec![root.join("README.md")];
    for dir in ["paper", "paper/tables"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension()
                .is_some_and(|x| x == "md" || x == "csv" || x == "tex")
            {
                docs.push(p);
            }
        }
    }
    for p in &docs {
        let text = std::fs::read_to_string(p).unwrap();
        for local in ["/work/", "/tmp/", "/root/", "/home/"] {
            assert!(
                !text.contains(local),
                "{}: names a path under {local}",
                p.display()
            );
        }
    }
}
