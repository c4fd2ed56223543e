//! Synthetic stand-ins for the study's five datasets, generated frame by frame on demand.
//!
//! The study's raw data are private; what it published are their shapes, dtypes, sparsities,
//! maxima and compression ratios (`data/study/`). This module owns physical forward models that
//! produce data with those properties, and the machinery that makes them reproducible byte for
//! byte:
//!
//! - [`diffraction`]: `4D_Diff` (and its 2×2 / 4×4 binned versions), a crystalline specimen under a
//!   convergent probe.
//! - [`eels`]: `4D_EELS` (energy × momentum per probe position) and `3D_EELS` (its momentum sum).
//! - [`rng`]: a counter-based RNG and an exact, deterministic Poisson sampler, so every frame is a
//!   pure function of `(seed, dataset, frame index)`.
//! - [`manifest`]: `data/datasets.toml`, which pins every dataset by generator version, seed and
//!   the SHA-256 of its bytes at each [`Scale`].
//!
//! Key design decision: a [`SynthReader`] is a [`CubeReader`] that computes the frames a slab
//! touches when it is read (in parallel on rayon workers) and keeps nothing but the model, so a
//! 15 GiB paper-scale dataset streams through any writer or hasher in bounded memory.
//!
//! The specimen is described in normalised scan coordinates `(u, v) ∈ [0, 1)²`, so every scale
//! images the same specimen, the smaller ones at coarser steps: statistics measured at `small`
//! scale carry over to `paper` scale.

pub mod diffraction;
pub mod eels;
pub mod manifest;
pub mod rng;

pub use manifest::{DatasetSpec, Manifest, ScaleEntry};

use crate::cube::{CubeReader, DType, Hyperslab, Shape4, SourceInfo};
use crate::error::{DataError, Result};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Arc;

/// Generator version: bump whenever a model change alters any byte, then rerun
/// `stemz synth --update-manifest` for every scale.
pub const GENERATOR_VERSION: u32 = 2;

/// How large a synthetic dataset is. Detector dimensions never change; the scan does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scale {
    /// 8×8 scan: unit tests and checksums in CI.
    Tiny,
    /// Reduced scan sized for a full benchmark in ~15 minutes on 2 cores (see the manifest).
    Small,
    /// The study's shapes.
    Paper,
}

impl Scale {
    pub const ALL: [Scale; 3] = [Scale::Tiny, Scale::Small, Scale::Paper];

    pub fn name(self) -> &'static str {
        match self {
            Scale::Tiny => "tiny",
            Scale::Small => "small",
            Scale::Paper => "paper",
        }
    }

    pub fn parse(s: &str) -> Option<Scale> {
        Scale::ALL.into_iter().find(|x| x.name() == s)
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which forward model a dataset comes from; fixed by the dataset's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// `4D_EELS`: u16, 12-bit counter.
    Eels4d,
    /// `4D_Diff`: u16, 12-bit counter.
    Diff,
    /// `4D_Diff-2x2-binning` (2) / `4D_Diff-4x4-binning` (4): f32 mean over `b×b` detector
    /// pixels of the `4D_Diff` frame of the same scale.
    DiffBinned(usize),
    /// `3D_EELS`: u16, the momentum sum of the 4D EELS model, 16-bit range.
    Eels3d,
}

impl Model {
    /// The model of a dataset name of the study.
    pub fn from_name(name: &str) -> Option<Model> {
        match name {
            "4D_EELS" => Some(Model::Eels4d),
            "4D_Diff" => Some(Model::Diff),
            "4D_Diff-2x2-binning" => Some(Model::DiffBinned(2)),
            "4D_Diff-4x4-binning" => Some(Model::DiffBinned(4)),
            "3D_EELS" => Some(Model::Eels3d),
            _ => None,
        }
    }

    /// The element type the model produces.
    pub fn dtype(self) -> DType {
        match self {
            Model::DiffBinned(_) => DType::F32,
            _ => DType::U16,
        }
    }

