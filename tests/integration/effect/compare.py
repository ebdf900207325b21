# python3 compare.py DIR_A DIR_B: every dataset of every effects/annotations file equal
# (bitwise), and the non-provenance attributes equal. Prints the first difference.
import os
import sys
import h5py
import numpy as np

a, b = sys.argv[1], sys.argv[2]
fa, fb = sorted(os.listdir(a)), sorted(os.listdir(b))
if fa != fb:
    sys.exit(f"file lists differ: {fa} vs {fb}")
for name in fa:
    if not name.endswith(".h5"):
        continue
    with h5py.File(os.path.join(a, name)) as x, h5py.File(os.path.join(b, name)) as y:
        dx, dy = [], []
        x.visit(lambda n: dx.append(n) if isinstance(x[n], h5py.Dataset) else None)
        y.visit(lambda n: dy.append(n) if isinstance(y[n], h5py.Dataset) else None)
        if dx != dy:
            sys.exit(f"{name}: datasets differ: {dx} vs {dy}")
        for n in dx:
            u, v = x[n][()], y[n][()]
            if u.dtype.kind == "f":
                same = np.array_equal(u, v, equal_nan=True)
            else:
                same = np.array_equal(u, v)
            if not same:
                sys.exit(f"{name}: dataset {n} differs")
        for k in x.attrs:
            if k.startswith("nq_"):
                continue
            if str(x.attrs[k]) != str(y.attrs.get(k)):
                sys.exit(f"{name}: attribute {k} differs")
print("same")
