//! Quantum Detectors Merlin `.mib` files (with their `.hdr` sidecar): header parsing, frame
//! geometry, raw-mode decoding, scan-shape discovery, and a streaming [`CubeReader`].
//!
//! A `.mib` file is a sequence of frames, each an ASCII header
//! (`MQ1,frame_no,header_len,n_chips,width,height,pixel_type,chip_layout,…`) NUL-padded to
//! `header_len` bytes, followed by the pixels. Processed frames (`U08`/`U16`/`U32`) are plain
//! big-endian images. Raw frames (`R64`) are what the chips read out: 1-bit pixels packed 64 to a
//! big-endian word, 6-bit bytes and 12-bit words reversed in groups of 8 and 4, 24-bit as two
//! 12-bit frames (most significant first), and on a 2x2 quad the four chips' rows interleaved
//! with the bottom chips rotated by 180°. The decoding matches LiberTEM's `io/dataset/mib.py`
//! (rosettasciio refuses raw data); pixels come out in file order, i.e. without the vertical flip
//! rosettasciio's `file_reader` applies.
//!
//! The scan shape is not in the `.mib`: it comes from the caller, the `.hdr` (`ScanX`/`ScanY`,
//! else `Frames per Trigger`), a lone frame, or the frames' own timestamps
//! ([`line_length_from_timestamps`], rosettasciio's rule: the flyback to each new line makes a
//! gap longer than the mean between frames; the first such gap ends the first line); otherwise
//! opening fails asking for `--scan`.

use crate::cube::{CubeReader, DType, Hyperslab, Shape4, SourceInfo};
use crate::error::{DataError, Result};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Every frame header starts with these bytes.
pub const MIB_MAGIC: &[u8] = b"MQ1,";

/// Headers longer than this are treated as corrupt (Merlin writes 384 or 768 bytes); the bound
/// keeps a damaged length field from asking for a huge read.
const MAX_HEADER_LEN: usize = 1 << 16;
/// Largest accepted detector side, for the same reason (real chips are 256 pixels wide).
const MAX_SIDE: usize = 1 << 16;
/// Largest `.hdr` sidecar we read (real ones are 2 KiB).
const MAX_HDR_BYTES: u64 = 1 << 20;

/// Whether `head` (the first bytes of a file) looks like a Merlin `.mib` frame header.
pub fn looks_like_mib(head: &[u8]) -> bool {
    head.starts_with(MIB_MAGIC)
}

/// How to open a `.mib` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MibOptions {
    /// Scan shape `(scan_y, scan_x)`; overrides whatever the `.hdr` says.
    pub scan: Option<(usize, usize)>,
    /// Ignore an incomplete last frame (and, for an interrupted scan, keep only whole scan rows)
    /// instead of failing.
    pub drop_truncated: bool,
}

/// The pixel type field of a frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelType {
    /// 8-bit processed pixels (1- or 6-bit counters).
    U08,
    /// 16-bit processed pixels (12-bit counter).
    U16,
    /// 32-bit processed pixels (24-bit counter).
    U32,
    /// Raw chip readout; the counter depth says how to unpack it.
    R64,
}

impl PixelType {
    fn parse(s: &str) -> Option<PixelType> {
        match s {
            "U08" => Some(PixelType::U08),
            "U16" => Some(PixelType::U16),
            "U32" => Some(PixelType::U32),
            "R64" => Some(PixelType::R64),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PixelType::U08 => "U08",
            PixelType::U16 => "U16",
            PixelType::U32 => "U32",
            PixelType::R64 => "R64",
        }
    }
}

/// The fields of a frame header that decide how the frame is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MibHeader {
    /// Sequence number of the frame (1-based in files Merlin writes).
    pub frame_no: u64,
    /// Header length in bytes, NUL padding included.
    pub header_len: usize,
    /// Number of chips read out.
    pub n_chips: usize,
    /// Width and height as written in the header; for raw frames this is the readout geometry
    /// (a 2x2 quad reads out as 1024x256), not the image's.
    pub width: usize,
    pub height: usize,
    pub pixel_type: PixelType,
    /// Chip layout, e.g. `1x1`, `2x2`, `2x2G`, `Nx1`.
    pub chip_layout: String,
    /// Counter depth in bits from the `MQ1A` extension, when the header has one.
    pub counter_depth: Option<u32>,
}

