//! NumPy `.npy` files: header parsing (format versions 1, 2 and 3), a streaming [`CubeReader`]
//! and a streaming [`CubeWriter`].
//!
//! Reading accepts `u1`/`u2`/`u4`/`f4` in either byte order, C or Fortran order (Fortran files are
//! read with transposed indexing, so slabs still come back in C order), rank 4 as is and rank 3
//! `(sy, sx, E)` as the spectrum-image cube `(sy, sx, 1, E)`. Slabs are read by seeking to their
//! contiguous runs; nothing loads the whole array. Writing always produces a version 1.0,
//! little-endian, C-order file whose data start at a multiple of 64 bytes, as NumPy writes them.

use crate::atomic::AtomicFile;
use crate::cube::{CubeReader, CubeWriter, DType, Hyperslab, Shape4, SourceInfo};
use crate::error::{DataError, Result};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The first six bytes of every `.npy` file.
pub const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// A header longer than this is treated as corrupt (real ones are about 128 bytes).
const MAX_HEADER_LEN: usize = 1 << 20;

/// Whether `head` (the first bytes of a file) looks like a `.npy` file.
pub fn looks_like_npy(head: &[u8]) -> bool {
    head.starts_with(NPY_MAGIC)
}

/// What a `.npy` header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// Format version `(major, minor)`.
    pub version: (u8, u8),
    /// The `descr` string as written, e.g. `<u2`.
    pub descr: String,
    pub dtype: DType,
    /// Whether the elements are stored big-endian.
    pub big_endian: bool,
    pub fortran_order: bool,
    /// The array's shape as written in the file.
    pub file_shape: Vec<usize>,
    /// Byte offset of the first element.
    pub data_offset: u64,
}

/// A value of the header's Python dict literal (only what `.npy` headers use).
#[derive(Debug, Clone, PartialEq)]
enum PyValue {
    Str(String),
    Bool(bool),
    Tuple(Vec<u64>),
}

/// A tiny parser of the dict literal `{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3), }`.
struct DictParser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl DictParser<'_> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{}` at byte {}", c as char, self.pos))
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        self.ws();
        let quote = match self.s.get(self.pos) {
            Some(&q) if q == b'\'' || q == b'"' => q,
            _ => return Err(format!("expected a quoted string at byte {}", self.pos)),
        };
        self.pos += 1;
        let start = self.pos;
        while self.pos < self.s.len() && self.s[self.pos] != quote {
            self.pos += 1;
        }
        if self.pos >= self.s.len() {
            return Err("unterminated string".to_string());
        }
        let text = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
        self.pos += 1;
        Ok(text)
    }

    fn int(&mut self) -> std::result::Result<u64, String> {
        self.ws();
        let start = self.pos;
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        let digits = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
        let v = digits
            .parse::<u64>()
            .map_err(|_| format!("expected a dimension at byte {start}"))?;
        // Python 2 wrote long integers as `3L`
        if self.s.get(self.pos) == Some(&b'L') {
            self.pos += 1;
        }
        Ok(v)
    }

    fn value(&mut self) -> std::result::Result<PyValue, String> {
        self.ws();
        let rest = &self.s[self.pos..];
        if rest.starts_with(b"True") {
            self.pos += 4;
            Ok(PyValue::Bool(true))
        } else if rest.starts_with(b"False") {
            self.pos += 5;
            Ok(PyValue::Bool(false))
        } else if self.eat(b'(') {
            let mut dims = Vec::new();
            loop {
                if self.eat(b')') {
                    break;
                }
                dims.push(self.int()?);
                if !self.eat(b',') {
                    self.expect(b')')?;
                    break;
                }
            }
            Ok(PyValue::Tuple(dims))
        } else {
            self.string().map(PyValue::Str)
        }
    }

    fn dict(&mut self) -> std::result::Result<Vec<(String, PyValue)>, String> {
        self.expect(b'{')?;
        let mut entries = Vec::new();
        loop {
            if self.eat(b'}') {
                break;
            }
            let key = self.string()?;
            self.expect(b':')?;
            let value = self.value()?;
            entries.push((key, value));
            if !self.eat(b',') {
                self.expect(b'}')?;
                break;
            }
        }
        Ok(entries)
    }
}

