//! SSE2 and AVX2 kernels of the bit transpose (x86_64 only). They handle the leading whole
//! blocks of elements and return where they stopped; the caller finishes with the scalar code,
//! so the output is the same byte for byte whatever the kernel.
//!
//! Both directions work on blocks of 8 × (vector width) elements, one byte column at a time,
//! and share one 8 × 8 bit transpose across 8 registers (three delta-swap stages, each a
//! shift, two xors and a mask per register pair), which maps "register `k`, byte `p` holds
//! byte `j` of element `8p + k`" to "register `b`, byte `p`, bit `k` holds bit `b` of it", i.e.
//! to the 8 bit-rows of the column, and back.
//!
//! Forward: separate the byte columns (even/odd byte split with `packus`, log2(elem_size)
//! times), bring each column to the "register `k`, byte `p`" order with four rounds of byte
//! unpacks, transpose, store the 8 registers into the 8 bit-rows. Inverse: load the 8 bit-rows,
//! transpose, three rounds of unpacks back to element order, interleave the byte columns.
//!
//! One generic code path serves both instruction sets through the [`Simd`] trait. AVX2's
//! unpack and pack instructions work within 128-bit lanes, so an AVX2 register is treated as
//! two independent SSE2 problems: lane `L` handles elements `128 L .. 128 (L + 1)` of the
//! block, loaded and stored lane by lane on the element side and as whole 32-byte vectors on
//! the bit-row side.
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
    fn srli16<const N: i32>(self, a: Self::V) -> Self::V;
    fn slli16<const N: i32>(self, a: Self::V) -> Self::V;
    /// Per 128-bit lane: the 16-bit words of `a` then `b` saturated to bytes.
    fn pack16(self, a: Self::V, b: Self::V) -> Self::V;
    fn unpacklo8(self, a: Self::V, b: Self::V) -> Self::V;
    fn unpackhi8(self, a: Self::V, b: Self::V) -> Self::V;
    fn unpacklo16(self, a: Self::V, b: Self::V) -> Self::V;
    fn unpackhi16(self, a: Self::V, b: Self::V) -> Self::V;
    fn unpacklo32(self, a: Self::V, b: Self::V) -> Self::V;
    fn unpackhi32(self, a: Self::V, b: Self::V) -> Self::V;
    /// Load the first `WIDTH` bytes of `src` (panics if shorter).
    fn load(self, src: &[u8]) -> Self::V;
    /// Load 16-byte lane `L` from `src[L * lane_stride..][..16]` (panics if too short).
    fn load_lanes(self, src: &[u8], lane_stride: usize) -> Self::V;
    /// Store `v` in the first `WIDTH` bytes of `dst` (panics if shorter).
    fn store(self, v: Self::V, dst: &mut [u8]);
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
    fn load_lanes(self, src: &[u8], _lane_stride: usize) -> __m128i {
        self.load(src)
    }
    #[inline(always)]
    fn store(self, v: __m128i, dst: &mut [u8]) {
        let dst = &mut dst[..16];
        // SAFETY: `dst` holds 16 writable bytes; storeu has no alignment requirement.
        unsafe { _mm_storeu_si128(dst.as_mut_ptr().cast(), v) }
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
    fn pack16(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: the token proves AVX2.
        unsafe { _mm256_packus_epi16(a, b) }
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
    fn load_lanes(self, src: &[u8], lane_stride: usize) -> __m256i {
        let (lo, hi) = (&src[..16], &src[lane_stride..lane_stride + 16]);
        // SAFETY: the token proves AVX2; `lo` and `hi` hold 16 readable bytes each and loadu
        // has no alignment requirement.
        unsafe {
            let lo = _mm_loadu_si128(lo.as_ptr().cast());
            let hi = _mm_loadu_si128(hi.as_ptr().cast());
            _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(lo), hi)
        }
    }
    #[inline(always)]
    fn store(self, v: __m256i, dst: &mut [u8]) {
        let dst = &mut dst[..32];
        // SAFETY: the token proves AVX2; `dst` holds 32 writable bytes and storeu has no
        // alignment requirement.
        unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), v) }
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

/// Even and odd bytes of the byte stream `a` then `b`, per 128-bit lane.
#[inline(always)]
fn split<S: Simd>(s: S, a: S::V, b: S::V) -> (S::V, S::V) {
    let low = s.splat16(0x00FF);
    let even = s.pack16(s.and(a, low), s.and(b, low));
    let odd = s.pack16(s.srli16::<8>(a), s.srli16::<8>(b));
    (even, odd)
}

/// Transpose the 8×8 bit matrix (register, bit-in-byte) of every byte position: afterwards
/// bit `k` of byte `p` of register `b` is what bit `b` of byte `p` of register `k` was.
#[inline(always)]
fn transpose_bits<S: Simd>(s: S, r: &mut [S::V; 8]) {
    let m4 = s.splat16(0x0F0F);
    let m2 = s.splat16(0x3333);
    let m1 = s.splat16(0x5555);
    let [r0, r1, r2, r3, r4, r5, r6, r7] = r;
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
}