/// How one frame's pixels sit in the file and what they decode to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameGeometry {
    /// Image shape `(det_y, det_x)` after decoding.
    pub det_shape: (usize, usize),
    /// Pixel bytes per frame (header excluded).
    pub payload_bytes: usize,
    /// Element type of the decoded image.
    pub dtype: DType,
    /// Raw-mode unpacking, `None` for processed (`U08`/`U16`/`U32`) frames.
    pub raw: Option<RawLayout>,
}

/// Raw (`R64`) readout: `rows` x `cols` pixels per sub-frame (two sub-frames for 24-bit), chips
/// interleaved along the row when `quad`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawLayout {
    pub depth: u32,
    pub rows: usize,
    pub cols: usize,
    pub subframes: usize,
    pub quad: bool,
}

fn field_usize(
    path: &Path,
    fields: &[&str],
    idx: usize,
    name: &str,
    range: (usize, usize),
) -> Result<usize> {
    let raw = fields.get(idx).map(|s| s.trim()).unwrap_or("");
    let v: usize = raw.parse().map_err(|_| {
        DataError::format(
            path,
            format!("corrupt .mib header: {name} field is `{raw}`, not a number"),
        )
    })?;
    if v < range.0 || v > range.1 {
        return Err(DataError::format(
            path,
            format!(
                "corrupt .mib header: {name} {v} is outside {}..={}",
                range.0, range.1
            ),
        ));
    }
    Ok(v)
}

impl MibHeader {
    /// Parse the frame header at the start of `head` (which must hold at least `header_len`
    /// bytes, or the whole file if shorter). `path` only names the file in errors.
    pub fn parse(path: &Path, head: &[u8]) -> Result<MibHeader> {
        if !looks_like_mib(head) {
            let shown: String = head
                .iter()
                .take(8)
                .flat_map(|b| std::ascii::escape_default(*b))
                .map(char::from)
                .collect();
            return Err(DataError::format(
                path,
                format!("corrupt .mib header: expected `MQ1,` at the start, found `{shown}`"),
            ));
        }
        let text_of = |bytes: &[u8]| -> Result<String> {
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            let text = &bytes[..end];
            if !text.is_ascii() {
                return Err(DataError::format(
                    path,
                    "corrupt .mib header: non-ASCII bytes before the NUL padding",
                ));
            }
            Ok(String::from_utf8_lossy(text).into_owned())
        };
        // The length field decides how much of `head` is header, so read it from the prefix
        // first; the fields before it are short and fixed.
        let prefix_end = head
            .iter()
            .take(64)
            .position(|b| *b == 0 || !b.is_ascii())
            .unwrap_or(head.len().min(64));
        let prefix = String::from_utf8_lossy(&head[..prefix_end]);
        let prefix_fields: Vec<&str> = prefix.split(',').collect();
        let header_len = field_usize(
            path,
            &prefix_fields,
            2,
            "header length",
            (MIB_MAGIC.len(), MAX_HEADER_LEN),
        )?;
        if head.len() < header_len {
            return Err(DataError::format(
                path,
                format!(
                    "header length {header_len} disagrees with the file: only {} bytes available",
                    head.len()
                ),
            ));
        }
        let text = text_of(&head[..header_len])?;
        let fields: Vec<&str> = text.split(',').collect();
        if fields.len() < 8 {
            return Err(DataError::format(
                path,
                format!(
                    "corrupt .mib header: {} comma-separated fields, need at least 8",
                    fields.len()
                ),
            ));
        }
        let frame_no = fields[1].trim().parse::<u64>().map_err(|_| {
            DataError::format(
                path,
                format!(
                    "corrupt .mib header: frame number field is `{}`, not a number",
                    fields[1].trim()
                ),
            )
        })?;
        let n_chips = field_usize(path, &fields, 3, "chip count", (1, 64))?;
        let width = field_usize(path, &fields, 4, "width", (1, MAX_SIDE))?;
        let height = field_usize(path, &fields, 5, "height", (1, MAX_SIDE))?;
        let pt = fields[6].trim();
        let pixel_type = PixelType::parse(pt).ok_or_else(|| {
            DataError::format(
                path,
                format!("unknown .mib pixel type `{pt}` (expected U08, U16, U32 or R64)"),
            )
        })?;
        let chip_layout = fields[7].trim().to_string();
        // The MQ1A extension is `MQ1A,<timestamp>,<exposure>ns,<counter depth>`.
        let counter_depth = match fields.iter().position(|f| f.trim() == "MQ1A") {
            Some(i) => {
                let raw = fields.get(i + 3).map(|s| s.trim()).unwrap_or("");
                let depth: u32 = raw.parse().map_err(|_| {
                    DataError::format(
                        path,
                        format!("corrupt .mib header: counter depth `{raw}` is not a number"),
                    )
                })?;
                Some(depth)
            }
            None => None,
        };
        if let Some(depth) = counter_depth {
            let ok = match pixel_type {
                PixelType::U08 => depth <= 8,
                PixelType::U16 => depth <= 16,
                PixelType::U32 => depth <= 32,
                PixelType::R64 => matches!(depth, 1 | 6 | 12 | 24),
            };
            if !ok || depth == 0 {
                return Err(DataError::format(
                    path,
                    format!(
                        "corrupt .mib header: counter depth {depth} does not fit pixel type {}",
                        pixel_type.as_str()
                    ),
                ));
            }
        }
        Ok(MibHeader {
            frame_no,
            header_len,
            n_chips,
            width,
            height,
            pixel_type,
            chip_layout,
            counter_depth,
        })
    }

