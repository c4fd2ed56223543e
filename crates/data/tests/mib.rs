//! The Merlin `.mib` reader on every real fixture, on hand-made broken files, and under
//! property tests (arbitrary and mutated input never panics; encoded frames round-trip).

use proptest::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use stemz_data::mib::{looks_like_mib, MibHeader, MibOptions, MibReader};
use stemz_data::{CubeReader, DType, DataError, Hyperslab};

mod common;

use common::realdata;

/// Extract every member of a fixture zip into a fresh temporary directory.
fn extract(zip_name: &str) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let file = std::fs::File::open(realdata(zip_name)).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    let mut mibs = Vec::new();
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).unwrap();
        let out = dir.path().join(member.name());
        let mut bytes = Vec::new();
        member.read_to_end(&mut bytes).unwrap();
        std::fs::write(&out, bytes).unwrap();
        if out.extension().is_some_and(|e| e == "mib") {
            mibs.push(out);
        }
    }
    mibs.sort();
    (dir, mibs)
}

fn read_all(r: &mut MibReader) -> Vec<u32> {
    let shape = r.shape();
    let mut buf = vec![0u8; r.nbytes() as usize];
    r.read_slab(&Hyperslab::full(shape), &mut buf).unwrap();
    to_u32(&buf, r.dtype())
}

fn to_u32(buf: &[u8], dtype: DType) -> Vec<u32> {
    match dtype {
        DType::U8 => buf.iter().map(|&b| u32::from(b)).collect(),
        DType::U16 => bytemuck::pod_collect_to_vec::<u8, u16>(buf)
            .into_iter()
            .map(u32::from)
            .collect(),
        DType::U32 => bytemuck::pod_collect_to_vec::<u8, u32>(buf),
        DType::F32 => panic!("a .mib never decodes to f32"),
    }
}

/// `(frames, det side, depth, raw)` from a `Single|Quad_<n>_Frame_CounterDepth_<d>_Rows_256[RAW]`
/// fixture name.
fn expected_from_name(name: &str) -> (usize, usize, u32, bool) {
    let parts: Vec<&str> = name.split('_').collect();
    let side = if parts[0] == "Quad" { 512 } else { 256 };
    (
        parts[1].parse().unwrap(),
        side,
        parts[4].parse().unwrap(),
        name.contains("RAW"),
    )
}

