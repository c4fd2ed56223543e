//! Fixity: every `stemz compress` HDF5 output records the SHA-256 of its data; `stemz verify`
//! re-decodes a file and checks it against that digest and/or its source; `--checksum` adds
//! Fletcher-32 so a flipped byte is refused at decoding, naming the chunk.

// HDF5 here is stemz-data's static one: linking stemz-data brings its szip (libaec) and the
// zlib functions HDF5's deflate filter calls (see crates/data/build.rs and src/zlib.rs).
use stemz_data as _;

mod common;

use common::{hdf5_turn, stemz_output, write_npy_u16};
use std::path::{Path, PathBuf};
use std::process::Output;

fn stemz(args: &[&str]) -> Output {
    stemz_output(args)
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn npy(dir: &Path) -> PathBuf {
    let p = dir.join("src.npy");
    write_npy_u16(&p, [4, 4, 16, 16], |i| {
        if i % 3 == 0 {
            (i % 500) as u16
        } else {
            0
        }
    });
    p
}

fn compress(src: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "compress",
        src.to_str().unwrap(),
        out.to_str().unwrap(),
        "--chunking",
        "1x1x16x16",
    ];
    args.extend_from_slice(extra);
    let o = stemz(&args);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(text(&o).0.contains("sha256 "), "{}", text(&o).0);
}

/// Flip the byte in the middle of the chunk at `offset`.
fn flip(path: &Path, offset: &[u64]) {
    let at = {
        let _turn = hdf5_turn();
        let f = hdf5::File::open(path).unwrap();
        let ds = f.dataset("data").unwrap();
        let c = (0..ds.num_chunks().unwrap())
            .map(|i| ds.chunk_info(i).unwrap())
            .find(|c| c.offset == offset)
            .unwrap();
        (c.addr + c.size / 2) as usize
    };
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x04;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn verify_passes_a_good_file_by_digest_and_against_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let src = npy(dir.path());
    let out = dir.path().join("good.h5");
    compress(&src, &out, &["--method", "zstd_3"]);
    let o = stemz(&["verify", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(text(&o).0.contains("matches the stored digest"));
    let o = stemz(&[
        "verify",
        out.to_str().unwrap(),
        "--against",
        src.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(text(&o).0.contains("bitwise equal to"));
}

#[test]
fn verify_finds_a_flipped_byte_that_decodes_silently() {
    // Uncompressed (`none`) chunks carry no check of their own: a flipped byte decodes to
    // different values without any error; only the stored digest can tell.
    let dir = tempfile::tempdir().unwrap();
    let src = npy(dir.path());
    let out = dir.path().join("plain.h5");
    compress(&src, &out, &["--method", "none"]);
    flip(&out, &[1, 1, 0, 0]);
    let o = stemz(&["verify", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = text(&o).1;
    assert!(e.contains("plain.h5") && e.contains("DAMAGED"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    let o = stemz(&[
        "verify",
        out.to_str().unwrap(),
        "--against",
        src.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn a_checksummed_file_refuses_a_flipped_byte_naming_the_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let src = npy(dir.path());
    for engine in ["serial", "parallel"] {
        let out = dir.path().join(format!("sealed-{engine}.h5"));
        compress(
            &src,
            &out,
            &[
                "--method",
                "bitshuffle_lz4",
                "--checksum",
                "--engine",
                engine,
            ],
        );
        flip(&out, &[2, 1, 0, 0]);
        for sub in ["verify", "inspect"] {
            let o = stemz(&[sub, out.to_str().unwrap()]);
            assert_eq!(o.status.code(), Some(1), "{sub}");
            let e = text(&o).1;
            assert!(
                e.contains("[2, 1, 0, 0]") && e.contains("Fletcher-32"),
                "{sub}: {e}"
            );
        }
    }
}

#[test]
fn verify_without_a_digest_or_source_says_what_to_give() {
    let dir = tempfile::tempdir().unwrap();
    let src = npy(dir.path());
    let o = stemz(&["verify", src.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("--against"), "{}", text(&o).1);
}

#[test]
fn checksum_does_not_apply_to_own_formats() {
    let dir = tempfile::tempdir().unwrap();
    let src = npy(dir.path());
    let out = dir.path().join("o.csr");
    let o = stemz(&[
        "compress",
        src.to_str().unwrap(),
        out.to_str().unwrap(),
        "--method",
        "sparse_csr",
        "--checksum",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("--checksum"), "{}", text(&o).1);
    assert!(!out.exists());
}
