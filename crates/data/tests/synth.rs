//! The synthetic datasets: deterministic bytes whatever the read order, checksums pinned by
//! `data/datasets.toml`, and the study's dtype, shape, maximum and sparsity.
//!
//! `calibration_report` (ignored; run with `--release -- --ignored --nocapture`) measures the
//! `small` scale against the study: sparsity, maxima, and compression ratios of the HDF5 methods
//! available through hdf5-metno (balanced chunking), with the Spearman correlation to the study.

use stemz_data::synth::{frame_batches, sha256_of, Manifest, Scale, SynthReader};
use stemz_data::{CubeReader, DType, Hyperslab};

fn manifest() -> Manifest {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/datasets.toml");
    Manifest::load(std::path::Path::new(path)).unwrap()
}

fn reader(name: &str, scale: Scale) -> SynthReader {
    SynthReader::new(manifest().spec(name).unwrap(), scale).unwrap()
}

fn read_all(r: &mut SynthReader) -> Vec<u8> {
    let mut buf = vec![0u8; r.nbytes() as usize];
    r.read_slab(&Hyperslab::full(r.shape()), &mut buf).unwrap();
    buf
}

/// Zero fraction and maximum of a slab of `dtype` elements.
fn zeros_and_max(bytes: &[u8], dtype: DType) -> (u64, f64, Vec<f64>) {
    let values: Vec<f64> = match dtype {
        DType::U16 => bytemuck::cast_slice::<u8, u16>(bytes)
            .iter()
            .map(|&x| x as f64)
            .collect(),
        DType::F32 => bytemuck::cast_slice::<u8, f32>(bytes)
            .iter()
            .map(|&x| x as f64)
            .collect(),
        other => panic!("unexpected dtype {other}"),
    };
    let zeros = values.iter().filter(|&&x| x == 0.0).count() as u64;
    let max = values.iter().cloned().fold(0.0, f64::max);
    (zeros, max, values)
}

#[test]
fn same_seed_gives_the_same_bytes_twice() {
    for name in ["4D_Diff", "3D_EELS"] {
        let a = read_all(&mut reader(name, Scale::Tiny));
        let b = read_all(&mut reader(name, Scale::Tiny));
        assert!(a == b, "{name}: two generations differ");
    }
}

#[test]
fn shuffled_frame_order_and_chunk_reads_give_the_same_bytes() {
    for name in ["4D_Diff-2x2-binning", "4D_EELS"] {
        let mut r = reader(name, Scale::Tiny);
        let whole = read_all(&mut r);
        let [sy, sx, dy, dx] = r.shape();
        let frame = dy * dx * r.dtype().itemsize();
        // A fixed permutation of the frames (multiplicative step coprime with 64).
        let n = sy * sx;
        let mut assembled = vec![0u8; whole.len()];
        for k in 0..n {
            let f = (k * 37 + 11) % n;
            let slab = Hyperslab::frames(r.shape(), f, 1).unwrap();
            r.read_slab(&slab, &mut assembled[f * frame..(f + 1) * frame])
                .unwrap();
        }
        assert!(assembled == whole, "{name}: frame-by-frame read differs");
        // Chunk tiles that cut frames must match the same region of the whole read.
        let item = r.dtype().itemsize();
        for tile in Hyperslab::tiles(r.shape(), [3, 5, dy.div_ceil(2), dx.div_ceil(3)]).step_by(7) {
            let mut got = vec![0u8; tile.len() * item];
            r.read_slab(&tile, &mut got).unwrap();
            let [ey, ex, edy, edx] = tile.extent;
            let mut i = 0;
            for y in 0..ey {
                for x in 0..ex {
                    for py in 0..edy {
                        let f = (tile.origin[0] + y) * sx + tile.origin[1] + x;
                        let start =
                            (f * dy * dx + (tile.origin[2] + py) * dx + tile.origin[3]) * item;
                        let row = edx * item;
                        assert!(
                            got[i..i + row] == whole[start..start + row],
                            "{name}: tile {tile:?}"
                        );
                        i += row;
                    }
                }
            }
        }
    }
}

#[test]
fn tiny_checksums_equal_the_manifest() {
    let m = manifest();
    let bad = m.verify(Scale::Tiny, &[]).unwrap();
    assert!(
        bad.is_empty(),
        "tiny checksums differ for {:?}; if the generator changed on purpose, bump \
         GENERATOR_VERSION and run `stemz synth --scale tiny --update-manifest`",
        bad.iter().map(|b| (&b.name, &b.actual)).collect::<Vec<_>>()
    );
}

