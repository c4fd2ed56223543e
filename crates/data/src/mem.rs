//! A datacube held in memory: for samples (`stemz recommend`), tests and examples. Everything
//! else streams; this is the one place a cube is whole in memory, so callers keep it small.

use crate::cube::{CubeReader, DType, Hyperslab, Shape4, SourceInfo};
use crate::error::{DataError, Result};

/// Buffers at least this large are offered to the kernel for transparent huge pages
/// ([`zeroed`]); numpy draws the same line for its arrays.
pub const HUGE_PAGE_MIN: usize = 4 << 20;

/// `len` zero bytes for a large buffer that is about to be filled: as numpy does for every array
/// of [`HUGE_PAGE_MIN`] or more, the untouched pages are advised `MADV_HUGEPAGE`, so that the
/// first write faults them in 2 MiB at a time instead of 4 KiB (a 128 MiB `dset[:]` is 64 faults
/// instead of 32,768). Where the kernel has transparent huge pages off, the advice changes
/// nothing; pages already resident (memory recycled from the heap) keep their size.
pub fn zeroed(len: usize) -> Vec<u8> {
    let buf = vec![0u8; len];
    if len >= HUGE_PAGE_MIN {
        advise_huge_pages(&buf);
    }
    buf
}

#[cfg(target_os = "linux")]
fn advise_huge_pages(buf: &[u8]) {
    const PAGE: usize = 4096;
    let start = buf.as_ptr() as usize;
    let skip = start.next_multiple_of(PAGE) - start;
    if let Some(len) = buf.len().checked_sub(skip) {
        // SAFETY: the range lies inside `buf`'s allocation and starts on a page boundary;
        // MADV_HUGEPAGE only changes how the kernel backs those pages, never their contents,
        // and a refusal (e.g. THP compiled out) is harmless, so its result is ignored.
        unsafe {
            libc::madvise(
                (start + skip) as *mut libc::c_void,
                len,
                libc::MADV_HUGEPAGE,
            );
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_: &[u8]) {}

/// A datacube held in memory (native-endian bytes, C order).
#[derive(Debug, Clone, PartialEq)]
pub struct MemCube {
    pub shape: Shape4,
    pub dtype: DType,
    pub data: Vec<u8>,
}

impl MemCube {
    /// Wrap bytes; `data.len()` must be `shape` elements of `dtype`.
    pub fn new(shape: Shape4, dtype: DType, data: Vec<u8>) -> Result<Self> {
        let want = shape.iter().product::<usize>() * dtype.itemsize();
        if data.len() != want {
            return Err(DataError::Invalid(format!(
                "MemCube: {} bytes given, shape {shape:?} of {dtype} needs {want}",
                data.len()
            )));
        }
        Ok(MemCube { shape, dtype, data })
    }

    /// Read all of `reader` into memory.
    pub fn read_all(reader: &mut dyn CubeReader) -> Result<Self> {
        let shape = reader.shape();
        let mut data = zeroed(reader.nbytes() as usize);
        reader.read_slab(&Hyperslab::full(shape), &mut data)?;
        MemCube::new(shape, reader.dtype(), data)
    }

    /// The bytes of one slab, for comparisons in tests.
    pub fn slab_bytes(&self, slab: &Hyperslab) -> Vec<u8> {
        let mut out = vec![0u8; slab.len() * self.dtype.itemsize()];
        copy_slab(
            self.shape,
            self.dtype.itemsize(),
            &self.data,
            slab,
            &mut out,
        );
        out
    }
}

impl CubeReader for MemCube {
    fn shape(&self) -> Shape4 {
        self.shape
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn info(&self) -> SourceInfo {
        SourceInfo {
            format: "memory".into(),
            ..SourceInfo::default()
        }
    }
    fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> Result<()> {
        self.read_into(slab, out)
    }
    fn in_memory(&self) -> Option<&[u8]> {
        Some(&self.data)
    }
}

impl MemCube {
    /// Copy `slab` into `out` without needing `&mut` (so one cube can serve many readers).
    pub fn read_into(&self, slab: &Hyperslab, out: &mut [u8]) -> Result<()> {
        slab.check_read(self.shape, self.dtype, out.len(), &"in-memory cube")?;
        copy_slab(self.shape, self.dtype.itemsize(), &self.data, slab, out);
        Ok(())
    }
}

/// Copy `slab` out of a C-order cube of `shape` into the packed buffer `out`.
fn copy_slab(shape: Shape4, item: usize, data: &[u8], slab: &Hyperslab, out: &mut [u8]) {
    let [o0, o1, o2, o3] = slab.origin;
    let [e0, e1, e2, e3] = slab.extent;
    let row = e3 * item;
    let mut w = 0;
    for a in o0..o0 + e0 {
        for b in o1..o1 + e1 {
            for c in o2..o2 + e2 {
                let start = (((a * shape[1] + b) * shape[2] + c) * shape[3] + o3) * item;
                out[w..w + row].copy_from_slice(&data[start..start + row]);
                w += row;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags of the mapping that holds `addr`, from `/proc/self/smaps` (`hg`: advised
    /// `MADV_HUGEPAGE`).
    #[cfg(target_os = "linux")]
    fn vm_flags_at(addr: usize) -> String {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("/proc/self/smaps");
        let mut inside = false;
        for line in smaps.lines() {
            // A mapping's first line starts with its address range, `lo-hi` in hex.
            let range = line
                .split_whitespace()
                .next()
                .and_then(|r| r.split_once('-'));
            if let Some((lo, hi)) = range {
                if let (Ok(lo), Ok(hi)) =
                    (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
                {
                    inside = (lo..hi).contains(&addr);
                    continue;
                }
            }
            if inside {
                if let Some(flags) = line.strip_prefix("VmFlags:") {
                    return flags.trim().to_string();
                }
            }
        }
        panic!("no mapping holds {addr:#x}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_large_zeroed_buffer_is_advised_huge_pages_and_a_small_one_is_not() {
        let large = zeroed(64 << 20);
        assert_eq!(large.len(), 64 << 20);
        assert!(large.iter().step_by(4096).all(|&b| b == 0));
        let flags = vm_flags_at(large.as_ptr() as usize + (32 << 20));
        assert!(
            flags.split_whitespace().any(|f| f == "hg"),
            "64 MiB buffer not advised MADV_HUGEPAGE: VmFlags {flags}"
        );
        let small = zeroed(HUGE_PAGE_MIN / 2);
        let flags = vm_flags_at(small.as_ptr() as usize);
        assert!(
            !flags.split_whitespace().any(|f| f == "hg"),
            "a 2 MiB buffer was advised MADV_HUGEPAGE: VmFlags {flags}"
        );
    }
}
