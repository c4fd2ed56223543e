//! h5py + hdf5plugin 7.1 against stemz: `tests/interop/filters_write.py` writes one small
//! chunked dataset per filter setting (u16 and f32; sparse, zero and random data; partial edge
//! chunks) and dumps each stored chunk (`read_direct_chunk`) and the stored cd_values. Every
//! chunk must equal stemz's `encode` of the same padded chunk, byte for byte — except LZF,
//! whose liblzf build differs, where the decoded bytes must be equal — and the cd_values must
//! equal `stored_cd_values`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use stemz_codecs::filters::{
    Bitshuffle, BitshuffleCodec, Blosc, BloscCompressor, Deflate, FilterSpec, Lz4, Lzf, Shuffle,
    Szip, Zstd,
};

fn python() -> String {
    std::env::var("STEMZ_INTEROP_PYTHON").unwrap_or_else(|_| {
        panic!("STEMZ_INTEROP_PYTHON is unset: point it at a Python with h5py and hdf5plugin 7.1 (cargo xtask ci does)")
    })
}

/// The FilterSpec for each setting of the Python script.
fn spec_for(key: &str) -> FilterSpec {
    if let Some(rest) = key.strip_prefix("blosc_") {
        let parts: Vec<&str> = rest.split('_').collect();
        let compressor = match parts[0] {
            "blosclz" => BloscCompressor::BloscLz,
            "lz4" => BloscCompressor::Lz4,
            "lz4hc" => BloscCompressor::Lz4Hc,
            "zlib" => BloscCompressor::Zlib,
            "zstd" => BloscCompressor::Zstd,
            other => panic!("unknown blosc compressor {other}"),
        };
        let shuffle = match parts[2] {
            "none" => Shuffle::None,
            "byte" => Shuffle::Byte,
            "bit" => Shuffle::Bit,
            other => panic!("unknown shuffle {other}"),
        };
        let clevel = parts[1].parse().expect("clevel");
        return FilterSpec::Blosc(Blosc {
            compressor,
            clevel,
            shuffle,
        });
    }
    match key {
        "deflate4" => FilterSpec::Deflate(Deflate { level: 4 }),
        "lzf" => FilterSpec::Lzf(Lzf),
        "szip8" => FilterSpec::Szip(Szip {
            pixels_per_block: 8,
        }),
        "lz4" => FilterSpec::Lz4(Lz4 { block_size: 0 }),
        "lz4_512" => FilterSpec::Lz4(Lz4 { block_size: 512 }),
        "bitshuffle_lz4" => FilterSpec::Bitshuffle(Bitshuffle {
            codec: BitshuffleCodec::Lz4,
            block_size: 0,
        }),
        "bitshuffle_lz4_64" => FilterSpec::Bitshuffle(Bitshuffle {
            codec: BitshuffleCodec::Lz4,
            block_size: 64,
        }),
        "bitshuffle_zstd3" => FilterSpec::Bitshuffle(Bitshuffle {
            codec: BitshuffleCodec::Zstd { level: 3 },
            block_size: 0,
        }),
        "zstd3" => FilterSpec::Zstd(Zstd { level: 3 }),
        "zstd19" => FilterSpec::Zstd(Zstd { level: 19 }),
        "zstd-5" => FilterSpec::Zstd(Zstd { level: -5 }),
        other => panic!("no FilterSpec for the script's setting {other:?}"),
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("uint") as usize)
        .collect()
}

/// Zero-padded C-order chunk at element offset `off` of a 2D array.
fn padded_chunk(
    data: &[u8],
    shape: &[usize],
    chunk: &[usize],
    off: &[usize],
    ts: usize,
) -> Vec<u8> {
    let mut out = vec![0u8; chunk[0] * chunk[1] * ts];
    for r in 0..chunk[0].min(shape[0] - off[0]) {
        let w = chunk[1].min(shape[1] - off[1]) * ts;
        let src = ((off[0] + r) * shape[1] + off[1]) * ts;
        let dst = r * chunk[1] * ts;
        out[dst..dst + w].copy_from_slice(&data[src..src + w]);
    }
    out
}

