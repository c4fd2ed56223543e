//! glibc malloc settings for a process that moves megabyte-sized chunk buffers.
//!
//! Every chunk HDF5 compresses or decompresses passes through buffers of about a chunk's size
//! (HDF5's own, and the filters' outputs), allocated and freed once per chunk. glibc serves
//! allocations of at least its mmap threshold with a fresh `mmap`, so each such buffer is
//! faulted in and zeroed page by page and unmapped again when freed. The threshold starts at
//! 128 KiB and grows only as large blocks are freed, so whether a 16 MiB chunk buffer is
//! recycled from the heap or mapped anew depends on which sizes the process freed before.
//! Measured side by side on the paper-scale 4D_Diff-4x4-binning (blosc_lz4, serial engine,
//! tmpfs): real_space (16 MiB) chunks written after balanced (4 MiB) ones ran at 0.51–0.53
//! GiB/s against 0.87–0.94 alone; h5py + hdf5plugin shows the same 0.48 against 0.92.
//!
//! Fixing the threshold at glibc's largest (32 MiB) keeps chunk buffers up to that size on the
//! heap, and a trim threshold of 256 MiB stops glibc returning the freed top of the heap to the
//! kernel after every chunk. Buffers larger than 32 MiB (the whole cubes, 128 MiB chunks) are
//! still mapped and unmapped: memory held when idle grows by at most the trim threshold.

/// glibc's largest mmap threshold on 64-bit (`HEAP_MAX_SIZE / 2`); larger values are refused.
const MMAP_THRESHOLD: i32 = 32 << 20;
/// Freed memory at the top of the heap kept for reuse before glibc trims it.
const TRIM_THRESHOLD: i32 = 256 << 20;

/// Apply the settings; call first thing in `main`, before any thread starts. Elsewhere than
/// glibc, nothing to do.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` only changes malloc's parameters; it is called before any other
        // thread exists, so no allocation runs concurrently. A refused value (return 0)
        // leaves glibc's default, which is correct, only slower.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        }
    }
}