/// Parse a dtype descriptor into (dtype, big_endian).
fn parse_descr(descr: &str) -> Option<(DType, bool)> {
    let (order, rest) = match descr.as_bytes().first()? {
        b'<' | b'>' | b'|' | b'=' => (descr.as_bytes()[0], &descr[1..]),
        _ => (b'|', descr),
    };
    let dtype = match rest {
        "u1" | "B" => DType::U8,
        "u2" => DType::U16,
        "u4" => DType::U32,
        "f4" => DType::F32,
        _ => return None,
    };
    let big = match order {
        b'>' => true,
        b'<' => false,
        // `|` (not applicable) and `=` (native)
        _ => cfg!(target_endian = "big"),
    };
    Some((dtype, big))
}

impl NpyHeader {
    /// Parse the header at the start of `head`, which must hold the whole header. `path` only
    /// names the file in errors.
    pub fn parse(path: &Path, head: &[u8]) -> Result<NpyHeader> {
        let bad = |m: String| DataError::format(path, m);
        if !looks_like_npy(head) {
            return Err(bad(
                "not a .npy file: bad magic (expected \\x93NUMPY)".to_string()
            ));
        }
        if head.len() < 10 {
            return Err(bad("truncated .npy header".to_string()));
        }
        let version = (head[6], head[7]);
        let (len_bytes, header_len) = match version.0 {
            1 => (2, u16::from_le_bytes([head[8], head[9]]) as usize),
            2 | 3 => {
                if head.len() < 12 {
                    return Err(bad("truncated .npy header".to_string()));
                }
                (
                    4,
                    u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize,
                )
            }
            v => {
                return Err(bad(format!(
                    "unsupported .npy format version {v}.{}",
                    version.1
                )))
            }
        };
        let start = 8 + len_bytes;
        if header_len > MAX_HEADER_LEN || head.len() < start + header_len {
            return Err(bad(format!(
                "truncated .npy header: {header_len} header bytes announced, {} present",
                head.len().saturating_sub(start)
            )));
        }
        let text = &head[start..start + header_len];
        let mut parser = DictParser { s: text, pos: 0 };
        let entries = parser
            .dict()
            .map_err(|e| bad(format!("unparsable .npy header dict: {e}")))?;
        let get = |k: &str| entries.iter().find(|(key, _)| key == k).map(|(_, v)| v);
        let descr = match get("descr") {
            Some(PyValue::Str(s)) => s.clone(),
            _ => return Err(bad("`.npy` header has no string `descr`".to_string())),
        };
        let fortran_order = match get("fortran_order") {
            Some(PyValue::Bool(b)) => *b,
            _ => {
                return Err(bad(
                    "`.npy` header has no boolean `fortran_order`".to_string()
                ))
            }
        };
        let file_shape = match get("shape") {
            Some(PyValue::Tuple(dims)) => dims
                .iter()
                .map(|&d| usize::try_from(d))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|_| bad("`.npy` shape does not fit in memory sizes".to_string()))?,
            _ => return Err(bad("`.npy` header has no tuple `shape`".to_string())),
        };
        let (dtype, big_endian) = parse_descr(&descr).ok_or_else(|| {
            bad(format!(
                "unsupported .npy dtype `{descr}` (stemz reads u1, u2, u4 and f4 in either byte \
                 order)"
            ))
        })?;
        Ok(NpyHeader {
            version,
            descr,
            dtype,
            big_endian,
            fortran_order,
            file_shape,
            data_offset: (start + header_len) as u64,
        })
    }

    /// Read and parse the header at the start of a stream (e.g. a gzip'd `.npy`), leaving the
    /// stream at the first element. `path` only names the file in errors.
    pub fn read_from(path: &Path, r: &mut impl std::io::Read) -> Result<NpyHeader> {
        let truncated =
            |e: std::io::Error| DataError::format(path, format!("truncated .npy header: {e}"));
        let mut head = vec![0u8; 10];
        r.read_exact(&mut head).map_err(truncated)?;
        if !looks_like_npy(&head) {
            return Err(DataError::format(
                path,
                "not a .npy file: bad magic (expected \\x93NUMPY)",
            ));
        }
        let header_len = if head[6] == 1 {
            u16::from_le_bytes([head[8], head[9]]) as usize
        } else {
            head.resize(12, 0);
            r.read_exact(&mut head[10..]).map_err(truncated)?;
            u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize
        };
        // Checked against the limit before allocating: the length is untrusted.
        if header_len > MAX_HEADER_LEN {
            return Err(DataError::format(
                path,
                format!("the .npy header claims {header_len} bytes, more than {MAX_HEADER_LEN}"),
            ));
        }
        let start = head.len();
        head.resize(start + header_len, 0);
        r.read_exact(&mut head[start..]).map_err(truncated)?;
        NpyHeader::parse(path, &head)
    }

    /// The cube shape this array reads as: rank 4 as is, rank 3 `(sy, sx, E)` as `(sy, sx, 1, E)`.
    pub fn cube_shape(&self, path: &Path) -> Result<Shape4> {
        match self.file_shape[..] {
            [a, b, c, d] => Ok([a, b, c, d]),
            [a, b, e] => Ok([a, b, 1, e]),
            _ => Err(DataError::format(
                path,
                format!(
                    "rank {} array of shape {:?}: stemz reads 4D (scan_y, scan_x, det_y, det_x) \
                     or 3D (scan_y, scan_x, energy) arrays",
                    self.file_shape.len(),
                    self.file_shape
                ),
            )),
        }
    }
}