#[test]
fn streamed_checksum_equals_the_checksum_of_the_whole_cube() {
    use sha2::{Digest, Sha256};
    let mut r = reader("4D_Diff-4x4-binning", Scale::Tiny);
    let whole = read_all(&mut r);
    let direct: String = Sha256::digest(&whole)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sha256_of(&mut r).unwrap(), direct);
    assert!(frame_batches(r.shape(), 4, 10_000).len() > 1);
}

#[test]
fn dtype_shape_and_maximum_match_the_study() {
    let m = manifest();
    let diff = read_all(&mut reader("4D_Diff", Scale::Tiny));
    let diff: &[u16] = bytemuck::cast_slice(&diff);
    for spec in &m.datasets {
        let mut r = SynthReader::new(spec, Scale::Tiny).unwrap();
        assert_eq!(r.dtype(), spec.dtype, "{}", spec.name);
        assert_eq!(
            r.shape(),
            spec.shape_at(Scale::Tiny).unwrap(),
            "{}",
            spec.name
        );
        let bytes = read_all(&mut r);
        let (_, max, values) = zeros_and_max(&bytes, spec.dtype);
        match spec.name.as_str() {
            "4D_EELS" => assert_eq!(
                max, 4095.0,
                "4D_EELS saturates its 12-bit counter over vacuum"
            ),
            "3D_EELS" => assert_eq!(max, 65535.0, "3D_EELS saturates the 16-bit range"),
            "4D_Diff" => assert!(max <= 4095.0 && max > 100.0, "4D_Diff max {max}"),
            name => {
                // Binned = exact block mean of the unbinned frames of the same scale.
                let b = if name.contains("2x2") { 2 } else { 4 };
                let [sy, sx, dy, dx] = r.shape();
                let n = dy * b;
                for f in [0, sy * sx / 2, sy * sx - 1] {
                    for (oy, ox) in [(0, 0), (dy / 2, dx / 2 - 3), (dy - 1, dx - 1)] {
                        let mut sum = 0.0;
                        for y in 0..b {
                            for x in 0..b {
                                sum += diff[f * n * n + (oy * b + y) * n + ox * b + x] as f64;
                            }
                        }
                        let got = values[(f * dy + oy) * dx + ox];
                        assert_eq!(
                            got,
                            sum / (b * b) as f64,
                            "{name} frame {f} pixel ({oy},{ox})"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn tiny_sparsity_is_near_the_studys() {
    // At 8x8 the scan samples the specimen coarsely (a few vacuum frames more or less), so the
    // tolerance is wider than the ±0.5 pp the `small` scale is calibrated to.
    for spec in &manifest().datasets {
        let mut r = SynthReader::new(spec, Scale::Tiny).unwrap();
        let bytes = read_all(&mut r);
        let (zeros, _, values) = zeros_and_max(&bytes, spec.dtype);
        let s = zeros as f64 / values.len() as f64;
        assert!(
            (s - spec.target_sparsity).abs() < 0.04,
            "{}: tiny sparsity {s:.4} vs study {:.4}",
            spec.name,
            spec.target_sparsity
        );
    }
}

/// Balanced chunking of the study: `(min(16,sy), min(16,sx), min(128,qy), min(128,qx))`.
fn balanced(shape: [usize; 4]) -> [usize; 4] {
    [
        shape[0].min(16),
        shape[1].min(16),
        shape[2].min(128),
        shape[3].min(128),
    ]
}

fn study_balanced_means() -> Vec<(String, String, f64)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/paper/statistics.csv"
    );
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let m = f[1].strip_prefix("balanced_")?;
            Some((f[0].to_owned(), m.to_owned(), f[3].parse().ok()?))
        })
        .collect()
}

fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        for k in i..=j {
            r[idx[k]] = (i + j) as f64 / 2.0;
        }
        i = j + 1;
    }
    r
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
#[ignore = "calibration: slow, prints the small-scale numbers; run with --release --nocapture"]
fn calibration_report() {
    use hdf5::filters::{Blosc, BloscShuffle, SZip};
    let scale = std::env::var("STEMZ_CALIB_SCALE")
        .ok()
        .and_then(|s| Scale::parse(&s))
        .unwrap_or(Scale::Small);
    let only = std::env::var("STEMZ_CALIB_DATASETS").unwrap_or_default();
    let study = study_balanced_means();
    let dir = tempfile::tempdir().unwrap();
    for spec in &manifest().datasets {
        if !only.is_empty() && !only.split(',').any(|n| n == spec.name) {
            continue;
        }
        let t0 = std::time::Instant::now();
        let mut r = SynthReader::new(spec, scale).unwrap();
        let bytes = read_all(&mut r);
        let gen_s = t0.elapsed().as_secs_f64();
        let (zeros, max, values) = zeros_and_max(&bytes, spec.dtype);
        let n = values.len() as f64;
        let gt4095 = values.iter().filter(|&&x| x > 4095.0).count();
        let gt16383 = values.iter().filter(|&&x| x > 16383.0).count();
        println!(
            "{} [{scale}] shape {:?}: generated in {gen_s:.1}s; sparsity {:.4} (study {:.4}); max {max} (study {}); >4095: {gt4095} ({:.3}%), >16383: {gt16383} ({:.3}%)",
            spec.name,
            r.shape(),
            zeros as f64 / n,
            spec.target_sparsity,
            spec.max_value,
            100.0 * gt4095 as f64 / n,
            100.0 * gt16383 as f64 / n,
        );
        let shape = r.shape();
        let chunk = balanced(shape);
        type Apply = Box<dyn Fn(hdf5::DatasetBuilder) -> hdf5::DatasetBuilder>;
        let methods: Vec<(&str, Apply)> = vec![
            (
                "blosc_blosclz",
                Box::new(|b| b.blosc(Blosc::BloscLZ, 5, BloscShuffle::Byte)),
            ),
            (
                "blosc_lz4",
                Box::new(|b| b.blosc(Blosc::LZ4, 5, BloscShuffle::Byte)),
            ),
            (
                "blosc_lz4hc",
                Box::new(|b| b.blosc(Blosc::LZ4HC, 5, BloscShuffle::Byte)),
            ),
            (
                "blosc_zlib",
                Box::new(|b| b.blosc(Blosc::ZLib, 5, BloscShuffle::Byte)),
            ),
            (
                "blosc_zstd",
                Box::new(|b| b.blosc(Blosc::ZStd, 3, BloscShuffle::Byte)),
            ),
            ("gzip_1", Box::new(|b| b.deflate(1))),
            ("gzip_6", Box::new(|b| b.deflate(6))),
            ("gzip_9", Box::new(|b| b.deflate(9))),
            ("lzf", Box::new(|b| b.lzf())),
            ("szip", Box::new(|b| b.szip(SZip::NearestNeighbor, 8))),
            ("none", Box::new(|b| b)),
        ];
        let fast = std::env::var("STEMZ_CALIB_FAST").is_ok();
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for (m, apply) in &methods {
            if fast && !matches!(*m, "blosc_zstd" | "blosc_zlib" | "lzf") {
                continue;
            }
            let path = dir.path().join(format!("{}_{m}.h5", spec.name));
            let file = hdf5::File::create(&path).unwrap();
            let b = apply(file.new_dataset_builder().chunk(chunk));
            let t = std::time::Instant::now();
            let ds = match spec.dtype {
                DType::U16 => {
                    let ds = b
                        .empty::<u16>()
                        .shape(shape.to_vec())
                        .create("data")
                        .unwrap();
                    ds.write_raw(bytemuck::cast_slice::<u8, u16>(&bytes))
                        .unwrap();
                    ds
                }
                _ => {
                    let ds = b
                        .empty::<f32>()
                        .shape(shape.to_vec())
                        .create("data")
                        .unwrap();
                    ds.write_raw(bytemuck::cast_slice::<u8, f32>(&bytes))
                        .unwrap();
                    ds
                }
            };
            let stored = ds.storage_size() as f64;
            drop(ds);
            drop(file);
            let ratio = bytes.len() as f64 / stored;
            let theirs_m = study
                .iter()
                .find(|(d, mm, _)| d == &spec.name && mm == m)
                .map(|x| x.2)
                .unwrap_or(f64::NAN);
            println!(
                "    {m:<14} ratio {ratio:7.2}   study {theirs_m:7.2}   ({:.1}s)",
                t.elapsed().as_secs_f64()
            );
            std::fs::remove_file(&path).unwrap();
            ours.push(ratio);
            theirs.push(theirs_m);
        }
        let best = ours.iter().cloned().fold(0.0, f64::max);
        let study_best = theirs.iter().cloned().fold(0.0, f64::max);
        println!(
            "    best {best:.2} vs study best balanced {study_best:.2} ({:+.1}%); Spearman over {} methods: {:.3}",
            100.0 * (best / study_best - 1.0),
            ours.len(),
            spearman(&ours, &theirs)
        );
    }
}