#[test]
fn realdata_every_single_quad_fixture_decodes_with_expected_shape_dtype_and_values() {
    let (_dir, mibs) = extract("Merlin_Single_Quad.zip");
    assert_eq!(mibs.len(), 20);
    for path in &mibs {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (frames, side, depth, raw) = expected_from_name(&name);
        // the .hdr of these says 1 frame per trigger and no ScanX/ScanY
        let scan = if frames == 9 { Some((3, 3)) } else { None };
        let opts = MibOptions {
            scan,
            ..MibOptions::default()
        };
        let mut r = MibReader::open(path, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want_dtype = match depth {
            1 | 6 => DType::U8,
            12 => DType::U16,
            _ => DType::U32,
        };
        assert_eq!(r.dtype(), want_dtype, "{name}");
        let sy = if frames == 9 { 3 } else { 1 };
        assert_eq!(r.shape(), [sy, sy, side, side], "{name}");
        assert_eq!(r.frame_count(), frames, "{name}");
        assert_eq!(r.header().counter_depth, Some(depth), "{name}");
        assert_eq!(r.geometry().raw.is_some(), raw, "{name}");
        let values = read_all(&mut r);
        let max = *values.iter().max().unwrap();
        let zeros = values.iter().filter(|&&v| v == 0).count() as f64 / values.len() as f64;
        assert!(max < (1u32 << depth), "{name}: max {max} > 2^{depth}-1");
        assert!(max > 0, "{name}: all zeros");
        assert!((0.94..0.98).contains(&zeros), "{name}: {zeros} zeros");
        if depth >= 12 {
            // 12- and 24-bit maxima sit near 4095 in these acquisitions
            assert!((1000..=4095).contains(&max), "{name}: max {max}");
        }
    }
}

#[test]
fn realdata_roi_fixtures_take_scan_shape_from_hdr_and_show_the_hot_pixel() {
    let (_dir, mibs) = extract("Merlin_navigation4x2_signalNx256_ROI.zip");
    assert_eq!(mibs.len(), 2);
    for (path, rows) in mibs.iter().zip([128, 64]) {
        let mut r = MibReader::open(path, &MibOptions::default()).unwrap();
        assert_eq!(r.shape(), [2, 4, rows, 256]);
        assert_eq!(r.dtype(), DType::U16);
        assert!(r.scan_source().contains("ScanX/ScanY"));
        let values = read_all(&mut r);
        let frame = rows * 256;
        for f in 0..8 {
            assert!(
                values[f * frame + 39 * 256 + 52] > 0,
                "frame {f} lacks hot pixel"
            );
        }
        assert!(values.iter().filter(|&&v| v > 0).count() < 30);
    }
}

#[test]
fn realdata_frames_per_trigger_sets_scan_width_when_hdr_has_no_scan_keys() {
    let (dir, mibs) = extract("Merlin_navigation4x2_signalNx256_ROI.zip");
    let hdr = mibs[0].with_extension("hdr");
    let text = std::fs::read_to_string(&hdr).unwrap();
    let stripped: String = text
        .lines()
        .filter(|l| !l.starts_with("ScanX") && !l.starts_with("ScanY"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&hdr, stripped).unwrap();
    let r = MibReader::open(&mibs[0], &MibOptions::default()).unwrap();
    // Frames per Trigger 4 over 8 frames
    assert_eq!(r.shape()[..2], [2, 4]);
    assert!(r.scan_source().contains("Frames per Trigger"));
    drop(dir);
}

#[test]
fn realdata_raw_1bit_fixtures_decode_like_their_processed_twins() {
    // The RAW and processed 1-bit acquisitions were taken a second apart under the same beam:
    // their summed images agree block by block only if the raw unpacking and quad reordering
    // are right (a vertical flip or chip swap breaks the correlation).
    let (_dir, mibs) = extract("Merlin_Single_Quad.zip");
    for kind in ["Single", "Quad"] {
        let find = |suffix: &str| {
            mibs.iter()
                .find(|p| {
                    p.file_name().unwrap().to_string_lossy()
                        == format!("{kind}_9_Frame_CounterDepth_1_Rows_256{suffix}.mib")
                })
                .unwrap()
                .clone()
        };
        let opts = MibOptions {
            scan: Some((9, 1)),
            ..MibOptions::default()
        };
        let mut raw = MibReader::open(&find("RAW"), &opts).unwrap();
        let mut plain = MibReader::open(&find(""), &opts).unwrap();
        assert_eq!(raw.shape(), plain.shape());
        let side = raw.shape()[2];
        let block_sums = |v: &[u32], flip: bool| {
            let mut sums = vec![0f64; 256];
            let k = side / 16;
            for (i, &x) in v.iter().enumerate() {
                let (mut y, xx) = ((i / side) % side, i % side);
                if flip {
                    y = side - 1 - y;
                }
                sums[(y / k) * 16 + xx / k] += f64::from(x);
            }
            sums
        };
        let (a, b) = (read_all(&mut raw), read_all(&mut plain));
        let r = correlation(&block_sums(&a, false), &block_sums(&b, false));
        let r_flipped = correlation(&block_sums(&a, true), &block_sums(&b, false));
        assert!(r > 0.99, "{kind}: raw vs processed correlation {r}");
        assert!(r_flipped < 0.9, "{kind}: flipped correlation {r_flipped}");
    }
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn realdata_nine_frames_with_one_frame_per_trigger_ask_for_scan() {
    let (_dir, mibs) = extract("Merlin_Single_Quad.zip");
    let path = mibs
        .iter()
        .find(|p| {
            p.to_string_lossy()
                .ends_with("Quad_9_Frame_CounterDepth_12_Rows_256.mib")
        })
        .unwrap();
    let err = MibReader::open(path, &MibOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::Format { .. }));
    assert!(msg.contains("--scan") && msg.contains("9 frames"), "{msg}");
    let err = MibReader::open(
        path,
        &MibOptions {
            scan: Some((2, 4)),
            ..MibOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("2x4") && err.contains("9 frames"), "{err}");
    // the single-chip twin's .hdr says 9 frames per trigger: one scan row of 9
    let single = path.with_file_name("Single_9_Frame_CounterDepth_12_Rows_256.mib");
    let r = MibReader::open(&single, &MibOptions::default()).unwrap();
    assert_eq!(r.shape()[..2], [1, 9]);
}

#[test]
fn realdata_slabs_match_the_same_region_of_a_full_read() {
    let (_dir, mibs) = extract("Merlin_Single_Quad.zip");
    for name in [
        "Quad_9_Frame_CounterDepth_12_Rows_256.mib",
        "Quad_9_Frame_CounterDepth_1_Rows_256RAW.mib",
        "Single_9_Frame_CounterDepth_24_Rows_256.mib",
    ] {
        let path = mibs
            .iter()
            .find(|p| p.file_name().unwrap().to_string_lossy() == name)
            .unwrap();
        let opts = MibOptions {
            scan: Some((3, 3)),
            ..MibOptions::default()
        };
        let mut r = MibReader::open(path, &opts).unwrap();
        let shape = r.shape();
        let full = read_all(&mut r);
        let slab = Hyperslab {
            origin: [1, 1, 100, 37],
            extent: [2, 2, 150, 91],
        };
        let mut buf = vec![0u8; slab.len() * r.dtype().itemsize()];
        r.read_slab(&slab, &mut buf).unwrap();
        let part = to_u32(&buf, r.dtype());
        let mut n = 0;
        for a in 0..2 {
            for b in 0..2 {
                for y in 0..150 {
                    for x in 0..91 {
                        let (a, b, y, x) = (a + 1, b + 1, y + 100, x + 37);
                        let i = ((a * shape[1] + b) * shape[2] + y) * shape[3] + x;
                        assert_eq!(part[n], full[i], "{name} at {a},{b},{y},{x}");
                        n += 1;
                    }
                }
            }
        }
    }
}

#[test]
fn realdata_info_names_format_and_frame_facts() {
    let (_dir, mibs) = extract("Merlin_navigation4x2_signalNx256_ROI.zip");
    let r = MibReader::open(&mibs[0], &MibOptions::default()).unwrap();
    let info = r.info();
    assert_eq!(info.format, "Merlin MIB");
    let get = |k: &str| {
        info.details
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {k}"))
    };
    assert_eq!(get("header length"), "384 B");
    assert_eq!(get("pixel type"), "U16");
    assert_eq!(get("counter depth"), "12 bit");
    assert!(get("chip layout").contains("1x1"));
    assert_eq!(get("frames"), "8");
    assert_eq!(get("raw"), "no");
    assert!(get("scan shape source").contains("ScanX/ScanY"));
}

// ---- a small encoder, for hand-made and property-test files ----

/// One frame's parameters; `depth` decides raw packing when `raw`.
#[derive(Debug, Clone)]
struct Spec {
    raw: bool,
    quad: bool,
    depth: u32,
    /// Detector shape after decoding.
    det: (usize, usize),
}

impl Spec {
    fn pixel_type(&self) -> &'static str {
        match (self.raw, self.depth) {
            (true, _) => "R64",
            (false, 1 | 6) => "U08",
            (false, 12) => "U16",
            _ => "U32",
        }
    }

    fn header_len(&self) -> usize {
        if self.quad {
            768
        } else {
            384
        }
    }

    /// Readout width and height as the header states them.
    fn header_wh(&self) -> (usize, usize) {
        let (h, w) = self.det;
        if !self.raw {
            return (w, h);
        }
        let sub = if self.depth == 24 { 2 } else { 1 };
        if self.quad {
            (2 * w * sub, h / 2)
        } else {
            (w * sub, h)
        }
    }
}

fn header(spec: &Spec, frame_no: usize) -> Vec<u8> {
    let (w, h) = spec.header_wh();
    let (chips, layout) = if spec.quad { (4, "2x2") } else { (1, "1x1") };
    let text = format!(
        "MQ1,{frame_no:06},{:05},{chips:02},{w:04},{h:04},{},{layout:>6},01,2021-04-15 \
         14:43:47.008505,0.001000,0,0,0,2.000000E+0,5.110000E+2,0.000000E+0,0.000000E+0,\
         3RX,011,511,000,MQ1A,2021-04-15T13:43:47.008505401Z,1000000ns,{},",
        spec.header_len(),
        spec.pixel_type(),
        spec.depth
    );
    let mut bytes = text.into_bytes();
    assert!(bytes.len() <= spec.header_len());
    bytes.resize(spec.header_len(), 0);
    bytes
}

/// Raw readout image (rows x cols) holding detector image `det`: on a quad each readout row
/// is chips 4,3,2,1; chips 1,2 are the top half, chips 3,4 the bottom half rotated by 180°.
fn to_readout(spec: &Spec, det: &[u32]) -> (usize, usize, Vec<u32>) {
    let (dh, dw) = spec.det;
    if !spec.quad {
        return (dh, dw, det.to_vec());
    }
    let (rows, cw) = (dh / 2, dw / 2);
    let cols = 4 * cw;
    let mut out = vec![0; rows * cols];
    for ry in 0..rows {
        for seg in 0..4 {
            for xi in 0..cw {
                let (y, x) = match seg {
                    3 => (ry, xi),
                    2 => (ry, cw + xi),
                    1 => (dh - 1 - ry, cw - 1 - xi),
                    _ => (dh - 1 - ry, dw - 1 - xi),
                };
                out[ry * cols + seg * cw + xi] = det[y * dw + x];
            }
        }
    }
    (rows, cols, out)
}

fn pack_raw(depth: u32, readout: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    match depth {
        1 => {
            for group in readout.chunks(64) {
                let word = group
                    .iter()
                    .enumerate()
                    .fold(0u64, |acc, (k, &v)| acc | (u64::from(v & 1) << k));
                out.extend_from_slice(&word.to_be_bytes());
            }
        }
        6 => {
            for group in readout.chunks(8) {
                out.extend(group.iter().rev().map(|&v| v as u8));
            }
        }
        12 => {
            for group in readout.chunks(4) {
                for &v in group.iter().rev() {
                    out.extend_from_slice(&(v as u16).to_be_bytes());
                }
            }
        }
        _ => {
            let hi: Vec<u32> = readout.iter().map(|v| v >> 12).collect();
            let lo: Vec<u32> = readout.iter().map(|v| v & 0xfff).collect();
            out = pack_raw(12, &hi);
            out.extend(pack_raw(12, &lo));
        }
    }
    out
}

fn encode_frame(spec: &Spec, frame_no: usize, det: &[u32]) -> Vec<u8> {
    let mut bytes = header(spec, frame_no);
    if spec.raw {
        let (_, _, readout) = to_readout(spec, det);
        bytes.extend(pack_raw(spec.depth, &readout));
    } else {
        for &v in det {
            match spec.pixel_type() {
                "U08" => bytes.push(v as u8),
                "U16" => bytes.extend_from_slice(&(v as u16).to_be_bytes()),
                _ => bytes.extend_from_slice(&v.to_be_bytes()),
            }
        }
    }
    bytes
}

fn encode_file(spec: &Spec, frames: &[Vec<u32>]) -> Vec<u8> {
    frames
        .iter()
        .enumerate()
        .flat_map(|(i, f)| encode_frame(spec, i + 1, f))
        .collect()
}

fn small_spec() -> Spec {
    Spec {
        raw: false,
        quad: false,
        depth: 12,
        det: (4, 8),
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn format_error(path: &Path, opts: &MibOptions) -> String {
    match MibReader::open(path, opts) {
        Err(e @ DataError::Format { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(&path.display().to_string()) || msg.contains(".hdr"));
            msg
        }
        Err(e) => panic!("expected a format error, got {e}"),
        Ok(_) => panic!("{} opened", path.display()),
    }
}

fn frames_of(n: usize, len: usize) -> Vec<Vec<u32>> {
    (0..n)
        .map(|f| (0..len).map(|i| ((i * 7 + f) % 4096) as u32).collect())
        .collect()
}

#[test]
fn hand_encoded_frames_of_every_kind_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for (raw, quad, depth) in [
        (false, false, 1),
        (false, false, 6),
        (false, true, 12),
        (false, false, 24),
        (true, false, 1),
        (true, true, 1),
        (true, false, 6),
        (true, true, 6),
        (true, false, 12),
        (true, true, 12),
        (true, false, 24),
        (true, true, 24),
    ] {
        let spec = Spec {
            raw,
            quad,
            depth,
            det: (8, 128),
        };
        let max = (1u32 << depth) - 1;
        let frames: Vec<Vec<u32>> = (0..2)
            .map(|f| {
                (0..8 * 128)
                    .map(|i| ((i * 2654435761usize + f) as u32) % (max + 1))
                    .collect()
            })
            .collect();
        let path = write(
            dir.path(),
            &format!("k{raw}{quad}{depth}.mib"),
            &encode_file(&spec, &frames),
        );
        let opts = MibOptions {
            scan: Some((1, 2)),
            ..MibOptions::default()
        };
        let mut r = MibReader::open(&path, &opts).unwrap_or_else(|e| panic!("{spec:?}: {e}"));
        assert_eq!(r.shape(), [1, 2, 8, 128], "{spec:?}");
        assert_eq!(read_all(&mut r), frames.concat(), "{spec:?}");
    }
}

#[test]
fn header_without_magic_is_a_corrupt_header_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = encode_file(&small_spec(), &frames_of(1, 32));
    bytes[..3].copy_from_slice(b"XQ1");
    let msg = format_error(&write(dir.path(), "a.mib", &bytes), &MibOptions::default());
    assert!(
        msg.contains("corrupt .mib header") && msg.contains("MQ1"),
        "{msg}"
    );
}

#[test]
fn unparsable_header_field_is_a_corrupt_header_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = encode_file(&small_spec(), &frames_of(1, 32));
    // width field `0008` -> `00x8`
    let at = "MQ1,000001,00384,01,00".len();
    bytes[at] = b'x';
    let msg = format_error(&write(dir.path(), "a.mib", &bytes), &MibOptions::default());
    assert!(msg.contains("width") && msg.contains("00x8"), "{msg}");
}

#[test]
fn unknown_pixel_type_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = encode_file(&small_spec(), &frames_of(1, 32));
    let text = String::from_utf8_lossy(&bytes[..384]).replace("U16", "F64");
    let mut bytes = bytes;
    bytes[..384].copy_from_slice(text.as_bytes());
    let msg = format_error(&write(dir.path(), "a.mib", &bytes), &MibOptions::default());
    assert!(msg.contains("unknown .mib pixel type `F64`"), "{msg}");
}

