"""Interop checks of stemz's HDF5 engines against h5py + hdf5plugin.

Usage: engine_interop.py MANIFEST.json RESULTS.json

For every case of the manifest (written by tests/interop_engines.rs):
  (a) read stemz's files (serial and parallel engine) with h5py + hdf5plugin, compare bitwise
      with the original array (.npy);
  (b) write the same array with h5py + hdf5plugin exactly as the study did
      (create_dataset(..., data=..., chunks=..., **filter)) for stemz to read back;
  (c) compare the stored chunk payloads of stemz's files with h5py's (read_direct_chunk).
Writes one result object per case to RESULTS.json.
"""

import json
import sys

import h5py
import hdf5plugin
import numpy as np


def filter_kwargs(method):
    """The study's create_dataset arguments for a method (compression_benchmark.py)."""
    if method == "none":
        return {}
    if method.startswith("gzip_"):
        return dict(compression="gzip", compression_opts=int(method.split("_")[1]))
    if method == "lzf":
        return dict(compression="lzf")
    if method == "szip":
        return dict(compression="szip")
    shuffle = hdf5plugin.Blosc.SHUFFLE
    blosc = {
        "blosc_blosclz": ("blosclz", 5, shuffle),
        "blosc_lz4": ("lz4", 5, shuffle),
        "blosc_lz4hc": ("lz4hc", 5, shuffle),
        "blosc_zlib": ("zlib", 5, shuffle),
        "blosc_zstd": ("zstd", 3, shuffle),
        "blosc_zstd_bitshuffle": ("zstd", 3, hdf5plugin.Blosc.BITSHUFFLE),
        "blosc_zstd_bitshuffle_5": ("zstd", 5, hdf5plugin.Blosc.BITSHUFFLE),
        "blosc_lz4_bitshuffle": ("lz4", 5, hdf5plugin.Blosc.BITSHUFFLE),
    }
    if method in blosc:
        cname, clevel, sh = blosc[method]
        return dict(hdf5plugin.Blosc(cname=cname, clevel=clevel, shuffle=sh))
    if method == "lz4_hdf5":
        return dict(hdf5plugin.LZ4(nbytes=0))
    if method == "bitshuffle_lz4":
        return dict(hdf5plugin.Bitshuffle(nelems=0, cname="lz4"))
    if method == "bitshuffle_zstd":
        return dict(hdf5plugin.Bitshuffle(nelems=0, cname="zstd"))
    if method.startswith("zstd_"):
        return dict(hdf5plugin.Zstd(clevel=int(method.split("_")[1])))
    if method.startswith("blosc2_"):
        # blosc2_<cname>_<filter>_<clevel>, exactly hdf5plugin.Blosc2's arguments.
        _, cname, filt, clevel = method.split("_")
        filters = {"shuffle": hdf5plugin.Blosc2.SHUFFLE, "bitshuffle": hdf5plugin.Blosc2.BITSHUFFLE}[filt]
        return dict(hdf5plugin.Blosc2(cname=cname, clevel=int(clevel), filters=filters))
    raise ValueError(f"unknown method {method}")


def chunks_of(path):
    out = {}
    with h5py.File(path, "r") as f:
        d = f["data"]
        for i in range(d.id.get_num_chunks()):
            info = d.id.get_chunk_info(i)
            mask, payload = d.id.read_direct_chunk(info.chunk_offset)
            out[tuple(info.chunk_offset)] = (mask, bytes(payload))
    return out


def bit_equal(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def main():
    manifest = json.load(open(sys.argv[1]))
    results = []
    for case in manifest["cases"]:
        original = np.load(case["npy"])
        res = {"method": case["method"], "chunking": case["chunking"], "dtype": case["dtype"]}
        # (a) h5py + hdf5plugin read stemz's files.
        for engine, path in case["stemz"].items():
            try:
                with h5py.File(path, "r") as f:
                    res[f"a_{engine}"] = bit_equal(f["data"][()], original)
            except Exception as e:  # report, do not hide
                res[f"a_{engine}"] = False
                res[f"a_{engine}_error"] = repr(e)
        # (b) h5py + hdf5plugin write the study's file.
        with h5py.File(case["h5py"], "w") as f:
            f.create_dataset("data", data=original, chunks=tuple(case["chunks"]), **filter_kwargs(case["method"]))
        # (c) chunk payloads.
        ref = chunks_of(case["h5py"])
        for engine, path in case["stemz"].items():
            ours = chunks_of(path)
            same_keys = set(ref) == set(ours)
            identical = same_keys and all(ref[k] == ours[k] for k in ref)
            res[f"c_{engine}_identical"] = identical
            res[f"c_{engine}_bytes"] = sum(len(p) for _, p in ours.values())
            if not identical:
                diff = [k for k in ref if k not in ours or ref[k] != ours[k]]
                res[f"c_{engine}_first_diff"] = list(diff[0]) if diff else None
        res["c_h5py_bytes"] = sum(len(p) for _, p in ref.values())
        results.append(res)
    json.dump({"hdf5_version": h5py.version.hdf5_version, "hdf5plugin": hdf5plugin.version, "results": results},
              open(sys.argv[2], "w"), indent=1)


if __name__ == "__main__":
    main()
