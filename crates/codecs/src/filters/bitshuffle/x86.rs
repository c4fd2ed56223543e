//! SSE2 and AVX2 kernels of the bit transpose (x86_64 only). They handle the leading whole
//! blocks of elements and return where they stopped; the caller finishes with the scalar code,
//! so the output is the same byte for byte whatever the kernel.
//!
//! Forward, per block of 64 elements: split the elements' bytes into one vector stream per byte
//! column (even/odd byte separation with `packus`, repeated log2(elem_size) times), then read
//! the 8 bit-rows of a column off with `movemask` (bit 7 of every byte), doubling the bytes
//! between reads so that bit 6, 5, ... come up in turn; 64 elements give one `u64` per bit-row.
//!
//! Inverse, per block of 8 × (vector width) elements: load the 8 bit-rows of a byte column,
//! transpose the 8 × 8 bit matrices across the 8 registers with three delta-swap stages (after
//! which register `k`, byte `p` holds the byte of element `8p + k`), interleave the registers'
//! bytes back into element order, then interleave the byte columns into whole elements.
//!
//! One generic code path serves both instruction sets through the [`Simd`] trait. AVX2's
//! unpack instructions work within 128-bit lanes, so the inverse treats an AVX2 register as two
//! independent SSE2 problems (lane `L` handles the second half of the block) and stores the
//! halves apart; the forward path restores element order after each lane-wise `packus`.
//!
//! Soundness: every method of [`Simd`] takes the token by value, and a token exists only when
//! its instruction set was detected ([`Sse2`] is part of the x86_64 baseline, [`Avx2`] is made
//! by [`Avx2::detect`]). Loads and stores go through slices whose length is checked first.

use std::arch::x86_64::*;

/// The vector operations the kernels need, for one instruction set.
pub(super) trait Simd: Copy {
    /// A vector register: `WIDTH` bytes.
    type V: Copy;
    /// Bytes per vector.
    const WIDTH: usize;

    fn splat16(self, x: i16) -> Self::V;
    fn zero(self) -> Self::V;
    fn and(self, a: Self::V, b: Self::V) -> Self::V;
    fn xor(self, a: Self::V, b: Self::V) -> Self::V;
    /// Each byte doubled (shifted left by one bit).
    fn double(self, a: Self::V) -> Self::V;
    fn srli16<const N: i32>(self, a: Self::V) -> Self::V;
    fn slli16<const N: i32>(self, a: Self::V) -> Self::V;
    /// Bit 7 of every byte, byte `i` at bit `i`.
    fn movemask(self, a: Self::V) -> u32;
    /// The 16-bit words of `a` then `b` saturated to bytes, in element order.
    fn pack16(self, a: Self::V, b: Self::V) -> Self::V;
    fn unpacklo8(self, a: Self::V, b: Self::V) -> Self::V;
    fn unpackhi8(self, a: Self::V, b: Self::V) -> Self::V;
    fn unpacklo16(self, a: Self::V, b: Self::V) -> Self::V;
    fn unpackhi16(self, a: Self::V, b: Self::V) -> Self::V;
    fn unpacklo32(self, a: Self::V, b: Self::V) -> Self::V;
    fn unpackhi32(self, a: Self::V, b: Self::V) -> Self::V;
    /// Load the first `WIDTH` bytes of `src` (panics if shorter).
    fn load(self, src: &[u8]) -> Self::V;
    /// Store 16-byte lane `L` of `v` at `dst[L * lane_stride..][..16]` (panics if too short).
    fn store_lanes(self, v: Self::V, dst: &mut [u8], lane_stride: usize);
}

/// SSE2: always present on x86_64.
#[derive(Clone, Copy)]
pub(super) struct Sse2(());

impl Sse2 {
    pub(super) fn new() -> Self {
        Sse2(())
    }
}

/// AVX2, only constructible once the CPU was found to have it.
#[derive(Clone, Copy)]
pub(super) struct Avx2(());

impl Avx2 {
    pub(super) fn detect() -> Option<Self> {
        is_x86_feature_detected!("avx2").then_some(Avx2(()))
    }
}

impl Simd for Sse2 {
    type V = __m128i;
    const WIDTH: usize = 16;

