# Independent check of nq-shard outputs (docs/hdf5-layout.md), run by tests/integration/shard.sh
# with /usr/bin/python3 + h5py:
#   shard_check.py layout RUN_DIR JSONL MAX_PROMPT MAX_TARGET MAX_ITEMS
#       every dataset's length/offset/consistency rule; target tokens decoded with the
#       run's tokenizer.json equal the JSONL target (prefix when truncated); truth and
#       truth_rare recomputed from the JSONL spans
#   shard_check.py same DIR_A DIR_B [ATTRS]  every dataset of every shard has the same bytes
#                                            (ATTRS: attributes not compared, comma separated)
#   shard_check.py expect RUN_DIR EXPECT.json   the shards hold exactly the samples of EXPECT
#       ({id: [split, target text]}, written by the test from its own files): split and
#       decoded target (a prefix when cut to max_target_tokens) of each
import json, os, sys
import h5py, numpy as np

def fail(msg):
    print(msg); sys.exit(1)

def shards(d):
    return sorted(f for f in os.listdir(d) if f.startswith("shard-") and f.endswith(".h5"))

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return {chr(c): b for b, c in zip(bs, cs)}

def layout(run, jsonl, max_prompt, max_target, max_items):
    tj = json.load(open(os.path.join(run, "tokenizer.json")))
    vocab = {i: s for s, i in tj["model"]["vocab"].items()}
    for t in tj.get("added_tokens", []):
        vocab[t["id"]] = t["content"]
    dec = bytes_to_unicode()
    def tok_bytes(i):
        return bytes(dec[ch] for ch in vocab[i])
    recs = {}
    for line in open(jsonl, "rb"):
        if line.strip():
            r = json.loads(line)
            recs[str(r["id"])] = r
    seen = 0
    for name in shards(os.path.join(run, "shards")):
        f = h5py.File(os.path.join(run, "shards", name), "r")
        a = f.attrs
        if a["nq_stage"] not in (b"shard", "shard"): fail(f"{name}: nq_stage {a['nq_stage']}")
        n = int(a["n_samples"]); eos = int(a["eos_id"]); V = int(a["vocab_size"])
        tok = f["tokens"][:]
        if tok.dtype != np.int32 or len(tok) != int(a["n_tokens"]): fail(f"{name}: tokens")
        if tok.min() < 0 or tok.max() >= V: fail(f"{name}: token ids outside the vocabulary")
        for k in ["id", "user", "split", "hist_offset", "hist_length", "nohist_offset", "nohist_length",
                  "target_length", "target_offset", "history_items"]:
            if f[k].shape != (n,): fail(f"{name}: {k} has shape {f[k].shape}, expected ({n},)")
        ho, hl, no, nl = f["hist_offset"][:], f["hist_length"][:], f["nohist_offset"][:], f["nohist_length"][:]
        tl, to, hi = f["target_length"][:], f["target_offset"][:], f["history_items"][:]
        users = [u.decode() if isinstance(u, bytes) else u for u in f["users"][:]]
        if users != sorted(set(users)): fail(f"{name}: users not sorted/distinct")
        ids = [u.decode() if isinstance(u, bytes) else u for u in f["id"][:]]
        at = 0; tat = 0
        truth = f["truth"][:] if "truth" in f else None
        rare = f["truth_rare"][:] if "truth_rare" in f else None
        decisive = f["truth_decisive"][:] if "truth_decisive" in f else None
        if truth is not None and len(truth) != tl.sum(): fail(f"{name}: truth length {len(truth)} != {tl.sum()}")
        for i in range(n):
            if ho[i] != at or no[i] != at + hl[i]: fail(f"{name}: sample {i}: offsets not contiguous")
            at = no[i] + nl[i]
            if to[i] != tat: fail(f"{name}: sample {i}: target_offset")
            tat += tl[i]
            T = tl[i]
            if not (1 <= T <= max_target): fail(f"{name}: sample {i}: target_length {T}")
            if hl[i] - T > max_prompt or nl[i] - T > max_prompt: fail(f"{name}: sample {i}: prompt too long")
            if not (0 <= hi[i] <= max_items): fail(f"{name}: sample {i}: history_items {hi[i]}")
            th, tn = tok[ho[i] + hl[i] - T: ho[i] + hl[i]], tok[no[i] + nl[i] - T: no[i] + nl[i]]
            if not np.array_equal(th, tn): fail(f"{name}: sample {i}: targets differ between sequences")
            if th[-1] != eos: fail(f"{name}: sample {i}: target does not end in <|endoftext|>")
            if (tok[ho[i]:ho[i] + hl[i] - T] == eos).any(): fail(f"{name}: sample {i}: eos inside prompt")
            r = recs[ids[i]]
            if users[f["user"][i]] != str(r["user_id"]): fail(f"{name}: sample {i}: user")
            want_split = {"train": 0, "valid": 1, "dev": 1, "test": 2}[r["split"]]
            if f["split"][i] != want_split: fail(f"{name}: sample {i}: split")
            if hi[i] == 0 and not np.array_equal(tok[ho[i]:ho[i] + hl[i]], tok[no[i]:no[i] + nl[i]]):
                fail(f"{name}: sample {i}: no history used but sequences differ")
            if hi[i] > min(len(r["profile"]), max_items): fail(f"{name}: sample {i}: more items than the profile")
            out = r["output"].encode()
            ends = []; text = b""
            for t in th[:-1]:
                text += tok_bytes(int(t)); ends.append(len(text))
            if not out.startswith(text) or (T < max_target and text != out):
                fail(f"{name}: sample {i} ({ids[i]}): decoded target {text[:40]!r} != {out[:40]!r}")
            if truth is not None:
                for kind, arr, use, spans in (("truth", truth, None, r["pref_spans"]),
                                              ("truth_rare", rare, r.get("pref_rare"), r["pref_spans"]),
                                              ("truth_decisive", decisive, None, r.get("pref_decisive"))):
                    if arr is None: continue
                    want = np.zeros(T, np.uint8)
                    for k, (s, e) in enumerate(spans):
                        if use is not None and not use[k]: continue
                        for j in range(T - 1):
                            a0 = ends[j - 1] if j else 0
                            if a0 < e and s < ends[j]: want[j] = 1
                    if not np.array_equal(arr[to[i]:to[i] + T], want):
                        fail(f"{name}: sample {i} ({ids[i]}): {kind} differs from the spans")
            seen += 1
        if at != len(tok): fail(f"{name}: tokens has {len(tok)} entries, samples use {at}")
    if seen != len(recs): fail(f"{seen} samples in shards, {len(recs)} records")
    print(f"{seen} samples checked")