#[test]
fn header_length_disagreeing_with_the_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_spec();
    // frames with 512-byte headers that claim 384: the second frame is found in the wrong place
    let mut bytes = Vec::new();
    for f in frames_of(4, 32) {
        let one = encode_frame(&spec, 1, &f);
        bytes.extend_from_slice(&one[..384]);
        bytes.extend_from_slice(&[0u8; 128]);
        bytes.extend_from_slice(&one[384..]);
    }
    let msg = format_error(
        &write(dir.path(), "a.mib", &bytes),
        &MibOptions {
            scan: Some((2, 2)),
            drop_truncated: true,
        },
    );
    assert!(
        msg.contains("header length 384") && msg.contains("MQ1"),
        "{msg}"
    );
    // a header length longer than the whole file
    let mut short = encode_frame(&spec, 1, &frames_of(1, 32)[0]);
    short[11..16].copy_from_slice(b"09999");
    let msg = format_error(&write(dir.path(), "b.mib", &short), &MibOptions::default());
    assert!(msg.contains("header length 9999"), "{msg}");
}

#[test]
fn truncated_last_frame_is_an_error_unless_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = encode_file(&small_spec(), &frames_of(3, 32));
    bytes.truncate(bytes.len() - 10);
    let path = write(dir.path(), "a.mib", &bytes);
    let opts = MibOptions {
        scan: Some((1, 2)),
        drop_truncated: false,
    };
    let msg = format_error(&path, &opts);
    assert!(msg.contains("truncated last frame"), "{msg}");
    let mut r = MibReader::open(
        &path,
        &MibOptions {
            drop_truncated: true,
            ..opts
        },
    )
    .unwrap();
    assert_eq!(r.shape(), [1, 2, 4, 8]);
    assert_eq!(read_all(&mut r), frames_of(2, 32).concat());
    assert!(r
        .info()
        .details
        .iter()
        .any(|(k, v)| k == "note" && v.contains("truncated")));
}

