#!/usr/bin/env bash
# Hostile corpus input, as nq-shard, nq-report and --preview meet it (docs/data.md "What the
# reader accepts"): no silent rewriting and errors that say where.
# - a "\u0000" in an id, a user id, a target or a history text makes the record bad, named
#   file:line: field (it used to cut the string: a user joined another); bad UTF-8 too
# - a JSON array ends at ']' plus whitespace (two arrays in one file gave half the samples)
# - data.on_bad_record = "skip": the tokenizer and the shards are those of the corpus without
#   the bad records, bitwise (the tokenizer was trained only on the records before the first),
#   and nq-eval reads such a corpus too (it stopped at the first bad record)
# - the tokenizer-training path names the file and line of an unusable corpus
# - a duplicate id in a JSON array is named by element and real line, not "file:index"
# - corpus text printed to a terminal (nq-report --user, plain and tty; --preview; errors)
#   shows escape sequences instead of obeying them
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init inputs
CHECK=tests/integration/shard_check.py
SYN=$T/base/data/synth.jsonl
if ! build/nq-synth $CFG --set "run_dir=\"$T/base\"" > "$T/synth.log" 2>&1; then
  bad inputs_prepare "nq-synth failed: $(tail -n 2 "$T/synth.log")"; exit 1
fi
shard() {  # shard NAME FILE [args...]: nq-shard of the smoke config on FILE into $T/NAME (log $T/NAME.log)
  local name=$1 file=$2; shift 2
  build/nq-shard $CFG --set "run_dir=\"$T/$name\"" --set "data.files=$file" "$@" > "$T/$name.log" 2>&1
}
first_error() { grep -m1 "error:" "$T/$1.log"; }

# ---- the files: each a copy of the smoke corpus with one kind of damage ----------------------
$PY - "$T" "$SYN" <<'PYEOF'
import json, sys
t, syn = sys.argv[1], sys.argv[2]
lines = open(syn).read().splitlines()
recs = [json.loads(x) for x in lines]
def put(name, ls): open(f"{t}/{name}", "wb").write(b"\n".join(x if isinstance(x, bytes) else x.encode() for x in ls) + b"\n")
def edit(name, i, old, new):   # record i (0-based) with its first `old` replaced by `new` (bytes)
    ls = [x.encode() for x in lines]; assert old in ls[i]; ls[i] = ls[i].replace(old, new, 1); put(name, ls)
u = recs[3]["user_id"].encode()
edit("nul_user.jsonl", 3, b'"user_id":"' + u + b'"', b'"user_id":"' + u + b'\\u0000other"')
edit("nul_id.jsonl", 3, b'"id":"', b'"id":"x\\u0000')
edit("nul_target.jsonl", 3, b'"output":"', b'"output":"a\\u0000b')
edit("nul_history.jsonl", 3, b'"text":"', b'"text":"\\u0000')
edit("overlong.jsonl", 3, b'"output":"', b'"output":"\xc0\xaf')
edit("cesu.jsonl", 3, b'"output":"', b'"output":"\xed\xa0\xbd\xed\xb8\x80')
edit("lone_surrogate.jsonl", 3, b'"output":"', b'"output":"\\ud800')
arr = json.dumps(recs, indent=1).replace('"text": "', '"text": "\\u0000', 1)   # in a JSON array: a history text
open(f"{t}/nul_array.json", "w").write(arr)
# two arrays in one file, and text after an array
open(f"{t}/two_arrays.json", "w").write(json.dumps(recs[:90], indent=1) + "\n" + json.dumps(recs[90:], indent=1) + "\n")
open(f"{t}/trailing.json", "w").write(json.dumps(recs, indent=1) + "\n}\n")
# skip mode: a malformed line, a NUL user, a span outside its target (copies of real records,
# placed before their originals) and an exact duplicate after its original; without them: syn
bad_span = dict(recs[10]); bad_span["pref_spans"] = [[0, 100000]]
nul = dict(recs[20]); nul["user_id"] = recs[20]["user_id"] + "\0x"
dirty = lines[:5] + ['{"broken'] + lines[5:20] + [json.dumps(nul)] + lines[20:30] + [json.dumps(bad_span)] \
        + lines[30:40] + [lines[12]] + lines[40:]
