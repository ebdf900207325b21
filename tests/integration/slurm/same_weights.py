# same_weights.py A.h5 B.h5: exit 0 when every model tensor (datasets outside optimizer/ and
# trainer/) of two nq-train outputs is bitwise equal; else print the first difference, exit 1.
import sys
import h5py
import numpy as np


def tensors(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and not name.startswith(("optimizer", "trainer")):
                out[name] = obj[()]
        f.visititems(visit)
    return out


a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
if not a:
    sys.exit(f"{sys.argv[1]}: no tensors")
if a.keys() != b.keys():
    sys.exit(f"different tensors: {sorted(a.keys() ^ b.keys())[:5]}")
for k in sorted(a):
    if a[k].shape != b[k].shape or not np.array_equal(a[k], b[k]):
        d = np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)).max() if a[k].shape == b[k].shape else "shape"
        sys.exit(f"{k} differs (max abs diff {d})")
print(f"{len(a)} tensors equal")
