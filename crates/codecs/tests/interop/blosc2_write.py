"""Write small chunked datasets with h5py + hdf5plugin's Blosc2 filter (32026), one per
setting, rank and content, and dump what the file stores: the filter pipeline (id, flags,
cd_values), every chunk as read by `read_direct_chunk`, and the raw data. Output: JSON at argv[2].

Ranks 4 and 3 (B2ND frames, as 4D-STEM and EELS cubes are chunked), 2 (B2ND) and 1 (a plain
super-chunk frame), each with partial edge chunks. The layout "4d_blocks" is written only with
block sizes that give blocks whole on the last axis but split on another, with more than one
frame per block, e.g. (4, 4, 16, 32) blocks of (4, 4, 32, 32) u16 chunks: blocks that are not
contiguous in the chunk's C order, which c-blosc2 before 2.21.2 stored in C order (see
`csrc/stemz_blosc2.c`).

usage: python blosc2_write.py OUT.h5 OUT.json
"""
import json
import sys

import h5py
import hdf5plugin
import numpy as np

LAYOUTS = {
    "4d": ((3, 5, 16, 24), (2, 2, 16, 24)),
    "3d": ((5, 40, 30), (2, 40, 16)),
    "2d": ((10, 70), (4, 32)),
    "1d": ((1000,), (256,)),
}
BLOCKS_LAYOUT = ("4d_blocks", ((6, 5, 32, 32), (4, 4, 32, 32)))

FILTERS = {}
for cname in ("blosclz", "lz4", "lz4hc", "zstd"):
    for sname, code in (("none", 0), ("byte", 1), ("bit", 2)):
        for clevel in (1, 5, 9):
            FILTERS[f"{cname}_{clevel}_{sname}_0"] = hdf5plugin.Blosc2(cname=cname, clevel=clevel, filters=code)
# A block size in cd_values[1]: not settable through hdf5plugin.Blosc2, but written and read
# by its filter, so a stock h5py + hdf5plugin reads such files.
for blocksize in (4096, 65536):
    FILTERS[f"zstd_1_bit_{blocksize}"] = dict(compression=32026, compression_opts=(0, blocksize, 0, 0, 1, 2, 5))
# Blocks (4, 4, 16, 32) of the "4d_blocks" chunks: 16 KiB for u16, 32 KiB for f32.
BLOCK_FILTERS = {}
for blocksize in (16384, 32768):
    BLOCK_FILTERS[f"zstd_1_bit_{blocksize}"] = dict(compression=32026, compression_opts=(0, blocksize, 0, 0, 1, 2, 5))
    BLOCK_FILTERS[f"lz4_9_byte_{blocksize}"] = dict(compression=32026, compression_opts=(0, blocksize, 0, 0, 9, 1, 1))


def contents(shape, dtype, rng):
    n = int(np.prod(shape))
    counts = np.where(rng.random(n) < 0.2, rng.integers(1, 40, n), 0).reshape(shape)
    rand = np.frombuffer(rng.bytes(n * np.dtype(dtype).itemsize), dtype=dtype).reshape(shape)
    return {"sparse": counts.astype(dtype), "zeros": np.zeros(shape, dtype), "random": rand}


def main(h5_path, json_path):
    rng = np.random.default_rng(2026)
    out = []
    with h5py.File(h5_path, "w") as f:
        cases = [(layout, FILTERS) for layout in LAYOUTS.items()] + [(BLOCKS_LAYOUT, BLOCK_FILTERS)]
        for (lname, (shape, chunks_shape)), filters_of_layout in cases:
            for dtype in ("<u2", "<f4"):
                for cname, data in contents(shape, dtype, rng).items():
                    for fname, opts in filters_of_layout.items():
                        if not isinstance(opts, dict):
                            opts = dict(opts)
                        name = f"{fname}/{lname}/{np.dtype(dtype).name}/{cname}"
                        d = f.create_dataset(name, data=data, chunks=chunks_shape, **opts)
                        plist = d.id.get_create_plist()
                        filters = [list(plist.get_filter(i)[:3]) for i in range(plist.get_nfilters())]
                        chunks = []
                        for idx in np.ndindex(*[-(-s // c) for s, c in zip(shape, chunks_shape)]):
                            off = tuple(i * c for i, c in zip(idx, chunks_shape))
                            mask, raw = d.id.read_direct_chunk(off)
                            chunks.append({"offset": list(off), "mask": mask, "hex": raw.hex()})
                        out.append({
                            "name": name, "filter": fname, "dtype": np.dtype(dtype).name,
                            "shape": list(shape), "chunks_shape": list(chunks_shape),
                            "filters": [[i, fl, list(cd)] for i, fl, cd in filters],
                            "chunks": chunks, "data_hex": data.tobytes().hex(),
                        })
    versions = {"h5py": h5py.version.version, "hdf5": h5py.version.hdf5_version,
                "hdf5plugin": hdf5plugin.version}
    with open(json_path, "w") as fh:
        json.dump({"versions": versions, "datasets": out}, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
