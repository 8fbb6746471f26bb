#!/usr/bin/python3
"""Generates the NumPy-written test files in this directory.

Run from this directory: /usr/bin/python3 gen.py
The files are committed; tensorio's tests compare them against values that
they recompute (np.arange based), so regenerating with another NumPy version
must not change what the tests expect. Written with NumPy 1.24.2.
"""
import numpy as np
from numpy.lib import format as npf


def arange(shape, dtype):
    n = int(np.prod(shape))
    return np.arange(n).astype(dtype).reshape(shape)


# One file per supported descr, shape (2, 3), values 0..5.
for descr in ["<f8", "<f4", "<f2", "<i8", "<i4", "<i2", "|i1", "|u1"]:
    np.save("np_%s.npy" % descr[1:], arange((2, 3), descr))
np.save("np_b1.npy", np.array([True, False, True]))

# Big-endian variants: values 0..5, shape (2, 3).
np.save("np_be_f4.npy", arange((2, 3), ">f4"))
np.save("np_be_i8.npy", arange((2, 3), ">i8"))

# Fortran order: C-order values 0..23 in shape (2, 3, 4), stored column-major.
np.save("np_fortran_i2.npy", np.asfortranarray(arange((2, 3, 4), "<i2")))

# 0-d scalar, empty array, 1-d array.
np.save("np_scalar_f8.npy", np.array(3.5))
np.save("np_empty_f4.npy", np.zeros((0, 3), "<f4"))
np.save("np_1d_i4.npy", np.array([-1, 2, -3], "<i4"))

# Version 2.0 and 3.0 headers.
for v in [(2, 0), (3, 0)]:
    with open("np_v%d.npy" % v[0], "wb") as f:
        npf.write_array(f, arange((2, 3), "<f4"), version=v)

# Archives: a = arange (2,3) f4, b = [1, 2, 3] i8, s = scalar bool True.
arrs = dict(a=arange((2, 3), "<f4"), b=np.array([1, 2, 3], "<i8"), s=np.array(True))
np.savez("np_savez.npz", **arrs)
np.savez_compressed("np_savez_compressed.npz", **arrs)