    /// The layout `2x2` (also written `2x2G`), without padding.
    fn is_quad(&self) -> bool {
        self.n_chips == 4 && self.chip_layout.trim().trim_end_matches('G') == "2x2"
    }

    /// Where the pixels are and what they decode to. Fails for raw frames whose geometry no
    /// known decoder handles.
    pub fn geometry(&self, path: &Path) -> Result<FrameGeometry> {
        let (w, h) = (self.width, self.height);
        let overflow = || DataError::format(path, format!("frame {w}x{h} is too large"));
        let plain = |bytes: usize, dtype: DType| -> Result<FrameGeometry> {
            let payload_bytes = w
                .checked_mul(h)
                .and_then(|n| n.checked_mul(bytes))
                .ok_or_else(overflow)?;
            Ok(FrameGeometry {
                det_shape: (h, w),
                payload_bytes,
                dtype,
                raw: None,
            })
        };
        match self.pixel_type {
            PixelType::U08 => plain(1, DType::U8),
            PixelType::U16 => plain(2, DType::U16),
            PixelType::U32 => plain(4, DType::U32),
            PixelType::R64 => {
                let depth = self.counter_depth.ok_or_else(|| {
                    DataError::format(
                        path,
                        "raw (R64) frame without a counter depth in its header: cannot unpack",
                    )
                })?;
                // pixels per reordering group, and the dtype each depth decodes to
                let (group, bits, dtype, subframes) = match depth {
                    1 => (64, 1, DType::U8, 1),
                    6 => (8, 8, DType::U8, 1),
                    12 => (4, 16, DType::U16, 1),
                    24 => (4, 16, DType::U32, 2),
                    d => {
                        return Err(DataError::format(
                            path,
                            format!("raw (R64) frame with unsupported counter depth {d}"),
                        ))
                    }
                };
                if w % subframes != 0 {
                    return Err(DataError::format(
                        path,
                        format!("raw 24-bit frame with odd width {w}: expected two 12-bit halves"),
                    ));
                }
                let cols = w / subframes;
                let quad = self.is_quad();
                if self.n_chips > 1 && !quad {
                    return Err(DataError::format(
                        path,
                        format!(
                            "raw (R64) data from {} chips in layout `{}` is not supported (only \
                             single chips and 2x2 quads)",
                            self.n_chips, self.chip_layout
                        ),
                    ));
                }
                let chip_cols = if quad { cols / 4 } else { cols };
                if (quad && cols % 4 != 0) || chip_cols % group != 0 {
                    return Err(DataError::format(
                        path,
                        format!(
                            "raw {depth}-bit frame {w}x{h}: chip rows of {chip_cols} pixels do \
                             not split into groups of {group}"
                        ),
                    ));
                }
                let payload_bytes = cols
                    .checked_mul(h)
                    .and_then(|n| n.checked_mul(bits * subframes))
                    .map(|b| b / 8)
                    .ok_or_else(overflow)?;
                let det_shape = if quad {
                    (2 * h, 2 * chip_cols)
                } else {
                    (h, cols)
                };
                Ok(FrameGeometry {
                    det_shape,
                    payload_bytes,
                    dtype,
                    raw: Some(RawLayout {
                        depth,
                        rows: h,
                        cols,
                        subframes,
                        quad,
                    }),
                })
            }
        }
    }
}