put("dirty.jsonl", dirty)
# unusable corpora for the tokenizer-training path
put("bad_first.jsonl", ['{"broken'] + lines)
put("all_bad.jsonl", ['{"broken', "", "[1, 2]"])
open(f"{t}/blank.jsonl", "w").write("\n\n\n")
open(f"{t}/empty_array.json", "w").write("[ ]\n")
open(f"{t}/array.json", "w").write(json.dumps(recs[:20], indent=1))   # read with data.format = "jsonl"
open(f"{t}/deep.jsonl", "w").write('{"id": ' + "[" * 5000 + "]" * 5000 + "}\n" + "\n".join(lines) + "\n")
# a duplicate id in a JSON array, and corpus text with terminal escape sequences
dup = json.dumps(recs[:10] + [recs[3]], indent=1)
open(f"{t}/dup.json", "w").write(dup)
starts = [i + 1 for i, l in enumerate(dup.splitlines()) if l == " {"]
open(f"{t}/dup_lines", "w").write(f"{starts[3]} {starts[10]}\n")
esc = dict(recs[5]); esc["output"] = "Start \x1b]0;PWNED\x07 title \x1b[2J clear \x1b[31m red \u009b31m c1 end."
esc["pref_spans"], esc["pref_rare"], esc["pref_decisive"] = [], [], []
esc["id"] = "id-\x1b[5mblink"
put("esc.jsonl", lines[:5] + [json.dumps(esc)] + lines[6:])
put("esc_dup.jsonl", lines[:5] + [json.dumps(esc)] + lines[6:] + [json.dumps(esc)])
open(f"{t}/esc_user", "w").write(recs[5]["user_id"])
PYEOF

# ---- corpus text: UTF-8 without NUL, or the record is bad, named file:line: field -------------
want_field() {  # want_field CHECK FILE FIELD [LINE]
  local name=$1 file=$2 field=$3 line=${4:-4}
  shard "$name" "$T/$file"
  local rc=$? err; err=$(first_error "$name")
  if [ $rc -ne 0 ] && grep -qF "$file:$line: field '$field': contains a NUL character" <<<"$err" && [ ! -d "$T/$name/shards" ]; then
    ok "$name"
  else bad "$name" "rc=$rc: ${err:-$(tail -n 2 "$T/$name.log")}"; fi
}
want_field inputs_nul_in_user_id nul_user.jsonl user_id
want_field inputs_nul_in_id nul_id.jsonl id
want_field inputs_nul_in_target nul_target.jsonl output
want_field inputs_nul_in_history nul_history.jsonl 'profile[0].text'
shard inputs_nul_in_json_array "$T/nul_array.json"
rc=$?; err=$(first_error inputs_nul_in_json_array)
if [ $rc -ne 0 ] && grep -qE "nul_array.json\[0\] \(line 2\): field 'profile\[0\].text': contains a NUL" <<<"$err"; then ok inputs_nul_in_json_array
else bad inputs_nul_in_json_array "rc=$rc: $err"; fi
# skip mode: the NUL record is left out and counted, not joined to user u00000 (1 bad, 172 kept)
shard inputs_nul_skipped "$T/nul_user.jsonl" --set 'data.on_bad_record="skip"'
n=$($PY -c "import h5py,glob,sys; print(sum(len(h5py.File(p)['id']) for p in glob.glob(sys.argv[1] + '/shards/*.h5')))" "$T/inputs_nul_skipped" 2>&1)
if grep -q "skipping bad record: .*nul_user.jsonl:4: field 'user_id'" "$T/inputs_nul_skipped.log" && [ "$n" = 172 ]; then
  ok inputs_nul_skipped
else bad inputs_nul_skipped "samples=$n $(grep -m1 'skip' "$T/inputs_nul_skipped.log")"; fi
# bad UTF-8 (overlong, CESU-8 surrogates, a lone surrogate escape): refused, named by line
msgs=""
for f in overlong cesu lone_surrogate; do
  shard "utf8_$f" "$T/$f.jsonl"
  rc=$?; err=$(first_error "utf8_$f")
  [ $rc -ne 0 ] && grep -qF "$f.jsonl:4: " <<<"$err" || msgs+=" $f: rc=$rc $err;"
done
[ -z "$msgs" ] && ok inputs_bad_utf8_named || bad inputs_bad_utf8_named "$msgs"

