//! Chunks whose headers lie: a stored chunk that claims a huge decoded size (or is otherwise
//! damaged) is one clear error naming the file and the chunk's offset, exit 1, in every
//! subcommand — never an allocation abort, and no output left behind.

// HDF5 here is stemz-data's static one: linking stemz-data brings its szip (libaec) and the
// zlib functions HDF5's deflate filter calls (see crates/data/build.rs and src/zlib.rs).
use stemz_data as _;

mod common;

use common::{hdf5_turn, stemz_output, write_npy_u16};
use std::path::{Path, PathBuf};

struct Outcome {
    stderr: String,
    code: Option<i32>,
}

fn stemz(args: &[&str]) -> Outcome {
    let out = stemz_output(args);
    Outcome {
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
}

/// A uint16 `.npy` cube (2, 2, 8, 8) with a few non-zero values.
fn write_npy(path: &Path) {
    write_npy_u16(
        path,
        [2, 2, 8, 8],
        |i| if i % 7 == 0 { i as u16 } else { 0 },
    );
}

/// Compress a small cube with `method`, one frame per chunk, into `dir/name`.
fn compressed(dir: &Path, name: &str, method: &str) -> PathBuf {
    let npy = dir.join("src.npy");
    write_npy(&npy);
    let out = dir.join(name);
    let o = stemz(&[
        "compress",
        npy.to_str().unwrap(),
        out.to_str().unwrap(),
        "--method",
        method,
        "--chunking",
        "1x1x8x8",
    ]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    std::fs::remove_file(&npy).unwrap();
    out
}

/// File address and stored size of the chunk at `offset` of dataset `data`.
fn chunk_at(path: &Path, offset: &[u64]) -> (u64, u64) {
    let _turn = hdf5_turn();
    let f = hdf5::File::open(path).unwrap();
    let ds = f.dataset("data").unwrap();
    for i in 0..ds.num_chunks().unwrap() {
        let info = ds.chunk_info(i).unwrap();
        if info.offset == offset {
            return (info.addr, info.size);
        }
    }
    panic!("no chunk at {offset:?}");
}

/// Overwrite bytes of the file at `at`.
fn patch(path: &Path, at: u64, bytes: &[u8]) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(bytes).unwrap();
}

/// A file of `method` whose chunk at (0, 1, 0, 0) has its 8-byte size header set to `claim`.
fn with_claimed_size(dir: &Path, name: &str, method: &str, claim: u64) -> PathBuf {
    let p = compressed(dir, name, method);
    let (addr, _) = chunk_at(&p, &[0, 1, 0, 0]);
    patch(&p, addr, &claim.to_be_bytes());
    p
}

/// Every subcommand that reads the data fails with exit 1, one line naming the file, the
/// chunk offset and `problem`, and leaves nothing in the output folder.
fn every_subcommand_refuses(input: &Path, problem: &str) {
    let name = input.file_name().unwrap().to_str().unwrap();
    let inp = input.to_str().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let od = out_dir.path();
    let out_emd = od.join("out.emd");
    let out_h5 = od.join("out.h5");
    let runs = od.join("runs");
    let work = od.join("work");
    let cases: Vec<Vec<&str>> = vec![
        vec!["inspect", inp],
        vec!["convert", inp, out_emd.to_str().unwrap()],
        vec![
            "compress",
            inp,
            out_h5.to_str().unwrap(),
            "--engine",
            "serial",
        ],
        vec![
            "compress",
            inp,
            out_h5.to_str().unwrap(),
            "--engine",
            "parallel",
        ],
        vec![
            "recommend",
            inp,
            "--sample",
            "1",
            "--methods",
            "gzip_1",
            "--chunkings",
            "1x1x8x8",
        ],
        vec![
            "bench",
            inp,
            "--methods",
            "gzip_1",
            "--chunkings",
            "1x1x8x8",
            "--engines",
            "serial",
            "--runs",
            "1",
            "--quiet",
            "--out",
            runs.to_str().unwrap(),
            "--workdir",
            work.to_str().unwrap(),
        ],
    ];
    for args in cases {
        let o = stemz(&args);
        assert_eq!(o.code, Some(1), "{args:?}: {}", o.stderr);
        assert!(!o.stderr.contains("panicked"), "{args:?}: {}", o.stderr);
        let lines: Vec<&str> = o.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(
            lines.len(),
            1,
            "{args:?}: one line expected: {:?}",
            o.stderr
        );
        let line = lines[0];
        assert!(
            line.contains(name),
            "{args:?}: {line:?} does not name {name}"
        );
        assert!(
            line.contains("offset [0, 1, 0, 0]"),
            "{args:?}: {line:?} does not name the chunk offset"
        );
        assert!(
            line.contains(problem),
            "{args:?}: {line:?} does not say {problem}"
        );
        for leftover in [&out_emd, &out_h5] {
            assert!(!leftover.exists(), "{args:?}: {} left", leftover.display());
        }
        let temps: Vec<_> = std::fs::read_dir(od)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".partial") || n.starts_with('.'))
            .collect();
        assert!(temps.is_empty(), "{args:?}: temporaries left: {temps:?}");
    }
}

