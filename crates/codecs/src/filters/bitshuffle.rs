//! Bit transposition of typed arrays, bitshuffle's `bshuf_trans_bit_elem` and its inverse
//! `bshuf_untrans_bit_elem`: portable Rust plus SSE2 / AVX2 kernels on x86_64.
//!
//! Layout (the format, identical to every bitshuffle implementation): for `n` elements of
//! `elem_size` bytes (`n` a multiple of 8), the output holds `8 * elem_size` bit-rows of
//! `n / 8` bytes; row `8 * j + b` packs bit `b` of byte `j` of every element, element `i` at
//! bit `i % 8` (least significant first) of byte `i / 8` of the row.
//!
//! Speed: the SIMD kernels (`x86` submodule, chosen once per process by [`Kernel::detected`])
//! do the element sizes 1, 2, 4 and 8 in whole blocks of 128 (SSE2) or 256 (AVX2) elements;
//! what is left (the last elements of a block, other element sizes, other CPUs) runs the
//! portable code, where each group of 8 elements × 1 byte column is an 8×8 bit matrix held
//! in one `u64` and transposed with three delta-swaps (Hacker's Delight's `transpose8`, the same
//! one bitshuffle's scalar code uses). Every kernel writes the same bytes.

use std::sync::OnceLock;

#[cfg(target_arch = "x86_64")]
mod x86;

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
    #[error("bitshuffle: the {0:?} kernel does not run on this CPU")]
    KernelUnavailable(Kernel),
}

/// An implementation of the transpose. All write the same bytes; they differ in speed only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Portable Rust: any CPU, any element size.
    Scalar,
    /// x86_64 SSE2 (every x86_64 CPU) for element sizes 1, 2, 4, 8.
    Sse2,
    /// x86_64 AVX2, when the CPU has it, for element sizes 1, 2, 4, 8.
    Avx2,
}

#[cfg(target_arch = "x86_64")]
fn avx2_token() -> Option<x86::Avx2> {
    static TOKEN: OnceLock<Option<x86::Avx2>> = OnceLock::new();
    *TOKEN.get_or_init(x86::Avx2::detect)
}

impl Kernel {
    /// Every kernel, slowest first.
    pub const ALL: [Kernel; 3] = [Kernel::Scalar, Kernel::Sse2, Kernel::Avx2];

    /// The fastest kernel this CPU runs (detected once per process); what
    /// [`trans_bit_elem`] and [`untrans_bit_elem`] use.
    pub fn detected() -> Kernel {
        static BEST: OnceLock<Kernel> = OnceLock::new();
        *BEST.get_or_init(|| {
            Kernel::ALL
                .into_iter()
                .rev()
                .find(|k| k.is_available())
                .unwrap_or(Kernel::Scalar)
        })
    }

    /// Whether this CPU runs the kernel.
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Sse2 => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => avx2_token().is_some(),
            #[cfg(not(target_arch = "x86_64"))]
            Kernel::Sse2 | Kernel::Avx2 => false,
        }
    }
}

/// Validate the sizes of a transpose of `n` elements (counted from the unshuffled side).
fn check(
    kernel: Kernel,
    input: usize,
    output: usize,
    n: usize,
    elem_size: usize,
) -> Result<(), BitshuffleError> {
    if elem_size == 0 || input != n * elem_size || output != n * elem_size {
        return Err(BitshuffleError::Length {
            input,
            output,
            n,
            elem_size,
        });
    }
    if !kernel.is_available() {
        return Err(BitshuffleError::KernelUnavailable(kernel));
    }
    Ok(())
}

/// Bit-shuffle `input` (`input.len() / elem_size` elements, a multiple of 8) into `out`.
pub fn trans_bit_elem(
    input: &[u8],
    out: &mut [u8],
    elem_size: usize,
) -> Result<(), BitshuffleError> {
    trans_bit_elem_with(Kernel::detected(), input, out, elem_size)
}

/// Inverse of [`trans_bit_elem`].
pub fn untrans_bit_elem(
    input: &[u8],
    out: &mut [u8],
    elem_size: usize,
) -> Result<(), BitshuffleError> {
    untrans_bit_elem_with(Kernel::detected(), input, out, elem_size)
}

/// [`trans_bit_elem`] with a chosen kernel (for tests and benchmarks).
pub fn trans_bit_elem_with(
    kernel: Kernel,
    input: &[u8],
    out: &mut [u8],
    elem_size: usize,
) -> Result<(), BitshuffleError> {
    let n = input.len().checked_div(elem_size).unwrap_or(0);
    if n % 8 != 0 {
        return Err(BitshuffleError::NotMultipleOfEight(n));
    }
    check(kernel, input.len(), out.len(), n, elem_size)?;
    let done = match kernel {
        Kernel::Scalar => None,
        #[cfg(target_arch = "x86_64")]
        Kernel::Sse2 => x86::forward_sse2(input, out, n, 0, elem_size),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => avx2_token()
            .and_then(|s| x86::forward_avx2(s, input, out, n, 0, elem_size))
            // AVX2 blocks are 256 elements: one 128-element SSE2 block may follow.
            .and_then(|done| x86::forward_sse2(input, out, n, done, elem_size)),
        #[cfg(not(target_arch = "x86_64"))]
        Kernel::Sse2 | Kernel::Avx2 => None,
    };
    forward_scalar(input, out, n, elem_size, done.unwrap_or(0) / 8);
    Ok(())
}