    /// RNG stream: binned datasets share the unbinned stream, so they are exactly the binned
    /// `4D_Diff` of the same seed and scale.
    fn stream(self) -> u64 {
        match self {
            Model::Diff | Model::DiffBinned(_) => 1,
            Model::Eels4d => 2,
            Model::Eels3d => 3,
        }
    }
}

/// A frame generator for one dataset at one scale; shared read-only by all workers.
#[derive(Debug)]
enum Generator {
    Diff(diffraction::DiffModel),
    Binned(diffraction::DiffModel, usize),
    Eels4d(eels::EelsModel),
    Eels3d(eels::EelsModel),
}

impl Generator {
    /// Write frame `(iy, ix)` of a `scan`-sized dataset into `out` (native-endian element bytes,
    /// `det_y * det_x * itemsize` long), using `scratch` for intermediate counts.
    fn frame(
        &self,
        key: u64,
        scan: [usize; 2],
        pos: [usize; 2],
        out: &mut [u8],
        scratch: &mut Vec<u16>,
    ) {
        let uv = [
            (pos[1] as f64 + 0.5) / scan[1] as f64,
            (pos[0] as f64 + 0.5) / scan[0] as f64,
        ];
        match self {
            Generator::Diff(m) => {
                let counts: &mut [u16] = bytemuck::cast_slice_mut(out);
                m.frame_counts(key, uv, counts);
            }
            Generator::Binned(m, b) => {
                let n = m.detector();
                scratch.resize(n * n, 0);
                m.frame_counts(key, uv, scratch);
                let means: &mut [f32] = bytemuck::cast_slice_mut(out);
                diffraction::bin_mean(scratch, n, *b, means);
            }
            Generator::Eels4d(m) => {
                let counts: &mut [u16] = bytemuck::cast_slice_mut(out);
                m.frame_counts(key, uv, counts);
            }
            Generator::Eels3d(m) => {
                let counts: &mut [u16] = bytemuck::cast_slice_mut(out);
                m.summed_counts(key, uv, counts);
            }
        }
    }
}

/// A synthetic dataset as a [`CubeReader`]: frames are generated when read, never stored.
#[derive(Debug, Clone)]
pub struct SynthReader {
    name: String,
    scale: Scale,
    model: Model,
    seed: u64,
    shape: Shape4,
    generator: Arc<Generator>,
}