    #[inline(always)]
    fn splat16(self, x: i16) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_set1_epi16(x) }
    }
    #[inline(always)]
    fn zero(self) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_setzero_si128() }
    }
    #[inline(always)]
    fn and(self, a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_and_si128(a, b) }
    }
    #[inline(always)]
    fn xor(self, a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_xor_si128(a, b) }
    }
    #[inline(always)]
    fn double(self, a: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_add_epi8(a, a) }
    }
    #[inline(always)]
    fn srli16<const N: i32>(self, a: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_srli_epi16::<N>(a) }
    }
    #[inline(always)]
    fn slli16<const N: i32>(self, a: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_slli_epi16::<N>(a) }
    }
    #[inline(always)]
    fn movemask(self, a: __m128i) -> u32 {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_movemask_epi8(a) as u32 }
    }
    #[inline(always)]
    fn pack16(self, a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_packus_epi16(a, b) }
    }
    #[inline(always)]
    fn unpacklo8(self, a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_unpacklo_epi8(a, b) }
    }
    #[inline(always)]
    fn unpackhi8(self, a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_unpackhi_epi8(a, b) }
    }
    #[inline(always)]
    fn unpacklo16(self, a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_unpacklo_epi16(a, b) }
    }
    #[inline(always)]
    fn unpackhi16(self, a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_unpackhi_epi16(a, b) }
    }
    #[inline(always)]
    fn unpacklo32(self, a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_unpacklo_epi32(a, b) }
    }
    #[inline(always)]
    fn unpackhi32(self, a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_unpackhi_epi32(a, b) }
    }
    #[inline(always)]
    fn load(self, src: &[u8]) -> __m128i {
        let src = &src[..16];
        // SAFETY: `src` holds 16 readable bytes; loadu has no alignment requirement.
        unsafe { _mm_loadu_si128(src.as_ptr().cast()) }
    }
    #[inline(always)]
    fn store_lanes(self, v: __m128i, dst: &mut [u8], _lane_stride: usize) {
        let dst = &mut dst[..16];
        // SAFETY: `dst` holds 16 writable bytes; storeu has no alignment requirement.
        unsafe { _mm_storeu_si128(dst.as_mut_ptr().cast(), v) }
    }
}

// Every method below calls AVX2 intrinsics from a function that does not itself enable AVX2,
// hence the unsafe blocks; they are sound because an `Avx2` token exists only after
// `is_x86_feature_detected!("avx2")` said yes. The kernels call these methods from
// `#[target_feature(enable = "avx2")]` functions, where `#[inline(always)]` lets LLVM inline
// the intrinsics.
impl Simd for Avx2 {
    type V = __m256i;
    const WIDTH: usize = 32;

