"""Zarr v3 interop with zarr-python 3, for crates/cli/tests/interop_zarr.rs.

    read STORE REFERENCE       open stemz's store, check format 3 and sharding, compare bitwise
                               with REFERENCE (.npy, or an EMD 1.0 file read with h5py)
    write STORE DATA.npy       write a sharded Blosc store of a known cube (and the cube as .npy)

Prints one JSON line; exits non-zero on any mismatch.
"""
import json
import sys

import numpy as np
import zarr
from zarr.codecs import BloscCodec, ShardingCodec


def read(store, reference):
    a = zarr.open_array(store, mode="r")
    meta = json.load(open(f"{store}/zarr.json"))
    if reference.endswith(".emd"):
        import h5py

        with h5py.File(reference, "r") as f:
            want = f["version_1/data/datacubes/datacube_000/data"][...]
    else:
        want = np.load(reference)
    got = a[...]
    sharded = any(isinstance(c, ShardingCodec) for c in a.metadata.codecs)
    out = {
        "zarr_format": meta["zarr_format"],
        "sharded": sharded,
        "shards": list(a.shards) if a.shards else None,
        "chunks": list(a.chunks),
        "dtype": str(got.dtype),
        "shape": list(got.shape),
        "equal": bool(got.dtype == want.dtype and np.array_equal(got, want)),
        "attributes": dict(a.attrs),
    }
    print(json.dumps(out))
    ok = out["zarr_format"] == 3 and sharded and out["equal"]
    sys.exit(0 if ok else 1)


def write(store, data_path):
    rng = np.random.default_rng(7)
    shape = (6, 5, 24, 20)
    data = rng.poisson(0.3, size=shape).astype(np.uint16)
    data[2, 3] = rng.integers(0, 65535, size=shape[2:], dtype=np.uint16)
    a = zarr.create_array(
        store=store,
        shape=shape,
        dtype="uint16",
        chunks=(1, 1, 24, 20),
        shards=(2, 5, 24, 20),
        compressors=[BloscCodec(cname="zstd", clevel=5, shuffle="bitshuffle")],
        fill_value=0,
        zarr_format=3,
        dimension_names=["scan_y", "scan_x", "det_y", "det_x"],
    )
    a[...] = data
    np.save(data_path, data)
    print(json.dumps({"written": store, "shards": list(a.shards)}))


if __name__ == "__main__":
    {"read": read, "write": write}[sys.argv[1]](sys.argv[2], sys.argv[3])