# ---- a JSON array ends at ']' plus whitespace --------------------------------------------------
shard inputs_two_arrays "$T/two_arrays.json"
rc=$?; err=$(first_error inputs_two_arrays)
line=$(grep -n '^\[' "$T/two_arrays.json" | sed -n 2p | cut -d: -f1)
if [ $rc -ne 0 ] && grep -qF "two_arrays.json:$line: text after the end of the JSON array ('[')" <<<"$err" &&
   [ ! -d "$T/inputs_two_arrays/shards" ]; then ok inputs_two_arrays
else bad inputs_two_arrays "rc=$rc: ${err:-$(tail -n 1 "$T/inputs_two_arrays.log")}"; fi
shard inputs_text_after_array "$T/trailing.json" --set 'data.on_bad_record="skip"'
rc=$?; err=$(first_error inputs_text_after_array)
if [ $rc -ne 0 ] && grep -qE "trailing.json:[0-9]+: text after the end of the JSON array \('}'\)" <<<"$err"; then
  ok inputs_text_after_array
else bad inputs_text_after_array "rc=$rc: ${err:-$(tail -n 1 "$T/inputs_text_after_array.log")}"; fi

# ---- skip mode = the corpus without its bad records, bitwise ----------------------------------
shard skip_clean "$SYN"
mpirun -np 2 --oversubscribe build/nq-shard $CFG --set "run_dir=\"$T/skip_dirty\"" --set "data.files=$T/dirty.jsonl" \
  --set 'data.on_bad_record="skip"' > "$T/skip_dirty.log" 2>&1
rc=$?
texts_clean=$(grep -o "tokenizer on [0-9]* texts" "$T/skip_clean.log")
texts_dirty=$(grep -o "tokenizer on [0-9]* texts" "$T/skip_dirty.log")
if [ $rc -eq 0 ] && cmp -s "$T/skip_clean/tokenizer.json" "$T/skip_dirty/tokenizer.json" &&
   out=$($PY $CHECK same "$T/skip_clean/shards" "$T/skip_dirty/shards" bad_records 2>&1) &&
   grep -q "skipped 3 bad records" "$T/skip_dirty.log" && grep -q "skipped 1 records with a duplicate" "$T/skip_dirty.log"; then
  ok inputs_skip_same_as_clean_corpus
else bad inputs_skip_same_as_clean_corpus "rc=$rc clean: $texts_clean, dirty: $texts_dirty; ${out:-} $(grep -m2 'error\|skipped' "$T/skip_dirty.log" | tr '\n' ' ')"; fi

# nq-eval reads the corpus again (references): in skip mode the records nq-shard left out are
# no samples, not an error (it stopped at the first of them)
EV=($CFG --set "run_dir=\"$T/skip_dirty\"" --set "data.files=$T/dirty.jsonl" --set 'data.on_bad_record="skip"'
    "${TINY_MODEL[@]}" --set 'eval.models={base="lm/model.h5";}' --set 'eval.nohist_models=[]' --set 'eval.cos_models=[]'
    --set 'eval.baseline="base"' --set eval.max_new_tokens=4 --set eval.bootstrap=10)
if build/nq-train "${EV[@]}" --set 'train.objective="lm"' --set 'train.name="lm"' --set train.steps=2 > "$T/ev_train.log" 2>&1 &&
   build/nq-eval "${EV[@]}" > "$T/ev.log" 2>&1 && [ -s "$T/skip_dirty/eval/summary.md" ]; then ok inputs_eval_skip_mode
else bad inputs_eval_skip_mode "$(tail -n 1 "$T/ev_train.log") $(grep -m1 error: "$T/ev.log")"; fi

# ---- the tokenizer-training path names file and line -------------------------------------------
msgs=""
check_tok() {  # check_tok FILE PATTERN [args...]
  local f=$1 pat=$2; shift 2
  shard "tok_${f%.*}" "$T/$f" "$@"
  local rc=$? err; err=$(first_error "tok_${f%.*}")
  [ $rc -ne 0 ] && grep -qE "$pat" <<<"$err" || msgs+=" $f: rc=$rc $err;"
}
check_tok bad_first.jsonl "bad_first.jsonl:1: malformed JSON"
check_tok blank.jsonl "blank.jsonl: no records"
check_tok empty_array.json "empty_array.json: no records"
check_tok array.json "array.json:1: malformed JSON" --set 'data.format="jsonl"'
check_tok deep.jsonl "deep.jsonl:1: malformed JSON.*depth"
check_tok all_bad.jsonl "no train-split records .*: 2 bad records skipped .* the first: .*all_bad.jsonl:1: malformed" \
  --set 'data.on_bad_record="skip"'
