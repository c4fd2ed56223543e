"""Write small chunked datasets with h5py + hdf5plugin, one per filter setting, and dump
what the file stores: per dataset the filter pipeline (id, flags, cd_values) and every chunk
as read by `read_direct_chunk`, plus the raw data. Output: JSON at argv[2].

usage: python filters_write.py OUT.h5 OUT.json
"""
import json
import sys

import h5py
import hdf5plugin
import numpy as np

SHAPE = (10, 70)
CHUNKS = (4, 32)  # partial edge chunks on both axes

FILTERS = {
    "deflate4": dict(compression="gzip", compression_opts=4),
    "lzf": dict(compression="lzf"),
    "szip8": dict(compression="szip", compression_opts=("nn", 8)),
    "lz4": hdf5plugin.LZ4(),
    "lz4_512": hdf5plugin.LZ4(nbytes=512),
    "bitshuffle_lz4": hdf5plugin.Bitshuffle(cname="lz4"),
    "bitshuffle_lz4_64": hdf5plugin.Bitshuffle(nelems=64, cname="lz4"),
    "bitshuffle_zstd3": hdf5plugin.Bitshuffle(cname="zstd", clevel=3),
    "zstd3": hdf5plugin.Zstd(clevel=3),
    "zstd19": hdf5plugin.Zstd(clevel=19),
    "zstd-5": hdf5plugin.Zstd(clevel=-5),
}
SHUFFLES = {"none": hdf5plugin.Blosc.NOSHUFFLE, "byte": hdf5plugin.Blosc.SHUFFLE, "bit": hdf5plugin.Blosc.BITSHUFFLE}
for cname in ("blosclz", "lz4", "lz4hc", "zlib", "zstd"):
    for sname, shuffle in SHUFFLES.items():
        FILTERS[f"blosc_{cname}_5_{sname}"] = hdf5plugin.Blosc(cname=cname, clevel=5, shuffle=shuffle)


def contents(dtype, rng):
    n = SHAPE[0] * SHAPE[1]
    counts = np.where(rng.random(n) < 0.2, rng.integers(1, 40, n), 0).reshape(SHAPE)
    rand = np.frombuffer(rng.bytes(n * np.dtype(dtype).itemsize), dtype=dtype).reshape(SHAPE)
    return {"sparse": counts.astype(dtype), "zeros": np.zeros(SHAPE, dtype), "random": rand}


def main(h5_path, json_path):
    rng = np.random.default_rng(2024)
    out = []
    with h5py.File(h5_path, "w") as f:
        for dtype in ("<u2", "<f4"):
            for cname, data in contents(dtype, rng).items():
                for fname, opts in FILTERS.items():
                    name = f"{fname}/{np.dtype(dtype).name}/{cname}"
                    d = f.create_dataset(name, data=data, chunks=CHUNKS, **opts)
                    plist = d.id.get_create_plist()
                    filters = [list(plist.get_filter(i)[:3]) for i in range(plist.get_nfilters())]
                    chunks = []
                    for y in range(0, SHAPE[0], CHUNKS[0]):
                        for x in range(0, SHAPE[1], CHUNKS[1]):
                            mask, raw = d.id.read_direct_chunk((y, x))
                            chunks.append({"offset": [y, x], "mask": mask, "hex": raw.hex()})
                    out.append({
                        "name": name, "filter": fname, "dtype": np.dtype(dtype).name,
                        "shape": list(SHAPE), "chunks_shape": list(CHUNKS),
                        "filters": [[i, fl, list(cd)] for i, fl, cd in filters],
                        "chunks": chunks, "data_hex": data.tobytes().hex(),
                    })
    versions = {"h5py": h5py.version.version, "hdf5": h5py.version.hdf5_version,
                "hdf5plugin": hdf5plugin.version}
    with open(json_path, "w") as fh:
        json.dump({"versions": versions, "datasets": out}, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