/// [`untrans_bit_elem`] with a chosen kernel (for tests and benchmarks).
pub fn untrans_bit_elem_with(
    kernel: Kernel,
    input: &[u8],
    out: &mut [u8],
    elem_size: usize,
) -> Result<(), BitshuffleError> {
    let n = out.len().checked_div(elem_size).unwrap_or(0);
    if n % 8 != 0 {
        return Err(BitshuffleError::NotMultipleOfEight(n));
    }
    check(kernel, input.len(), out.len(), n, elem_size)?;
    let done = match kernel {
        Kernel::Scalar => None,
        #[cfg(target_arch = "x86_64")]
        Kernel::Sse2 => x86::inverse_sse2(input, out, n, 0, elem_size),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => avx2_token()
            .and_then(|s| x86::inverse_avx2(s, input, out, n, 0, elem_size))
            // AVX2 blocks are 256 elements: one 128-element SSE2 block may follow.
            .and_then(|done| x86::inverse_sse2(input, out, n, done, elem_size)),
        #[cfg(not(target_arch = "x86_64"))]
        Kernel::Sse2 | Kernel::Avx2 => None,
    };
    inverse_scalar(input, out, n, elem_size, done.unwrap_or(0) / 8);
    Ok(())
}

/// Portable forward transpose of the groups of 8 elements from `first_group` on.
fn forward_scalar(input: &[u8], out: &mut [u8], n: usize, es: usize, first_group: usize) {
    match es {
        1 => forward::<1>(input, out, n, first_group),
        2 => forward::<2>(input, out, n, first_group),
        4 => forward::<4>(input, out, n, first_group),
        8 => forward::<8>(input, out, n, first_group),
        _ => forward_dyn(input, out, n, es, first_group),
    }
}

/// Portable inverse transpose of the groups of 8 elements from `first_group` on.
fn inverse_scalar(input: &[u8], out: &mut [u8], n: usize, es: usize, first_group: usize) {
    match es {
        1 => inverse::<1>(input, out, n, first_group),
        2 => inverse::<2>(input, out, n, first_group),
        4 => inverse::<4>(input, out, n, first_group),
        8 => inverse::<8>(input, out, n, first_group),
        _ => inverse_dyn(input, out, n, es, first_group),
    }
}

/// Forward transpose with the element size known at compile time, so the byte gathers of one
/// group of 8 elements unroll into shifts of two or four words.
fn forward<const ES: usize>(input: &[u8], out: &mut [u8], n: usize, first_group: usize) {
    let row = n / 8;
    let groups = input[first_group * 8 * ES..].chunks_exact(8 * ES);
    for (m, group) in (first_group..).zip(groups) {
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

fn inverse<const ES: usize>(input: &[u8], out: &mut [u8], n: usize, first_group: usize) {
    let row = n / 8;
    let groups = out[first_group * 8 * ES..].chunks_exact_mut(8 * ES);
    for (m, group) in (first_group..).zip(groups) {
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

fn forward_dyn(input: &[u8], out: &mut [u8], n: usize, es: usize, first_group: usize) {
    let row = n / 8;
    let groups = input[first_group * 8 * es..].chunks_exact(8 * es);
    for (m, group) in (first_group..).zip(groups) {
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

fn inverse_dyn(input: &[u8], out: &mut [u8], n: usize, es: usize, first_group: usize) {
    let row = n / 8;
    let groups = out[first_group * 8 * es..].chunks_exact_mut(8 * es);
    for (m, group) in (first_group..).zip(groups) {
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

    #[test]
    fn rejects_zero_element_size_and_mismatched_buffers() {
        let mut out = [0u8; 16];
        assert!(matches!(
            trans_bit_elem(&[0u8; 16], &mut out, 0),
            Err(BitshuffleError::Length { elem_size: 0, .. })
        ));
        assert!(matches!(
            untrans_bit_elem(&[0u8; 32], &mut out, 2),
            Err(BitshuffleError::Length { input: 32, .. })
        ));
    }

    #[test]
    fn detected_kernel_is_available_and_sse2_is_there_on_x86_64() {
        assert!(Kernel::detected().is_available());
        assert!(Kernel::Scalar.is_available());
        assert_eq!(Kernel::Sse2.is_available(), cfg!(target_arch = "x86_64"));
    }
}
