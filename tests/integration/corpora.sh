#!/usr/bin/env bash
# Real corpora as they come, each from its worked config in configs/ on a tiny file of the
# dataset's shape that this test writes itself (field names and layout as the datasets
# document them; invented text): LaMP-4 (questions JSON array + outputs {"golds": [...]},
# joined by id), LongLaMP (one JSONL per split, no split field, no id field), the DPL Amazon
# Reviews layout (configs/amazon-reviews-qwen.cfg). Also: a missing / duplicate id in the join,
# a long input cut to its {input:N} budget and counted, --preview (prints, writes nothing),
# and jobs/pipeline.sh leaving nq-synth out for such configs.
set -u
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PY=/usr/bin/python3
CHECK=tests/integration/shard_check.py
T=$(mktemp -d /tmp/nq-corpora-test.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$T"' EXIT
failed=0
ok() { echo "ok $1"; }
bad() { echo "not ok $1: $2"; failed=1; }
SMALL=(--set tokenizer.vocab_size=300 --set shard.count=2)
shard() {  # shard NP CONFIG RUN_DIR [args...]
  local np=$1 cfg=$2 rd=$3; shift 3
  mpirun -np "$np" --oversubscribe build/nq-shard "$cfg" --set "run_dir=$rd" "${SMALL[@]}" "$@"
}

# ---- the files: written here, with an expectation file {id: [split, target]} each ----------
$PY - "$T" <<'PYEOF'
import json, os, sys
t = sys.argv[1]
words = "river stone market engine violet harbor signal lantern orbit meadow copper ticket".split()
def text(i, n): return " ".join(words[(i * 7 + k * 3) % len(words)] for k in range(n))
# LaMP-4: {split}_questions.json = [{id, input, profile: [{id, title, text}]}],
#         {split}_outputs.json = {"task": "LaMP_4", "golds": [{id, output}]}
os.makedirs(f"{t}/LaMP_4")
expect = {}
for split, ids in (("train", range(100, 108)), ("dev", range(200, 206))):
    qs, golds = [], []
    for i in ids:
        prof = [{"id": f"{i}{k}", "title": text(i + k, 4).title(), "text": text(i * k, 30)} for k in range(3)]
        qs.append({"id": str(i), "input": "Generate a headline for the following article: " + text(i, 60), "profile": prof})
        golds.append({"id": str(i), "output": text(i + 1, 6).capitalize()})
        expect[str(i)] = ["train" if split == "train" else "?", golds[-1]["output"]]
    json.dump(qs, open(f"{t}/LaMP_4/{split}_questions.json", "w"), indent=2)   # multi-line, as LaMP ships it
    json.dump({"task": "LaMP_4", "golds": golds[::-1]}, open(f"{t}/LaMP_4/{split}_outputs.json", "w"))
json.dump(expect, open(f"{t}/lamp_expect.json", "w"))
# LongLaMP abstract generation: {train,val,test}.jsonl of {name, input, output, profile: [{title, abstract, id}]}
os.makedirs(f"{t}/longlamp")
expect = {}
for split, f, n in (("train", "train", 6), ("valid", "val", 3), ("test", "test", 3)):
    with open(f"{t}/longlamp/{f}.jsonl", "w") as out:
        for k in range(n):
            i = n * 10 + k
            r = {"name": f"Author {f} {k}", "input": f'Generate an abstract for the title "{text(i, 5)}" using the following items: ' + text(i, 20),
                 "output": text(i + 2, 40), "profile": [{"title": text(i + j, 5), "abstract": text(i * j, 50), "id": str(j)} for j in range(2)]}
            if f == "test" and k == 0: r["input"] += " " + text(i, 400)     # a long query
            out.write(json.dumps(r) + "\n")
            expect[f"{f}.jsonl:{k + 1}"] = [split, r["output"]]
json.dump(expect, open(f"{t}/longlamp_expect.json", "w"))
# DPL Amazon Reviews, joined with DPL-meta as configs/amazon-reviews-qwen.cfg describes:
# {user_id, profile: [{asin, rating, title, text, timestamp, item_title, item_desc}], data: {same}, id, split}
os.makedirs(f"{t}/amazon")
expect = {}
with open(f"{t}/amazon/Books.jsonl", "w") as out:
    for u in range(6):
        def review(j): return {"asin": f"B{u}{j}", "rating": float(1 + (u + j) % 5), "title": text(u + j, 3), "text": text(u * j + 1, 25),
                               "timestamp": 1600000000000 + 1000 * j, "item_title": text(j, 4), "item_desc": text(j + 5, 15)}
        split = ["train", "train", "train", "valid", "test", "test"][u]
        r = {"user_id": f"AE{u:04d}", "profile": [review(j) for j in range(3)], "data": review(9), "id": f"Books-{split}-{u}", "split": split}
        out.write(json.dumps(r) + "\n")
        expect[r["id"]] = [split, r["data"]["text"]]
json.dump(expect, open(f"{t}/amazon_expect.json", "w"))
PYEOF

# ---- LaMP-4: two-file layout, joined by id, split per file + hash ------------------------
L=$T/LaMP_4
LAMP=(--set "data.split_files.train=$L/train_questions.json" --set "data.files=$L/dev_questions.json"
      --set "data.targets.files=$L/train_outputs.json,$L/dev_outputs.json")
# dev's questions go to valid/test by hash: fill in what the shards say, check the rest
if shard 2 configs/lamp4.cfg "$T/lamp" "${LAMP[@]}" > "$T/log" 2>&1; then ok corpora_lamp_shards
else bad corpora_lamp_shards "$(tail -n 3 "$T/log")"; fi
$PY - "$T" <<'PYEOF'
import json, glob, h5py, sys
t = sys.argv[1]; e = json.load(open(f"{t}/lamp_expect.json"))
for p in glob.glob(f"{t}/lamp/shards/*.h5"):
    f = h5py.File(p)
    for i, sid in enumerate(f["id"][:]):
        sid = sid.decode()
        if sid in e and e[sid][0] == "?" and f["split"][i] in (1, 2): e[sid][0] = ["train", "valid", "test"][f["split"][i]]
json.dump(e, open(f"{t}/lamp_expect.json", "w"))
PYEOF
if out=$($PY $CHECK expect "$T/lamp" "$T/lamp_expect.json" 2>&1); then ok corpora_lamp_joined_targets_and_splits
else bad corpora_lamp_joined_targets_and_splits "$out"; fi
shard 1 configs/lamp4.cfg "$T/lamp1" "${LAMP[@]}" > "$T/log" 2>&1
if out=$($PY $CHECK same "$T/lamp/shards" "$T/lamp1/shards" 2>&1); then ok corpora_lamp_np1_equals_np2
else bad corpora_lamp_np1_equals_np2 "$out"; fi
if grep -q "truncated fields of [0-9]* records" "$T/log"; then ok corpora_lamp_budget_counted
else bad corpora_lamp_budget_counted "$(grep shard: "$T/log" | tail -n 3)"; fi

# a question without an output, and an id twice in the outputs: one line naming both files
sed 's/"id": "103", "output"/"id": "1003", "output"/' "$L/train_outputs.json" > "$T/missing_outputs.json"
shard 2 configs/lamp4.cfg "$T/lamp-missing" "${LAMP[@]}" --set "data.targets.files=$T/missing_outputs.json,$L/dev_outputs.json" \
  > "$T/out" 2> "$T/err"
line=$(grep -m1 "error:" "$T/err")
if [ $? -eq 0 ] && grep -q "train_questions.json\[3\]" <<<"$line" && grep -q "id '103'" <<<"$line" &&
   grep -q "missing_outputs.json" <<<"$line" && [ ! -d "$T/lamp-missing/shards" ]; then ok corpora_lamp_missing_id
else bad corpora_lamp_missing_id "$line"; fi
$PY -c "import json,sys; d=json.load(open(sys.argv[1])); d['golds'].append(dict(d['golds'][0])); json.dump(d, open(sys.argv[2],'w'))" \
  "$L/dev_outputs.json" "$T/dup_outputs.json"
shard 2 configs/lamp4.cfg "$T/lamp-dup" "${LAMP[@]}" --set "data.targets.files=$L/train_outputs.json,$T/dup_outputs.json" \
  > "$T/out" 2> "$T/err"
line=$(grep -m1 "error:" "$T/err")
if grep -q "dup_outputs.json\[6\]: id '205' is a duplicate: also at .*dup_outputs.json\[0\]" <<<"$line"; then ok corpora_lamp_duplicate_id
else bad corpora_lamp_duplicate_id "$line"; fi

# ---- LongLaMP: three files, no split field, no id field ----------------------------------
G=$T/longlamp
LL=(--set "data.split_files.train=$G/train.jsonl" --set "data.split_files.valid=$G/val.jsonl"
    --set "data.split_files.test=$G/test.jsonl" --set data.on_bad_record=fail)
if shard 2 configs/longlamp-abstracts.cfg "$T/ll" "${LL[@]}" > "$T/log" 2>&1 &&
   out=$($PY $CHECK expect "$T/ll" "$T/longlamp_expect.json" 2>&1); then ok corpora_longlamp_split_files
else bad corpora_longlamp_split_files "${out:-} $(tail -n 3 "$T/log")"; fi
# the long query: over the prompt budget alone, it shards cut to {input:256} and is counted
# (past abstracts without their budget here, so that only the query is cut)
LL+=(--set 'data.history_item_template=[Past] {title}
')
shard 2 configs/longlamp-abstracts.cfg "$T/ll2" "${LL[@]}" > "$T/log" 2>&1
n=$($PY -c "import h5py,sys; print(int(h5py.File(sys.argv[1]).attrs['truncated_fields']))" "$T/ll2/shards/shard-00000.h5" 2>&1)
if grep -q "truncated fields of 1 records" "$T/log" && [ "$n" = 1 ]; then ok corpora_long_input_truncated
else bad corpora_long_input_truncated "attr=$n $(grep 'shard:' "$T/log" | tail -n 4)"; fi
shard 1 configs/longlamp-abstracts.cfg "$T/ll-nobudget" "${LL[@]}" \
  --set 'data.prompt_template={history}[Request] {input}\n[Abstract] ' > "$T/out" 2> "$T/err"
if grep -m1 "error:" "$T/err" | grep -q "test.jsonl:1: the prompt has .* tokens even without history"; then ok corpora_long_input_without_budget_fails
else bad corpora_long_input_without_budget_fails "$(grep -m1 error: "$T/err")"; fi
# the start cut keeps the end of the query: its last words appear in the preview
last=$($PY -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['input'].split()[-1])" "$G/test.jsonl")
build/nq-shard configs/longlamp-abstracts.cfg --set "run_dir=$T/never" "${SMALL[@]}" "${LL[@]}" --set data.truncate=start \
  --preview-id test.jsonl:1 > "$T/prev" 2>&1
if grep -q "cut: a {field:N}" "$T/prev" && grep -A2 "with history" "$T/prev" | grep -q "$last" && [ ! -e "$T/never" ]; then
  ok corpora_truncate_start_preview
else bad corpora_truncate_start_preview "$(head -n 12 "$T/prev")"; fi

# ---- DPL Amazon Reviews layout -----------------------------------------------------------
if shard 2 configs/amazon-reviews-qwen.cfg "$T/amz" --set "data.files=$T/amazon/Books.jsonl" --set tokenizer.path= \
     --set model.path= --set train.init= --set tokenizer.specials='<|endoftext|>,<|im_start|>,<|im_end|>' > "$T/log" 2>&1 &&
   out=$($PY $CHECK expect "$T/amz" "$T/amazon_expect.json" 2>&1); then ok corpora_amazon_dpl_layout
else bad corpora_amazon_dpl_layout "${out:-} $(tail -n 3 "$T/log")"; fi

# ---- --preview: prompts printed, nothing written, tokenizer trained in memory -------------
build/nq-shard configs/lamp4.cfg --set "run_dir=$T/preview-run" "${SMALL[@]}" "${LAMP[@]}" --preview 2 > "$T/prev" 2>&1
rc=$?
gold=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['200'][1])" "$T/lamp_expect.json")   # data.files first
if [ $rc -eq 0 ] && [ "$(grep -c '^=== sample' "$T/prev")" = 2 ] && grep -q -- "--- with history" "$T/prev" &&
   grep -q -- "--- without history" "$T/prev" && grep -qF "$gold" "$T/prev" && grep -q "trained in memory" "$T/prev" &&
   [ ! -e "$T/preview-run" ]; then ok corpora_preview_writes_nothing
else bad corpora_preview_writes_nothing "rc=$rc $(head -n 8 "$T/prev")"; fi

# ---- the pipeline graph: no nq-synth for one's own data, unless asked (pipeline/steps.c) ------
steps=$(build/nq-config configs/lamp4.cfg --steps | cut -f1 | tr '\n' ' ')
steps_on=$(build/nq-config configs/lamp4.cfg --set pipeline.synth=always --steps | cut -f1 | tr '\n' ' ')
steps_def=$(build/nq-config configs/default.cfg --steps | cut -f1 | tr '\n' ' ')
if [[ $steps == shard* ]] && [[ $steps_on == "synth shard"* ]] && [[ $steps_def == "synth shard"* ]]; then ok corpora_pipeline_synth_only_when_used
else bad corpora_pipeline_synth_only_when_used "lamp: $steps / always: $steps_on / default: $steps_def"; fi
exit $failed