    #[inline(always)]
    fn splat16(self, x: i16) -> __m256i {
        // SAFETY: the token proves AVX2 (see above the impl).
        unsafe { _mm256_set1_epi16(x) }
    }
    #[inline(always)]
    fn zero(self) -> __m256i {
        // SAFETY: the token proves AVX2.
        unsafe { _mm256_setzero_si256() }
    }
    #[inline(always)]
    fn and(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: the token proves AVX2.
        unsafe { _mm256_and_si256(a, b) }
    }
    #[inline(always)]
    fn xor(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: the token proves AVX2.
        unsafe { _mm256_xor_si256(a, b) }
    }
    #[inline(always)]
    fn double(self, a: __m256i) -> __m256i {
        // SAFETY: the token proves AVX2.
        unsafe { _mm256_add_epi8(a, a) }
    }
    #[inline(always)]
    fn srli16<const N: i32>(self, a: __m256i) -> __m256i {
        // SAFETY: the token proves AVX2.
        unsafe { _mm256_srli_epi16::<N>(a) }
    }
    #[inline(always)]
    fn slli16<const N: i32>(self, a: __m256i) -> __m256i {
        // SAFETY: the token proves AVX2.
        unsafe { _mm256_slli_epi16::<N>(a) }
    }
    #[inline(always)]
    fn movemask(self, a: __m256i) -> u32 {
        // SAFETY: the token proves AVX2.
        unsafe { _mm256_movemask_epi8(a) as u32 }
    }
    #[inline(always)]
    fn pack16(self, a: __m256i, b: __m256i) -> __m256i {
        // packus works per 128-bit lane, giving 64-bit quarters [a0, b0, a1, b1]; the
        // permutation puts them back in element order [a0, a1, b0, b1].
        // SAFETY: the token proves AVX2.
        unsafe { _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi16(a, b)) }
    }
    #[inline(always)]
    fn unpacklo8(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: the token proves AVX2.
        unsafe { _mm256_unpacklo_epi8(a, b) }
    }
    #[inline(always)]
    fn unpackhi8(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: the token proves AVX2.
        unsafe { _mm256_unpackhi_epi8(a, b) }
    }
    #[inline(always)]
    fn unpacklo16(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: the token proves AVX2.
        unsafe { _mm256_unpacklo_epi16(a, b) }
    }
    #[inline(always)]
    fn unpackhi16(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: the token proves AVX2.
        unsafe { _mm256_unpackhi_epi16(a, b) }
    }
    #[inline(always)]
    fn unpacklo32(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: the token proves AVX2.
        unsafe { _mm256_unpacklo_epi32(a, b) }
    }
    #[inline(always)]
    fn unpackhi32(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: the token proves AVX2.
        unsafe { _mm256_unpackhi_epi32(a, b) }
    }
    #[inline(always)]
    fn load(self, src: &[u8]) -> __m256i {
        let src = &src[..32];
        // SAFETY: the token proves AVX2; `src` holds 32 readable bytes and loadu has no
        // alignment requirement.
        unsafe { _mm256_loadu_si256(src.as_ptr().cast()) }
    }
    #[inline(always)]
    fn store_lanes(self, v: __m256i, dst: &mut [u8], lane_stride: usize) {
        let (lo, hi) = dst.split_at_mut(lane_stride);
        let (lo, hi) = (&mut lo[..16], &mut hi[..16]);
        // SAFETY: the token proves AVX2; `lo` and `hi` hold 16 writable bytes each and storeu
        // has no alignment requirement.
        unsafe {
            _mm_storeu_si128(lo.as_mut_ptr().cast(), _mm256_castsi256_si128(v));
            _mm_storeu_si128(hi.as_mut_ptr().cast(), _mm256_extracti128_si256::<1>(v));
        }
    }
}

/// Elements per forward block: one `u64` per bit-row.
const FORWARD_BLOCK: usize = 64;

/// Even and odd bytes of the byte stream `a` then `b`.
#[inline(always)]
fn split<S: Simd>(s: S, a: S::V, b: S::V) -> (S::V, S::V) {
    let low = s.splat16(0x00FF);
    let even = s.pack16(s.and(a, low), s.and(b, low));
    let odd = s.pack16(s.srli16::<8>(a), s.srli16::<8>(b));
    (even, odd)
}

