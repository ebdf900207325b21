# LoRA checks on HDF5 files (tests/integration/lora.sh):
#   merged BASE ADAPTER MERGED : MERGED's projections == BASE's + (alpha/r) B A of ADAPTER
#                                (its tensors in lora.h's order), every other tensor equal
#   groups_equal DIR_A DIR_B   : the per-user group files hold the same users and adapters
import glob, os, sys
import h5py
import numpy as np

mode = sys.argv[1]
if mode == "merged":
    base, ad, merged = (h5py.File(p, "r") for p in sys.argv[2:5])
    r, alpha = int(ad.attrs["lora_rank"]), float(ad.attrs["lora_alpha"])
    targets = ad.attrs["lora_targets"]
    targets = (targets.decode() if isinstance(targets, bytes) else targets).split(",")
    mod = {"q": "self_attn.q_proj", "k": "self_attn.k_proj", "v": "self_attn.v_proj", "o": "self_attn.o_proj",
           "gate": "mlp.gate_proj", "up": "mlp.up_proj", "down": "mlp.down_proj"}
    order = ["q", "k", "v", "o", "gate", "up", "down"]
    p = ad["lora/params"][()]
    L = int(base.attrs["model_n_layers"])
    # lora.h's arena: per target (q, k, v, o, gate, up, down), A of every layer (L, r, in),
    # then B of every layer (L, out, r)
    off, worst, want = 0, 0.0, {}
    for t in order:
        if t not in targets: continue
        names = ["model.layers.%d.%s.weight" % (l, mod[t]) for l in range(L)]
        out, inp = base[names[0]].shape
        A = p[off:off + L * r * inp].reshape(L, r, inp); off += L * r * inp
        B = p[off:off + L * out * r].reshape(L, out, r); off += L * out * r
        for l, name in enumerate(names):
            want[name] = base[name][()].astype(np.float64) + (alpha / r) * (B[l].astype(np.float64) @ A[l].astype(np.float64))
    assert off == p.size, (off, p.size)
    n = 0
    def visit(name, obj):
        global worst, n
        if not isinstance(obj, h5py.Dataset) or name.startswith("optimizer") or name.startswith("trainer"): return
        ref = want.get(name, base[name][()])
        worst = max(worst, float(np.abs(merged[name][()] - ref).max())); n += 1
    merged.visititems(visit)
    if worst > 1e-5 or n < len(want): print("merged differs: max |diff| %.3g over %d tensors" % (worst, n)); sys.exit(1)
    print("max |merged - (W + s B A)| %.2g over %d tensors (%d adapted)" % (worst, n, len(want)))
elif mode == "groups_equal":
    def load(d):
        out = {}
        for f in sorted(glob.glob(os.path.join(d, "group-*.h5"))):
            h = h5py.File(f, "r"); P = int(h.attrs["params"])
            for i, u in enumerate(h["users"][()]):
                out[u] = h["lora/params"][i * P:(i + 1) * P]
        return out
    a, b = load(sys.argv[2]), load(sys.argv[3])
    if sorted(a) != sorted(b): print("users differ: %d vs %d" % (len(a), len(b))); sys.exit(1)
    bad = [u for u in a if not np.array_equal(a[u], b[u])]
    if bad: print("%d users' adapters differ" % len(bad)); sys.exit(1)
    print("%d users, adapters bitwise equal" % len(a))