#[test]
fn hdr_scan_shape_that_does_not_fit_names_both_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "a.mib",
        &encode_file(&small_spec(), &frames_of(6, 32)),
    );
    write(
        dir.path(),
        "a.hdr",
        b"HDR,\t\nScanX:\t4\nScanY:\t2\nEnd\t\n",
    );
    let msg = format_error(&path, &MibOptions::default());
    assert!(msg.contains("4x") || msg.contains("2x4"), "{msg}");
    assert!(
        msg.contains("8 frames") && msg.contains("6 frames"),
        "{msg}"
    );
    // an interrupted scan keeps its whole rows when asked to
    let r = MibReader::open(
        &path,
        &MibOptions {
            drop_truncated: true,
            ..MibOptions::default()
        },
    )
    .unwrap();
    assert_eq!(r.shape()[..2], [1, 4]);
    // Frames per Trigger that does not divide the frame count
    write(dir.path(), "a.hdr", b"Frames per Trigger (Number):\t4\n");
    let msg = format_error(&path, &MibOptions::default());
    assert!(
        msg.contains("Frames per Trigger 4") && msg.contains("6 frames"),
        "{msg}"
    );
}

#[test]
fn empty_file_is_a_format_error() {
    let dir = tempfile::tempdir().unwrap();
    let msg = format_error(&write(dir.path(), "a.mib", b""), &MibOptions::default());
    assert!(msg.contains("empty file"), "{msg}");
}

