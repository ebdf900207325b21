#!/usr/bin/env bash
# Fault injection on the smoke benchmark (issue 18): what a hostile user or a flaky cluster
# does to the stages, and what each must do about it.
#   silent wrong results: duplicate ids, integers past 32/64 bits, a deleted shard, an empty target
#   leftovers: a bad record or a full disk (a small tmpfs, root only) leaves no *.tmp / temp
#              folder / tokenizer.next.json and names "No space left on device"
#   stuck: --force over truncated/garbage outputs; a moved run directory; --resume past a
#          corrupt checkpoint
#   races: a second run of a stage on one run_dir refuses at once naming the holder; two
#          training runs with different names run together
#   SIGTERM to run-local.sh's mpirun: exit 75 (mpirun itself says 1)
#   kill -9 at random (seeded, NQ_FAULTS_SEED) points of nq-train and nq-effect, then the
#   rerun: same weights, metrics rows and effects as an uninterrupted run
# Run from the repo root with build/ built.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init faults
CMP=tests/integration/train/cmp.py
R=$T/run
RUN() { echo "--set run_dir=\"$1\""; }
S=(--set run_dir=\"$R\" "${TINY_MODEL[@]}")
SEED=${NQ_FAULTS_SEED:-18}
RANDOM=$SEED
# expect_fail NAME PATTERN CMD...: CMD must fail (not crash) and say PATTERN
expect_fail() {
  local name=$1 pat=$2; shift 2
  "$@" > "$T/$name.log" 2>&1
  local rc=$?
  if [ $rc = 0 ]; then bad "$name" "succeeded: $(tail -n 2 "$T/$name.log")"
  elif [ $rc -gt 2 ]; then bad "$name" "exit $rc (a crash?): $(grep -v '^\[' "$T/$name.log" | tail -n 2)"
  elif [ "$(grep -c "$pat" "$T/$name.log")" = 0 ]; then bad "$name" "no '$pat' in: $(tail -n 2 "$T/$name.log")"
  else ok "$name"; fi
}
expect_ok() {
  local name=$1; shift
  if "$@" > "$T/$name.log" 2>&1; then ok "$name"; else bad "$name" "$(tail -n 3 "$T/$name.log")"; fi
}
# no temp leftovers under $1 (NAME for the report)
no_leftovers() {
  local left
  left=$(find "$2" \( -name '*.tmp' -o -name 'tokenizer.next.json' \) 2>/dev/null | head -3)
  if [ -z "$left" ]; then ok "$1"; else bad "$1" "left behind: $left"; fi
}

nq_prepare_smoke "$R" || exit 1
DATA=$R/data/synth.jsonl

# ---- silent wrong results -------------------------------------------------------------------
D=$T/dup; mkdir -p "$D/data"
{ cat "$DATA"; head -n 1 "$DATA"; } > "$D/data/synth.jsonl"
expect_fail faults_duplicate_id "duplicate sample id" build/nq-shard $CFG --set run_dir=\"$D\"
grep -q "synth.jsonl:1)" "$T/faults_duplicate_id.log" || bad faults_duplicate_id_names_both "$(tail -n 1 "$T/faults_duplicate_id.log")"
expect_ok faults_duplicate_id_skip build/nq-shard $CFG --set run_dir=\"$D\" --set data.on_bad_record=\"skip\"
grep -q "skipped 1 records with a duplicate sample id" "$T/faults_duplicate_id_skip.log" \
  || bad faults_duplicate_id_skip_counted "$(tail -n 3 "$T/faults_duplicate_id_skip.log")"

expect_fail faults_int_set_wraps "out of range" build/nq-config $CFG --set train.steps=4294967302 --get train.steps
expect_fail faults_int_set_64bit "out of the 64-bit range" build/nq-config $CFG --set seed=99999999999999999999 --get seed
sed 's/steps = 6;/steps = 4294967302;/' $CFG > "$T/wrap.cfg"
expect_fail faults_int_file_wraps "wrap.cfg:[0-9]*: key 'train.steps'.*out of range" build/nq-config "$T/wrap.cfg" --get train.steps
expect_ok faults_int64_seed build/nq-config $CFG --set train.seed=5000000000 --get train.seed
grep -q 5000000000 "$T/faults_int64_seed.log" || bad faults_int64_seed_value "$(cat "$T/faults_int64_seed.log")"

E=$T/empty; mkdir -p "$E/data"
$PY - "$DATA" "$E/data/synth.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows[3]["output"] = ""
open(sys.argv[2], "w").write("".join(json.dumps(r) + "\n" for r in rows))
EOF
expect_fail faults_empty_target "empty target" build/nq-shard $CFG --set run_dir=\"$E\"
no_leftovers faults_bad_record_no_tokenizer_left "$E"
[ -d "$E/shards.tmp" ] && bad faults_bad_record_no_temp_folder "shards.tmp left"
expect_ok faults_empty_target_skip build/nq-shard $CFG --set run_dir=\"$E\" --set data.on_bad_record=\"skip\"

# a malformed record: nothing left behind (the tokenizer is trained before the records are read)
G=$T/garbled; mkdir -p "$G/data"
{ cat "$DATA"; echo '{"id": "x", broken'; } > "$G/data/synth.jsonl"
expect_fail faults_bad_record "malformed JSON" build/nq-shard $CFG --set run_dir=\"$G\"
no_leftovers faults_bad_record_nothing_left "$G"

# BOM at the start of a JSONL file: read as the file it is
B=$T/bom; mkdir -p "$B/data"
{ printf '\xef\xbb\xbf'; cat "$DATA"; } > "$B/data/synth.jsonl"
expect_ok faults_bom build/nq-shard $CFG --set run_dir=\"$B\"
# the same records as one JSON array behind a byte-order mark
B=$T/bom_array; mkdir -p "$B/data"
{ printf '\xef\xbb\xbf[\n'; sed '$!s/$/,/' "$DATA"; echo ']'; } > "$B/data/synth.jsonl"
expect_ok faults_bom_json_array build/nq-shard $CFG --set run_dir=\"$B\"
expect_fail faults_empty_run_dir "run_dir is empty" build/nq-shard $CFG --set run_dir=

# a context_sft reference, effects and annotations for what follows
expect_ok faults_prepare_train build/nq-train $CFG "${S[@]}" --set train.name=\"ctx\"
expect_ok faults_prepare_effect build/nq-effect $CFG "${S[@]}" --set effect.reference_run=\"ctx\"
expect_ok faults_prepare_annotate build/nq-annotate $CFG "${S[@]}"

# deleted shard: every consumer stops naming nq-shard
X=$T/deleted; cp -r "$R" "$X"; rm "$X/shards/shard-00001.h5"
expect_fail faults_deleted_shard_effect "rerun nq-shard" build/nq-effect $CFG $(RUN "$X") "${TINY_MODEL[@]}" --set effect.reference_run=\"ctx\" --force
expect_fail faults_deleted_shard_train "rerun nq-shard" build/nq-train $CFG $(RUN "$X") "${TINY_MODEL[@]}" --set train.name=\"t2\"
expect_fail faults_deleted_shard_annotate "rerun nq-shard" build/nq-annotate $CFG $(RUN "$X")
# a missing effect file: annotate names nq-effect
X=$T/deleted2; cp -r "$R" "$X"; rm "$X/effects/shard-00001.h5"
expect_fail faults_deleted_effects_annotate "rerun nq-effect" build/nq-annotate $CFG $(RUN "$X")

# ---- stuck ----------------------------------------------------------------------------------
# a moved run directory: effects are current (stamps hold content digests and paths relative
# to the run directory), annotate finds the shards where they are
M=$T/moved; cp -r "$R" "$T/copy"; mv "$T/copy" "$M"
expect_ok faults_moved_effect build/nq-effect $CFG $(RUN "$M") "${TINY_MODEL[@]}" --set effect.reference_run=\"ctx\"
grep -q "effects is up to date" "$T/faults_moved_effect.log" || bad faults_moved_effect_kept "$(tail -n 1 "$T/faults_moved_effect.log")"
rm -rf "$R.gone"; mv "$R" "$R.gone"   # the original is no longer there
expect_ok faults_moved_annotate build/nq-annotate $CFG $(RUN "$M")
mv "$R.gone" "$R"

# --force over truncated and garbage outputs
F=$T/force; cp -r "$R" "$F"
truncate -s 1000 "$F/shards/shard-00000.h5"; truncate -s 100 "$F/tokenizer.json"
expect_ok faults_force_shard build/nq-shard $CFG $(RUN "$F") --force
echo garbage > "$F/effects/shard-00000.h5"
expect_ok faults_force_effect build/nq-effect $CFG $(RUN "$F") "${TINY_MODEL[@]}" --set effect.reference_run=\"ctx\" --force
expect_ok faults_garbage_effect_rerun build/nq-effect $CFG $(RUN "$F") "${TINY_MODEL[@]}" --set effect.reference_run=\"ctx\"
echo garbage > "$F/ctx/ckpt-000006.h5"
expect_ok faults_force_train build/nq-train $CFG $(RUN "$F") "${TINY_MODEL[@]}" --set train.name=\"ctx\" --force

# --resume past a corrupt newest checkpoint (keep = 2: steps 4 and 6 with ckpt_every = 2)
TR=(build/nq-train $CFG "${S[@]}" --set train.name=\"res\" --set train.ckpt_every=2)
expect_ok faults_resume_prepare "${TR[@]}"
truncate -s 2000 "$R/res/ckpt-000006.h5"
expect_ok faults_resume_fallback "${TR[@]}" --resume
grep -q "resuming from .*ckpt-000004.h5" "$T/faults_resume_fallback.log" \
  || bad faults_resume_fallback_says "$(grep -m1 resum "$T/faults_resume_fallback.log")"

# failed train.init: no empty run folder
expect_fail faults_bad_init "no/such.h5" build/nq-train $CFG "${S[@]}" --set train.name=\"badinit\" --set train.init=\"no/such.h5\"
[ -e "$R/badinit" ] && bad faults_bad_init_no_folder "$R/badinit was created"

# ---- races ----------------------------------------------------------------------------------
mkdir -p "$R/locks"
flock "$R/locks/shard.lock" sleep 20 & HOLD=$!
sleep 0.3
t0=$SECONDS
expect_fail faults_lock_shard "another nq-shard is running" build/nq-shard $CFG "${S[@]}" --force
[ $((SECONDS - t0)) -le 5 ] || bad faults_lock_at_once "took $((SECONDS - t0)) s"
kill $HOLD 2>/dev/null; wait $HOLD 2>/dev/null
LONG=(build/nq-train $CFG "${S[@]}" --set train.steps=400 --set train.ckpt_every=0 --set train.valid_every=0 --force)
"${LONG[@]}" --set train.name=\"race\" > "$T/race1.log" 2>&1 & P1=$!
for _ in $(seq 50); do grep -q "pid $P1" "$R/locks/train.race.lock" 2>/dev/null && break; sleep 0.1; done
expect_fail faults_lock_train_same_name "pid $P1 on host" "${LONG[@]}" --set train.name=\"race\" --set train.steps=1
expect_ok faults_lock_train_other_name "${LONG[@]}" --set train.name=\"race2\" --set train.steps=2
kill $P1 2>/dev/null; wait $P1 2>/dev/null

# ---- SIGTERM to the mpirun of jobs/run-local.sh: nq-train checkpoints and exits 75; Open MPI's
# mpirun itself then exits 1, and run-local.sh must still exit 75 (EX_TEMPFAIL: requeue)
sed 's/lm = "train.objective=lm train.steps=10";/lm = "train.objective=lm train.steps=100000";/' $CFG > "$T/long.cfg"
L=$T/sigterm_local; cp -r "$R" "$L"
bash jobs/run-local.sh "$T/long.cfg" --set run_dir=\"$L\" "${TINY_MODEL[@]}" --only lm > "$T/sigterm_local.log" 2>&1 & RL=$!
mp=""
for i in $(seq 1 300); do   # until the ranks train (their progress in the step log)
  mp=$(pgrep -P $RL -x mpirun | head -n 1)
  [ -n "$mp" ] && grep -q "steps/s" "$L/logs/lm.log" 2>/dev/null && break
  sleep 0.1
done
[ -n "$mp" ] && kill -TERM "$mp"
wait $RL; rc=$?
if [ $rc = 75 ] && ls "$L/lm"/ckpt-*.h5 > /dev/null 2>&1; then ok "faults_sigterm_mpirun_local_exits_75"
else bad faults_sigterm_mpirun_local_exits_75 "exit $rc: $(tail -n 2 "$T/sigterm_local.log")"; fi

# ---- kill -9 at random points, rerun, compare with an uninterrupted run ---------------------
KT=(build/nq-train $CFG "${S[@]}" --set train.steps=24 --set train.ckpt_every=2 --set train.valid_every=4)
expect_ok faults_kill_train_reference "${KT[@]}" --set train.name=\"k_ref\"
killed=0
for round in 1 2 3; do
  "${KT[@]}" --set train.name=\"k_run\" $([ $round -gt 1 ] && echo --resume) > "$T/kill$round.log" 2>&1 & P=$!
  sleep "$(printf '0.%02d' $((RANDOM % 90 + 10)))"
  kill -9 $P 2>/dev/null && killed=$((killed + 1)); wait $P 2>/dev/null
done
expect_ok faults_kill_train_rerun "${KT[@]}" --set train.name=\"k_run\" $(ls "$R/k_run"/ckpt-*.h5 > /dev/null 2>&1 && echo --resume)
if out=$($PY $CMP weights "$R/k_ref/model.h5" "$R/k_run/model.h5" 2>&1) &&
   out=$($PY $CMP losses "$R/k_ref/metrics.h5" "$R/k_run/metrics.h5" 0 2>&1); then
  ok "faults_kill_train_same_result ($killed kills, seed $SEED)"
else bad faults_kill_train_same_result "$out"; fi
no_leftovers faults_kill_train_tmp_replaced "$R/k_run"
# killed in the window between the metrics write and the checkpoint write of step 6: the
# resumed run must end with every metrics row (when the checkpoint was written first, the
# rows of steps 5-6 were lost)
NQ_FAULT_KILL=between-metrics-and-checkpoint:6 "${KT[@]}" --set train.name=\"k_win\" > "$T/kwin.log" 2>&1
grep -q "NQ_FAULT_KILL: killing" "$T/kwin.log" || bad faults_kill_window_hit "the fault point was not reached: $(tail -n 2 "$T/kwin.log")"
expect_ok faults_kill_window_rerun "${KT[@]}" --set train.name=\"k_win\" --resume
if out=$($PY $CMP losses "$R/k_ref/metrics.h5" "$R/k_win/metrics.h5" 0 2>&1); then
  ok faults_kill_window_metrics_whole
else bad faults_kill_window_metrics_whole "$out"; fi

K=$T/keff; cp -r "$R" "$K"; rm -rf "$K/effects"
EF=(build/nq-effect $CFG $(RUN "$K") "${TINY_MODEL[@]}" --set effect.reference_run=\"ctx\")
for round in 1 2; do
  "${EF[@]}" > "$T/keff$round.log" 2>&1 & P=$!
  sleep "$(printf '%d.%02d' $((RANDOM % 3)) $((RANDOM % 100)))"
  kill -9 $P 2>/dev/null; wait $P 2>/dev/null
done
expect_ok faults_kill_effect_rerun "${EF[@]}"
bad_eff=""
for f in "$R"/effects/*.h5; do
  $PY $CMP weights "$f" "$K/effects/${f##*/}" > /dev/null 2>&1 || bad_eff="$bad_eff ${f##*/}"
done
if [ -z "$bad_eff" ]; then ok "faults_kill_effect_same_result (seed $SEED)"; else bad faults_kill_effect_same_result "differ:$bad_eff"; fi

# ---- a full disk: each stage fails naming ENOSPC and leaves no temp file ---------------------
if [ "$(id -u)" != 0 ] || ! mkdir -p "$T/tmpfs" || ! mount -t tmpfs -o size=8m tmpfs "$T/tmpfs" 2> /dev/null; then
  skip faults_disk_full "needs root and mount -t tmpfs (not available here)"
else
  trap 'umount "$T/tmpfs" 2>/dev/null; rm -rf "$T"' EXIT
  FULL=$T/tmpfs/run
  # fill the tmpfs, then give back $1 KiB: the stage's outputs do not fit
  fill() { rm -f "$T/tmpfs/filler"; dd if=/dev/zero of="$T/tmpfs/filler" bs=64k > /dev/null 2>&1
           truncate -s -"$1"K "$T/tmpfs/filler"; }
  disk_full() {  # NAME, KiB left, command...
    local name=$1 kib=$2; shift 2
    fill "$kib"
    expect_fail "faults_disk_full_$name" "No space left on device" "$@"
    no_leftovers "faults_disk_full_${name}_no_tmp" "$T/tmpfs"
    [ -d "$FULL/shards.tmp" ] && bad "faults_disk_full_${name}_no_temp_folder" "shards.tmp left"
    rm -f "$T/tmpfs/filler"
  }
  FS=(--set run_dir=\"$FULL\" "${TINY_MODEL[@]}")
  disk_full synth 16 build/nq-synth $CFG "${FS[@]}"
  build/nq-synth $CFG "${FS[@]}" > /dev/null 2>&1
  disk_full shard 64 build/nq-shard $CFG "${FS[@]}"
  build/nq-shard $CFG "${FS[@]}" > /dev/null 2>&1
  disk_full train 64 build/nq-train $CFG "${FS[@]}" --set train.name=\"ctx\"
  build/nq-train $CFG "${FS[@]}" --set train.name=\"ctx\" > /dev/null 2>&1
  disk_full effect 64 build/nq-effect $CFG "${FS[@]}" --set effect.reference_run=\"ctx\"
  build/nq-effect $CFG "${FS[@]}" --set effect.reference_run=\"ctx\" > /dev/null 2>&1
  disk_full annotate 16 build/nq-annotate $CFG "${FS[@]}"
  disk_full export 64 build/nq-export "$FULL/ctx/model.h5" "$FULL/hf" --tokenizer "$FULL/tokenizer.json"
  [ -e "$FULL/hf" ] && bad faults_disk_full_export_no_half_dir "$FULL/hf left behind"
  umount "$T/tmpfs"
fi
exit $failed
