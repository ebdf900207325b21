#!/usr/bin/env bash
# nq-shard end to end: -np 1 vs -np 2 identical datasets, layout checked independently with
# h5py (tests/integration/shard_check.py), rerun / --force, every bad input giving one clear
# line, a non-zero exit and nothing under shards/, and on_bad_record = "skip" counting.
# Run from the repo root with build/ built.
set -u
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
BIN=build/nq-shard
PY=/usr/bin/python3
CHECK=tests/integration/shard_check.py
DATA=tests/integration/data/shard_small.jsonl
T=$(mktemp -d /tmp/nq-shard-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
failed=0
ok() { echo "ok $1"; }
bad() { echo "not ok $1: $2"; failed=1; }

# fixture config: the smoke config on the hand-written fixture, small tokenizer
CFG=configs/smoke.cfg
FIX=(--set "data.files=$DATA" --set tokenizer.vocab_size=300 --set shard.count=2)
run() {  # run NP RUN_DIR [args...]
  local np=$1 rd=$2; shift 2
  mpirun -np "$np" --oversubscribe $BIN $CFG --set "run_dir=$rd" "$@"
}

# ---- fixture: np 1 vs np 2 vs np 3, layout ---------------------------------------------
if run 1 "$T/f1" "${FIX[@]}" > "$T/log" 2>&1 && [ -f "$T/f1/shards/shard-00001.h5" ]; then ok shard_fixture_runs
else bad shard_fixture_runs "$(tail -n 3 "$T/log")"; fi
run 2 "$T/f2" "${FIX[@]}" > "$T/log" 2>&1
if out=$($PY $CHECK same "$T/f1/shards" "$T/f2/shards" 2>&1); then ok shard_fixture_np1_equals_np2
else bad shard_fixture_np1_equals_np2 "$out"; fi
run 3 "$T/f3" "${FIX[@]}" > "$T/log" 2>&1
if out=$($PY $CHECK same "$T/f1/shards" "$T/f3/shards" 2>&1); then ok shard_fixture_np1_equals_np3
else bad shard_fixture_np1_equals_np3 "$out"; fi
if out=$($PY $CHECK layout "$T/f1" "$DATA" 384 128 4 2>&1); then ok shard_fixture_layout_h5py
else bad shard_fixture_layout_h5py "$out"; fi
# history truncation: a tiny prompt budget still gives valid shards with fewer items
run 1 "$T/f4" "${FIX[@]}" --set data.max_prompt_tokens=40 > "$T/log" 2>&1
if out=$($PY $CHECK layout "$T/f4" "$DATA" 40 128 4 2>&1) &&
   [ "$($PY -c "import h5py,sys; print(sum(int(h5py.File(f)['history_items'][:].sum()) for f in sys.argv[1:]))" \
        "$T"/f1/shards/*.h5)" -gt "$($PY -c "import h5py,sys; print(sum(int(h5py.File(f)['history_items'][:].sum()) for f in sys.argv[1:]))" \
        "$T"/f4/shards/*.h5)" ]; then ok shard_history_truncation
else bad shard_history_truncation "$out $(tail -n 2 "$T/log")"; fi
# truncated targets are counted
run 1 "$T/f5" "${FIX[@]}" --set data.max_target_tokens=6 > "$T/log" 2>&1
if grep -q "truncated [0-9]* targets" "$T/log" && out=$($PY $CHECK layout "$T/f5" "$DATA" 384 6 4 2>&1); then
  ok shard_target_truncation
else bad shard_target_truncation "$out $(tail -n 2 "$T/log")"; fi

# a given tokenizer.path is used as is: the same shards as with the tokenizer trained above
run 2 "$T/f6" "${FIX[@]}" --set "tokenizer.path=$T/f1/tokenizer.json" > "$T/log" 2>&1
if out=$($PY $CHECK same "$T/f1/shards" "$T/f6/shards" 2>&1) && cmp -s "$T/f1/tokenizer.json" "$T/f6/tokenizer.json"; then
  ok shard_tokenizer_path
else bad shard_tokenizer_path "$out $(tail -n 2 "$T/log")"; fi
# changed input data with the same config needs --force too
cp "$DATA" "$T/data.jsonl"
run 1 "$T/f7" "${FIX[@]}" --set "data.files=$T/data.jsonl" > "$T/log" 2>&1
sed -i 's/Nice mug/Nice cup/' "$T/data.jsonl"
run 1 "$T/f7" "${FIX[@]}" --set "data.files=$T/data.jsonl" > "$T/log" 2>&1
if [ $? -ne 0 ] && grep -q "not current: file .*data.jsonl changed since; rerun with --force" "$T/log"; then ok shard_changed_input_needs_force
else bad shard_changed_input_needs_force "$(tail -n 2 "$T/log")"; fi

# ---- rerun / --force ---------------------------------------------------------------------
run 1 "$T/f1" "${FIX[@]}" > "$T/log" 2>&1
if [ $? -eq 0 ] && grep -q "nothing to do" "$T/log"; then ok shard_rerun_nothing_to_do
else bad shard_rerun_nothing_to_do "$(tail -n 2 "$T/log")"; fi
run 1 "$T/f1" "${FIX[@]}" --set data.max_history_items=2 > "$T/log" 2>&1
if [ $? -ne 0 ] && grep -q -- "--force" "$T/log" && [ -f "$T/f1/shards/shard-00000.h5" ]; then ok shard_changed_config_needs_force
else bad shard_changed_config_needs_force "$(tail -n 2 "$T/log")"; fi
run 1 "$T/f1" "${FIX[@]}" --set data.max_history_items=2 --force > "$T/log" 2>&1
if [ $? -eq 0 ] && $PY $CHECK layout "$T/f1" "$DATA" 384 128 2 > "$T/out" 2>&1; then ok shard_force_rewrites
else bad shard_force_rewrites "$(tail -n 2 "$T/log") $(cat "$T/out")"; fi

# ---- bad input: one clear line, non-zero exit, nothing under shards/ --------------------
expect_fail() {  # expect_fail NAME NEEDLE [run args...]
  local name=$1 needle=$2; shift 2
  local rd="$T/bad-$name"
  run 2 "$rd" "${FIX[@]}" "$@" > "$T/out" 2> "$T/err"
  local rc=$?
  local line
  line=$(grep -m1 "error:" "$T/err")
  if [ $rc -eq 0 ]; then bad "shard_bad_$name" "exit status 0"
  elif ! grep -qF -- "$needle" <<< "$line"; then bad "shard_bad_$name" "no line with '$needle': $(head -n 2 "$T/err")"
  elif [ -n "$(ls -A "$rd/shards" 2>/dev/null)" ]; then bad "shard_bad_$name" "files left under shards/"
  elif [ "${MANY_LINES:-0}" = 0 ] && [ "$(grep -c "error:" "$T/err")" -ne 1 ]; then
    bad "shard_bad_$name" "$(grep -c "error:" "$T/err") error lines, expected one"
  else ok "shard_bad_$name"; fi
}
B=$T/in; mkdir -p "$B"
good=$(head -n 1 "$DATA")
{ echo "$good"; echo '{"id": "x", "user_id": "u", "split": "train", "output": "abc", "profile": ['; } > "$B/trunc.jsonl"
expect_fail truncated_json "trunc.jsonl:2: malformed JSON" --set "data.files=$B/trunc.jsonl"
{ echo "$good"; echo "$good"; echo '{"id": "x", "user_id": "u", "split": "train", "input": "q", "profile": [], "pref_spans": [], "pref_rare": []}'; } > "$B/notarget.jsonl"
expect_fail missing_target "notarget.jsonl:3: field 'output': missing" --set "data.files=$B/notarget.jsonl"
{ echo '{"id": "x", "user_id": "u", "split": "train", "input": "q", "output": "o", "profile": "oops", "pref_spans": [], "pref_rare": []}'; echo "$good"; } > "$B/histtype.jsonl"
expect_fail history_type "histtype.jsonl:1: field 'profile': expected an array" --set "data.files=$B/histtype.jsonl"
{ echo "$good"; printf '{"id": "x", "user_id": "u", "split": "train", "input": "q\xff\xfe", "output": "o", "profile": []}\n'; } > "$B/latin1.jsonl"
expect_fail non_utf8 "latin1.jsonl:2: not valid UTF-8" --set "data.files=$B/latin1.jsonl"
: > "$B/empty.jsonl"
expect_fail empty_file "empty.jsonl: empty file" --set "data.files=$B/empty.jsonl"
expect_fail missing_file "nope.jsonl: cannot open" --set "data.files=$B/nope.jsonl"
expect_fail prompt_cannot_fit "shard_small.jsonl:1: " --set data.max_prompt_tokens=3
# config errors are reported by every rank (common/pipeline/stage.c)
MANY_LINES=1 expect_fail unknown_set_key "unknown key 'data.no_such_key'" --set data.no_such_key=1
sed 's/^shard: {/shard: { bogus_key = 1;/' configs/smoke.cfg > "$B/unknown.cfg"
MANY_LINES=1 CFG=$B/unknown.cfg expect_fail unknown_config_key "bogus_key"
expect_fail missing_template_field "field 'nosuch': missing (used by data.prompt_template)" \
  --set 'data.prompt_template={history}{nosuch}'

# ---- on_bad_record = "skip": counted in the log and in a shard attribute ----------------
cat "$DATA" "$B/trunc.jsonl" "$B/notarget.jsonl" > "$B/mixed.jsonl"
run 2 "$T/skip" "${FIX[@]}" --set "data.files=$B/mixed.jsonl" --set data.on_bad_record=skip > "$T/log" 2>&1
rc=$?
n_attr=$($PY -c "import h5py,sys; print(int(h5py.File(sys.argv[1]).attrs['bad_records']))" "$T/skip/shards/shard-00000.h5" 2>&1)
# + 3 duplicates: the copies of "$good" in trunc.jsonl and notarget.jsonl repeat an id of $DATA
if [ $rc -eq 0 ] && grep -q "skipped 2 bad records" "$T/log" &&
   grep -q "skipped 3 records with a duplicate sample id" "$T/log" && [ "$n_attr" = 5 ]; then ok shard_skip_counts
else bad shard_skip_counts "rc=$rc attr=$n_attr $(grep -m2 'skip' "$T/log")"; fi

# ---- the benchmark from nq-synth: np 1 vs np 2, layout ---------------------------------
if [ -x build/nq-synth ]; then
  S=$T/synth
  mpirun -np 1 build/nq-synth configs/smoke.cfg --set "run_dir=$S" > "$T/log" 2>&1
  run 1 "$S" > "$T/log" 2>&1 || bad shard_synth_runs "$(tail -n 2 "$T/log")"
  mkdir -p "$T/synth2/data" && cp "$S/data/synth.jsonl" "$T/synth2/data/"
  run 2 "$T/synth2" > "$T/log" 2>&1
  if out=$($PY $CHECK same "$S/shards" "$T/synth2/shards" 2>&1); then ok shard_synth_np1_equals_np2
  else bad shard_synth_np1_equals_np2 "$out"; fi
  if out=$($PY $CHECK layout "$S" "$S/data/synth.jsonl" 384 128 4 2>&1); then ok shard_synth_layout_h5py
  else bad shard_synth_layout_h5py "$out"; fi
else
  bad shard_synth "build/nq-synth missing"
fi
exit $failed
