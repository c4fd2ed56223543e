"""Open a file that `stemz compress` wrote from a Merlin .mib with h5py + hdf5plugin and compare
it with rosettasciio's decoding of the same .mib.

usage: read_compressed_mib.py MIB OUT.h5|OUT.emd DATASET FILTER_ID

FILTER_ID is the HDF5 filter the file must use (0: none); rosettasciio flips frames vertically,
so its frames are flipped back before comparing (stemz keeps file order)."""

import sys

import h5py
import hdf5plugin  # noqa: F401  (registers the plugin filters with h5py)
import numpy as np
from rsciio.quantumdetector import file_reader


def main():
    mib, out, dataset, filter_id = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with h5py.File(out, "r") as f:
        d = f[dataset]
        ours = d[...]
        plist = d.id.get_create_plist()
        filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    if filter_id and filter_id not in filters:
        raise SystemExit(f"{out}: filter {filter_id} expected, pipeline has {filters}")
    sy, sx, dy, dx = ours.shape
    n = sy * sx
    theirs = np.asarray(file_reader(mib, lazy=False, navigation_shape=(n,))[0]["data"])
    theirs = np.flip(theirs, axis=-2).reshape(sy, sx, dy, dx)
    # rosettasciio keeps the file's big-endian dtype; compare kind, width and values
    same_type = (theirs.dtype.kind, theirs.dtype.itemsize) == (ours.dtype.kind, ours.dtype.itemsize)
    if not same_type or not np.array_equal(ours, theirs):
        raise SystemExit(f"{out}: h5py read differs from rosettasciio's decoding of {mib}")
    print(f"{out}: {ours.shape} {ours.dtype} via filters {filters} equals rosettasciio's {mib}")


main()