/// Call `f(array_offset, slab_offset, len)` (in elements) for each contiguous run of `slab`
/// inside a C-order array of `shape`, in the slab's C order.
fn for_each_c_run(
    shape: Shape4,
    slab: &Hyperslab,
    mut f: impl FnMut(u64, usize, usize) -> Result<()>,
) -> Result<()> {
    if slab.is_empty() {
        return Ok(());
    }
    let mut strides = [1u64; 4];
    for a in (0..3).rev() {
        strides[a] = strides[a + 1] * shape[a + 1] as u64;
    }
    // Axes after `k` are whole, so each run spans axis `k` and everything inside it.
    let mut k = 3;
    while k > 0 && slab.origin[k] == 0 && slab.extent[k] == shape[k] {
        k -= 1;
    }
    let run = slab.extent[k..].iter().product::<usize>();
    let outer: usize = slab.extent[..k].iter().product();
    let mut idx = [0usize; 4];
    for n in 0..outer {
        let mut rem = n;
        for a in (0..k).rev() {
            idx[a] = rem % slab.extent[a];
            rem /= slab.extent[a];
        }
        let mut offset = slab.origin[k] as u64 * strides[k];
        for a in 0..k {
            offset += (slab.origin[a] + idx[a]) as u64 * strides[a];
        }
        f(offset, n * run, run)?;
    }
    Ok(())
}

fn swap_bytes(data: &mut [u8], item: usize) {
    if item > 1 {
        for e in data.chunks_exact_mut(item) {
            e.reverse();
        }
    }
}

/// A streaming reader of a `.npy` file as a cube.
#[derive(Debug)]
pub struct NpyReader {
    path: PathBuf,
    file: File,
    header: NpyHeader,
    shape: Shape4,
    scratch: Vec<u8>,
}

