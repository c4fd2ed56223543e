"""Open a `stemz compress --checksum` output with h5py + hdf5plugin.

usage: read_checksummed.py FILE DATASET ok|damaged

ok: the Fletcher-32 filter (id 3) is in the pipeline and every chunk reads.
damaged: reading the whole dataset must fail loudly (HDF5 refuses the checksum), never
return altered values silently.
"""

import sys

import h5py
import hdf5plugin  # noqa: F401  (registers the compression filters)

path, dataset, mode = sys.argv[1], sys.argv[2], sys.argv[3]
with h5py.File(path, "r") as f:
    ds = f[dataset]
    ids = [ds.id.get_create_plist().get_filter(i)[0] for i in range(ds.id.get_create_plist().get_nfilters())]
    assert ids[-1] == h5py.h5z.FILTER_FLETCHER32, f"pipeline {ids} does not end with Fletcher-32"
    assert ds.fletcher32, "h5py does not see the checksum"
    if mode == "ok":
        data = ds[()]
        print(f"read {data.shape} {data.dtype}, pipeline {ids}")
    else:
        try:
            ds[()]
        except OSError as e:
            print(f"refused as expected: {e}")
        else:
            sys.exit("a damaged chunk was read without an error")
