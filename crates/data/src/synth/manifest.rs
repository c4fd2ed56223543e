//! `data/datasets.toml`: what each synthetic dataset is (shape, dtype, the study's sparsity and
//! maximum) and how it is pinned (generator version, seed, per-scale scan shape and SHA-256).
//!
//! The file is hand-edited except for the `sha256` lines, which `stemz synth --update-manifest`
//! rewrites in place (keeping comments and layout) with the generator's current output.

use super::{sha256_of, Model, Scale, SynthReader, GENERATOR_VERSION};
use crate::cube::{DType, Shape4};
use crate::error::{DataError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(rename = "dataset")]
    pub datasets: Vec<DatasetSpec>,
    /// Where it was loaded from, for error messages and rewriting.
    #[serde(skip)]
    pub path: PathBuf,
}

/// One dataset of the study and its synthetic stand-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// The study's name, e.g. `4D_Diff-2x2-binning`; selects the model.
    pub name: String,
    pub description: String,
    pub dtype: DType,
    /// Shape at `paper` scale: `[scan_y, scan_x, det_y, det_x]`.
    pub shape: Shape4,
    /// The study's zero fraction (dataset_inventory.csv), the calibration target.
    pub target_sparsity: f64,
    /// The study's maximum value.
    pub max_value: f64,
    /// Generator version the checksums were computed with.
    pub generator_version: u32,
    pub seed: u64,
    /// Per scale (`tiny`, `small`, `paper`): scan shape and checksum.
    pub scales: BTreeMap<String, ScaleEntry>,
}

/// A dataset at one scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleEntry {
    /// `[scan_y, scan_x]`.
    pub scan: [usize; 2],
    /// SHA-256 of the little-endian element bytes in C order; absent until computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// A dataset whose bytes differ from its manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub name: String,
    pub expected: Option<String>,
    pub actual: String,
}

impl DatasetSpec {
    pub fn model(&self) -> Result<Model> {
        Model::from_name(&self.name).ok_or_else(|| {
            DataError::Invalid(format!(
                "dataset {}: no synthetic model of that name (known: 4D_EELS, 4D_Diff, \
                 4D_Diff-2x2-binning, 4D_Diff-4x4-binning, 3D_EELS)",
                self.name
            ))
        })
    }

    /// Detector shape `[det_y, det_x]` (the same at every scale).
    pub fn detector(&self) -> [usize; 2] {
        [self.shape[2], self.shape[3]]
    }

    /// Scan shape at `scale`.
    pub fn scan(&self, scale: Scale) -> Result<[usize; 2]> {
        self.scales
            .get(scale.name())
            .map(|e| e.scan)
            .ok_or_else(|| DataError::Invalid(format!("dataset {}: no `{scale}` scale", self.name)))
    }

    /// Full shape at `scale`.
    pub fn shape_at(&self, scale: Scale) -> Result<Shape4> {
        let [sy, sx] = self.scan(scale)?;
        Ok([sy, sx, self.shape[2], self.shape[3]])
    }

    pub fn sha256(&self, scale: Scale) -> Option<&str> {
        self.scales
            .get(scale.name())
            .and_then(|e| e.sha256.as_deref())
    }
}