impl NpyReader {
    pub fn open(path: &Path) -> Result<NpyReader> {
        let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
        let file_len = file.metadata().map_err(|e| DataError::io(path, e))?.len();
        let mut head = Vec::new();
        (&mut file)
            .take((MAX_HEADER_LEN + 16) as u64)
            .read_to_end(&mut head)
            .map_err(|e| DataError::io(path, e))?;
        let header = NpyHeader::parse(path, &head)?;
        let shape = header.cube_shape(path)?;
        let data_bytes = shape
            .iter()
            .try_fold(header.dtype.itemsize() as u64, |acc, &d| {
                acc.checked_mul(d as u64)
            })
            .ok_or_else(|| DataError::format(path, "array size overflows"))?;
        let available = file_len.saturating_sub(header.data_offset);
        if available < data_bytes {
            return Err(DataError::format(
                path,
                format!(
                    "truncated data section: shape {:?} of {} needs {data_bytes} bytes after the \
                     header, the file has {available}",
                    header.file_shape, header.descr
                ),
            ));
        }
        Ok(NpyReader {
            path: path.to_path_buf(),
            file,
            header,
            shape,
            scratch: Vec::new(),
        })
    }

    pub fn header(&self) -> &NpyHeader {
        &self.header
    }

    fn read_runs(&mut self, shape: Shape4, slab: &Hyperslab, out: &mut [u8]) -> Result<()> {
        let item = self.header.dtype.itemsize();
        let base = self.header.data_offset;
        let file = &mut self.file;
        let path = &self.path;
        for_each_c_run(shape, slab, |at, dst, len| {
            file.seek(SeekFrom::Start(base + at * item as u64))
                .and_then(|_| file.read_exact(&mut out[dst * item..(dst + len) * item]))
                .map_err(|e| DataError::io(path, e))
        })
    }
}

impl CubeReader for NpyReader {
    fn shape(&self) -> Shape4 {
        self.shape
    }

    fn dtype(&self) -> DType {
        self.header.dtype
    }

    fn info(&self) -> SourceInfo {
        let h = &self.header;
        SourceInfo {
            format: "NumPy .npy".to_string(),
            details: vec![
                (
                    "version".to_string(),
                    format!("{}.{}", h.version.0, h.version.1),
                ),
                ("descr".to_string(), h.descr.clone()),
                (
                    "order".to_string(),
                    if h.fortran_order { "Fortran" } else { "C" }.to_string(),
                ),
                ("file shape".to_string(), format!("{:?}", h.file_shape)),
                ("data offset".to_string(), format!("{} B", h.data_offset)),
            ],
            ..SourceInfo::default()
        }
    }

    fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> Result<()> {
        slab.check_read(
            self.shape,
            self.header.dtype,
            out.len(),
            &self.path.display(),
        )?;
        let item = self.header.dtype.itemsize();
        if self.header.fortran_order {
            // A Fortran array of shape (a, b, c, d) is a C array of shape (d, c, b, a): read the
            // reversed slab, then transpose it into C order.
            let rev = |v: Shape4| [v[3], v[2], v[1], v[0]];
            let rslab = Hyperslab {
                origin: rev(slab.origin),
                extent: rev(slab.extent),
            };
            let mut tmp = std::mem::take(&mut self.scratch);
            tmp.resize(out.len(), 0);
            let result = self.read_runs(rev(self.shape), &rslab, &mut tmp);
            if result.is_ok() {
                let e = slab.extent;
                let mut n = 0;
                for i0 in 0..e[0] {
                    for i1 in 0..e[1] {
                        for i2 in 0..e[2] {
                            for i3 in 0..e[3] {
                                let t = ((i3 * e[2] + i2) * e[1] + i1) * e[0] + i0;
                                out[n * item..(n + 1) * item]
                                    .copy_from_slice(&tmp[t * item..(t + 1) * item]);
                                n += 1;
                            }
                        }
                    }
                }
            }
            self.scratch = tmp;
            result?;
        } else {
            self.read_runs(self.shape, slab, out)?;
        }
        if self.header.big_endian != cfg!(target_endian = "big") {
            swap_bytes(out, item);
        }
        Ok(())
    }
}

