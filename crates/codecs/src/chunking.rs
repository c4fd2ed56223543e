//! Chunk shapes: the study's three chunkings and explicit shapes.

use crate::error::{CodecError, Result};
use std::fmt;
use stemz_data::Shape4;
use stemz_record::catalogue::{BALANCED, REAL_SPACE, SINGLE_FRAME};

/// How a cube is cut into HDF5 chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Chunking {
    /// `(min(32,sy), min(32,sx), min(256,qy), min(256,qx))`, the study's "real_space".
    RealSpace,
    /// `(min(16,sy), min(16,sx), min(128,qy), min(128,qx))`, the study's "balanced".
    Balanced,
    /// `(1, 1, qy, qx)`: one chunk per diffraction pattern.
    SingleFrame,
    /// An explicit chunk shape, clipped to the cube when applied.
    Explicit(Shape4),
}

impl Chunking {
    /// The study's three chunkings, in the study's order.
    pub fn study() -> [Chunking; 3] {
        [
            Chunking::RealSpace,
            Chunking::Balanced,
            Chunking::SingleFrame,
        ]
    }

    /// The study's name (`real_space`, `balanced`, `single_frame`), or `AxBxCxD` for explicit.
    pub fn name(&self) -> String {
        match self {
            Chunking::RealSpace => REAL_SPACE.into(),
            Chunking::Balanced => BALANCED.into(),
            Chunking::SingleFrame => SINGLE_FRAME.into(),
            Chunking::Explicit(c) => format!("{}x{}x{}x{}", c[0], c[1], c[2], c[3]),
        }
    }

    /// The chunk shape for a cube of shape `cube`. Every axis is at least 1 and at most the cube's
    /// extent (HDF5 allows larger chunks, but h5py's study never made any and they only waste space).
    pub fn shape(&self, cube: Shape4) -> Shape4 {
        let [sy, sx, qy, qx] = cube;
        let raw = match self {
            Chunking::RealSpace => [sy.min(32), sx.min(32), qy.min(256), qx.min(256)],
            Chunking::Balanced => [sy.min(16), sx.min(16), qy.min(128), qx.min(128)],
            Chunking::SingleFrame => [1, 1, qy, qx],
            Chunking::Explicit(c) => std::array::from_fn(|i| c[i].min(cube[i])),
        };
        raw.map(|n| n.max(1))
    }

    /// Parse `real_space`, `balanced`, `single_frame` or an explicit `SYxSXxQYxQX`.
    pub fn parse(s: &str) -> Result<Chunking> {
        let t = s.trim().to_ascii_lowercase();
        if let Some(study) = Chunking::study().into_iter().find(|c| c.name() == t) {
            return Ok(study);
        }
        let bad = || {
            CodecError::Invalid(format!(
                "unknown chunking `{s}`; valid: real_space, balanced, single_frame, or an explicit \
                 chunk shape SYxSXxQYxQX of four positive integers (e.g. 16x16x128x128)"
            ))
        };
        let parts: Vec<&str> = t.split('x').collect();
        if parts.len() != 4 {
            return Err(bad());
        }
        let mut shape = [0usize; 4];
        for (slot, p) in shape.iter_mut().zip(&parts) {
            *slot = p.parse::<usize>().map_err(|_| bad())?;
            if *slot == 0 {
                return Err(bad());
            }
        }
        Ok(Chunking::Explicit(shape))
    }
}

impl fmt::Display for Chunking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl std::str::FromStr for Chunking {
    type Err = CodecError;
    fn from_str(s: &str) -> Result<Self> {
        Chunking::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn study_chunkings_clip_to_small_cubes() {
        let cube = [5, 7, 24, 300];
        assert_eq!(Chunking::RealSpace.shape(cube), [5, 7, 24, 256]);
        assert_eq!(Chunking::Balanced.shape(cube), [5, 7, 24, 128]);
        assert_eq!(Chunking::SingleFrame.shape(cube), [1, 1, 24, 300]);
        assert_eq!(
            Chunking::Explicit([2, 3, 100, 7]).shape(cube),
            [2, 3, 24, 7]
        );
    }

    #[test]
    fn chunking_names_round_trip_and_bad_specs_are_rejected() {
        for c in Chunking::study() {
            assert_eq!(Chunking::parse(&c.name()).unwrap(), c);
        }
        assert_eq!(
            Chunking::parse("2x3x8X16").unwrap(),
            Chunking::Explicit([2, 3, 8, 16])
        );
        for bad in ["", "tiny", "2x3x8", "2x3x8x0", "2x3xax4", "2x3x8x16x1"] {
            let err = Chunking::parse(bad).unwrap_err().to_string();
            assert!(err.contains("real_space"), "{bad}: {err}");
        }
    }
}