impl Manifest {
    /// Read and validate a manifest file.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
        Manifest::parse(&text, path)
    }

    /// The manifest this binary was built with (see [`EMBEDDED_NAME`]); it cannot be rewritten
    /// ([`Manifest::write_checksums`] refuses it: give the file with `--manifest`).
    pub fn embedded() -> Result<Manifest> {
        Manifest::parse(EMBEDDED, Path::new(EMBEDDED_NAME))
    }

    /// The manifest at `path`, or the embedded one when `None`.
    pub fn load_or_embedded(path: Option<&Path>) -> Result<Manifest> {
        match path {
            Some(p) => Manifest::load(p),
            None => Manifest::embedded(),
        }
    }

    /// Parse and validate manifest text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest> {
        let mut m: Manifest =
            toml::from_str(text).map_err(|e| DataError::format(path, e.to_string()))?;
        m.path = path.to_path_buf();
        m.validate()?;
        Ok(m)
    }

    fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(DataError::format(&self.path, msg));
        let mut seen = std::collections::BTreeSet::new();
        for d in &self.datasets {
            if !seen.insert(d.name.as_str()) {
                return bad(format!("dataset {} is listed twice", d.name));
            }
            let model = d
                .model()
                .map_err(|e| DataError::format(&self.path, e.to_string()))?;
            if model.dtype() != d.dtype {
                return bad(format!(
                    "dataset {}: dtype {} but the model produces {}",
                    d.name,
                    d.dtype,
                    model.dtype()
                ));
            }
            if let Model::DiffBinned(b) = model {
                let Some(src) = self.datasets.iter().find(|s| s.name == "4D_Diff") else {
                    return bad(format!(
                        "dataset {} is binned from 4D_Diff, which is missing",
                        d.name
                    ));
                };
                if src.seed != d.seed
                    || src.shape[2] != d.shape[2] * b
                    || src.shape[3] != d.shape[3] * b
                {
                    return bad(format!(
                        "dataset {}: must have 4D_Diff's seed and a detector {b}x smaller",
                        d.name
                    ));
                }
                for (scale, e) in &d.scales {
                    if src.scales.get(scale).map(|s| s.scan) != Some(e.scan) {
                        return bad(format!(
                            "dataset {}: `{scale}` scan must equal 4D_Diff's",
                            d.name
                        ));
                    }
                }
            }
            for scale in Scale::ALL {
                let Some(e) = d.scales.get(scale.name()) else {
                    return bad(format!("dataset {}: missing scale `{scale}`", d.name));
                };
                if e.scan[0] == 0 || e.scan[1] == 0 {
                    return bad(format!("dataset {}: empty `{scale}` scan", d.name));
                }
                if let Some(h) = &e.sha256 {
                    if h.len() != 64 || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
                        return bad(format!(
                            "dataset {}: `{scale}` sha256 is not 64 hex digits",
                            d.name
                        ));
                    }
                }
            }
            if d.scales.get("paper").map(|e| e.scan) != Some([d.shape[0], d.shape[1]]) {
                return bad(format!(
                    "dataset {}: `paper` scan differs from shape",
                    d.name
                ));
            }
            if let Some(k) = d.scales.keys().find(|k| Scale::parse(k).is_none()) {
                return bad(format!("dataset {}: unknown scale `{k}`", d.name));
            }
        }
        Ok(())
    }

    pub fn spec(&self, name: &str) -> Result<&DatasetSpec> {
        self.datasets
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| DataError::format(&self.path, format!("no dataset named {name}")))
    }

    /// Recompute the SHA-256 of the named datasets (all when `names` is empty) at `scale` and
    /// return those that differ from the manifest (or have no checksum).
    pub fn verify(&self, scale: Scale, names: &[String]) -> Result<Vec<Mismatch>> {
        let mut out = Vec::new();
        for d in self.selected(names)? {
            let actual = sha256_of(&mut SynthReader::new(d, scale)?)?;
            let expected = d.sha256(scale).map(str::to_owned);
            if expected.as_deref() != Some(actual.as_str())
                || d.generator_version != GENERATOR_VERSION
            {
                out.push(Mismatch {
                    name: d.name.clone(),
                    expected,
                    actual,
                });
            }
        }
        Ok(out)
    }

    /// The named datasets in manifest order (all when `names` is empty).
    pub fn selected(&self, names: &[String]) -> Result<Vec<&DatasetSpec>> {
        for n in names {
            self.spec(n)?;
        }
        Ok(self
            .datasets
            .iter()
            .filter(|d| names.is_empty() || names.contains(&d.name))
            .collect())
    }

    /// Set a dataset's checksum at `scale` and its generator version to the current one.
    pub fn set_sha256(&mut self, name: &str, scale: Scale, sha: &str) -> Result<()> {
        let path = self.path.clone();
        let d = self
            .datasets
            .iter_mut()
            .find(|d| d.name == name)
            .ok_or_else(|| DataError::format(&path, format!("no dataset named {name}")))?;
        let e = d.scales.get_mut(scale.name()).ok_or_else(|| {
            DataError::format(&path, format!("dataset {name}: no `{scale}` scale"))
        })?;
        e.sha256 = Some(sha.to_owned());
        d.generator_version = GENERATOR_VERSION;
        Ok(())
    }

    /// Rewrite the manifest file's `sha256` and `generator_version` lines from `self`, keeping
    /// everything else (comments, order, layout) as it is. Written atomically.
    pub fn write_checksums(&self) -> Result<()> {
        if self.path == Path::new(EMBEDDED_NAME) {
            return Err(DataError::format(
                &self.path,
                "the built-in manifest cannot be rewritten; give the file with --manifest data/datasets.toml",
            ));
        }
        let text = std::fs::read_to_string(&self.path).map_err(|e| DataError::io(&self.path, e))?;
        let updated = self.patch_text(&text)?;
        let file = crate::atomic::AtomicFile::new(&self.path)?;
        std::fs::write(file.temp_path(), updated)
            .map_err(|e| DataError::io(file.temp_path(), e))?;
        file.commit()?;
        Ok(())
    }

    /// The line-oriented rewrite behind [`Manifest::write_checksums`]: tracks the current
    /// `[[dataset]]` (by its `name = `) and `[dataset.scales.X]` table, and replaces or inserts
    /// `sha256 = "..."` under each scale table and `generator_version = N` in each dataset.
    pub fn patch_text(&self, text: &str) -> Result<String> {
        let mut out: Vec<String> = Vec::new();
        let mut name: Option<String> = None;
        let mut scale: Option<String> = None;
        let mut pending_sha: Option<String> = None;
        let flush = |out: &mut Vec<String>, pending: &mut Option<String>| {
            if let Some(line) = pending.take() {
                // Insert before trailing blank lines of the table.
                let mut at = out.len();
                while at > 0 && out[at - 1].trim().is_empty() {
                    at -= 1;
                }
                out.insert(at, line);
            }
        };
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with('[') {
                flush(&mut out, &mut pending_sha);
                scale = None;
                if t == "[[dataset]]" {
                    name = None;
                } else if let Some(s) = t
                    .strip_prefix("[dataset.scales.")
                    .and_then(|s| s.strip_suffix(']'))
                {
                    scale = Some(s.to_owned());
                    let sha = self.lookup(name.as_deref(), s)?;
                    pending_sha = sha.map(|h| format!("sha256 = \"{h}\""));
                }
                out.push(line.to_owned());
                continue;
            }
            if let Some(v) = key_value(t, "name") {
                name = Some(v.trim_matches('"').to_owned());
            }
            if scale.is_some() && key_value(t, "sha256").is_some() {
                if let Some(l) = pending_sha.take() {
                    out.push(l);
                }
                continue;
            }
            if scale.is_none() && key_value(t, "generator_version").is_some() {
                let v = name
                    .as_deref()
                    .and_then(|n| self.datasets.iter().find(|d| d.name == n))
                    .map(|d| d.generator_version)
                    .unwrap_or(GENERATOR_VERSION);
                out.push(format!("generator_version = {v}"));
                continue;
            }
            out.push(line.to_owned());
        }
        flush(&mut out, &mut pending_sha);
        let mut s = out.join("\n");
        s.push('\n');
        // The result must still parse to the same manifest.
        let back = Manifest::parse(&s, &self.path)?;
        if back.datasets != self.datasets {
            return Err(DataError::format(
                &self.path,
                "rewriting checksums changed more than the checksums (layout not understood)",
            ));
        }
        Ok(s)
    }

    fn lookup(&self, name: Option<&str>, scale: &str) -> Result<Option<String>> {
        let Some(name) = name else {
            return Err(DataError::format(
                &self.path,
                format!("[dataset.scales.{scale}] before the dataset's `name = ...` line"),
            ));
        };
        Ok(self
            .datasets
            .iter()
            .find(|d| d.name == name)
            .and_then(|d| d.scales.get(scale))
            .and_then(|e| e.sha256.clone()))
    }
}