#[test]
fn lz4_chunk_claiming_2_pow_40_bytes_is_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let p = with_claimed_size(dir.path(), "lz4_huge.h5", "lz4_hdf5", 1 << 40);
    every_subcommand_refuses(&p, "claims 1099511627776 decoded bytes");
}

#[test]
fn lz4_chunk_claiming_2_pow_34_bytes_is_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let p = with_claimed_size(dir.path(), "lz4_16g.h5", "lz4_hdf5", 1 << 34);
    every_subcommand_refuses(&p, "claims 17179869184 decoded bytes");
}

#[test]
fn lz4_chunk_claiming_slightly_more_than_a_chunk_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = with_claimed_size(dir.path(), "lz4_plus.h5", "lz4_hdf5", 129);
    every_subcommand_refuses(&p, "claims 129 decoded bytes");
}

#[test]
fn bitshuffle_chunk_claiming_2_pow_50_bytes_is_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let p = with_claimed_size(dir.path(), "bshuf_huge.h5", "bitshuffle_lz4", 1 << 50);
    every_subcommand_refuses(&p, "claims 1125899906842624 decoded bytes");
}

#[test]
fn bitshuffle_zstd_chunk_claiming_2_pow_36_bytes_is_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let p = with_claimed_size(dir.path(), "bzstd_huge.h5", "bitshuffle_zstd", 1 << 36);
    every_subcommand_refuses(&p, "claims 68719476736 decoded bytes");
}

#[test]
fn zstd_frame_claiming_2_pow_40_bytes_is_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let p = compressed(dir.path(), "zstd_huge.h5", "zstd_3");
    let (addr, _) = chunk_at(&p, &[0, 1, 0, 0]);
    // Magic, then a frame header descriptor with an 8-byte content size and single segment.
    let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
    frame.extend_from_slice(&(1u64 << 40).to_le_bytes());
    patch(&p, addr, &frame);
    every_subcommand_refuses(&p, "claims 1099511627776 decoded bytes");
}

#[test]
fn blosc_chunk_claiming_2_gib_is_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let p = compressed(dir.path(), "blosc_huge.h5", "blosc_lz4");
    let (addr, _) = chunk_at(&p, &[0, 1, 0, 0]);
    // Blosc 1.x header: nbytes (decoded size) is the little-endian u32 at byte 4.
    patch(&p, addr + 4, &(1u32 << 31).to_le_bytes());
    every_subcommand_refuses(&p, "blosc filter");
}

#[test]
fn blosc_chunk_with_a_garbage_header_is_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let p = compressed(dir.path(), "blosc_bad.h5", "blosc_zstd");
    let (addr, size) = chunk_at(&p, &[0, 1, 0, 0]);
    patch(&p, addr, &vec![0xff; size as usize]);
    every_subcommand_refuses(&p, "blosc filter");
}

#[test]
fn lz4_chunk_with_a_truncated_block_is_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let p = compressed(dir.path(), "lz4_cut.h5", "lz4_hdf5");
    let (addr, _) = chunk_at(&p, &[0, 1, 0, 0]);
    // The first block claims to be 2^30 bytes long: more than the chunk stores.
    patch(&p, addr + 12, &(1u32 << 30).to_be_bytes());
    every_subcommand_refuses(&p, "truncated");
}

#[test]
fn garbage_lzf_and_deflate_chunks_are_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    for (method, name, problem) in [
        ("lzf", "lzf_bad.h5", "lzf filter"),
        ("gzip_1", "gzip_bad.h5", "cannot be decoded"),
    ] {
        let p = compressed(dir.path(), name, method);
        let (addr, size) = chunk_at(&p, &[0, 1, 0, 0]);
        patch(&p, addr, &vec![0xff; size as usize]);
        every_subcommand_refuses(&p, problem);
    }
}

#[test]
fn a_szip_chunk_claiming_4_gib_does_not_crash_the_process() {
    // szip is HDF5's built-in filter: it trusts its 4-byte size header (up to 4 GiB), which
    // stemz cannot intercept; the process must still end normally, never by a signal.
    let dir = tempfile::tempdir().unwrap();
    let p = compressed(dir.path(), "szip_huge.h5", "szip");
    let (addr, _) = chunk_at(&p, &[0, 1, 0, 0]);
    patch(&p, addr, &u32::MAX.to_le_bytes());
    let o = stemz(&["inspect", p.to_str().unwrap()]);
    assert!(
        matches!(o.code, Some(0 | 1)),
        "ended by a signal: {}",
        o.stderr
    );
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
}