/// Bit-shuffle the whole blocks of 64 elements of `input` (`n` elements of `ES` bytes, `ES` one
/// of 1, 2, 4, 8) from element `start` (a multiple of 64) on into `out`; returns the element
/// where it stopped.
#[inline(always)]
fn forward<S: Simd, const ES: usize>(
    s: S,
    input: &[u8],
    out: &mut [u8],
    n: usize,
    start: usize,
) -> usize {
    let row = n / 8;
    let per_col = FORWARD_BLOCK / S::WIDTH;
    let blocks = n / FORWARD_BLOCK;
    for k in start / FORWARD_BLOCK..blocks {
        let src = &input[k * FORWARD_BLOCK * ES..(k + 1) * FORWARD_BLOCK * ES];
        // cols[j][q]: byte j of elements q * WIDTH .. (q + 1) * WIDTH of the block.
        let mut cols = [[s.zero(); 4]; ES];
        for q in 0..per_col {
            let at = |v: usize| &src[(q * ES + v) * S::WIDTH..];
            match ES {
                1 => cols[0][q] = s.load(at(0)),
                2 => {
                    (cols[0][q], cols[1][q]) = split(s, s.load(at(0)), s.load(at(1)));
                }
                4 => {
                    let (e0, o0) = split(s, s.load(at(0)), s.load(at(1)));
                    let (e1, o1) = split(s, s.load(at(2)), s.load(at(3)));
                    (cols[0][q], cols[2][q]) = split(s, e0, e1);
                    (cols[1][q], cols[3][q]) = split(s, o0, o1);
                }
                8 => {
                    let (e0, o0) = split(s, s.load(at(0)), s.load(at(1)));
                    let (e1, o1) = split(s, s.load(at(2)), s.load(at(3)));
                    let (e2, o2) = split(s, s.load(at(4)), s.load(at(5)));
                    let (e3, o3) = split(s, s.load(at(6)), s.load(at(7)));
                    // Byte 4i, 4i+2 (evens of evens / odds of evens), 4i+1, 4i+3.
                    let (ee0, eo0) = split(s, e0, e1);
                    let (ee1, eo1) = split(s, e2, e3);
                    let (oe0, oo0) = split(s, o0, o1);
                    let (oe1, oo1) = split(s, o2, o3);
                    (cols[0][q], cols[4][q]) = split(s, ee0, ee1);
                    (cols[2][q], cols[6][q]) = split(s, eo0, eo1);
                    (cols[1][q], cols[5][q]) = split(s, oe0, oe1);
                    (cols[3][q], cols[7][q]) = split(s, oo0, oo1);
                }
                _ => unreachable!("forward kernels are instantiated for 1, 2, 4, 8 bytes only"),
            }
        }
        for (j, col) in cols.iter_mut().enumerate() {
            for b in (0..8).rev() {
                let mut word = 0u64;
                for (q, v) in col.iter_mut().take(per_col).enumerate() {
                    word |= u64::from(s.movemask(*v)) << (q * S::WIDTH);
                    *v = s.double(*v);
                }
                let at = (8 * j + b) * row + 8 * k;
                out[at..at + 8].copy_from_slice(&word.to_le_bytes());
            }
        }
    }
    blocks * FORWARD_BLOCK
}

/// Swap bits between registers `a` and `b`: bit `k + D` of every byte of `a` with bit `k` of
/// the same byte of `b`, for the bits `k` in `MASK`.
#[inline(always)]
fn delta_swap<S: Simd, const D: i32>(s: S, a: &mut S::V, b: &mut S::V, mask: S::V) {
    let t = s.and(s.xor(s.srli16::<D>(*a), *b), mask);
    *b = s.xor(*b, t);
    *a = s.xor(*a, s.slli16::<D>(t));
}

/// Byte column `j` of the block starting at row offset `off`: `c[t]`, lane by lane, holds the
/// byte of elements `16t .. 16t + 16` of that lane's 128 elements.
#[inline(always)]
fn inverse_column<S: Simd>(s: S, input: &[u8], row: usize, j: usize, off: usize) -> [S::V; 8] {
    let mut r = [s.zero(); 8];
    for (b, v) in r.iter_mut().enumerate() {
        *v = s.load(&input[(8 * j + b) * row + off..]);
    }
    let m4 = s.splat16(0x0F0F);
    let m2 = s.splat16(0x3333);
    let m1 = s.splat16(0x5555);
    // Transpose the 8×8 bit matrix (register, bit-in-byte) of every byte position.
    let [r0, r1, r2, r3, r4, r5, r6, r7] = &mut r;
    delta_swap::<S, 4>(s, r0, r4, m4);
    delta_swap::<S, 4>(s, r1, r5, m4);
    delta_swap::<S, 4>(s, r2, r6, m4);
    delta_swap::<S, 4>(s, r3, r7, m4);
    delta_swap::<S, 2>(s, r0, r2, m2);
    delta_swap::<S, 2>(s, r1, r3, m2);
    delta_swap::<S, 2>(s, r4, r6, m2);
    delta_swap::<S, 2>(s, r5, r7, m2);
    delta_swap::<S, 1>(s, r0, r1, m1);
    delta_swap::<S, 1>(s, r2, r3, m1);
    delta_swap::<S, 1>(s, r4, r5, m1);
    delta_swap::<S, 1>(s, r6, r7, m1);
    // Register k, byte p is element 8p + k: interleave the registers' bytes.
    let (a01, b01) = (s.unpacklo8(r[0], r[1]), s.unpackhi8(r[0], r[1]));
    let (a23, b23) = (s.unpacklo8(r[2], r[3]), s.unpackhi8(r[2], r[3]));
    let (a45, b45) = (s.unpacklo8(r[4], r[5]), s.unpackhi8(r[4], r[5]));
    let (a67, b67) = (s.unpacklo8(r[6], r[7]), s.unpackhi8(r[6], r[7]));
    let p0_3 = s.unpacklo16(a01, a23);
    let p4_7 = s.unpackhi16(a01, a23);
    let p8_11 = s.unpacklo16(b01, b23);
    let p12_15 = s.unpackhi16(b01, b23);
    let q0_3 = s.unpacklo16(a45, a67);
    let q4_7 = s.unpackhi16(a45, a67);
    let q8_11 = s.unpacklo16(b45, b67);
    let q12_15 = s.unpackhi16(b45, b67);
    [
        s.unpacklo32(p0_3, q0_3),
        s.unpackhi32(p0_3, q0_3),
        s.unpacklo32(p4_7, q4_7),
        s.unpackhi32(p4_7, q4_7),
        s.unpacklo32(p8_11, q8_11),
        s.unpackhi32(p8_11, q8_11),
        s.unpacklo32(p12_15, q12_15),
        s.unpackhi32(p12_15, q12_15),
    ]
}