/// The value of `key = value` if `line` assigns `key`.
fn key_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(key)?.trim_start();
    Some(rest.strip_prefix('=')?.trim())
}

/// The repository's manifest file, `<workspace>/data/datasets.toml`, for tests and for
/// `cargo xtask`, which pass it explicitly. An installed `stemz` uses [`Manifest::embedded`].
pub fn default_manifest_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/datasets.toml")
}

/// The manifest compiled into the binary, so an installed `stemz` generates and checks the
/// datasets from any directory.
const EMBEDDED: &str = include_str!("../../../../data/datasets.toml");

/// How embedded-manifest errors and messages name it.
pub const EMBEDDED_NAME: &str = "<data/datasets.toml built into stemz>";

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"
# comment kept
[[dataset]]
name = "4D_Diff"
description = "d"
dtype = "u16"
shape = [4, 4, 256, 256]
target_sparsity = 0.747
max_value = 4016.0
generator_version = 0
seed = 5

[dataset.scales.tiny]
scan = [2, 2]

[dataset.scales.small]
scan = [3, 3]
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"

[dataset.scales.paper]
scan = [4, 4]
"#;

    #[test]
    fn checksum_rewrite_keeps_comments_and_changes_only_checksums() {
        let p = Path::new("datasets.toml");
        let mut m = Manifest::parse(TEXT, p).unwrap();
        let h = "ab".repeat(32);
        m.set_sha256("4D_Diff", Scale::Tiny, &h).unwrap();
        m.set_sha256("4D_Diff", Scale::Small, &h).unwrap();
        let s = m.patch_text(TEXT).unwrap();
        assert!(s.contains("# comment kept"));
        assert_eq!(s.matches(&h).count(), 2);
        assert!(!s.contains("0000000000"));
        assert!(s.contains(&format!("generator_version = {GENERATOR_VERSION}")));
        assert_eq!(Manifest::parse(&s, p).unwrap().datasets, m.datasets);
    }

    #[test]
    fn manifest_rejects_unknown_dataset_and_wrong_dtype() {
        let p = Path::new("m.toml");
        let e = Manifest::parse(&TEXT.replace("4D_Diff", "4D_Foo"), p).unwrap_err();
        assert!(e.to_string().contains("4D_Foo"), "{e}");
        let e = Manifest::parse(&TEXT.replace("\"u16\"", "\"f32\""), p).unwrap_err();
        assert!(e.to_string().contains("dtype"), "{e}");
    }
}
