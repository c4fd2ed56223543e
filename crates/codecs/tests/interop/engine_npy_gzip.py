"""Write NPY's array as the study's simple_gzip did (np.save into a gzip stream at level 9),
with mtime 0 and no file name in the header, to OUT.

Usage: engine_npy_gzip.py NPY OUT
"""

import gzip
import sys

import numpy as np

data = np.load(sys.argv[1])
with open(sys.argv[2], "wb") as raw:
    with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f:
        np.save(f, data)