/// Inverse of [`forward`] on the whole blocks of `8 * WIDTH` elements from element `start` (a
/// multiple of the block) on; returns the element where it stopped.
#[inline(always)]
fn inverse<S: Simd, const ES: usize>(
    s: S,
    input: &[u8],
    out: &mut [u8],
    n: usize,
    start: usize,
) -> usize {
    let row = n / 8;
    let block = 8 * S::WIDTH;
    let blocks = n / block;
    // Lane L of every register works on elements 128 L .. 128 (L + 1) of the block.
    let lane_stride = 128 * ES;
    for k in start / block..blocks {
        let dst = &mut out[k * block * ES..(k + 1) * block * ES];
        let off = k * S::WIDTH;
        match ES {
            1 => {
                let c = inverse_column(s, input, row, 0, off);
                for (t, v) in c.into_iter().enumerate() {
                    s.store_lanes(v, &mut dst[16 * t..], lane_stride);
                }
            }
            2 => {
                let c0 = inverse_column(s, input, row, 0, off);
                let c1 = inverse_column(s, input, row, 1, off);
                for t in 0..8 {
                    let at = 32 * t;
                    s.store_lanes(s.unpacklo8(c0[t], c1[t]), &mut dst[at..], lane_stride);
                    s.store_lanes(s.unpackhi8(c0[t], c1[t]), &mut dst[at + 16..], lane_stride);
                }
            }
            4 => {
                let c = [0, 1, 2, 3].map(|j| inverse_column(s, input, row, j, off));
                for t in 0..8 {
                    let lo01 = s.unpacklo8(c[0][t], c[1][t]);
                    let hi01 = s.unpackhi8(c[0][t], c[1][t]);
                    let lo23 = s.unpacklo8(c[2][t], c[3][t]);
                    let hi23 = s.unpackhi8(c[2][t], c[3][t]);
                    let at = 64 * t;
                    let elems = [
                        s.unpacklo16(lo01, lo23),
                        s.unpackhi16(lo01, lo23),
                        s.unpacklo16(hi01, hi23),
                        s.unpackhi16(hi01, hi23),
                    ];
                    for (i, v) in elems.into_iter().enumerate() {
                        s.store_lanes(v, &mut dst[at + 16 * i..], lane_stride);
                    }
                }
            }
            8 => {
                let c = [0, 1, 2, 3, 4, 5, 6, 7].map(|j| inverse_column(s, input, row, j, off));
                for t in 0..8 {
                    let b01 = [s.unpacklo8(c[0][t], c[1][t]), s.unpackhi8(c[0][t], c[1][t])];
                    let b23 = [s.unpacklo8(c[2][t], c[3][t]), s.unpackhi8(c[2][t], c[3][t])];
                    let b45 = [s.unpacklo8(c[4][t], c[5][t]), s.unpackhi8(c[4][t], c[5][t])];
                    let b67 = [s.unpacklo8(c[6][t], c[7][t]), s.unpackhi8(c[6][t], c[7][t])];
                    let at = 128 * t;
                    for h in 0..2 {
                        // Elements 8h .. 8h + 8 of this group of 16, four per pair of halves.
                        let w0123 = [s.unpacklo16(b01[h], b23[h]), s.unpackhi16(b01[h], b23[h])];
                        let w4567 = [s.unpacklo16(b45[h], b67[h]), s.unpackhi16(b45[h], b67[h])];
                        for g in 0..2 {
                            let lo = s.unpacklo32(w0123[g], w4567[g]);
                            let hi = s.unpackhi32(w0123[g], w4567[g]);
                            let e = at + 64 * h + 32 * g;
                            s.store_lanes(lo, &mut dst[e..], lane_stride);
                            s.store_lanes(hi, &mut dst[e + 16..], lane_stride);
                        }
                    }
                }
            }
            _ => unreachable!("inverse kernels are instantiated for 1, 2, 4, 8 bytes only"),
        }
    }
    blocks * block
}