#[test]
fn sniffing_recognises_the_frame_magic() {
    assert!(looks_like_mib(b"MQ1,000001,00384"));
    assert!(!looks_like_mib(b"\x93NUMPY"));
    assert!(!looks_like_mib(b"MQ"));
}

// ---- property tests ----

/// The first frame of a real file, plus a synthetic raw quad frame, as mutation seeds.
fn seeds() -> &'static Vec<Vec<u8>> {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let (_dir, mibs) = extract("Merlin_Single_Quad.zip");
        let mut seeds: Vec<Vec<u8>> = ["Single_1_Frame_CounterDepth_1_Rows_256RAW.mib"]
            .iter()
            .map(|n| std::fs::read(mibs.iter().find(|p| p.ends_with(n)).unwrap()).unwrap())
            .collect();
        let spec = Spec {
            raw: true,
            quad: true,
            depth: 12,
            det: (4, 128),
        };
        seeds.push(encode_file(&spec, &frames_of(2, 4 * 128)));
        seeds.push(encode_file(&small_spec(), &frames_of(3, 32)));
        seeds
    })
}

/// Open whatever `bytes` are and, if that works, read everything: must not panic.
fn open_and_read(dir: &Path, bytes: &[u8], hdr: Option<&[u8]>, drop_truncated: bool) {
    let path = dir.join("f.mib");
    std::fs::write(&path, bytes).unwrap();
    match hdr {
        Some(h) => std::fs::write(dir.join("f.hdr"), h).unwrap(),
        None => {
            let _ = std::fs::remove_file(dir.join("f.hdr"));
        }
    }
    let _ = MibHeader::parse(&path, bytes).map(|h| h.geometry(&path));
    let opts = MibOptions {
        scan: None,
        drop_truncated,
    };
    if let Ok(mut r) = MibReader::open(&path, &opts) {
        let n = r.nbytes();
        // every accepted frame is in the file, so the cube is at most ~8x the file size
        assert!(
            n <= 8 * bytes.len() as u64 + 64,
            "{n} bytes from a {} byte file",
            bytes.len()
        );
        let mut out = vec![0u8; n as usize];
        r.read_slab(&Hyperslab::full(r.shape()), &mut out).unwrap();
        let _ = r.info();
    }
}