/// Decode one raw frame `payload` (exactly `payload_bytes` long) into `out` (`det_y * det_x`
/// values, C order).
fn decode_raw_frame(layout: &RawLayout, payload: &[u8], out: &mut [u32]) {
    let (rows, cols) = (layout.rows, layout.cols);
    let sub_bytes = payload.len() / layout.subframes.max(1);
    let mut image = vec![0u32; rows * cols];
    out.fill(0);
    for s in 0..layout.subframes {
        let sub = &payload[s * sub_bytes..(s + 1) * sub_bytes];
        unpack_raw_rows(layout.depth, sub, &mut image);
        // 24-bit: the first 12-bit frame holds the most significant bits
        let shift = if layout.subframes == 2 && s == 0 {
            12
        } else {
            0
        };
        place_raw_image(layout, &image, out, shift);
    }
}

/// Undo the chips' within-group ordering: `image` gets the readout in pixel order.
fn unpack_raw_rows(depth: u32, sub: &[u8], image: &mut [u32]) {
    match depth {
        1 => {
            // 64 pixels per big-endian u64, pixel k = bit k
            for (g, word) in sub.chunks_exact(8).enumerate() {
                let mut v = 0u64;
                for &b in word {
                    v = (v << 8) | u64::from(b);
                }
                for (k, px) in image[64 * g..64 * g + 64].iter_mut().enumerate() {
                    *px = ((v >> k) & 1) as u32;
                }
            }
        }
        6 => {
            for (i, &b) in sub.iter().enumerate().take(image.len()) {
                image[(i / 8 + 1) * 8 - i % 8 - 1] = u32::from(b);
            }
        }
        _ => {
            // 12 (and each half of 24): big-endian u16, reversed in groups of 4
            for (i, pair) in sub.chunks_exact(2).enumerate().take(image.len()) {
                image[(i / 4 + 1) * 4 - i % 4 - 1] =
                    u32::from(u16::from_be_bytes([pair[0], pair[1]]));
            }
        }
    }
}

/// Arrange a raw readout image into the detector image, OR-ing `value << shift` into `out`.
/// On a quad each readout row holds, left to right, chips 4, 3, 2, 1: chips 1 and 2 form the
/// top half as they are; chips 3 and 4 form the bottom half rotated by 180°.
fn place_raw_image(layout: &RawLayout, image: &[u32], out: &mut [u32], shift: u32) {
    let (rows, cols) = (layout.rows, layout.cols);
    if !layout.quad {
        for (o, &v) in out.iter_mut().zip(image) {
            *o |= v << shift;
        }
        return;
    }
    let cw = cols / 4;
    let out_w = 2 * cw;
    for y in 0..2 * rows {
        for x in 0..out_w {
            let (ry, seg, xi) = if y < rows {
                (y, if x < cw { 3 } else { 2 }, x % cw)
            } else {
                (
                    2 * rows - 1 - y,
                    if x < cw { 1 } else { 0 },
                    cw - 1 - x % cw,
                )
            };
            out[y * out_w + x] |= image[ry * cols + seg * cw + xi] << shift;
        }
    }
}

/// Frames whose timestamps the scan inference reads (rosettasciio's `max_index`).
const TIMESTAMP_FRAMES: usize = 10_000;

/// The acquisition timestamp of a frame header: its fourth field from the end (rosettasciio's
/// `header.split(",")[-4]`), e.g. `2021-04-15T13:43:47.008505401Z`.
fn timestamp_field(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    let fields: Vec<&str> = text.split(',').collect();
    let f = fields.len().checked_sub(4).map(|i| fields[i])?;
    Some(f.trim().to_owned())
}