/// The v1.0 header NumPy (≥ 1.24, `np.save`) writes for a little-endian C-order array: the
/// dict, room for the first axis to grow to 21 digits, space padding and a newline, so that the
/// data start at a multiple of 64 bytes. The one `.npy` header writer: `NpyWriter` and the
/// `simple_gzip` method both use it, so both are byte-identical to `np.save`.
pub fn npy_header(shape: Shape4, dtype: DType) -> Vec<u8> {
    let descr = match dtype {
        DType::U8 => "|u1",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::F32 => "<f4",
    };
    let dims = shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}");
    dict.push_str(&" ".repeat(21usize.saturating_sub(shape[0].to_string().len())));
    let unpadded = NPY_MAGIC.len() + 2 + 2 + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut out = Vec::with_capacity(unpadded + 64);
    out.extend_from_slice(NPY_MAGIC);
    out.extend_from_slice(&[1, 0]);
    // four dims and a short descr keep the dict far below the v1 limit of 65535 bytes
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// A streaming `.npy` writer: a v1.0 little-endian C-order file, written under a temporary
/// name and moved into place by [`CubeWriter::finish`]. Regions never written read as zeros.
#[derive(Debug)]
pub struct NpyWriter {
    atomic: AtomicFile,
    file: File,
    shape: Shape4,
    dtype: DType,
    data_offset: u64,
}

impl NpyWriter {
    pub fn create(path: &Path, shape: Shape4, dtype: DType) -> Result<NpyWriter> {
        let atomic = AtomicFile::new(path)?;
        let temp = atomic.temp_path().to_path_buf();
        let mut file = File::create(&temp).map_err(|e| DataError::io(&temp, e))?;
        let header = npy_header(shape, dtype);
        let data_bytes = shape
            .iter()
            .try_fold(dtype.itemsize() as u64, |acc, &d| acc.checked_mul(d as u64))
            .ok_or_else(|| {
                DataError::Invalid(format!("{}: array size overflows", path.display()))
            })?;
        file.write_all(&header)
            .and_then(|_| file.set_len(header.len() as u64 + data_bytes))
            .map_err(|e| DataError::io(&temp, e))?;
        Ok(NpyWriter {
            atomic,
            file,
            shape,
            dtype,
            data_offset: header.len() as u64,
        })
    }
}

impl CubeWriter for NpyWriter {
    fn write_slab(&mut self, slab: &Hyperslab, data: &[u8]) -> Result<()> {
        slab.check_within(self.shape)?;
        let item = self.dtype.itemsize();
        if data.len() != slab.len() * item {
            return Err(DataError::Invalid(format!(
                "{}: {} bytes of data for a slab of {} elements of {}",
                self.atomic.final_path().display(),
                data.len(),
                slab.len(),
                self.dtype
            )));
        }
        let base = self.data_offset;
        let file = &mut self.file;
        let temp = self.atomic.temp_path();
        let mut swapped = Vec::new();
        for_each_c_run(self.shape, slab, |at, src, len| {
            let mut bytes = &data[src * item..(src + len) * item];
            if cfg!(target_endian = "big") {
                swapped.clear();
                swapped.extend_from_slice(bytes);
                swap_bytes(&mut swapped, item);
                bytes = &swapped;
            }
            file.seek(SeekFrom::Start(base + at * item as u64))
                .and_then(|_| file.write_all(bytes))
                .map_err(|e| DataError::io(temp, e))
        })
    }

    fn finish(self: Box<Self>) -> Result<PathBuf> {
        let NpyWriter { atomic, file, .. } = *self;
        file.sync_all()
            .map_err(|e| DataError::io(atomic.temp_path(), e))?;
        drop(file);
        atomic.commit()
    }
}