[ -z "$msgs" ] && ok inputs_tokenizer_errors_located || bad inputs_tokenizer_errors_located "$msgs"
# --preview trains its tokenizer without the bad records and lists them where they are
build/nq-shard $CFG --set "run_dir=\"$T/never\"" --set "data.files=$T/bad_first.jsonl" --preview 2 > "$T/pv.txt" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "=== sample 1: bad record: .*bad_first.jsonl:1: malformed JSON" "$T/pv.txt" &&
   grep -q "=== sample 2: id " "$T/pv.txt" && [ ! -e "$T/never" ]; then ok inputs_preview_lists_bad_records
else bad inputs_preview_lists_bad_records "rc=$rc $(grep -m2 'error\|===' "$T/pv.txt")"; fi

# ---- a duplicate id in a JSON array: element and real line ------------------------------------
read -r l3 l10 < "$T/dup_lines"
shard inputs_duplicate_in_array "$T/dup.json"
err=$(first_error inputs_duplicate_in_array)
if grep -qF "dup.json[10] (line $l10): duplicate sample id" <<<"$err" && grep -qF "also at $T/dup.json[3] (line $l3)" <<<"$err"; then
  ok inputs_duplicate_in_array_named
else bad inputs_duplicate_in_array_named "want lines $l10 and $l3: $err"; fi

# ---- terminal output of corpus text: escaped ---------------------------------------------------
raw_controls() { LC_ALL=C grep -caF -e $'\x1b]' -e $'\x1b[2J' -e $'\x1b[5m' -e $'\x07' -e $'\xc2\x9b' "$1"; }
shard esc "$T/esc.jsonl"
user=$(cat "$T/esc_user")
build/nq-report $CFG --set "run_dir=\"$T/esc\"" --set "data.files=$T/esc.jsonl" --user "$user" > "$T/user_plain.txt" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$(raw_controls "$T/user_plain.txt")" = 0 ] && grep -qF 'Start \x1b]0;PWNED\x07 title \x1b[2J' "$T/user_plain.txt" &&
   grep -qF 'id-\x1b[5mblink' "$T/user_plain.txt"; then ok inputs_report_user_plain_escaped
else bad inputs_report_user_plain_escaped "rc=$rc $(grep -a -m1 Start "$T/user_plain.txt" | cat -v)"; fi
# a terminal: script(1) gives nq-report a tty, so it colours (its own escapes) and must still escape the corpus's
script -qec "build/nq-report $CFG --set 'run_dir=\"$T/esc\"' --set 'data.files=$T/esc.jsonl' --user '$user'" /dev/null \
  > "$T/user_tty.txt" 2>&1 < /dev/null
if [ "$(raw_controls "$T/user_tty.txt")" = 0 ] && grep -qF 'PWNED\x07' "$T/user_tty.txt" && grep -q $'\x1b\\[0m' "$T/user_tty.txt"; then
  ok inputs_report_user_tty_escaped
else bad inputs_report_user_tty_escaped "$(grep -a -m1 Start "$T/user_tty.txt" | cat -v)"; fi
build/nq-shard $CFG --set "run_dir=\"$T/esc\"" --set "data.files=$T/esc.jsonl" --preview-id $'id-\x1b[5mblink' > "$T/preview.txt" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$(raw_controls "$T/preview.txt")" = 0 ] && grep -qF 'id id-\x1b[5mblink' "$T/preview.txt" &&
   grep -qF 'Start \x1b]0;PWNED' "$T/preview.txt"; then ok inputs_preview_escaped
else bad inputs_preview_escaped "rc=$rc $(grep -a -m2 'blink\|PWNED' "$T/preview.txt" | cat -v)"; fi
shard esc_dup "$T/esc_dup.jsonl"
rc=$?
if [ $rc -ne 0 ] && [ "$(raw_controls "$T/esc_dup.log")" = 0 ] && grep -qF "duplicate sample id 'id-\x1b[5mblink'" "$T/esc_dup.log"; then
  ok inputs_error_escaped
else bad inputs_error_escaped "rc=$rc $(grep -a -m1 'error' "$T/esc_dup.log" | cat -v)"; fi
exit $failed