/// Nanoseconds since 1970 of `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z]`, or None.
fn parse_timestamp_ns(t: &str) -> Option<i128> {
    let t = t.trim().trim_end_matches('Z');
    let (date, time) = t.split_once(['T', ' '])?;
    let mut d = date.split('-').map(|v| v.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut h = hms.split(':').map(|v| v.parse::<i64>().ok());
    let (hh, mm, ss) = (h.next()??, h.next()??, h.next()??);
    if !frac.chars().all(|c| c.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let ns_frac: i64 = format!("{frac:0<9}").parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = i128::from(days) * 86_400 + i128::from(hh * 3600 + mm * 60 + ss);
    Some(secs * 1_000_000_000 + i128::from(ns_frac))
}

/// The scan line length the frame timestamps show, as rosettasciio infers it: the index of the
/// first gap between consecutive frames longer than the mean gap, plus one. None when the
/// timestamps cannot be read or show no such gap (a single line, or no flyback), or the line
/// would be one frame long.
pub fn line_length_from_timestamps(timestamps: &[String]) -> Option<usize> {
    let times: Vec<i128> = timestamps
        .iter()
        .map(|t| parse_timestamp_ns(t))
        .collect::<Option<_>>()?;
    if times.len() < 2 {
        return None;
    }
    let gaps: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let first = gaps.iter().position(|&g| g - mean > 0.0)?;
    (first + 1 > 1).then_some(first + 1)
}

/// Keys of a `.hdr` sidecar (`Key:\tValue` lines).
fn parse_hdr(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let (k, v) = line.split_once('\t')?;
            Some((
                k.trim().trim_end_matches(':').trim().to_string(),
                v.trim_matches(|c: char| c.is_whitespace() || c == '\0')
                    .to_string(),
            ))
        })
        .collect()
}

fn hdr_get<'a>(hdr: &'a [(String, String)], key: &str) -> Option<&'a str> {
    hdr.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn hdr_usize(hdr_path: &Path, hdr: &[(String, String)], key: &str) -> Result<Option<usize>> {
    match hdr_get(hdr, key) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| DataError::format(hdr_path, format!("`{key}` is `{v}`, not a number"))),
    }
}

/// A streaming reader of a Merlin `.mib` file as a `(scan_y, scan_x, det_y, det_x)` cube.
#[derive(Debug)]
pub struct MibReader {
    path: PathBuf,
    file: File,
    header: MibHeader,
    geometry: FrameGeometry,
    frames_in_file: usize,
    frame_bytes: u64,
    shape: Shape4,
    scan_source: String,
    notes: Vec<String>,
    buf: Vec<u8>,
    decoded: Vec<u32>,
}

impl MibReader {
    /// Open `path`, check its frame structure, and settle the scan shape (see the module docs).
    pub fn open(path: &Path, opts: &MibOptions) -> Result<MibReader> {
        Self::open_inner(path, opts, false)
    }

    /// Open `path` even when its scan shape cannot be settled: the frames are then read as one
    /// scan line `(1, N)` and the scan shape source says it is unknown and why (for `inspect`,
    /// which shows what it can: frames, detector, dtype, values).
    pub fn open_unknown_scan(path: &Path) -> Result<MibReader> {
        Self::open_inner(path, &MibOptions::default(), true)
    }

