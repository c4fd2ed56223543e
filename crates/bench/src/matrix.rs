//! The configuration matrix: datasets × methods × chunkings × engines, in one deterministic
//! order, and its split into shards for cluster job arrays.
//!
//! Names, not types: a configuration is the strings that appear in `raw.csv`, so a matrix can be
//! compared, sharded and merged without touching a codec.

use std::fmt;

/// The chunking column of methods that do not write HDF5 (`sparse_csr`, `uint8_overflow`,
/// `simple_gzip`), which have no chunks.
pub const NO_CHUNKING: &str = stemz_record::catalogue::NONE;

/// One cell of the matrix. A measurement is a configuration plus a run index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Config {
    pub dataset: String,
    pub method: String,
    pub chunking: String,
    pub engine: String,
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.dataset, self.method, self.chunking, self.engine
        )
    }
}

/// What to measure. `hdf5_methods` get every chunking and engine; `other_methods` (no HDF5, no
/// chunks) are measured once per dataset with the serial engine, as the study did.
#[derive(Debug, Clone, Default)]
pub struct MatrixSpec {
    pub datasets: Vec<String>,
    pub hdf5_methods: Vec<String>,
    pub other_methods: Vec<String>,
    pub chunkings: Vec<String>,
    pub engines: Vec<String>,
}

impl MatrixSpec {
    /// Every configuration, dataset-major, in the order the lists were given.
    pub fn configs(&self) -> Vec<Config> {
        let mut out = Vec::new();
        for dataset in &self.datasets {
            for method in &self.hdf5_methods {
                for chunking in &self.chunkings {
                    for engine in &self.engines {
                        out.push(Config {
                            dataset: dataset.clone(),
                            method: method.clone(),
                            chunking: chunking.clone(),
                            engine: engine.clone(),
                        });
                    }
                }
            }
            for method in &self.other_methods {
                out.push(Config {
                    dataset: dataset.clone(),
                    method: method.clone(),
                    chunking: NO_CHUNKING.to_string(),
                    engine: "serial".to_string(),
                });
            }
        }
        out
    }
}

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Parse `K/N` with 1 ≤ K ≤ N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let err = || format!("invalid shard `{s}`: expected K/N with 1 <= K <= N, e.g. 2/8");
        let (k, n) = s.split_once('/').ok_or_else(err)?;
        let index: usize = k.trim().parse().map_err(|_| err())?;
        let count: usize = n.trim().parse().map_err(|_| err())?;
        if count == 0 || index == 0 || index > count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }

    /// The configurations of this shard: round-robin over the full matrix, so every shard gets
    /// a mix of fast and slow methods and the union of all shards is the matrix, each once.
    pub fn select(&self, configs: &[Config]) -> Vec<Config> {
        configs
            .iter()
            .enumerate()
            .filter(|(i, _)| i % self.count == self.index - 1)
            .map(|(_, c)| c.clone())
            .collect()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn spec() -> MatrixSpec {
        MatrixSpec {
            datasets: vec!["a".into(), "b".into()],
            hdf5_methods: vec!["gzip_1".into(), "blosc_zstd".into(), "none".into()],
            other_methods: vec!["sparse_csr".into()],
            chunkings: vec![
                "real_space".into(),
                "balanced".into(),
                "single_frame".into(),
            ],
            engines: vec!["serial".into(), "parallel".into()],
        }
    }

    #[test]
    fn matrix_has_every_hdf5_cell_and_one_row_per_other_method() {
        let configs = spec().configs();
        assert_eq!(configs.len(), 2 * (3 * 3 * 2 + 1));
        let unique: BTreeSet<_> = configs.iter().collect();
        assert_eq!(unique.len(), configs.len());
    }

    #[test]
    fn shards_partition_the_matrix() {
        let configs = spec().configs();
        for n in 1..=7 {
            let mut union = Vec::new();
            for k in 1..=n {
                union.extend(Shard { index: k, count: n }.select(&configs));
            }
            union.sort();
            let mut all = configs.clone();
            all.sort();
            assert_eq!(union, all, "{n} shards");
        }
    }

    #[test]
    fn shard_spec_is_validated() {
        assert_eq!(Shard::parse("2/8"), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }
}
