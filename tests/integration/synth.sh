#!/usr/bin/env bash
# nq-synth end to end: determinism over seeds and rank counts, rerun/--force behaviour,
# and an independent (Python) check of the planted ground truth on the written file.
# Run from the repo root with build/ built.
set -u
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
BIN=build/nq-synth
T=$(mktemp -d /tmp/nq-synth-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
failed=0
ok() { echo "ok $1"; }
bad() { echo "not ok $1: $2"; failed=1; }

# configs/smoke.cfg once it carries the synth section; a standalone config until then
if [ -f configs/smoke.cfg ] && grep -q '^synth' configs/smoke.cfg; then
  CFG=configs/smoke.cfg
else
  CFG=$T/smoke.cfg
  cat > "$CFG" <<'EOF'
name = "synth-test"; run_dir = "results/synth-test"; seed = 7;
synth: { users = 40; reviews_min = 5; reviews_max = 7; items = 80; brands = 200; pool_size = 60; };
EOF
fi
run() {  # run NP OUT [args...]
  local np=$1 out=$2; shift 2
  mpirun -np "$np" --oversubscribe $BIN "$CFG" --set run_dir=\"$T/run\" --set synth.output=\"$out\" "$@"
}

if run 1 "$T/a.jsonl" > "$T/log1" 2>&1 && [ -s "$T/a.jsonl" ]; then ok synth_runs
else bad synth_runs "$(tail -n 3 "$T/log1")"; fi

run 2 "$T/b.jsonl" > "$T/log2" 2>&1
if cmp -s "$T/a.jsonl" "$T/b.jsonl"; then ok synth_np1_equals_np2
else bad synth_np1_equals_np2 "outputs differ ($(tail -n 1 "$T/log2"))"; fi

run 3 "$T/c.jsonl" > "$T/log3" 2>&1
if cmp -s "$T/a.jsonl" "$T/c.jsonl"; then ok synth_np1_equals_np3
else bad synth_np1_equals_np3 "outputs differ"; fi

run 1 "$T/d.jsonl" > /dev/null 2>&1
if cmp -s "$T/a.jsonl" "$T/d.jsonl"; then ok synth_same_seed_identical
else bad synth_same_seed_identical "two runs differ"; fi

run 1 "$T/e.jsonl" --set synth.seed_offset=1 > /dev/null 2>&1
if [ -s "$T/e.jsonl" ] && ! cmp -s "$T/a.jsonl" "$T/e.jsonl"; then ok synth_seed_offset_differs
else bad synth_seed_offset_differs "seed_offset=1 gave the same file"; fi

before=$(stat -c %Y.%s "$T/a.jsonl")
if run 1 "$T/a.jsonl" > "$T/log4" 2>&1 && grep -q "up to date" "$T/log4" \
   && [ "$(stat -c %Y.%s "$T/a.jsonl")" = "$before" ]; then ok synth_rerun_does_nothing
else bad synth_rerun_does_nothing "$(tail -n 1 "$T/log4")"; fi

cp "$T/a.jsonl" "$T/a.keep"
if ! run 1 "$T/a.jsonl" --set synth.users=41 > "$T/log5" 2>&1 && grep -q -- "--force" "$T/log5" \
   && cmp -s "$T/a.jsonl" "$T/a.keep"; then ok synth_changed_config_needs_force
else bad synth_changed_config_needs_force "$(tail -n 1 "$T/log5")"; fi

if run 1 "$T/a.jsonl" --set synth.users=41 --force > "$T/log6" 2>&1 && ! cmp -s "$T/a.jsonl" "$T/a.keep"; then
  ok synth_force_overwrites
else bad synth_force_overwrites "$(tail -n 1 "$T/log6")"; fi

if ! run 1 "$T/f.jsonl" --set synth.min_profile=4 > "$T/log7" 2>&1 && grep -q "min_profile" "$T/log7" \
   && [ ! -e "$T/f.jsonl" ]; then ok synth_bad_params_rejected
else bad synth_bad_params_rejected "$(tail -n 1 "$T/log7")"; fi

# Independent check of the file: spans, ASCII, splits, and the recoverability figure.
if /usr/bin/python3 - "$T/b.jsonl" > "$T/py" 2>&1 <<'EOF'
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
hist = {}
for r in rows:
    out = r["output"]
    assert out.isascii(), r["id"]
    sp, ph = r["pref_spans"], r["pref_phrases"]
    assert len(sp) == len(ph) == len(r["pref_kinds"]) == len(r["pref_rare"]), r["id"]
    end = 0
    for (a, b), p in zip(sp, ph):
        assert end <= a < b <= len(out), (r["id"], a, b)
        assert p in out[a:b], (r["id"], p)
        end = b
    assert r["split"] in ("train", "valid", "test")
    if r["split"] == "test":
        hist[r["user_id"]] = (r, "\n".join(p["text"] for p in r["profile"]))
def has(text, p):
    return re.search(r"(?<![A-Za-z0-9])" + re.escape(p) + r"(?![A-Za-z0-9])", text, re.I) is not None
users = sorted(hist)
same = {True: [], False: []}; other = {True: [], False: []}
for u in users:
    r, h = hist[u]
    for p, k, rare in zip(r["pref_phrases"], r["pref_kinds"], r["pref_rare"]):
        if k == "case": continue
        same[rare].append(has(h, p))
        other[rare].append(sum(has(hist[v][1], p) for v in users if v != u) / (len(users) - 1))
def rate(x): return sum(x) / max(len(x), 1)
for rare, name in ((False, "common"), (True, "rare")):
    print(f"{name}: same-user {rate(same[rare]):.3f} vs other-user {rate(other[rare]):.3f} (n={len(same[rare])})")
s_all, o_all = rate(same[False] + same[True]), rate(other[False] + other[True])
assert s_all >= 3 * o_all, (s_all, o_all)
assert rate(same[True]) >= 10 * rate(other[True])
EOF
then ok "synth_ground_truth ($(tr '\n' ';' < "$T/py"))"
else bad synth_ground_truth "$(tail -n 2 "$T/py" | tr '\n' ' ')"; fi

exit $failed
