"""Check that an EMD 1.0 file written by `stemz convert` opens with h5py, rosettasciio and
py4DSTEM, each giving the expected shape and values.

usage: read_emd.py OUT.emd EXPECTED.npy
Exits non-zero with a message on the first mismatch.
"""
import sys

import h5py
import numpy as np

DATASET = "version_1/data/datacubes/datacube_000/data"


def check(name, got, want):
    got = np.asarray(got)
    if got.shape != want.shape:
        sys.exit(f"{name}: shape {got.shape} != expected {want.shape}")
    if not np.array_equal(got, want):
        sys.exit(f"{name}: values differ from the input")
    print(f"{name}: ok {got.shape} {got.dtype}")


def main():
    path, expected = sys.argv[1], sys.argv[2]
    want = np.load(expected)

    with h5py.File(path, "r") as f:
        check("h5py", f[DATASET][()], want)
        if f[DATASET].dtype != want.dtype:
            sys.exit(f"h5py: dtype {f[DATASET].dtype} != {want.dtype}")

    from rsciio.emd import file_reader

    found = file_reader(path)
    cubes = [d for d in found if np.asarray(d["data"]).ndim == 4]
    if len(cubes) != 1:
        sys.exit(f"rosettasciio: expected one 4D signal, got {[np.shape(d['data']) for d in found]}")
    check("rosettasciio", cubes[0]["data"], want)

    import py4DSTEM

    dc = py4DSTEM.read(path)
    data = getattr(dc, "data", None)
    if data is None:
        # py4DSTEM.read returns the root when the file holds a tree: find the DataCube.
        data = dc.tree("datacubes/datacube_000").data
    check("py4DSTEM", data, want)


if __name__ == "__main__":
    main()
