# cmp.py MODE A B [tol]: compare two nq-train outputs.
#   losses A/metrics.h5 B/metrics.h5 tol : per-step loss agrees within tol relative (tol 0 = bitwise)
#   weights A.h5 B.h5        : every parameter dataset bitwise equal
#   decreases A/metrics.h5   : mean loss of the last 3 steps < mean of the first 3
import sys, h5py, numpy as np
mode, a = sys.argv[1], sys.argv[2]
def tensors(p):
    out = {}
    with h5py.File(p) as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) and not n.startswith(("optimizer", "trainer")) else None)
    return out
if mode == "decreases":
    l = h5py.File(a)["metrics/loss"][()]
    first, last = l[:3].mean(), l[-3:].mean()
    if not last < first: sys.exit(f"loss did not decrease: first {first:.4f} last {last:.4f}")
    print(f"{first:.4f} -> {last:.4f}")
elif mode == "losses":
    b, tol = sys.argv[3], float(sys.argv[4])
    la, lb = h5py.File(a)["metrics/loss"][()], h5py.File(b)["metrics/loss"][()]
    if la.shape != lb.shape: sys.exit(f"{la.shape} vs {lb.shape} steps")
    if tol == 0:
        if not np.array_equal(la, lb): sys.exit(f"losses differ: {la} vs {lb}")
    else:
        rel = np.abs(la - lb) / np.abs(lb)
        if rel.max() > tol: sys.exit(f"max relative difference {rel.max():.3g} > {tol}")
        print(f"max rel diff {rel.max():.3g}")
elif mode == "weights":
    ta, tb = tensors(a), tensors(sys.argv[3])
    if ta.keys() != tb.keys(): sys.exit("different tensors")
    for k in ta:
        if not np.array_equal(ta[k], tb[k]): sys.exit(f"{k} differs")
elif mode in ("close", "close_moments"):
    # close A.h5 B.h5 atol rtol: every parameter (close_moments: every AdamW moment) within
    # |a - b| <= atol + rtol |b|; prints the largest difference
    b, atol, rtol = sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
    def pick(p):
        out = {}
        with h5py.File(p) as f:
            def take(n, o):
                if not isinstance(o, h5py.Dataset) or n.startswith("trainer"): return
                if n.startswith("optimizer") == (mode == "close_moments"): out[n] = o[()]
            f.visititems(take)
        return out
    ta, tb = pick(a), pick(b)
    if not ta or ta.keys() != tb.keys(): sys.exit(f"different tensors ({len(ta)} vs {len(tb)})")
    worst = 0.0
    for k in ta:
        d = np.abs(ta[k].astype(np.float64) - tb[k])
        if (d > atol + rtol * np.abs(tb[k])).any(): sys.exit(f"{k} differs by up to {d.max():.3g}")
        worst = max(worst, float(d.max()))
    print(f"max abs diff {worst:.3g}")
