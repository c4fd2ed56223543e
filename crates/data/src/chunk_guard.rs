//! What a filter callback may trust while HDF5 decodes a chunk for us.
//!
//! HDF5 hands a filter the stored bytes but not the size of the chunk they must decode to, so a
//! header that claims 2^40 decoded bytes would be believed, allocated, and abort the process.
//! A reader that knows its dataset's chunk size runs its `H5Dread` inside
//! [`with_chunk_bytes`]; the filters (in `stemz-codecs`) refuse any decoded size above
//! [`chunk_limit`] before allocating, and leave their reason with [`record_failure`] so the
//! reader can report it with the chunk's offset ([`take_failure`]). HDF5 runs filters on the
//! calling thread, so thread-locals carry this from the `H5Dread` call to its callbacks.

use std::cell::{Cell, RefCell};

/// HDF5 1.10 stores a chunk's size in 32 bits: no chunk of any dataset decodes to more bytes.
pub const MAX_CHUNK_BYTES: usize = u32::MAX as usize;

thread_local! {
    static LIMIT: Cell<Option<usize>> = const { Cell::new(None) };
    static FAILURE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Run `f` (an `H5Dread`) with decoded chunks limited to `bytes` (the dataset's chunk size).
pub fn with_chunk_bytes<T>(bytes: usize, f: impl FnOnce() -> T) -> T {
    let previous = LIMIT.with(|l| l.replace(Some(bytes)));
    FAILURE.with(|m| m.borrow_mut().take());
    let out = f();
    LIMIT.with(|l| l.set(previous));
    out
}

/// The most bytes a chunk being decoded on this thread may hold: the dataset's chunk size
/// inside [`with_chunk_bytes`], HDF5's own limit otherwise.
pub fn chunk_limit() -> usize {
    LIMIT
        .with(|l| l.get())
        .unwrap_or(MAX_CHUNK_BYTES)
        .min(MAX_CHUNK_BYTES)
}

/// Leave the reason a filter failed for the reader on this thread.
pub fn record_failure(message: String) {
    FAILURE.with(|m| *m.borrow_mut() = Some(message));
}

/// The reason the last filter failure on this thread gave, once.
pub fn take_failure() -> Option<String> {
    FAILURE.with(|m| m.borrow_mut().take())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_the_chunk_size_inside_and_hdf5s_outside() {
        assert_eq!(chunk_limit(), MAX_CHUNK_BYTES);
        with_chunk_bytes(4096, || {
            assert_eq!(chunk_limit(), 4096);
            with_chunk_bytes(16, || assert_eq!(chunk_limit(), 16));
            assert_eq!(chunk_limit(), 4096);
        });
        assert_eq!(chunk_limit(), MAX_CHUNK_BYTES);
    }

    #[test]
    fn a_recorded_failure_is_taken_once() {
        record_failure("lz4: bad".into());
        assert_eq!(take_failure().as_deref(), Some("lz4: bad"));
        assert_eq!(take_failure(), None);
    }
}