    fn open_inner(path: &Path, opts: &MibOptions, unknown_ok: bool) -> Result<MibReader> {
        let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
        let file_len = file.metadata().map_err(|e| DataError::io(path, e))?.len();
        if file_len == 0 {
            return Err(DataError::format(path, "empty file: no .mib frame header"));
        }
        let head_len = file_len.min((MAX_HEADER_LEN + 64) as u64) as usize;
        let mut head = vec![0u8; head_len];
        file.read_exact(&mut head)
            .map_err(|e| DataError::io(path, e))?;
        let header = MibHeader::parse(path, &head)?;
        let geometry = header.geometry(path)?;
        let frame_bytes = header
            .header_len
            .checked_add(geometry.payload_bytes)
            .ok_or_else(|| DataError::format(path, "frame size does not fit in memory sizes"))?
            as u64;
        let mut frames_in_file = (file_len / frame_bytes) as usize;
        let tail = file_len % frame_bytes;
        let mut notes = Vec::new();
        if frames_in_file == 0 {
            return Err(DataError::format(
                path,
                format!(
                    "file of {file_len} bytes is shorter than one frame ({frame_bytes} bytes: \
                     {}-byte header + {} pixel bytes); the header length or frame size \
                     disagrees with the file, or the file is truncated",
                    header.header_len, geometry.payload_bytes
                ),
            ));
        }
        // Every frame repeats the header; a wrong header length or pixel size shows up as a
        // frame boundary that does not start with the magic.
        for idx in [1, frames_in_file - 1] {
            if idx == 0 || idx >= frames_in_file {
                continue;
            }
            let at = idx as u64 * frame_bytes;
            let mut magic = [0u8; 4];
            file.seek(SeekFrom::Start(at))
                .and_then(|_| file.read_exact(&mut magic))
                .map_err(|e| DataError::io(path, e))?;
            if !looks_like_mib(&magic) {
                return Err(DataError::format(
                    path,
                    format!(
                        "frame {} does not start with `MQ1,` at byte {at}: the header length \
                         {} or the {}-byte pixel block disagrees with the file",
                        idx + 1,
                        header.header_len,
                        geometry.payload_bytes
                    ),
                ));
            }
        }
        if tail != 0 {
            if opts.drop_truncated {
                notes.push(format!("dropped a truncated last frame ({tail} bytes)"));
            } else {
                return Err(DataError::format(
                    path,
                    format!(
                        "truncated last frame: file size {file_len} is {frames_in_file} whole \
                         frames of {frame_bytes} bytes plus {tail} bytes (to read the whole \
                         frames, cut a copy to {} bytes, e.g. `truncate -s {}`)",
                        file_len - tail,
                        file_len - tail
                    ),
                ));
            }
        }

        let header_len = header.header_len;
        let timestamps = || -> Result<Vec<String>> {
            // rosettasciio looks at the first 10 000 frames.
            let n = frames_in_file.min(TIMESTAMP_FRAMES);
            let mut head = vec![0u8; header_len];
            let mut out = Vec::with_capacity(n);
            for idx in 0..n {
                file.seek(SeekFrom::Start(idx as u64 * frame_bytes))
                    .and_then(|_| file.read_exact(&mut head))
                    .map_err(|e| DataError::io(path, e))?;
                out.push(timestamp_field(&head).unwrap_or_default());
            }
            Ok(out)
        };
        let (scan, scan_source) =
            match Self::scan_shape(path, opts, frames_in_file, timestamps, &mut notes) {
                Ok(s) => s,
                Err(e) if unknown_ok => (
                    (1, frames_in_file),
                    format!(
                    "UNKNOWN: {frames_in_file} frames shown as one line (pass --scan SYxSX); {}",
                    e.to_string()
                        .strip_prefix(&format!("{}: ", path.display()))
                        .unwrap_or(&e.to_string())
                ),
                ),
                Err(e) => return Err(e),
            };
        frames_in_file = frames_in_file.min(scan.0 * scan.1);
        let shape = [scan.0, scan.1, geometry.det_shape.0, geometry.det_shape.1];
        Ok(MibReader {
            path: path.to_path_buf(),
            file,
            header,
            geometry,
            frames_in_file,
            frame_bytes,
            shape,
            scan_source,
            notes,
            buf: Vec::new(),
            decoded: Vec::new(),
        })
    }

