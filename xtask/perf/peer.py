"""The Python peer for `cargo xtask perf`: the study's HDF5 matrix through h5py + hdf5plugin,
timed exactly as the study did (write = create file, create_dataset with the data, close;
read = `dset[:]` with the file already open). The Zarr methods (`zarr_*`) go through
zarr-python 3 instead, with the codecs, inner chunks and shard shape stemz writes (write =
create_array and assign the data; read = `a[...]` of the opened array).

zarr-python 3 encodes and decodes chunks on a thread pool (`asyncio.to_thread`, as many workers
as cores by default; its Blosc runs single-threaded inside each). `--zarr-threads 1` caps that
pool at one worker (`threading.max_workers`), which makes the Zarr peer single-threaded as
h5py is: the peer `stemz`'s serial engine is held to. Without it, zarr-python uses every core,
the peer of the parallel engine (as `BLOSC_NTHREADS` is for hdf5plugin's Blosc).

Generated data stay in memory as a NumPy array (as in the study). Appends one CSV row per
measurement to --out: impl,method,chunking,rep,write_s,read_s,file_bytes,uncompressed_bytes,ratio,lossless
"""
import argparse
import csv
import os
import sys
import time

import h5py
import hdf5plugin
import numpy as np

BLOSC = hdf5plugin.Blosc
BLOSC2 = hdf5plugin.Blosc2


def filter_kwargs(method):
    """h5py/hdf5plugin keyword arguments per method name, as the study's benchmark used them."""
    table = {
        "none": {},
        "gzip_1": {"compression": "gzip", "compression_opts": 1},
        "gzip_6": {"compression": "gzip", "compression_opts": 6},
        "gzip_9": {"compression": "gzip", "compression_opts": 9},
        "lzf": {"compression": "lzf"},
        "szip": {"compression": "szip"},
        "blosc_blosclz": dict(BLOSC(cname="blosclz", clevel=5, shuffle=BLOSC.SHUFFLE)),
        "blosc_lz4": dict(BLOSC(cname="lz4", clevel=5, shuffle=BLOSC.SHUFFLE)),
        "blosc_lz4hc": dict(BLOSC(cname="lz4hc", clevel=5, shuffle=BLOSC.SHUFFLE)),
        "blosc_zlib": dict(BLOSC(cname="zlib", clevel=5, shuffle=BLOSC.SHUFFLE)),
        "blosc_zstd": dict(BLOSC(cname="zstd", clevel=3, shuffle=BLOSC.SHUFFLE)),
        "lz4_hdf5": dict(hdf5plugin.LZ4()),
        "bitshuffle_lz4": dict(hdf5plugin.Bitshuffle(cname="lz4")),
        "bitshuffle_zstd": dict(hdf5plugin.Bitshuffle(cname="zstd")),
        "zstd_3": dict(hdf5plugin.Zstd(clevel=3)),
        "zstd_9": dict(hdf5plugin.Zstd(clevel=9)),
        "blosc_zstd_bitshuffle": dict(BLOSC(cname="zstd", clevel=3, shuffle=BLOSC.BITSHUFFLE)),
        "blosc_zstd_bitshuffle_5": dict(BLOSC(cname="zstd", clevel=5, shuffle=BLOSC.BITSHUFFLE)),
        "blosc_lz4_bitshuffle": dict(BLOSC(cname="lz4", clevel=5, shuffle=BLOSC.BITSHUFFLE)),
        "blosc2_zstd_bitshuffle_1": dict(BLOSC2(cname="zstd", clevel=1, filters=BLOSC2.BITSHUFFLE)),
        "blosc2_zstd_bitshuffle_5": dict(BLOSC2(cname="zstd", clevel=5, filters=BLOSC2.BITSHUFFLE)),
        "blosc2_zstd_shuffle_1": dict(BLOSC2(cname="zstd", clevel=1, filters=BLOSC2.SHUFFLE)),
        "blosc2_lz4_bitshuffle_9": dict(BLOSC2(cname="lz4", clevel=9, filters=BLOSC2.BITSHUFFLE)),
        "blosc2_lz4_shuffle_9": dict(BLOSC2(cname="lz4", clevel=9, filters=BLOSC2.SHUFFLE)),
    }
    if method not in table:
        sys.exit(f"peer.py: unknown method {method}")
    return table[method]


def chunk_shape(chunking, shape):
    sy, sx, qy, qx = shape
    if chunking == "real_space":
        return (min(32, sy), min(32, sx), min(256, qy), min(256, qx))
    if chunking == "balanced":
        return (min(16, sy), min(16, sx), min(128, qy), min(128, qx))
    if chunking == "single_frame":
        return (1, 1, qy, qx)
    sys.exit(f"peer.py: unknown chunking {chunking}")


# SHARD_TARGET_BYTES and the growth rule of stemz's `codecs/src/zarr.rs` (`shard_shape`); the
# perf record's ratio check fails if the two ever disagree.
SHARD_TARGET_BYTES = 64 << 20