/// Forward transpose of the leading whole blocks with SSE2; `None` for unsupported sizes.
pub(super) fn forward_sse2(
    input: &[u8],
    out: &mut [u8],
    n: usize,
    start: usize,
    es: usize,
) -> Option<usize> {
    let s = Sse2::new();
    Some(match es {
        1 => forward::<_, 1>(s, input, out, n, start),
        2 => forward::<_, 2>(s, input, out, n, start),
        4 => forward::<_, 4>(s, input, out, n, start),
        8 => forward::<_, 8>(s, input, out, n, start),
        _ => return None,
    })
}

/// Inverse transpose of the leading whole blocks with SSE2; `None` for unsupported sizes.
pub(super) fn inverse_sse2(
    input: &[u8],
    out: &mut [u8],
    n: usize,
    start: usize,
    es: usize,
) -> Option<usize> {
    let s = Sse2::new();
    Some(match es {
        1 => inverse::<_, 1>(s, input, out, n, start),
        2 => inverse::<_, 2>(s, input, out, n, start),
        4 => inverse::<_, 4>(s, input, out, n, start),
        8 => inverse::<_, 8>(s, input, out, n, start),
        _ => return None,
    })
}

#[target_feature(enable = "avx2")]
fn forward_avx2_impl(
    s: Avx2,
    input: &[u8],
    out: &mut [u8],
    n: usize,
    start: usize,
    es: usize,
) -> Option<usize> {
    Some(match es {
        1 => forward::<_, 1>(s, input, out, n, start),
        2 => forward::<_, 2>(s, input, out, n, start),
        4 => forward::<_, 4>(s, input, out, n, start),
        8 => forward::<_, 8>(s, input, out, n, start),
        _ => return None,
    })
}

#[target_feature(enable = "avx2")]
fn inverse_avx2_impl(
    s: Avx2,
    input: &[u8],
    out: &mut [u8],
    n: usize,
    start: usize,
    es: usize,
) -> Option<usize> {
    Some(match es {
        1 => inverse::<_, 1>(s, input, out, n, start),
        2 => inverse::<_, 2>(s, input, out, n, start),
        4 => inverse::<_, 4>(s, input, out, n, start),
        8 => inverse::<_, 8>(s, input, out, n, start),
        _ => return None,
    })
}

/// Forward transpose of the leading whole blocks with AVX2; `None` for unsupported sizes.
pub(super) fn forward_avx2(
    s: Avx2,
    input: &[u8],
    out: &mut [u8],
    n: usize,
    start: usize,
    es: usize,
) -> Option<usize> {
    // SAFETY: an `Avx2` token exists only on CPUs with AVX2.
    unsafe { forward_avx2_impl(s, input, out, n, start, es) }
}

/// Inverse transpose of the leading whole blocks with AVX2; `None` for unsupported sizes.
pub(super) fn inverse_avx2(
    s: Avx2,
    input: &[u8],
    out: &mut [u8],
    n: usize,
    start: usize,
    es: usize,
) -> Option<usize> {
    // SAFETY: an `Avx2` token exists only on CPUs with AVX2.
    unsafe { inverse_avx2_impl(s, input, out, n, start, es) }
}
