//! Output buffers that a C codec writes through a raw pointer, allocated uninitialised.
//!
//! A chunk-sized output zeroed first (`vec![0; n]`) costs a pass over the chunk before the codec
//! writes a byte: glibc's `calloc` clears a block recycled from the heap with `memset`. In a
//! `--call-graph dwarf` profile of the serial blosc_lz4 balanced write on the paper-scale
//! 4D_EELS, samples under `H5Dwrite` held 121 in `memset` and 319 in `memcpy` (that zeroing,
//! and the copy of the encoded bytes into HDF5's memory, among them) against 39 and 260 for
//! h5py + hdf5plugin, whose C filter mallocs its output and hands it over. With [`RawOut`]
//! the codec writes straight into the buffer that is returned: a `Vec` for the engines,
//! HDF5's own memory for the filter callbacks.

use super::FilterError;

/// A byte buffer a codec fills through a raw pointer.
pub(super) trait RawOut: Sized {
    /// Allocate `capacity` bytes uninitialised and let `write` fill a prefix of them through
    /// the pointer; `write` returns how many bytes it wrote (`None`: nothing usable, e.g. a
    /// codec that declines a chunk that does not shrink). The result holds exactly those bytes.
    /// Fails with [`FilterError::Alloc`] if the allocation fails.
    ///
    /// # Safety
    /// When `write` returns `Ok(Some(n))`, `n <= capacity` and it has initialised the first `n`
    /// bytes at the pointer; it never writes at or beyond `capacity` bytes.
    unsafe fn written_by(
        capacity: usize,
        filter: &'static str,
        write: impl FnOnce(*mut u8) -> Result<Option<usize>, FilterError>,
    ) -> Result<Option<Self>, FilterError>;
}

impl RawOut for Vec<u8> {
    unsafe fn written_by(
        capacity: usize,
        filter: &'static str,
        write: impl FnOnce(*mut u8) -> Result<Option<usize>, FilterError>,
    ) -> Result<Option<Self>, FilterError> {
        let mut out = Vec::new();
        out.try_reserve_exact(capacity)
            .map_err(|_| FilterError::Alloc {
                filter,
                bytes: capacity,
            })?;
        let Some(n) = write(out.as_mut_ptr())? else {
            return Ok(None);
        };
        assert!(
            n <= capacity,
            "{filter}: codec reported {n} of {capacity} bytes"
        );
        // SAFETY: the caller's contract: `write` initialised the first `n <= capacity` bytes of
        // the reserved storage.
        unsafe { out.set_len(n) };
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_holds_exactly_what_was_written() {
        // SAFETY: the closure writes 3 bytes of a 16-byte buffer and says so.
        let v = unsafe {
            Vec::<u8>::written_by(16, "test", |p| {
                std::ptr::copy_nonoverlapping([7u8, 8, 9].as_ptr(), p, 3);
                Ok(Some(3))
            })
        };
        assert_eq!(v.unwrap(), Some(vec![7, 8, 9]));
    }

    #[test]
    fn declined_and_failed_writes_give_no_buffer() {
        // SAFETY: neither closure writes.
        let declined = unsafe { Vec::<u8>::written_by(8, "test", |_| Ok(None)) };
        assert_eq!(declined.unwrap(), None);
        let failed =
            unsafe { Vec::<u8>::written_by(8, "test", |_| Err(FilterError::encode("t", "boom"))) };
        assert!(failed.is_err());
    }
}
