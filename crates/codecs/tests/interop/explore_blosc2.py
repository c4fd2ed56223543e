"""Ratio (and rough, single-thread write time) of the Blosc2 / Blosc / Bitshuffle settings a stock
h5py + hdf5plugin 7.1 writes and reads, relative to the study's blosc_zstd: the measurement behind
the README's "Beyond the study: Blosc2" table. Not a test (timings are not asserted).

usage: explore_blosc2.py REF.h5 DATASET OUT.tsv
  REF.h5: a file stemz wrote (its chunk shape is used), e.g. for each small synthetic dataset
    cargo build -p stemz-cli && target/debug/stemz synth --scale small --out data/generated/small
    target/debug/stemz compress data/generated/small/4D_EELS.emd ref.h5 --method blosc_zstd \
        --chunking balanced --no-verify
    $STEMZ_INTEROP_PYTHON crates/codecs/tests/interop/explore_blosc2.py ref.h5 data 4D_EELS.tsv
  and for the real fixtures (Merlin_Single_Quad.zip, unzipped) the same with `--scan 3x3`.
"""
import sys, time, os, tempfile
import h5py, hdf5plugin, numpy as np

ref, dpath, out = sys.argv[1], sys.argv[2], sys.argv[3]
with h5py.File(ref, "r") as f:
    d = f[dpath]
    data = d[...]
    chunks = d.chunks
B2 = hdf5plugin.Blosc2
S = {}
S["blosc_zstd"] = hdf5plugin.Blosc(cname="zstd", clevel=3, shuffle=hdf5plugin.Blosc.SHUFFLE)
S["blosc_zstd_bitshuffle"] = hdf5plugin.Blosc(cname="zstd", clevel=3, shuffle=hdf5plugin.Blosc.BITSHUFFLE)
for lvl in (1, 3, 5, 9):
    S[f"bitshuffle_zstd_{lvl}"] = hdf5plugin.Bitshuffle(cname="zstd", clevel=lvl)
for lvl in (1, 3, 5, 9):
    for fn, fc in (("bit", 2), ("byte", 1)):
        S[f"b2_zstd_{lvl}_{fn}"] = B2(cname="zstd", clevel=lvl, filters=fc)
for bs in (8192, 16384, 32768, 65536, 131072, 262144, 1 << 20, 4 << 20):
    for lvl in (1, 3, 5):
        S[f"b2_zstd_{lvl}_bit_bs{bs}"] = dict(compression=32026, compression_opts=(0, bs, 0, 0, lvl, 2, 5))
for fn, fc in (("bit", 2), ("byte", 1)):
    S[f"b2_lz4_9_{fn}"] = B2(cname="lz4", clevel=9, filters=fc)
    S[f"b2_lz4hc_5_{fn}"] = B2(cname="lz4hc", clevel=5, filters=fc)
    S[f"b2_blosclz_5_{fn}"] = B2(cname="blosclz", clevel=5, filters=fc)
# Harder Blosc zstd with bit-shuffle, Blosc2's DELTA pre-filter, plain zstd, BZip2, gzip 9 + shuffle.
for lvl in (5, 9):
    S[f"blosc_zstd_{lvl}_bitshuffle"] = hdf5plugin.Blosc(cname="zstd", clevel=lvl, shuffle=hdf5plugin.Blosc.BITSHUFFLE)
for lvl in (1, 5, 9):
    S[f"b2_zstd_{lvl}_delta"] = B2(cname="zstd", clevel=lvl, filters=B2.DELTA)
for lvl in (9, 19):
    S[f"zstd_{lvl}"] = hdf5plugin.Zstd(clevel=lvl)
S["bzip2_9"] = hdf5plugin.BZip2(blocksize=9)
S["gzip_9_shuffle"] = dict(compression="gzip", compression_opts=9, shuffle=True)
rows = []
tmp = tempfile.mkdtemp()
for name, opts in S.items():
    p = os.path.join(tmp, "x.h5")
    t = time.perf_counter()
    with h5py.File(p, "w") as f:
        ds = f.create_dataset("d", data=data, chunks=chunks, **dict(opts))
        f.flush()
        size = ds.id.get_storage_size()
    dt = time.perf_counter() - t
    rows.append((name, size, dt))
    os.remove(p)
base = dict((n, (s, t)) for n, s, t in rows)["blosc_zstd"]
with open(out, "w") as fh:
    fh.write(f"# {ref} {dpath} shape={data.shape} dtype={data.dtype} chunks={chunks} raw={data.nbytes}\n")
    fh.write("setting\tbytes\tratio_vs_raw\tratio_vs_blosc_zstd\twrite_s\twrite_speed_vs_blosc_zstd\n")
    for n, s, t in rows:
        fh.write(f"{n}\t{s}\t{data.nbytes/s:.3f}\t{base[0]/s:.3f}\t{t:.3f}\t{base[1]/t:.2f}\n")
print(open(out).read())