fn config() -> ProptestConfig {
    // PROPTEST_CASES scales the run (default 256); failures become named tests, not files
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(
        prefix in prop::bool::ANY,
        body in prop::collection::vec(any::<u8>(), 0..1200),
        drop in prop::bool::ANY,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = if prefix { b"MQ1,".to_vec() } else { Vec::new() };
        bytes.extend(body);
        open_and_read(dir.path(), &bytes, None, drop);
    }

    #[test]
    fn realdata_mutated_real_headers_never_panic(
        seed in 0usize..3,
        edits in prop::collection::vec((0usize..800, any::<u8>()), 1..6),
        digit_edits in prop::collection::vec((0usize..80, b'0'..=b'9'), 0..4),
        truncate in prop::option::of(0usize..600_000),
        hdr in prop::option::of(prop::sample::select(vec![
            &b"ScanX:\t3\nScanY:\t1\n"[..],
            &b"ScanX:\t1\nScanY:\t2\n"[..],
            &b"ScanX:\tx\n"[..],
            &b"Frames per Trigger (Number):\t2\n"[..],
            &b"Frames per Trigger (Number):\t0\n"[..],
        ])),
        drop in prop::bool::ANY,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = seeds()[seed].clone();
        let hl = if seed == 1 { 768 } else { 384 };
        for (at, b) in edits {
            let at = at % hl;
            bytes[at] = b;
        }
        for (at, d) in digit_edits {
            bytes[at % 64] = d;
        }
        if let Some(t) = truncate {
            bytes.truncate(t.min(bytes.len()));
        }
        open_and_read(dir.path(), &bytes, hdr, drop);
    }

    #[test]
    fn encoded_frames_round_trip(
        kind in 0usize..12,
        rows in 1usize..5,
        col_groups in 1usize..3,
        scan in (1usize..3, 1usize..3),
        seed in any::<u64>(),
        via_hdr in prop::bool::ANY,
    ) {
        let (raw, quad, depth) = [
            (false, false, 1), (false, false, 6), (false, true, 12), (false, false, 24),
            (true, false, 1), (true, true, 1), (true, false, 6), (true, true, 6),
            (true, false, 12), (true, true, 12), (true, false, 24), (true, true, 24),
        ][kind];
        // raw chip rows split into groups of 64 (1-bit) pixels; keep every kind's width legal
        let det = if quad { (2 * rows, 2 * 64 * col_groups) } else { (rows, 64 * col_groups) };
        let spec = Spec { raw, quad, depth, det };
        let n = det.0 * det.1;
        let max = if depth == 32 { u32::MAX } else { (1u32 << depth) - 1 };
        let mut state = seed | 1;
        let frames: Vec<Vec<u32>> = (0..scan.0 * scan.1)
            .map(|_| (0..n).map(|_| {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                // mostly zeros, like the detector
                if state % 4 == 0 { (state >> 8) as u32 % (max + 1) } else { 0 }
            }).collect())
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "f.mib", &encode_file(&spec, &frames));
        let opts = if via_hdr {
            write(dir.path(), "f.hdr", format!("ScanX:\t{}\nScanY:\t{}\n", scan.1, scan.0).as_bytes());
            MibOptions::default()
        } else {
            MibOptions { scan: Some(scan), drop_truncated: false }
        };
        let mut r = MibReader::open(&path, &opts).unwrap();
        prop_assert_eq!(r.shape(), [scan.0, scan.1, det.0, det.1]);
        prop_assert_eq!(read_all(&mut r), frames.concat());
    }
}