#[test]
#[ignore = "interop: run by cargo xtask ci"]
fn h5py_hdf5plugin_chunks_equal_stemz_encode_byte_for_byte() {
    let py = python();
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/filters_write.py");
    let (h5, json) = (
        dir.path().join("filters.h5"),
        dir.path().join("filters.json"),
    );
    let status = Command::new(&py)
        .arg(&script)
        .arg(&h5)
        .arg(&json)
        .status()
        .expect("run python");
    assert!(status.success(), "{} failed", script.display());
    let dump: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    eprintln!("reference: {}", dump["versions"]);

    let mut failures = Vec::new();
    let (mut identical, mut declined, mut lzf_decoded_only) = (0, 0, 0);
    let datasets = dump["datasets"].as_array().expect("datasets");
    for ds in datasets {
        let name = ds["name"].as_str().unwrap();
        let spec = spec_for(ds["filter"].as_str().unwrap());
        let ts = match ds["dtype"].as_str().unwrap() {
            "uint16" => 2,
            "float32" => 4,
            other => panic!("{name}: dtype {other}"),
        };
        let shape = usizes(&ds["shape"]);
        let chunk = usizes(&ds["chunks_shape"]);
        let data = unhex(ds["data_hex"].as_str().unwrap());

        let filters = ds["filters"].as_array().unwrap();
        assert_eq!(filters.len(), 1, "{name}: one filter expected");
        let (id, flags) = (
            filters[0][0].as_u64().unwrap(),
            filters[0][1].as_u64().unwrap(),
        );
        let cd: Vec<u32> = usizes(&filters[0][2])
            .into_iter()
            .map(|v| v as u32)
            .collect();
        assert_eq!(id as u32, spec.id(), "{name}: filter id");
        assert_eq!(flags & 1, 1, "{name}: h5py adds filters as optional");
        let expected_cd = spec.stored_cd_values(ts, &chunk);
        if Some(&cd) != expected_cd.as_ref() {
            failures.push(format!(
                "{name}: cd_values {cd:?} stored, stemz says {expected_cd:?}"
            ));
        }

        for c in ds["chunks"].as_array().unwrap() {
            let off = usizes(&c["offset"]);
            let mask = c["mask"].as_u64().unwrap();
            let stored = unhex(c["hex"].as_str().unwrap());
            let raw = padded_chunk(&data, &shape, &chunk, &off, ts);
            let ours = spec.encode(&raw, ts, &chunk).expect("encode");
            let label = format!("{name} chunk {off:?}");
            match (mask, ours) {
                (1, None) if stored == raw => declined += 1,
                (0, Some(ours)) if ours == stored => identical += 1,
                (0, Some(_)) if spec == FilterSpec::Lzf(Lzf) => {
                    let mut back = vec![0u8; raw.len()];
                    match spec.decode(&stored, ts, &chunk, &mut back) {
                        Ok(()) if back == raw => lzf_decoded_only += 1,
                        r => {
                            failures.push(format!("{label}: h5py's LZF chunk decodes wrong: {r:?}"))
                        }
                    }
                }
                (m, ours) => {
                    // Whatever the encoder says, stemz must read h5py's chunk.
                    let mut back = vec![0u8; raw.len()];
                    let readable = m != 0
                        || spec.decode(&stored, ts, &chunk, &mut back).is_ok() && back == raw;
                    failures.push(format!(
                        "{label}: h5py stored mask {m}, {} bytes; stemz encode gave {:?} bytes; stemz decodes h5py's: {readable}",
                        stored.len(),
                        ours.map(|o| o.len())
                    ));
                }
            }
        }
    }
    eprintln!(
        "{identical} chunks byte-identical, {declined} declined (stored raw) by both, \
         {lzf_decoded_only} LZF chunks equal only after decoding"
    );
    assert!(identical > 1000, "too few chunks compared: {identical}");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
