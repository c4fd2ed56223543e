"""Check a .npy written by stemz's NpyWriter with NumPy, then write the same values back as a
big-endian Fortran-order file for NpyReader.

usage: npy_check.py STEMZ_NPY DTYPE SHAPE(a,b,c,d) OUT_NPY

The values follow the formula of crates/data/tests/npy.rs (`value`)."""

import sys

import numpy as np


def expected(dtype, shape):
    i = np.arange(int(np.prod(shape)), dtype=np.uint64)
    if dtype == "uint8":
        v = (i * 7 % 251).astype(np.uint8)
    elif dtype == "uint16":
        v = ((i * 257 + 3) % 2**16).astype(np.uint16)
    elif dtype == "uint32":
        v = ((i * 2654435761) % 2**32).astype(np.uint32)
    elif dtype == "float32":
        v = (i.astype(np.float64) * 0.5 - 3.25).astype(np.float32)
    else:
        raise SystemExit(f"unknown dtype {dtype}")
    return v.reshape(shape)


def main():
    path, dtype, shape, out = sys.argv[1:5]
    shape = tuple(int(s) for s in shape.split(","))
    want = expected(dtype, shape)
    got = np.load(path)
    if got.dtype != want.dtype or got.shape != want.shape:
        raise SystemExit(f"{path}: got {got.dtype} {got.shape}, want {want.dtype} {want.shape}")
    with open(path, "rb") as f:
        head = f.read(10)
    if head[6] != 1:
        raise SystemExit(f"{path}: format version {head[6]}, want 1")
    data_offset = 10 + int.from_bytes(head[8:10], "little")
    if data_offset % 64:
        raise SystemExit(f"{path}: data start at {data_offset}, not a multiple of 64")
    if not np.array_equal(got, want):
        bad = np.argwhere(got != want)[:5]
        raise SystemExit(f"{path}: mismatch at {bad.tolist()}: got {got[tuple(bad[0])]}, want {want[tuple(bad[0])]}")
    np.save(out, np.asfortranarray(want.astype(want.dtype.newbyteorder(">"))))
    print(f"{path}: ok ({dtype} {shape})")


main()
