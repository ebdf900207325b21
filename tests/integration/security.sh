#!/usr/bin/env bash
# No write or deletion outside run_dir (issue 30; docs/reliability.md "run_dir and paths"):
#   names: config values that name a folder of the run (train.name, pipeline.train_runs,
#          effect.output, annotate.output, annotate.effects, train.annotations, eval.output)
#          are plain names: '..', '/', absolute paths and leading dots are refused naming the key
#   links: a symbolic link below run_dir (shards/, effects/, annotations/, eval/, report/,
#          locks/, a lock file, stamps/, a run folder, run-local.sh's logs/) stops the stage
#          naming it, and nothing outside run_dir changes; run_dir itself may be a link
#   --force removes only the stage's own files: a user's file in shards/ stops nq-shard before
#          anything goes; a stray effects/junk.h5 or ckpt-2.h5 is left alone and misleads nobody
#   moved runs: annotation files record their effect file relative to run_dir, so the
#          staleness check still works after the run directory moves
# Each check compares a fingerprint of the folder outside run_dir before and after.
# Run from the repo root with build/ built.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init security
R=$T/run
S=(--set run_dir=\"$R\" "${TINY_MODEL[@]}" --set train.steps=2 --set train.valid_every=0)
RUN() { echo "--set run_dir=\"$1\""; }
# expect_fail NAME PATTERN CMD...: CMD must fail (exit 1 or 2, not a crash) and say PATTERN
expect_fail() {
  local name=$1 pat=$2; shift 2
  "$@" > "$T/$name.log" 2>&1
  local rc=$?
  if [ $rc = 0 ]; then bad "$name" "succeeded: $(tail -n 2 "$T/$name.log")"
  elif [ $rc -gt 2 ]; then bad "$name" "exit $rc (a crash?): $(grep -v '^\[' "$T/$name.log" | tail -n 2)"
  elif ! grep -q -- "$pat" "$T/$name.log"; then bad "$name" "no '$pat' in: $(tail -n 2 "$T/$name.log")"
  else ok "$name"; fi
}
expect_ok() {
  local name=$1; shift
  if "$@" > "$T/$name.log" 2>&1; then ok "$name"; else bad "$name" "$(tail -n 3 "$T/$name.log")"; fi
}
# fingerprint DIR: names, sizes and contents of everything in DIR (a missing DIR: "none")
fingerprint() { if [ -e "$1" ]; then (cd "$1" && find . -printf '%p %s\n' | sort && find . -type f -exec md5sum {} + | sort); else echo none; fi; }
# untouched NAME DIR BEFORE: DIR's fingerprint is still BEFORE
untouched() { if [ "$(fingerprint "$2")" = "$3" ]; then ok "$1"; else bad "$1" "$2 changed"; fi; }
# a folder outside run_dir with a user's files: what a stage must never touch
victim() { rm -rf "$1"; mkdir -p "$1"; echo "mine" > "$1/notes.txt"; echo x > "$1/ckpt-000001.h5"; echo y > "$1/model.h5"; }

nq_prepare_smoke "$R" || exit 1
expect_ok security_prepare_train build/nq-train $CFG "${S[@]}" --set train.name=\"ctx\"
expect_ok security_prepare_effect build/nq-effect $CFG "${S[@]}" --set effect.reference_run=\"ctx\"
expect_ok security_prepare_annotate build/nq-annotate $CFG "${S[@]}"

# ---- names: one plain name inside run_dir ---------------------------------------------------
V=$T/foreign; victim "$V"; before=$(fingerprint "$V")
expect_fail security_name_train_dotdot "train.name = \"../foreign\"" \
  build/nq-train $CFG "${S[@]}" --set train.name=\"../foreign\" --force
untouched security_name_train_dotdot_untouched "$V" "$before"
expect_fail security_name_train_absolute "train.name = \"$V\"" build/nq-train $CFG "${S[@]}" --set train.name=\"$V\" --force
expect_fail security_name_train_hidden "train.name = \".x\"" build/nq-train $CFG "${S[@]}" --set train.name=\".x\"
untouched security_name_train_absolute_untouched "$V" "$before"
expect_fail security_name_train_layout_folder "train.name = \"stamps\": that name is the run layout's own stamps" \
  build/nq-train $CFG "${S[@]}" --set train.name=\"stamps\"
expect_fail security_name_effect_output "effect.output = \"../eout\"" \
  build/nq-effect $CFG "${S[@]}" --set effect.reference_run=\"ctx\" --set effect.output=\"../eout\" --force
[ -e "$T/eout" ] && bad security_name_effect_output_nothing "$T/eout was made"
expect_fail security_name_annotate_output "annotate.output = \"../aout\"" \
  build/nq-annotate $CFG "${S[@]}" --set annotate.output=\"../aout\" --force
[ -e "$T/aout" ] && bad security_name_annotate_output_nothing "$T/aout was made"
expect_fail security_name_annotate_effects "annotate.effects = \"/tmp\"" \
  build/nq-annotate $CFG "${S[@]}" --set annotate.effects=\"/tmp\" --force
expect_fail security_name_train_annotations "train.annotations = \"../a\"" \
  build/nq-train $CFG "${S[@]}" --set train.name=\"nq\" --set train.objective=\"nextquill\" --set train.annotations=\"../a\"
expect_fail security_name_eval_output "eval.output = \"../evout\"" \
  build/nq-eval $CFG "${S[@]}" --set eval.output=\"../evout\" --set 'eval.models={ctx="ctx/model.h5";}' \
  --set eval.baseline=\"\" --set eval.max_samples=2
[ -e "$T/evout" ] && bad security_name_eval_output_nothing "$T/evout was made"
expect_fail security_name_train_runs "pipeline.train_runs = \"../escape\"" \
  build/nq-config $CFG "${S[@]}" --set pipeline.train_runs=lm,../escape --steps
expect_fail security_name_train_runs_list "pipeline.train_runs = \"../escape\"" \
  build/nq-config $CFG "${S[@]}" --set 'pipeline.train_runs=["lm","../escape"]' --steps
expect_fail security_name_evals_override "eval.output = \"../e2\"" \
  build/nq-config $CFG "${S[@]}" --set 'pipeline.evals={e2="eval.output=../e2";}' --steps

# ---- links below run_dir ---------------------------------------------------------------------
# link_case NAME LINK PATTERN CMD...: LINK (a path in run_dir) made a link to a victim folder;
# CMD must stop naming the link and leave the victim as it was; LINK is restored after
link_case() {
  local name=$1 link=$2 pat=$3; shift 3
  local saved=$T/saved.$name
  [ -e "$link" ] && mv "$link" "$saved"
  victim "$T/v.$name"; ln -s "$T/v.$name" "$link"
  local before; before=$(fingerprint "$T/v.$name")
  expect_fail "$name" "$pat" "$@"
  untouched "${name}_untouched" "$T/v.$name" "$before"
  rm "$link"; [ -e "$saved" ] && mv "$saved" "$link"
}
LINKMSG="is a symbolic link inside run_dir"
# the case of the issue: nq-shard --force emptied the folder a `shards` link pointed to
link_case security_link_shards "$R/shards" "shards: $LINKMSG" build/nq-shard $CFG "${S[@]}" --force
link_case security_link_effects "$R/effects" "effects: $LINKMSG" \
  build/nq-effect $CFG "${S[@]}" --set effect.reference_run=\"ctx\" --force
link_case security_link_annotations "$R/annotations" "annotations: $LINKMSG" build/nq-annotate $CFG "${S[@]}" --force
link_case security_link_locks "$R/locks" "locks: $LINKMSG" build/nq-annotate $CFG "${S[@]}" --force
link_case security_link_stamps "$R/stamps" "stamps: $LINKMSG" build/nq-annotate $CFG "${S[@]}" --force
link_case security_link_run_folder "$R/ctx" "ctx: $LINKMSG" build/nq-train $CFG "${S[@]}" --set train.name=\"ctx\" --force
link_case security_link_eval "$R/eval" "eval: $LINKMSG" build/nq-eval $CFG "${S[@]}" \
  --set 'eval.models={ctx="ctx/model.h5";}' --set eval.baseline=\"\" --set eval.max_samples=2 --force
link_case security_link_report "$R/report" "report: $LINKMSG" build/nq-report $CFG "${S[@]}"
# the scripts' own writes: jobs/run-local.sh's logs/<step>.log
link_case security_link_logs "$R/logs" "logs: $LINKMSG" jobs/run-local.sh $CFG --set run_dir=$R --only annotate
# a lock file that is a link: opening it would truncate and rewrite its target
echo "precious" > "$T/precious.txt"
rm -f "$R/locks/annotate.lock"; ln -s "$T/precious.txt" "$R/locks/annotate.lock"
expect_fail security_link_lock_file "annotate.lock: $LINKMSG" build/nq-annotate $CFG "${S[@]}" --force
[ "$(cat "$T/precious.txt")" = precious ] && ok security_link_lock_file_untouched \
  || bad security_link_lock_file_untouched "the lock's target was rewritten"
rm "$R/locks/annotate.lock"
# run_dir itself a link (to scratch, say): allowed
ln -s "$R" "$T/run-link"
expect_ok security_run_dir_link_allowed build/nq-annotate $CFG $(RUN "$T/run-link") --force

# ---- --force removes only the stage's own files ------------------------------------------------
echo "mine" > "$R/shards/notes.txt"
expect_fail security_shard_force_foreign_file "shards/notes.txt: not a file nq-shard writes" \
  build/nq-shard $CFG "${S[@]}" --force
[ -f "$R/shards/notes.txt" ] && [ -f "$R/shards/shard-00000.h5" ] && ok security_shard_force_foreign_file_kept \
  || bad security_shard_force_foreign_file_kept "shards/ lost files: $(ls "$R/shards" | tr '\n' ' ')"
rm -f "$R/shards/notes.txt"
echo junk > "$R/effects/junk.h5"
expect_ok security_stray_effect_annotate build/nq-annotate $CFG "${S[@]}" --force
expect_ok security_stray_effect_effect_force build/nq-effect $CFG "${S[@]}" --set effect.reference_run=\"ctx\" --force
[ "$(cat "$R/effects/junk.h5" 2>/dev/null)" = junk ] && ok security_stray_effect_left_alone \
  || bad security_stray_effect_left_alone "effects/junk.h5 was changed or removed"
rm -f "$R/effects/junk.h5"
echo stray > "$R/ctx/ckpt-2.h5"
expect_ok security_stray_ckpt_train_force build/nq-train $CFG "${S[@]}" --set train.name=\"ctx\" --force
[ "$(cat "$R/ctx/ckpt-2.h5" 2>/dev/null)" = stray ] && ok security_stray_ckpt_left_alone \
  || bad security_stray_ckpt_left_alone "ctx/ckpt-2.h5 was changed or removed"
rm -f "$R/ctx/ckpt-2.h5"

# ---- a moved run: the annotations' effect file is found where the run is now ---------------
expect_ok security_moved_prepare_effect build/nq-effect $CFG "${S[@]}" --set effect.reference_run=\"ctx\" --force
expect_ok security_moved_prepare_annotate build/nq-annotate $CFG "${S[@]}" --force
M=$T/moved; mv "$R" "$M"
printf 'changed' >> "$M/effects/shard-00000.h5"   # the effects changed since annotating
expect_fail security_moved_run_stale_effects "made from an earlier version of $M/effects/shard-00000.h5" \
  build/nq-train $CFG $(RUN "$M") "${TINY_MODEL[@]}" --set train.steps=2 --set train.name=\"nq\" \
  --set train.objective=\"nextquill\" --set train.init=\"ctx/model.h5\"
exit $failed
