//! Throughput of the bit transpose behind the Bitshuffle filter (32008): forward and inverse,
//! element sizes 1, 2 and 4 bytes, on 8 KiB blocks (the filter's default block) over 64 MiB of
//! sparse detector-like data (about 75 % zeros, small counts otherwise).
//!
//! Every kernel this CPU runs is measured (`scalar`, `sse2`, `avx2`); the filter itself uses
//! [`Kernel::detected`]. Run with `cargo bench -p stemz-codecs --bench bitshuffle`; criterion
//! reports MiB/s of input.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use stemz_codecs::filters::bitshuffle::{trans_bit_elem_with, untrans_bit_elem_with, Kernel};

const TOTAL_BYTES: usize = 64 << 20;
const BLOCK_BYTES: usize = 8192;

/// Sparse little-endian counts of `elem_size` bytes from a fixed-seed xorshift generator.
fn sparse_data(elem_size: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = vec![0u8; TOTAL_BYTES];
    for elem in out.chunks_exact_mut(elem_size) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        if state % 4 == 0 {
            let value = (state >> 32) % 200 + 1;
            let bytes = value.to_le_bytes();
            let n = elem_size.min(8);
            elem[..n].copy_from_slice(&bytes[..n]);
        }
    }
    out
}

fn bench_bitshuffle(c: &mut Criterion) {
    for elem_size in [1usize, 2, 4] {
        let input = sparse_data(elem_size);
        let mut shuffled = vec![0u8; TOTAL_BYTES];
        for (src, dst) in input
            .chunks_exact(BLOCK_BYTES)
            .zip(shuffled.chunks_exact_mut(BLOCK_BYTES))
        {
            trans_bit_elem_with(Kernel::Scalar, src, dst, elem_size)
                .expect("8 KiB blocks hold a multiple of 8 elements");
        }
        let mut out = vec![0u8; TOTAL_BYTES];

        let mut group = c.benchmark_group(format!("bitshuffle_u{}", 8 * elem_size));
        group.throughput(Throughput::Bytes(TOTAL_BYTES as u64));
        group.sample_size(10);
        group.warm_up_time(std::time::Duration::from_secs(1));
        group.measurement_time(std::time::Duration::from_secs(3));
        for kernel in Kernel::ALL.into_iter().filter(|k| k.is_available()) {
            let name = format!("{kernel:?}").to_lowercase();
            group.bench_function(BenchmarkId::new("forward", &name), |b| {
                b.iter(|| {
                    for (src, dst) in input
                        .chunks_exact(BLOCK_BYTES)
                        .zip(out.chunks_exact_mut(BLOCK_BYTES))
                    {
                        trans_bit_elem_with(kernel, black_box(src), dst, elem_size)
                            .expect("valid block");
                    }
                })
            });
            group.bench_function(BenchmarkId::new("inverse", &name), |b| {
                b.iter(|| {
                    for (src, dst) in shuffled
                        .chunks_exact(BLOCK_BYTES)
                        .zip(out.chunks_exact_mut(BLOCK_BYTES))
                    {
                        untrans_bit_elem_with(kernel, black_box(src), dst, elem_size)
                            .expect("valid block");
                    }
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_bitshuffle);
criterion_main!(benches);
