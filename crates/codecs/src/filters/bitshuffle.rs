//! Bit transposition of typed arrays, bitshuffle's `bshuf_trans_bit_elem` and its inverse
//! `bshuf_untrans_bit_elem`, in plain Rust.
//!
//! Layout (the format, identical to every bitshuffle implementation): for `n` elements of
//! `elem_size` bytes (`n` a multiple of 8), the output holds `8 * elem_size` bit-rows of
//! `n / 8` bytes; row `8 * j + b` packs bit `b` of byte `j` of every element, element `i` at
//! bit `i % 8` (least significant first) of byte `i / 8` of the row.
//!
//! Speed: each group of 8 elements × 1 byte column is an 8×8 bit matrix held in one `u64` and
//! transposed with three delta-swaps (Hacker's Delight's `transpose8`, the same one bitshuffle's
//! scalar code uses), so the cost is a few word operations per 8 input bytes instead of a loop
//! over every bit. The transpose is its own inverse, which gives the unshuffle for free.

/// Transpose the 8×8 bit matrix in `x` (byte `k` = row `k`, bit `b` = column `b`).
#[inline(always)]
fn transpose8(mut x: u64) -> u64 {
    let mut t = (x ^ (x >> 7)) & 0x00AA_00AA_00AA_00AA;
    x = x ^ t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000_CCCC_0000_CCCC;
    x = x ^ t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x0000_0000_F0F0_F0F0;
    x ^ t ^ (t << 28)
}

/// Why a transposition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BitshuffleError {
    #[error("bitshuffle: element count {0} is not a multiple of 8")]
    NotMultipleOfEight(usize),
    #[error(
        "bitshuffle: buffers of {input} and {output} bytes for {n} elements of {elem_size} bytes"
    )]
    Length {
        input: usize,
        output: usize,
        n: usize,
        elem_size: usize,
    },
}

fn check(input: usize, output: usize, n: usize, elem_size: usize) -> Result<(), BitshuffleError> {
    if n % 8 != 0 {
        return Err(BitshuffleError::NotMultipleOfEight(n));
    }
    if input != n * elem_size || output != n * elem_size {
        return Err(BitshuffleError::Length {
            input,
            output,
            n,
            elem_size,
        });
    }
    Ok(())
}

/// Bit-shuffle `input` (`input.len() / elem_size` elements, a multiple of 8) into `out`.
pub fn trans_bit_elem(
    input: &[u8],
    out: &mut [u8],
    elem_size: usize,
) -> Result<(), BitshuffleError> {
    if elem_size == 0 {
        return Err(BitshuffleError::Length {
            input: input.len(),
            output: out.len(),
            n: 0,
            elem_size,
        });
    }
    let n = input.len() / elem_size;
    check(input.len(), out.len(), n, elem_size)?;
    match elem_size {
        1 => forward::<1>(input, out, n),
        2 => forward::<2>(input, out, n),
        4 => forward::<4>(input, out, n),
        8 => forward::<8>(input, out, n),
        _ => forward_dyn(input, out, n, elem_size),
    }
    Ok(())
}

/// Inverse of [`trans_bit_elem`].
pub fn untrans_bit_elem(
    input: &[u8],
    out: &mut [u8],
    elem_size: usize,
) -> Result<(), BitshuffleError> {
    if elem_size == 0 {
        return Err(BitshuffleError::Length {
            input: input.len(),
            output: out.len(),
            n: 0,
            elem_size,
        });
    }
    let n = out.len() / elem_size;
    check(input.len(), out.len(), n, elem_size)?;
    match elem_size {
        1 => inverse::<1>(input, out, n),
        2 => inverse::<2>(input, out, n),
        4 => inverse::<4>(input, out, n),
        8 => inverse::<8>(input, out, n),
        _ => inverse_dyn(input, out, n, elem_size),
    }
    Ok(())
}

/// Forward transpose with the element size known at compile time, so the byte gathers of one
/// group of 8 elements unroll into shifts of two or four words.
fn forward<const ES: usize>(input: &[u8], out: &mut [u8], n: usize) {
    let row = n / 8;
    for (m, group) in input.chunks_exact(8 * ES).enumerate() {
        // words[j] holds byte j of the 8 elements, element i in byte i of the word.
        let mut words = [0u64; ES];
        for (i, elem) in group.chunks_exact(ES).enumerate() {
            for j in 0..ES {
                words[j] |= u64::from(elem[j]) << (8 * i);
            }
        }
        for (j, &w) in words.iter().enumerate() {
            let x = transpose8(w);
            let base = 8 * j * row + m;
            for k in 0..8 {
                out[base + k * row] = (x >> (8 * k)) as u8;
            }
        }
    }
}

fn inverse<const ES: usize>(input: &[u8], out: &mut [u8], n: usize) {
    let row = n / 8;
    for (m, group) in out.chunks_exact_mut(8 * ES).enumerate() {
        let mut words = [0u64; ES];
        for (j, w) in words.iter_mut().enumerate() {
            let base = 8 * j * row + m;
            let mut x = 0u64;
            for k in 0..8 {
                x |= u64::from(input[base + k * row]) << (8 * k);
            }
            *w = transpose8(x);
        }
        for (i, elem) in group.chunks_exact_mut(ES).enumerate() {
            for j in 0..ES {
                elem[j] = (words[j] >> (8 * i)) as u8;
            }
        }
    }
}

fn forward_dyn(input: &[u8], out: &mut [u8], n: usize, es: usize) {
    let row = n / 8;
    for (m, group) in input.chunks_exact(8 * es).enumerate() {
        for j in 0..es {
            let mut w = 0u64;
            for i in 0..8 {
                w |= u64::from(group[i * es + j]) << (8 * i);
            }
            let x = transpose8(w);
            let base = 8 * j * row + m;
            for k in 0..8 {
                out[base + k * row] = (x >> (8 * k)) as u8;
            }
        }
    }
}

fn inverse_dyn(input: &[u8], out: &mut [u8], n: usize, es: usize) {
    let row = n / 8;
    for (m, group) in out.chunks_exact_mut(8 * es).enumerate() {
        for j in 0..es {
            let base = 8 * j * row + m;
            let mut x = 0u64;
            for k in 0..8 {
                x |= u64::from(input[base + k * row]) << (8 * k);
            }
            let w = transpose8(x);
            for i in 0..8 {
                group[i * es + j] = (w >> (8 * i)) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose8_is_an_involution_and_moves_bit_ij_to_ji() {
        for r in 0..8 {
            for c in 0..8 {
                let x = 1u64 << (8 * r + c);
                assert_eq!(transpose8(x), 1u64 << (8 * c + r));
                assert_eq!(transpose8(transpose8(x)), x);
            }
        }
    }

    #[test]
    fn rejects_element_counts_not_multiple_of_eight() {
        let mut out = [0u8; 14];
        assert_eq!(
            trans_bit_elem(&[0u8; 14], &mut out, 2),
            Err(BitshuffleError::NotMultipleOfEight(7))
        );
    }
}
