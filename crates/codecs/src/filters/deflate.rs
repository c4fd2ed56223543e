//! Deflate (HDF5 filter 1): what HDF5's H5Zdeflate.c does, one zlib `compress2` call into a
//! `compressBound`-sized buffer, so the output is always stored (even when larger than the input).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::FilterError;

const NAME: &str = "deflate";

/// zlib's compressBound: the worst case of a single deflate call with the zlib wrapper.
fn compress_bound(n: usize) -> usize {
    n + (n >> 12) + (n >> 14) + (n >> 25) + 13
}

/// One-shot deflate with the zlib header, exactly `compress2(dst, &len, src, n, level)`:
/// flate2's `zlib` backend calls the same libz with windowBits 15, memLevel 8, default strategy.
pub(super) fn encode(chunk: &[u8], level: u32) -> Result<Vec<u8>, FilterError> {
    if level > 9 {
        return Err(FilterError::unsupported(
            NAME,
            format!("level {level} is outside zlib's 0..=9"),
        ));
    }
    let mut z = Compress::new(Compression::new(level), true);
    let mut out = Vec::with_capacity(compress_bound(chunk.len()));
    match z.compress_vec(chunk, &mut out, FlushCompress::Finish) {
        Ok(Status::StreamEnd) => Ok(out),
        Ok(status) => Err(FilterError::encode(
            NAME,
            format!(
                "zlib stopped with {status:?} before the end of a {}-byte chunk",
                chunk.len()
            ),
        )),
        Err(e) => Err(FilterError::encode(NAME, e.to_string())),
    }
}

pub(super) fn decode(stored: &[u8], out: &mut [u8]) -> Result<(), FilterError> {
    let mut z = Decompress::new(true);
    match z.decompress(stored, out, FlushDecompress::Finish) {
        Ok(Status::StreamEnd) if z.total_out() as usize == out.len() => Ok(()),
        Ok(_) => Err(FilterError::decode(
            NAME,
            format!(
                "the zlib stream gave {} bytes (or more) where the chunk has {}",
                z.total_out(),
                out.len()
            ),
        )),
        Err(e) => Err(FilterError::decode(NAME, e.to_string())),
    }
}