def same(da, db, ignore=()):
    la, lb = shards(da), shards(db)
    if la != lb or not la: fail(f"shard lists differ: {la} vs {lb}")
    for name in la:
        fa, fb = h5py.File(os.path.join(da, name), "r"), h5py.File(os.path.join(db, name), "r")
        if sorted(fa.keys()) != sorted(fb.keys()): fail(f"{name}: datasets differ")
        for k in fa.keys():
            x, y = fa[k][:], fb[k][:]
            if x.dtype == object: x, y = [bytes(v) for v in x], [bytes(v) for v in y]
            elif x.dtype != y.dtype or x.shape != y.shape: fail(f"{name}: dataset {k} type/shape differs")
            else: x, y = x.tobytes(), y.tobytes()
            if x != y:
                fail(f"{name}: dataset {k} differs")
        for k in ("tokenizer_digest", "vocab_size", "bad_records", "n_samples", "n_tokens"):
            if k not in ignore and fa.attrs[k] != fb.attrs[k]: fail(f"{name}: attribute {k} differs")
    print(f"{len(la)} shards identical")

def expect(run, path):
    want = json.load(open(path))
    tj = json.load(open(os.path.join(run, "tokenizer.json")))
    vocab = {i: s for s, i in tj["model"]["vocab"].items()}
    dec = bytes_to_unicode()
    seen = {}
    for name in shards(os.path.join(run, "shards")):
        f = h5py.File(os.path.join(run, "shards", name), "r")
        tok, no, nl, tl = f["tokens"][:], f["nohist_offset"][:], f["nohist_length"][:], f["target_length"][:]
        for i, sid in enumerate(f["id"][:]):
            sid = sid.decode() if isinstance(sid, bytes) else sid
            if sid not in want: fail(f"{name}: sample {sid} not expected")
            split, text = want[sid]
            if int(f["split"][i]) != {"train": 0, "valid": 1, "test": 2}[split]: fail(f"{name}: {sid}: split {f['split'][i]}, expected {split}")
            ids = tok[no[i] + nl[i] - tl[i]: no[i] + nl[i] - 1]
            got = b"".join(bytes(dec[ch] for ch in vocab[int(t)]) for t in ids)
            if not text.encode().startswith(got) or not got: fail(f"{name}: {sid}: target {got[:40]!r} is not {text[:40]!r}")
            seen[sid] = 1
    if sorted(seen) != sorted(want): fail(f"{len(seen)} samples in the shards, expected {len(want)}: missing {sorted(set(want) - set(seen))[:5]}")
    print(f"{len(seen)} samples as expected")

if sys.argv[1] == "expect":
    expect(sys.argv[2], sys.argv[3])
elif sys.argv[1] == "layout":
    layout(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
else:
    same(sys.argv[2], sys.argv[3], sys.argv[4].split(",") if len(sys.argv) > 4 else ())
