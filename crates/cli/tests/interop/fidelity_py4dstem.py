"""Cross-check stemz's full-data fidelity targets against py4DSTEM 0.14.18 on the same cube, and
check that py4DSTEM opens a `stemz reduce` output holding the expected values and provenance.

usage: fidelity_py4dstem.py CUBE.npy OURS_DIR CY CX R RI RO REDUCED.emd BIN
OURS_DIR holds vbf.npy vadf.npy comy.npy comx.npy sum.npy mean.npy (float64), computed by stemz
with the disk (CY, CX, R) it found in the mean pattern and the annulus RI..RO.
Exits non-zero with a message on the first disagreement.
"""
import sys

import numpy as np


def close(name, got, want, rtol=1e-9):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        sys.exit(f"{name}: shape {got.shape} != {want.shape}")
    if not np.allclose(got, want, rtol=rtol, atol=1e-9 * max(1.0, np.abs(want).max())):
        i = np.unravel_index(np.argmax(np.abs(got - want)), got.shape)
        sys.exit(f"{name}: stemz {got[i]} != py4DSTEM {want[i]} at {i}")
    print(f"{name}: ok")


def main():
    cube_path, ours, cy, cx, r, ri, ro, reduced, b = sys.argv[1:10]
    cy, cx, r, ri, ro, b = float(cy), float(cx), float(r), float(ri), float(ro), int(b)
    cube = np.load(cube_path)
    load = lambda n: np.load(f"{ours}/{n}.npy")

    import py4DSTEM
    from py4DSTEM.process.utils import get_CoM

    dc = py4DSTEM.DataCube(data=cube)
    dp_mean = dc.get_dp_mean().data
    close("mean pattern", load("mean"), dp_mean)
    pr, px0, py0 = dc.get_probe_size(dp_mean, write_to_cal=False)
    close("disk from the mean pattern (r, x0, y0)", [r, cy, cx], [pr, px0, py0], rtol=1e-6)
    vbf = dc.get_virtual_image(mode="circle", geometry=((cy, cx), r), verbose=False).data
    close("virtual bright-field", load("vbf"), vbf)
    vadf = dc.get_virtual_image(
        mode="annular", geometry=((cy, cx), (ri, ro)), verbose=False
    ).data
    close("virtual annular dark-field", load("vadf"), vadf)
    comx = np.zeros(dc.Rshape)
    comy = np.zeros(dc.Rshape)
    for i in range(dc.R_Nx):
        for j in range(dc.R_Ny):
            comx[i, j], comy[i, j] = get_CoM(cube[i, j].astype(np.float64))
    # py4DSTEM's x is the detector row (our com_y), its y the column (our com_x).
    close("centre of mass (row)", load("comy"), comx)
    close("centre of mass (column)", load("comx"), comy)
    close("total counts", load("sum"), cube.sum(axis=(2, 3), dtype=np.float64))

    import h5py
    import hdf5plugin  # noqa: F401  (registers the Blosc filter for reading)

    sy, sx, dy, dx = cube.shape
    want = (
        cube[:, :, : dy // b * b, : dx // b * b]
        .astype(np.uint64)
        .reshape(sy, sx, dy // b, b, dx // b, b)
        .sum(axis=(3, 5))
    )
    got = py4DSTEM.read(reduced)
    data = getattr(got, "data", None)
    if data is None:
        data = got.tree("datacubes/datacube_000").data
    data = np.asarray(data)
    if data.dtype != np.uint32 or not np.array_equal(data.astype(np.uint64), want):
        sys.exit(f"py4DSTEM reads {data.dtype} {data.shape}, not the {b}x{b} bin sums")
    print("py4DSTEM opens stemz reduce output: ok")
    with h5py.File(reduced, "r") as f:
        for a in ["stemz_source_sha256", "stemz_operations", "stemz_target_errors", "stemz_version"]:
            if a not in f.attrs:
                sys.exit(f"reduced file lacks attribute {a}")
        print(f"provenance: ok ({f.attrs['stemz_operations']})")


if __name__ == "__main__":
    main()