impl SynthReader {
    /// The reader for `spec` at `scale`.
    pub fn new(spec: &DatasetSpec, scale: Scale) -> Result<Self> {
        let model = spec.model()?;
        let scan = spec.scan(scale)?;
        let det = spec.detector();
        let generator = match model {
            Model::Diff => Generator::Diff(diffraction::DiffModel::new(det[0], spec.seed)?),
            Model::DiffBinned(b) => {
                let n = det[0] * b;
                Generator::Binned(diffraction::DiffModel::new(n, spec.seed)?, b)
            }
            Model::Eels4d => Generator::Eels4d(eels::EelsModel::new(det, spec.seed)?),
            Model::Eels3d => Generator::Eels3d(eels::EelsModel::new([256, det[1]], spec.seed)?),
        };
        Ok(SynthReader {
            name: spec.name.clone(),
            scale,
            model,
            seed: spec.seed,
            shape: [scan[0], scan[1], det[0], det[1]],
            generator: Arc::new(generator),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn scale(&self) -> Scale {
        self.scale
    }

    /// Generate one whole frame into `out` (`det_y * det_x * itemsize` bytes).
    pub fn read_frame(&self, iy: usize, ix: usize, out: &mut [u8]) -> Result<()> {
        let [sy, sx, dy, dx] = self.shape;
        if iy >= sy || ix >= sx {
            return Err(DataError::Invalid(format!(
                "{}: frame ({iy}, {ix}) is outside the {sy}x{sx} scan",
                self.name
            )));
        }
        let want = dy * dx * self.model.dtype().itemsize();
        if out.len() != want {
            return Err(DataError::Invalid(format!(
                "{}: frame buffer of {} bytes, need {want}",
                self.name,
                out.len()
            )));
        }
        let key = rng::frame_key(self.seed, self.model.stream(), (iy * sx + ix) as u64);
        let mut scratch = Vec::new();
        self.generator
            .frame(key, [sy, sx], [iy, ix], out, &mut scratch);
        Ok(())
    }
}

impl CubeReader for SynthReader {
    fn shape(&self) -> Shape4 {
        self.shape
    }

    fn dtype(&self) -> DType {
        self.model.dtype()
    }

    fn info(&self) -> SourceInfo {
        SourceInfo {
            format: "stemz synthetic".into(),
            dataset: Some(self.name.clone()),
            chunks: None,
            filters: Vec::new(),
            details: vec![
                ("scale".into(), self.scale.to_string()),
                ("seed".into(), self.seed.to_string()),
                ("generator_version".into(), GENERATOR_VERSION.to_string()),
            ],
        }
    }

    fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> Result<()> {
        slab.check_read(self.shape, self.model.dtype(), out.len(), &self.name)?;
        let item = self.model.dtype().itemsize();
        if slab.is_empty() {
            return Ok(());
        }
        let [sy, sx, dy, dx] = self.shape;
        let [oy, ox, ody, odx] = slab.origin;
        let [_, ex, edy, edx] = slab.extent;
        let whole = ody == 0 && odx == 0 && edy == dy && edx == dx;
        let sub_bytes = edy * edx * item;
        let row_bytes = edx * item;
        let frame_bytes = dy * dx * item;
        let (seed, stream, generator) = (self.seed, self.model.stream(), &self.generator);
        out.par_chunks_mut(sub_bytes).enumerate().for_each_init(
            || (vec![0u8; if whole { 0 } else { frame_bytes }], Vec::new()),
            |(frame, scratch), (k, dst)| {
                let (iy, ix) = (oy + k / ex, ox + k % ex);
                let key = rng::frame_key(seed, stream, (iy * sx + ix) as u64);
                if whole {
                    generator.frame(key, [sy, sx], [iy, ix], dst, scratch);
                } else {
                    generator.frame(key, [sy, sx], [iy, ix], frame, scratch);
                    for (r, row) in dst.chunks_mut(row_bytes).enumerate() {
                        let start = ((ody + r) * dx + odx) * item;
                        row.copy_from_slice(&frame[start..start + row_bytes]);
                    }
                }
            },
        );
        Ok(())
    }
}

/// Memory a streaming pass holds per batch.
pub const BATCH_BYTES: usize = 64 << 20;

/// SHA-256 (lower-case hex) of a cube's element bytes, little-endian, in C order, read in
/// bounded batches of whole frames.
pub fn sha256_of(reader: &mut dyn CubeReader) -> Result<String> {
    let item = reader.dtype().itemsize();
    let mut hasher = Sha256::new();
    let mut buf = Vec::new();
    for slab in Hyperslab::frame_blocks(reader.shape(), item, BATCH_BYTES) {
        buf.resize(slab.len() * item, 0);
        reader.read_slab(&slab, &mut buf)?;
        to_little_endian(&mut buf, item);
        hasher.update(&buf);
    }
    Ok(hex(&hasher.finalize()))
}

/// Native-endian element bytes to little-endian, in place (a no-op on little-endian hosts).
pub fn to_little_endian(bytes: &mut [u8], itemsize: usize) {
    if cfg!(target_endian = "big") && itemsize > 1 {
        for e in bytes.chunks_exact_mut(itemsize) {
            e.reverse();
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_are_the_studys() {
        assert_eq!(
            Model::from_name("4D_Diff-4x4-binning"),
            Some(Model::DiffBinned(4))
        );
        assert_eq!(
            Model::from_name("3D_EELS").map(Model::dtype),
            Some(DType::U16)
        );
        assert_eq!(Model::from_name("4D_diff"), None);
    }
}