    fn scan_shape(
        path: &Path,
        opts: &MibOptions,
        frames: usize,
        timestamps: impl FnOnce() -> Result<Vec<String>>,
        notes: &mut Vec<String>,
    ) -> Result<((usize, usize), String)> {
        let hdr_path = path.with_extension("hdr");
        let hdr = if hdr_path.is_file() {
            let mut bytes = Vec::new();
            File::open(&hdr_path)
                .and_then(|f| f.take(MAX_HDR_BYTES).read_to_end(&mut bytes))
                .map_err(|e| DataError::io(&hdr_path, e))?;
            Some(parse_hdr(&String::from_utf8_lossy(&bytes)))
        } else {
            None
        };
        // Only consulted when nothing else gives the scan (reads one header per frame).
        let get = |k: &str| hdr.as_deref().and_then(|h| hdr_get(h, k));
        let fpt_above_1 = get("Frames per Trigger (Number)")
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|f| f > 1);
        let needs_timestamps = opts.scan.is_none()
            && frames > 1
            && !(get("ScanX").is_some() && get("ScanY").is_some())
            && !fpt_above_1;
        let timed = if needs_timestamps {
            match line_length_from_timestamps(&timestamps()?) {
                Some(sx) if frames % sx == 0 => Some((
                    (frames / sx, sx),
                    format!("frame timestamps (a flyback gap every {sx} frames)"),
                )),
                Some(sx) => {
                    return Err(DataError::format(
                        path,
                        format!(
                            "the frame timestamps show lines of {sx} frames, which do not divide \
                             the {frames} frames; pass --scan SYxSX"
                        ),
                    ))
                }
                None => None,
            }
        } else {
            None
        };
        let (scan, source) = if let Some(scan) = opts.scan {
            (scan, "given by the caller".to_string())
        } else if let Some(hdr) = &hdr {
            let sx = hdr_usize(&hdr_path, hdr, "ScanX")?;
            let sy = hdr_usize(&hdr_path, hdr, "ScanY")?;
            let fpt = hdr_usize(&hdr_path, hdr, "Frames per Trigger (Number)")?;
            match (sy, sx, fpt) {
                (Some(sy), Some(sx), _) => {
                    ((sy, sx), format!("{} ScanX/ScanY", hdr_path.display()))
                }
                (_, _, Some(fpt)) if fpt > 1 => {
                    if frames % fpt != 0 {
                        return Err(DataError::format(
                            &hdr_path,
                            format!(
                                "Frames per Trigger {fpt} does not divide the {frames} frames \
                                 in {}; pass --scan SYxSX",
                                path.display()
                            ),
                        ));
                    }
                    (
                        (frames / fpt, fpt),
                        format!("{} Frames per Trigger", hdr_path.display()),
                    )
                }
                _ if frames == 1 => ((1, 1), "single frame".to_string()),
                _ => match timed {
                    Some(scan) => scan,
                    None => {
                        return Err(DataError::format(
                            path,
                            format!(
                                "{frames} frames and no scan shape ({} has no ScanX/ScanY and \
                                 no Frames per Trigger above 1, and the frame timestamps show \
                                 no line flyback); pass --scan SYxSX",
                                hdr_path.display()
                            ),
                        ))
                    }
                },
            }
        } else if frames == 1 {
            ((1, 1), "single frame".to_string())
        } else if let Some(scan) = timed {
            scan
        } else {
            return Err(DataError::format(
                path,
                format!(
                    "{frames} frames and no scan shape (no {} next to it, and the frame \
                     timestamps show no line flyback); pass --scan SYxSX",
                    hdr_path.display()
                ),
            ));
        };
        let (sy, sx) = scan;
        let wanted = sy.saturating_mul(sx);
        if sy == 0 || sx == 0 {
            return Err(DataError::format(
                path,
                format!("scan shape {sy}x{sx} (from {source}) is empty"),
            ));
        }
        if wanted == frames {
            return Ok(((sy, sx), source));
        }
        // An interrupted scan: keep the whole rows, as rosettasciio does, if asked to.
        if opts.drop_truncated && wanted > frames && frames >= sx {
            notes.push(format!(
                "scan {sy}x{sx} interrupted after {frames} frames: kept {} whole rows",
                frames / sx
            ));
            return Ok(((frames / sx, sx), source));
        }
        Err(DataError::format(
            path,
            format!(
                "scan shape {sy}x{sx} = {wanted} frames (from {source}) does not match the \
                 {frames} frames in the file"
            ),
        ))
    }

    /// The first frame's header.
    pub fn header(&self) -> &MibHeader {
        &self.header
    }

    /// Frame layout and decoded image shape.
    pub fn geometry(&self) -> &FrameGeometry {
        &self.geometry
    }

    /// Frames the cube uses (`scan_y * scan_x`).
    pub fn frame_count(&self) -> usize {
        self.frames_in_file
    }

    /// Where the scan shape came from.
    pub fn scan_source(&self) -> &str {
        &self.scan_source
    }

    fn read_at(&mut self, offset: u64, len: usize) -> Result<()> {
        self.buf.resize(len, 0);
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.read_exact(&mut self.buf))
            .map_err(|e| DataError::io(&self.path, e))
    }
}

