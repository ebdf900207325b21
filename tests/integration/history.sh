#!/usr/bin/env bash
# data.history_select end to end on a hand-made corpus (tests/integration/history/): sample t1's
# only item about its query (the oldest, "Steel Kettle") is not among its newest K = 2, so
# "bm25" shows it and "recent" does not, in --preview (which prints every item's BM25 score)
# and in the shards nq-shard writes (nq-eval prompts from those shards: the same selection).
# Run from the repo root with build/ built.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init history
DATA=tests/integration/history/corpus.jsonl
FIX=(--set "data.files=$DATA" --set tokenizer.vocab_size=300 --set shard.count=1 --set data.max_history_items=2
     --set data.fields.truth_spans= --set data.fields.truth_rare= --set data.fields.truth_decisive=
     --set data.fields.split=split)

# the with-history prompt of t1 in the preview (between its two "---" headers)
preview_prompt() { sed -n '/^=== sample .*id t1/,/^--- without history/p' "$1" | sed '1,/^--- with history/d;/^--- /d;/^  item /d'; }

for sel in bm25 recent; do
  build/nq-shard $CFG --set run_dir="$T/$sel" "${FIX[@]}" --set data.history_select=$sel --preview-id t1 \
    > "$T/$sel.preview" 2>&1 || bad history_preview_$sel "$(tail -n 2 "$T/$sel.preview")"
done
if preview_prompt "$T/bm25.preview" | grep -q "^\[Past\] Steel Kettle:" &&
   ! preview_prompt "$T/recent.preview" | grep -q "^\[Past\] Steel Kettle"; then
  ok history_preview_bm25_selects_the_relevant_old_item
else bad history_preview_bm25_selects_the_relevant_old_item "bm25: $(preview_prompt "$T/bm25.preview" | head -c 300) / recent: $(preview_prompt "$T/recent.preview" | head -c 300)"; fi
# the scores: item 1 (Steel Kettle) kept with the highest score; four items listed
scores=$(grep -E '^  item [0-9]+: bm25 [0-9.]+' "$T/bm25.preview")
top=$(awk '{print $4, $0}' <<<"$scores" | sort -gr | head -n 1 | cut -d' ' -f2-)
if grep -q "bm25 against field 'input' (k1 1.2, b 0.75" "$T/bm25.preview" && [ "$(wc -l <<<"$scores")" = 4 ] &&
   grep -qE '^  item 1: bm25 [1-9][0-9.]*  kept$' <<<"$top" && [ "$(grep -c kept <<<"$scores")" = 2 ]; then
  ok history_preview_prints_scores
else bad history_preview_prints_scores "$(cat "$T/bm25.preview" | head -c 600)"; fi

# the shards: decode t1's with-history prompt from the file nq-shard wrote
for sel in bm25 recent; do
  build/nq-shard $CFG --set run_dir="$T/$sel" "${FIX[@]}" --set data.history_select=$sel > "$T/$sel.log" 2>&1 ||
    bad history_shard_$sel "$(tail -n 2 "$T/$sel.log")"
done
shard_prompt() {
  $PY - "$1" <<'PY'
import json, os, sys, h5py
def bytes_to_unicode():   # GPT-2's byte <-> printable character map (as shard_check.py)
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return {chr(c): b for b, c in zip(bs, cs)}
run = sys.argv[1]
tj = json.load(open(os.path.join(run, "tokenizer.json")))
vocab = {i: s for s, i in tj["model"]["vocab"].items()}
dec = bytes_to_unicode()
f = h5py.File(os.path.join(run, "shards", "shard-00000.h5"), "r")
for i, sid in enumerate(f["id"][:]):
    sid = sid.decode() if isinstance(sid, bytes) else sid
    if sid != "t1": continue
    o, n, t = f["hist_offset"][i], f["hist_length"][i], f["target_length"][i]
    print(b"".join(bytes(dec[ch] for ch in vocab[int(x)]) for x in f["tokens"][o:o + n - t]).decode())
PY
}
b=$(shard_prompt "$T/bm25" 2>&1); r=$(shard_prompt "$T/recent" 2>&1)
if grep -q "^\[Past\] Steel Kettle:" <<<"$b" && ! grep -q "^\[Past\] Steel Kettle" <<<"$r" && grep -q "Garden Hose" <<<"$r" &&
   [ "$b" = "$(preview_prompt "$T/bm25.preview")" ]; then
  ok history_shards_hold_the_selection
else bad history_shards_hold_the_selection "bm25: $(head -c 300 <<<"$b") / recent: $(head -c 300 <<<"$r")"; fi
exit $failed