/// The 8 bit-rows of one byte column. `c[t]` holds, lane by lane, the byte of elements
/// `16t .. 16t + 16` of that lane's 128 elements; the result's register `b` holds bit `b` of
/// them, element `8p + k` at bit `k` of byte `p`.
#[inline(always)]
fn forward_column<S: Simd>(s: S, mut c: [S::V; 8]) -> [S::V; 8] {
    // Each round of unpacks rotates the 7-bit byte index (vector, byte) left by one; four
    // rounds turn element e = 8p + k at (e >> 4, e & 15) into register k, byte p.
    for _ in 0..4 {
        c = [
            s.unpacklo8(c[0], c[4]),
            s.unpackhi8(c[0], c[4]),
            s.unpacklo8(c[1], c[5]),
            s.unpackhi8(c[1], c[5]),
            s.unpacklo8(c[2], c[6]),
            s.unpackhi8(c[2], c[6]),
            s.unpacklo8(c[3], c[7]),
            s.unpackhi8(c[3], c[7]),
        ];
    }
    transpose_bits(s, &mut c);
    c
}

/// Bit-shuffle the whole blocks of `8 * WIDTH` elements of `input` (`n` elements of `ES` bytes,
/// `ES` one of 1, 2, 4, 8) from element `start` (a multiple of the block) on into `out`;
/// returns the element where it stopped.
// `t` indexes the same vector of several byte columns at once.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn forward<S: Simd, const ES: usize>(
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
    let ls = 128 * ES;
    for k in start / block..blocks {
        let src = &input[k * block * ES..(k + 1) * block * ES];
        // cols[j][t]: byte j of elements 16t .. 16t + 16 (per lane).
        let mut cols = [[s.zero(); 8]; ES];
        for t in 0..8 {
            let at = 16 * ES * t;
            match ES {
                1 => cols[0][t] = s.load_lanes(&src[at..], ls),
                2 => {
                    let x0 = s.load_lanes(&src[at..], ls);
                    let x1 = s.load_lanes(&src[at + 16..], ls);
                    (cols[0][t], cols[1][t]) = split(s, x0, x1);
                }
                4 => {
                    let mut x = [s.zero(); 4];
                    for (i, v) in x.iter_mut().enumerate() {
                        *v = s.load_lanes(&src[at + 16 * i..], ls);
                    }
                    let (e0, o0) = split(s, x[0], x[1]);
                    let (e1, o1) = split(s, x[2], x[3]);
                    (cols[0][t], cols[2][t]) = split(s, e0, e1);
                    (cols[1][t], cols[3][t]) = split(s, o0, o1);
                }
                8 => {
                    let mut x = [s.zero(); 8];
                    for (i, v) in x.iter_mut().enumerate() {
                        *v = s.load_lanes(&src[at + 16 * i..], ls);
                    }
                    let (e0, o0) = split(s, x[0], x[1]);
                    let (e1, o1) = split(s, x[2], x[3]);
                    let (e2, o2) = split(s, x[4], x[5]);
                    let (e3, o3) = split(s, x[6], x[7]);
                    // Bytes 4i, 4i + 2 (evens of evens / odds of evens), 4i + 1, 4i + 3.
                    let (ee0, eo0) = split(s, e0, e1);
                    let (ee1, eo1) = split(s, e2, e3);
                    let (oe0, oo0) = split(s, o0, o1);
                    let (oe1, oo1) = split(s, o2, o3);
                    (cols[0][t], cols[4][t]) = split(s, ee0, ee1);
                    (cols[2][t], cols[6][t]) = split(s, eo0, eo1);
                    (cols[1][t], cols[5][t]) = split(s, oe0, oe1);
                    (cols[3][t], cols[7][t]) = split(s, oo0, oo1);
                }
                _ => unreachable!("forward kernels are instantiated for 1, 2, 4, 8 bytes only"),
            }
        }
        for (j, col) in cols.into_iter().enumerate() {
            for (b, v) in forward_column(s, col).into_iter().enumerate() {
                s.store(v, &mut out[(8 * j + b) * row + k * S::WIDTH..]);
            }
        }
    }
    blocks * block
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
    transpose_bits(s, &mut r);
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
// `t` indexes the same vector of several byte columns at once.
#[allow(clippy::needless_range_loop)]
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
                let c = [
                    inverse_column(s, input, row, 0, off),
                    inverse_column(s, input, row, 1, off),
                    inverse_column(s, input, row, 2, off),
                    inverse_column(s, input, row, 3, off),
                ];
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
                let mut c = [[s.zero(); 8]; 8];
                for (j, col) in c.iter_mut().enumerate() {
                    *col = inverse_column(s, input, row, j, off);
                }
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
