# check.py MODE ...: checks of nq-eval outputs for tests/integration/eval.sh.
#   outputs RUN_DIR NAME...   files exist and parse; metrics.json means equal the per-sample
#                             scores' (token-weighted NLL, micro recall); intervals contain
#                             the means; p-values; summary.csv rows; provenance digests
#   recall JSONL PRED...      phrase recall recomputed from the corpus's pref_phrases
#   prompts EVAL_DIR          with/without-history prompt digests per row
import csv, hashlib, json, math, os, re, sys


def die(msg):
    print(msg)
    sys.exit(1)


def load_preds(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def near(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def outputs(run, names):
    ev = os.path.join(run, "eval")
    keys = ["rouge1", "rouge2", "rougeL", "meteor", "bleu", "nll", "nll_pref", "nll_other", "phrase_recall"]
    n0 = None
    for name in names:
        preds = load_preds(os.path.join(ev, name, "predictions.jsonl"))
        with open(os.path.join(ev, name, "metrics.json"), encoding="utf-8") as f:
            m = json.load(f)
        if m["model"] != name or m["n_samples"] != len(preds):
            die(f"{name}: metrics.json names {m['model']} with {m['n_samples']} samples, predictions has {len(preds)}")
        n0 = n0 or len(preds)
        if len(preds) != n0:
            die(f"{name}: {len(preds)} predictions, {n0} for the first row")
        ids = [p["id"] for p in preds]
        if ids != sorted(ids, key=lambda s: s.encode()):
            die(f"{name}: predictions are not in id order")
        for p in preds:
            for k in ["id", "user", "prompt_digest", "output", "reference", "output_tokens", "stop",
                      "rouge1", "rouge2", "rougeL", "meteor", "sentence_bleu", "nll", "target_tokens"]:
                if k not in p:
                    die(f"{name}: prediction {p.get('id')} lacks '{k}'")
        mm = m["metrics"]
        for k in keys:
            c = mm[k]
            if c["mean"] is not None and not (c["lo"] - 1e-12 <= c["mean"] <= c["hi"] + 1e-12):
                die(f"{name}: {k} mean {c['mean']} outside [{c['lo']}, {c['hi']}]")
        for k in ["rouge1", "rouge2", "rougeL", "meteor"]:
            want = sum(p[k] for p in preds) / len(preds)
            if not near(mm[k]["mean"], want):
                die(f"{name}: {k} mean {mm[k]['mean']} != per-sample mean {want}")
        tok = sum(p["target_tokens"] for p in preds)
        want = sum(p["nll"] * p["target_tokens"] for p in preds) / tok
        if not near(mm["nll"]["mean"], want, 1e-8):
            die(f"{name}: NLL {mm['nll']['mean']} != token-weighted {want}")
        pt = sum(p["pref_tokens"] for p in preds)
        want = sum(p["nll_pref"] * p["pref_tokens"] for p in preds if p["pref_tokens"]) / pt
        if not near(mm["nll_pref"]["mean"], want, 1e-8):
            die(f"{name}: NLL pref {mm['nll_pref']['mean']} != token-weighted {want}")
        ph = sum(p["phrases"] for p in preds)
        want = sum(p["phrases_used"] for p in preds) / ph
        if not near(mm["phrase_recall"]["mean"], want):
            die(f"{name}: phrase recall {mm['phrase_recall']['mean']} != {want}")
        base = m["baseline"]
        for k in keys:
            p = mm[k]["p_vs_baseline"]
            if name == base and p is not None:
                die(f"{name}: baseline has a p-value for {k}")
            if name != base and base and not (0 < p <= 1):
                die(f"{name}: p-value {p} for {k}")
        prov = m["provenance"]
        for s in prov["shard_files"]:
            if sha256(s["path"]) != s["sha256"]:
                die(f"{name}: provenance digest of {s['path']} is stale")
        for mn, c in prov["checkpoints"].items():
            if sha256(c["path"]) != c["sha256"]:
                die(f"{name}: provenance digest of checkpoint {mn} is stale")
    with open(os.path.join(ev, "summary.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if [r["model"] for r in rows] != names:
        die(f"summary.csv rows {[r['model'] for r in rows]} != {names}")
    with open(os.path.join(ev, names[0], "metrics.json"), encoding="utf-8") as f:
        r1 = json.load(f)["metrics"]["rouge1"]["mean"]
    if not near(float(rows[0]["rouge1"]), r1, 1e-5):
        die(f"summary.csv rouge1 {rows[0]['rouge1']} != metrics.json {r1}")
    md = open(os.path.join(ev, "summary.md"), encoding="utf-8").read()
    if md.count("\n| ") != len(names):
        die("summary.md does not have one row per model")
    return f"{len(names)} rows x {n0} samples"


def used(text, phrase):
    # the C matcher's rule: case-insensitive, word boundaries where the phrase starts/ends
    # with a letter or digit
    pat = re.escape(phrase)
    if phrase[:1].isalnum():
        pat = r"(?<![A-Za-z0-9])" + pat
    if phrase[-1:].isalnum():
        pat = pat + r"(?![A-Za-z0-9])"
    return re.search(pat, text, re.IGNORECASE) is not None


def recall(jsonl, preds_paths):
    recs = {}
    with open(jsonl, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            recs[r["id"]] = r
    total = checked = 0
    for path in preds_paths:
        for p in load_preds(path):
            r = recs[p["id"]]
            phrases = []
            for ph, kind in zip(r["pref_phrases"], r["pref_kinds"]):
                if kind != "case" and ph not in phrases:
                    phrases.append(ph)
            u = sum(used(p["output"], ph) for ph in phrases)
            if (u, len(phrases)) != (p["phrases_used"], p["phrases"]):
                die(f"{path}: {p['id']}: C says {p['phrases_used']}/{p['phrases']}, Python {u}/{len(phrases)}")
            if p["reference"] != r["output"]:
                die(f"{path}: {p['id']}: reference differs from the corpus target")
            # the reference uses every planted phrase: a self-check of the matcher
            if sum(used(r["output"], ph) for ph in phrases) != len(phrases):
                die(f"{p['id']}: a planted phrase is not found in its own target")
            total += u
            checked += 1
    return f"{checked} predictions, {total} phrases used"


def prompts(ev):
    d = {}
    for name in ["context_sft", "sft", "nextquill", "nextquill+cos", "base"]:
        d[name] = [p["prompt_digest"] for p in load_preds(os.path.join(ev, name, "predictions.jsonl"))]
    if d["nextquill"] != d["context_sft"] or d["nextquill+cos"] != d["context_sft"] or d["base"] != d["context_sft"]:
        die("with-history rows do not share prompts")
    same = sum(a == b for a, b in zip(d["sft"], d["context_sft"]))
    with open(os.path.join(ev, "sft", "metrics.json"), encoding="utf-8") as f:
        if json.load(f)["prompt"] != "no history":
            die("sft is not marked as prompted without history")
    if same == len(d["sft"]):
        die("sft used the with-history prompts")
    return f"sft differs on {len(d['sft']) - same}/{len(d['sft'])} prompts (same = no history items)"


mode = sys.argv[1]
if mode == "outputs":
    print(outputs(sys.argv[2], sys.argv[3:]))
elif mode == "recall":
    print(recall(sys.argv[2], sys.argv[3:]))
elif mode == "prompts":
    print(prompts(sys.argv[2]))
else:
    die(f"unknown mode {mode}")
