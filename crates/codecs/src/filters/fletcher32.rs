//! HDF5's Fletcher-32 checksum filter (id 3, `H5Pset_fletcher32`), computed here so the parallel
//! engine can append it to the chunks it writes with `H5Dwrite_chunk` exactly as HDF5's own
//! pipeline would, and check it on the chunks it reads with `H5Dread_chunk`.
//!
//! The checksum is HDF5's `H5_checksum_fletcher32`: 16-bit words read big-endian, sums folded
//! every 360 words, an odd last byte taken as the high byte of a word. `H5Z_filter_fletcher32`
//! appends it to the (already compressed) chunk as 4 little-endian bytes.

use super::FilterError;

const NAME: &str = stemz_record::catalogue::filter::FLETCHER32.name;

/// HDF5's `H5_checksum_fletcher32` of `data`.
pub fn checksum(data: &[u8]) -> u32 {
    let (mut sum1, mut sum2) = (0u32, 0u32);
    let mut words = data.chunks_exact(2);
    // 360 words is the most that keeps both sums below 2^32 between foldings.
    loop {
        let mut n = 0;
        for w in words.by_ref().take(360) {
            sum1 += (u32::from(w[0]) << 8) | u32::from(w[1]);
            sum2 += sum1;
            n += 1;
        }
        if n == 0 {
            break;
        }
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    if let [last] = words.remainder() {
        sum1 += u32::from(*last) << 8;
        sum2 += sum1;
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    (sum2 << 16) | sum1
}

/// `chunk` with its checksum appended, as the filter stores it.
pub fn append(mut chunk: Vec<u8>) -> Vec<u8> {
    let sum = checksum(&chunk);
    chunk.extend_from_slice(&sum.to_le_bytes());
    chunk
}

/// The payload of a stored chunk whose checksum matches; an error when it does not.
pub fn strip(stored: &[u8]) -> Result<&[u8], FilterError> {
    let split = stored
        .len()
        .checked_sub(4)
        .ok_or_else(|| FilterError::decode(NAME, "shorter than its 4-byte checksum"))?;
    let (payload, tail) = stored.split_at(split);
    let stored_sum = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let sum = checksum(payload);
    // HDF5 also accepts the byte-swapped sum some 1.6-era versions wrote.
    if stored_sum != sum && stored_sum != sum.swap_bytes() {
        return Err(FilterError::decode(
            NAME,
            format!(
                "checksum mismatch (stored {stored_sum:#010x}, computed {sum:#010x}): the chunk \
                 was altered after it was written"
            ),
        ));
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_hand_computed_values() {
        // Words 0x0102, 0x0304: sum1 = 0x0406, sum2 = 0x0102 + 0x0406 = 0x0508.
        assert_eq!(checksum(&[1, 2, 3, 4]), 0x0508_0406);
        // An odd byte is the high byte of a last word: + 0x0500.
        assert_eq!(
            checksum(&[1, 2, 3, 4, 5]),
            ((0x0508 + 0x0906) << 16) | 0x0906
        );
        assert_eq!(checksum(&[]), 0);
    }

    #[test]
    fn long_inputs_fold_without_overflow() {
        let data = vec![0xffu8; 100_001];
        let _ = checksum(&data); // must not panic on overflow in debug builds
    }

    #[test]
    fn a_flipped_bit_is_detected() {
        let stored = append(b"some chunk bytes".to_vec());
        assert_eq!(strip(&stored).unwrap(), b"some chunk bytes");
        let mut bad = stored.clone();
        bad[3] ^= 0x10;
        assert!(strip(&bad)
            .unwrap_err()
            .to_string()
            .contains("checksum mismatch"));
    }
}