impl CubeReader for MibReader {
    fn shape(&self) -> Shape4 {
        self.shape
    }

    fn dtype(&self) -> DType {
        self.geometry.dtype
    }

    fn info(&self) -> SourceInfo {
        let h = &self.header;
        let depth = match (h.counter_depth, h.pixel_type) {
            (Some(d), _) => format!("{d} bit"),
            (None, PixelType::U08) => "1 or 6 bit (not in header)".to_string(),
            (None, PixelType::U16) => "12 bit (not in header)".to_string(),
            (None, _) => "24 bit (not in header)".to_string(),
        };
        let raw = match &self.geometry.raw {
            None => "no".to_string(),
            Some(r) => format!(
                "yes ({}-bit{})",
                r.depth,
                if r.quad { ", quad chips reordered" } else { "" }
            ),
        };
        let mut details = vec![
            ("header length".to_string(), format!("{} B", h.header_len)),
            ("pixel type".to_string(), h.pixel_type.as_str().to_string()),
            ("counter depth".to_string(), depth),
            (
                "chip layout".to_string(),
                format!("{} ({} chips)", h.chip_layout, h.n_chips),
            ),
            ("frames".to_string(), self.frames_in_file.to_string()),
            ("raw".to_string(), raw),
            ("scan shape source".to_string(), self.scan_source.clone()),
        ];
        for note in &self.notes {
            details.push(("note".to_string(), note.clone()));
        }
        SourceInfo {
            format: "Merlin MIB".to_string(),
            details,
            ..SourceInfo::default()
        }
    }

    fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> Result<()> {
        slab.check_read(
            self.shape,
            self.geometry.dtype,
            out.len(),
            &self.path.display(),
        )?;
        let item = self.geometry.dtype.itemsize();
        if slab.is_empty() {
            return Ok(());
        }
        let [oy, ox, dy0, dx0] = slab.origin;
        let [ey, ex, edy, edx] = slab.extent;
        let (det_h, det_w) = self.geometry.det_shape;
        let frame_out = edy * edx * item;
        let sx = self.shape[1];
        let header_len = self.header.header_len as u64;
        for fy in 0..ey {
            for fx in 0..ex {
                let frame = (oy + fy) * sx + ox + fx;
                let base = frame as u64 * self.frame_bytes + header_len;
                let dst_frame = &mut out[(fy * ex + fx) * frame_out..][..frame_out];
                match self.geometry.raw {
                    None => {
                        // only the rows the slab needs
                        let row_bytes = det_w * item;
                        self.read_at(base + (dy0 * row_bytes) as u64, edy * row_bytes)?;
                        for r in 0..edy {
                            let src = &self.buf[r * row_bytes + dx0 * item..][..edx * item];
                            let dst = &mut dst_frame[r * edx * item..][..edx * item];
                            be_to_native(src, dst, item);
                        }
                    }
                    Some(layout) => {
                        // raw chips interleave the whole frame: read and decode all of it
                        self.read_at(base, self.geometry.payload_bytes)?;
                        self.decoded.resize(det_h * det_w, 0);
                        decode_raw_frame(&layout, &self.buf, &mut self.decoded);
                        for r in 0..edy {
                            let src = &self.decoded[(dy0 + r) * det_w + dx0..][..edx];
                            let dst = &mut dst_frame[r * edx * item..][..edx * item];
                            for (d, &v) in dst.chunks_exact_mut(item).zip(src) {
                                match item {
                                    1 => d[0] = v as u8,
                                    2 => d.copy_from_slice(&(v as u16).to_ne_bytes()),
                                    _ => d.copy_from_slice(&v.to_ne_bytes()),
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Copy big-endian elements of `item` bytes into native order.
fn be_to_native(src: &[u8], dst: &mut [u8], item: usize) {
    if item == 1 || cfg!(target_endian = "big") {
        dst.copy_from_slice(src);
    } else {
        for (d, s) in dst.chunks_exact_mut(item).zip(src.chunks_exact(item)) {
            for (i, b) in s.iter().rev().enumerate() {
                d[i] = *b;
            }
        }
    }
}