def shard_shape(shape, inner, itemsize):
    det = [-(-shape[2] // inner[2]) * inner[2], -(-shape[3] // inner[3]) * inner[3]]

    def nbytes(a, b):
        return a * inner[0] * b * inner[1] * det[0] * det[1] * itemsize

    max_a, max_b = -(-shape[0] // inner[0]), -(-shape[1] // inner[1])
    b = 1
    while b < max_b and nbytes(1, b + 1) <= SHARD_TARGET_BYTES:
        b += 1
    a = 1
    if b == max_b:
        while a < max_a and nbytes(a + 1, b) <= SHARD_TARGET_BYTES:
            a += 1
    return (a * inner[0], b * inner[1], det[0], det[1])


def zarr_codec(method, itemsize):
    from zarr.codecs import BloscCodec, ZstdCodec

    table = {
        "zarr_blosc_zstd": lambda: BloscCodec(cname="zstd", clevel=3, shuffle="shuffle", typesize=itemsize),
        "zarr_blosc_zstd_bitshuffle": lambda: BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle", typesize=itemsize),
        "zarr_blosc_lz4": lambda: BloscCodec(cname="lz4", clevel=5, shuffle="shuffle", typesize=itemsize),
        "zarr_zstd_3": lambda: ZstdCodec(level=3),
    }
    if method not in table:
        sys.exit(f"peer.py: unknown Zarr method {method}")
    return table[method]()


def measure_zarr(data, method, chunking, path):
    import shutil

    import zarr

    inner = chunk_shape(chunking, data.shape)
    t0 = time.perf_counter()
    a = zarr.create_array(
        store=path,
        shape=data.shape,
        dtype=data.dtype,
        chunks=inner,
        shards=shard_shape(data.shape, inner, data.dtype.itemsize),
        compressors=[zarr_codec(method, data.dtype.itemsize)],
        fill_value=0,
        zarr_format=3,
    )
    a[...] = data
    write_s = time.perf_counter() - t0
    a = zarr.open_array(path, mode="r")
    t0 = time.perf_counter()
    back = a[...]
    read_s = time.perf_counter() - t0
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
    shutil.rmtree(path)
    return write_s, read_s, back, size


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--input", required=True)
    p.add_argument("--dataset", default="version_1/data/datacubes/datacube_000/data")
    p.add_argument("--methods", required=True)
    p.add_argument("--chunkings", required=True)
    p.add_argument("--rep", type=int, required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--impl", default="h5py", help="the impl column (h5py-mt with BLOSC_NTHREADS)")
    p.add_argument("--zarr-threads", type=int, help="zarr-python's worker threads (default: its own, one per core)")
    a = p.parse_args()
    if a.zarr_threads is not None:
        import zarr

        # Read when zarr-python first starts its pool, so set before any array is touched.
        zarr.config.set({"threading.max_workers": a.zarr_threads})

    with h5py.File(a.input, "r") as f:
        data = f[a.dataset][...]
    new = not os.path.exists(a.out)
    with open(a.out, "a", newline="") as out:
        w = csv.writer(out)
        if new:
            w.writerow(["impl", "method", "chunking", "rep", "write_s", "read_s", "file_bytes",
                        "uncompressed_bytes", "ratio", "lossless"])
        for method in a.methods.split(","):
            for chunking in a.chunkings.split(","):
                if method.startswith("zarr_"):
                    path = os.path.join(a.workdir, f"peer_{method}_{chunking}.zarr")
                    write_s, read_s, back, size = measure_zarr(data, method, chunking, path)
                    lossless = bool(np.array_equal(back.view(np.uint8), data.view(np.uint8)))
                    w.writerow([a.impl, method, chunking, a.rep, f"{write_s:.6f}", f"{read_s:.6f}",
                                size, data.nbytes, f"{data.nbytes / size:.6f}", lossless])
                    out.flush()
                    continue
                path = os.path.join(a.workdir, f"peer_{method}_{chunking}.h5")
                chunks = chunk_shape(chunking, data.shape)
                t0 = time.perf_counter()
                with h5py.File(path, "w") as f:
                    f.create_dataset("data", data=data, chunks=chunks, **filter_kwargs(method))
                write_s = time.perf_counter() - t0
                with h5py.File(path, "r") as f:
                    d = f["data"]
                    t0 = time.perf_counter()
                    back = d[:]
                    read_s = time.perf_counter() - t0
                lossless = bool(np.array_equal(back.view(np.uint8), data.view(np.uint8)))
                size = os.path.getsize(path)
                os.remove(path)
                w.writerow([a.impl, method, chunking, a.rep, f"{write_s:.6f}", f"{read_s:.6f}",
                            size, data.nbytes, f"{data.nbytes / size:.6f}", lossless])
                out.flush()


if __name__ == "__main__":
    main()
