"""Compare stemz's decoding of a Merlin .mib (saved as .npy) with rosettasciio's reader.

usage: mib_rsciio.py MIB STEMZ_NPY

stemz keeps pixels in file order; rosettasciio's file_reader flips every frame vertically
(np.flip(data, axis=-2)), so its frames are flipped back before comparing. Its navigation shape
comes from the .hdr (or a guess from timestamps) and must match stemz's when the .hdr has
ScanX/ScanY; when that loads a different number of frames
the file is read again with navigation_shape=(frames,) so every frame is compared."""

import sys

import numpy as np
from rsciio.quantumdetector import file_reader


def main():
    mib, npy = sys.argv[1:3]
    ours = np.load(npy)
    sy, sx, dy, dx = ours.shape
    n = sy * sx
    data = np.asarray(file_reader(mib, lazy=False)[0]["data"])
    nav = data.shape[:-2]
    # the scan shape is only a fact when the .hdr states it (else both readers guess)
    hdr = file_reader(mib, lazy=True)[0]["original_metadata"].get("hdr_file") or {}
    if "ScanX" in hdr and nav != (sy, sx):
        raise SystemExit(f"{mib}: rsciio navigation shape {nav}, stemz scan {(sy, sx)}")
    if int(np.prod(nav)) != n:
        data = np.asarray(file_reader(mib, lazy=False, navigation_shape=(n,))[0]["data"])
    theirs = np.flip(data, axis=-2).reshape(n, dy, dx)
    if (theirs.dtype.kind, theirs.dtype.itemsize) != (ours.dtype.kind, ours.dtype.itemsize):
        raise SystemExit(f"{mib}: rsciio dtype {theirs.dtype}, stemz {ours.dtype}")
    ours = ours.reshape(n, dy, dx)
    if not np.array_equal(ours, theirs):
        diff = np.argwhere(ours != theirs)
        f, y, x = diff[0]
        raise SystemExit(
            f"{mib}: {len(diff)} pixels differ; first at frame {f} ({y}, {x}): "
            f"stemz {ours[f, y, x]}, rsciio {theirs[f, y, x]}"
        )
    print(f"{mib}: {n} frames of {dy}x{dx} {ours.dtype} identical (rsciio nav {nav})")


main()
