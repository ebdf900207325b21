"""Compares two run directories of the same config made under two MPI libraries: the same
files; every HDF5 dataset equal (values, dtype, shape) and every attribute equal except the
provenance ones (nq_*: time, config text with the run directory, input paths; the SHA-256
of input files, which hash those too) and the wall-clock
datasets (metrics/step_seconds, metrics/tokens_per_s); JSON files equal but for their
"provenance" object; every other file byte-equal once each run directory's path is replaced
by RUN_DIR. Prints a summary; exit 1 naming the first difference.
    same_outputs.py RUN_A RUN_B [ENTRY...]   (ENTRY: compare only these top-level entries of RUN_B)"""
import json, os, sys
import h5py, numpy as np

WALL_CLOCK = {"metrics/step_seconds", "metrics/tokens_per_s"}
FILE_DIGESTS = {"shard_digest", "effect_file_digest", "checkpoint_digest"}
SKIP_DIRS = {"logs", "stamps", "report", "locks"}   # report: drawn from the files compared here, plus step times; locks: who held them (pid, host)


def files(root):
    out = set()
    for d, subs, names in os.walk(root):
        rel = os.path.relpath(d, root)
        if rel.split(os.sep)[0] in SKIP_DIRS:
            continue
        out.update(os.path.normpath(os.path.join(rel, n)) for n in names)
    return out


def same_value(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def unrooted(v, root):
    """A string attribute with its run directory's path replaced by RUN_DIR (paths of inputs)."""
    if isinstance(v, bytes):
        return v.replace(root.encode(), b"RUN_DIR")
    if isinstance(v, str):
        return v.replace(root, "RUN_DIR")
    return v


def attrs_differ(name, x, y, roots):
    ka = {k for k in x.attrs if not k.startswith("nq_") and k not in FILE_DIGESTS}
    kb = {k for k in y.attrs if not k.startswith("nq_") and k not in FILE_DIGESTS}
    if ka != kb:
        return f"{name}: attributes {sorted(ka ^ kb)} in one file only"
    for k in sorted(ka):
        if not same_value(unrooted(x.attrs[k], roots[0]), unrooted(y.attrs[k], roots[1])):
            return f"{name}: attribute {k} differs"
    return None


def h5_differ(pa, pb, counts, roots):
    with h5py.File(pa, "r") as a, h5py.File(pb, "r") as b:
        names_a, names_b = [], []
        a.visit(names_a.append)
        b.visit(names_b.append)
        if names_a != names_b:
            return f"objects differ: {sorted(set(names_a) ^ set(names_b))[:5]}"
        for name in [None] + names_a:
            x, y = (a, b) if name is None else (a[name], b[name])
            why = attrs_differ(name or "/", x, y, roots)
            if why:
                return why
            if isinstance(x, h5py.Dataset) and name not in WALL_CLOCK:
                if not same_value(x[()], y[()]):
                    return f"dataset {name} differs"
                counts[0] += 1
    return None


def main(ra, rb, *only):
    fa, fb = files(ra), files(rb)
    if only:
        fa = {f for f in fa if f.split(os.sep)[0] in only}
    if fa != fb:
        print(f"not the same files: {sorted(fa ^ fb)[:8]}")
        return 1
    counts, n_h5, n_text = [0], 0, 0
    roots = (os.path.abspath(ra), os.path.abspath(rb))
    for rel in sorted(fa):
        pa, pb = os.path.join(ra, rel), os.path.join(rb, rel)
        if rel.endswith(".h5"):
            why = h5_differ(pa, pb, counts, roots)
            n_h5 += 1
        else:
            ta = unrooted(open(pa, "rb").read(), roots[0])
            tb = unrooted(open(pb, "rb").read(), roots[1])
            if rel.endswith(".json"):
                ta, tb = (json.loads(t) for t in (ta, tb))
                for t in (ta, tb):
                    if isinstance(t, dict):
                        t.pop("provenance", None)
            why = None if ta == tb else "contents differ"
            n_text += 1
        if why:
            print(f"{rel}: {why}")
            return 1
    print(f"{n_h5} HDF5 files ({counts[0]} datasets) and {n_text} other files equal")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
