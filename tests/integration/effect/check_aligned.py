# python3 check_aligned.py RUN_DIR: each effects file matches its shard (targets, truth,
# sample order) and its numbers are self-consistent (effect = exp(lw) - exp(l0), ranks >= 1).
import os
import sys
import h5py
import numpy as np

run = sys.argv[1]
for name in sorted(os.listdir(os.path.join(run, "effects"))):
    with h5py.File(os.path.join(run, "shards", name)) as s, h5py.File(os.path.join(run, "effects", name)) as e:
        tl = s["target_length"][:]
        off = e["samples/offset"][:]
        if not np.array_equal(np.diff(off), tl):
            sys.exit(f"{name}: sample offsets do not follow the shard's target lengths")
        if e.attrs["n_tokens"] != tl.sum():
            sys.exit(f"{name}: n_tokens differs from the shard's targets")
        if not np.array_equal(e["truth"][:], s["truth"][:]) or not np.array_equal(e["truth_rare"][:], s["truth_rare"][:]):
            sys.exit(f"{name}: truth not copied index for index")
        if list(e["samples/id"].asstr()[:]) != list(s["id"].asstr()[:]):
            sys.exit(f"{name}: sample order differs")
        comp = e["samples/computed"][:].astype(bool)
        tok = np.repeat(comp, tl)
        lw, l0, ef = e["logp_with"][:][tok], e["logp_without"][:][tok], e["effect"][:][tok]
        if not np.allclose(ef, np.exp(lw) - np.exp(l0), atol=1e-6):
            sys.exit(f"{name}: effect != exp(logp_with) - exp(logp_without)")
        if (e["rank_with"][:][tok] < 1).any() or (e["js"][:][tok] < 0).any() or (e["js"][:][tok] > np.log(2) + 1e-6).any():
            sys.exit(f"{name}: rank or js out of range")
        if not np.isnan(e["effect"][:][~tok]).all():
            sys.exit(f"{name}: skipped samples are not NaN")
        if np.abs(ef).max() == 0:
            sys.exit(f"{name}: all effects are zero")
print("aligned")
