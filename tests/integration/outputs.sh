#!/usr/bin/env bash
# No resume or report that says yes when the answer is no, and no partial outputs (issue 30),
# on one smoke pipeline run (jobs/run-local.sh), each case on a copy of it:
#   --resume with the last checkpoint there and model.h5 missing or truncated writes model.h5
#   (the weights of the uninterrupted run); a corrupt, missing or foreign (another seed's)
#   metrics.h5 is refused by --resume naming it; the report draws no foreign metrics.h5
#   effects changed in place (valid HDF5, provenance intact) are refused by nq-annotate, a
#   model.h5 whose weights were changed in place by nq-export
#   one AdamW moment changed in place in the checkpoint --resume reads is refused naming it:
#   full model, ZeRO-1 at -np 2 (one error line), LoRA adapter checkpoint
#   per-user adapters: --resume makes a missing or truncated group file again (equal to the
#   uninterrupted run's), refuses one whose values were changed in place
#   a full disk (a small tmpfs, root only) during nq-eval / nq-report leaves no row file
#   without summary.md / no SVG without index.html
# Safetensors ranges that do not tile the data section: tests/unit/test_safetensors.c.
# Run from the repo root with build/ built.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init outputs
CMP=tests/integration/train/cmp.py
R=$T/run
expect_fail() {   # NAME PATTERN CMD...: CMD must fail (not crash) and say PATTERN
  local name=$1 pat=$2; shift 2
  "$@" > "$T/$name.log" 2>&1
  local rc=$?
  if [ $rc = 0 ]; then bad "$name" "succeeded: $(tail -n 2 "$T/$name.log")"
  elif [ $rc -gt 2 ]; then bad "$name" "exit $rc (a crash?): $(grep -v '^\[' "$T/$name.log" | tail -n 2)"
  elif ! grep -q "$pat" "$T/$name.log"; then bad "$name" "no '$pat' in: $(tail -n 2 "$T/$name.log")"
  else ok "$name"; fi
}

if ! bash jobs/run-local.sh $CFG --np 1 --set run_dir=\"$R\" "${TINY_MODEL[@]}" > "$T/run.log" 2>&1; then
  bad outputs_prepare "$(tail -n 3 "$T/run.log")"; exit 1
fi
# nq-train of the pipeline's run lm, on the run directory $1
LM() { build/nq-train $CFG --set run_dir=\"$1\" "${TINY_MODEL[@]}" --set train.name=\"lm\" \
         --set train.objective=\"lm\" --set train.steps=10 --resume; }
copy() { rm -rf "$1"; cp -r "$R" "$1"; }

# ---- --resume finishes what is missing ----------------------------------------------------------
for how in missing truncated; do
  X=$T/res_$how; copy "$X"
  if [ $how = missing ]; then rm "$X/lm/model.h5"; else truncate -s 3000 "$X/lm/model.h5"; fi
  if LM "$X" > "$T/res_$how.log" 2>&1 && out=$($PY $CMP weights "$R/lm/model.h5" "$X/lm/model.h5" 2>&1); then
    ok "outputs_resume_model_$how"
  else bad "outputs_resume_model_$how" "${out:-} $(tail -n 2 "$T/res_$how.log")"; fi
done

# ---- --resume refuses a metrics.h5 that is not the run's ------------------------------------------
X=$T/res_corrupt; copy "$X"; echo garbage > "$X/lm/metrics.h5"
expect_fail outputs_resume_metrics_corrupt "lm/metrics.h5: unreadable.*--force" LM "$X"
X=$T/res_gone; copy "$X"; rm "$X/lm/metrics.h5"
expect_fail outputs_resume_metrics_missing "lm/metrics.h5: missing.*--force" LM "$X"
# another seed's run of the same name: its metrics copied in
O=$T/other; copy "$O"
build/nq-train $CFG --set run_dir=\"$O\" "${TINY_MODEL[@]}" --set train.name=\"lm\" --set train.objective=\"lm\" \
  --set train.steps=10 --set train.seed=77 --force > "$T/other.log" 2>&1 || bad outputs_other_seed "$(tail -n 2 "$T/other.log")"
X=$T/res_foreign; copy "$X"; cp "$O/lm/metrics.h5" "$X/lm/metrics.h5"; rm "$X/lm/model.h5"
expect_fail outputs_resume_metrics_foreign "lm/metrics.h5: written by another run.*--force" LM "$X"

# ---- the report draws no foreign metrics as current ---------------------------------------------
X=$T/rep_foreign; copy "$X"; cp "$O/lm/metrics.h5" "$X/lm/metrics.h5"
if build/nq-report $CFG --set run_dir=\"$X\" "${TINY_MODEL[@]}" > "$T/rep_foreign.log" 2>&1 &&
   grep -q "lm/metrics.h5: not current" "$X/report/index.html"; then ok outputs_report_metrics_foreign
else bad outputs_report_metrics_foreign "no 'not current' note: $(tail -n 1 "$T/rep_foreign.log")"; fi
X=$T/rep_corrupt; copy "$X"; echo garbage > "$X/lm/metrics.h5"
if build/nq-report $CFG --set run_dir=\"$X\" "${TINY_MODEL[@]}" > "$T/rep_corrupt.log" 2>&1 &&
   grep -q "lm/metrics.h5: unreadable" "$X/report/index.html"; then ok outputs_report_metrics_corrupt
else bad outputs_report_metrics_corrupt "$(tail -n 1 "$T/rep_corrupt.log")"; fi

# ---- content digests: effects changed in place ----------------------------------------------------
X=$T/eff_changed; copy "$X"
$PY - "$X/effects/shard-00000.h5" <<'EOF'
import h5py, sys
with h5py.File(sys.argv[1], "r+") as f:
    e = f["effect"]
    e[0] = e[0] + 0.25
EOF
expect_fail outputs_effects_changed_in_place "effects/shard-00000.h5: its data does not match its content digest" \
  build/nq-annotate $CFG --set run_dir=\"$X\" "${TINY_MODEL[@]}" --force

# a weight of a model.h5 changed in place (the tensors are outside the table: nq_weights_digest)
X=$T/model_changed; copy "$X"
$PY - "$X/lm/model.h5" <<'EOF'
import h5py, sys
with h5py.File(sys.argv[1], "r+") as f:
    name = next(k for k in sorted(f.keys()) if isinstance(f[k], h5py.Dataset) and f[k].dtype.kind == "f" and f[k].size > 1)
    w = f[name][()]
    w.flat[0] += 0.5
    f[name][...] = w
EOF
expect_fail outputs_model_changed_in_place "lm/model.h5: its weights do not match their digest" \
  build/nq-export "$X/lm/model.h5" "$T/hf_changed" --tokenizer "$X/tokenizer.json"

# ---- --resume reads only what was written: the AdamW moments (full model, ZeRO-1, LoRA) -----------
# bump FILE H5PATH: one value of a dataset (or of a group's first dataset) changed in place
bump() {
  $PY - "$1" "$2" <<'EOF'
import h5py, sys
with h5py.File(sys.argv[1], "r+") as f:
    d = f[sys.argv[2]]
    if isinstance(d, h5py.Group): d = d[sorted(d.keys())[0]]
    w = d[()]
    w.flat[0] += 0.5
    d[...] = w
EOF
}
newest() { ls "$1"/ckpt-*.h5 | tail -n 1; }
X=$T/mom_changed; copy "$X"; bump "$(newest "$X/lm")" optimizer/m
expect_fail outputs_resume_moments_changed "lm/ckpt-[0-9]*.h5: its AdamW moments do not match their digest" LM "$X"
# ZeRO-1 (-np 2): every rank reads its pieces of the moments from the checkpoint
ZR() { mpirun -np 2 build/nq-train $CFG --set run_dir=\"$1\" "${TINY_MODEL[@]}" --set train.name=\"zr\" \
         --set train.objective=\"lm\" --set train.steps=2 --set train.shard_optimizer=true "${@:2}"; }
X=$T/mom_zero; copy "$X"
if ZR "$X" > "$T/zr.log" 2>&1; then
  bump "$(newest "$X/zr")" optimizer/v
  expect_fail outputs_resume_moments_changed_zero1 "zr/ckpt-[0-9]*.h5: its AdamW moments do not match their digest" \
    ZR "$X" --resume
else bad outputs_resume_moments_changed_zero1 "the -np 2 run failed: $(tail -n 2 "$T/zr.log")"; fi
# LoRA: the adapter checkpoint's moments are rows of its table (nq_digest)
LORA=(--set train.adapter=\"lora\" --set train.init=\"lm/model.h5\" --set train.objective=\"sft\" --set train.steps=2
      --set train.lora_rank=2)
LO() { build/nq-train $CFG --set run_dir=\"$1\" "${TINY_MODEL[@]}" --set train.name=\"lo\" "${LORA[@]}" "${@:2}"; }
X=$T/mom_lora; copy "$X"
if LO "$X" > "$T/lo.log" 2>&1; then
  bump "$(newest "$X/lo")" lora_optimizer/m
  expect_fail outputs_resume_lora_moments_changed "lo/ckpt-[0-9]*.h5: its data does not match its content digest" \
    LO "$X" --resume
else bad outputs_resume_lora_moments_changed "the LoRA run failed: $(tail -n 2 "$T/lo.log")"; fi

# ---- per-user adapters: --resume makes a missing or truncated group file again, refuses a changed one
PU() { LO "$1" --set train.name=\"pu\" --set train.per_user=true --set train.user_groups=3 "${@:2}"; }
P=$T/pu_full; copy "$P"
if PU "$P" > "$T/pu_full.log" 2>&1; then
  for how in missing truncated; do
    X=$T/pu_$how; out=; rm -rf "$X"; cp -r "$P" "$X"
    if [ $how = missing ]; then rm "$X/pu/users/group-0001.h5"; else truncate -s 3000 "$X/pu/users/group-0001.h5"; fi
    if PU "$X" --resume > "$T/pu_$how.log" 2>&1 &&
       out=$($PY tests/integration/lora/check.py groups_equal "$P/pu/users" "$X/pu/users" 2>&1); then
      ok "outputs_resume_per_user_$how ($out)"
    else bad "outputs_resume_per_user_$how" "${out:-} $(tail -n 2 "$T/pu_$how.log")"; fi
  done
  X=$T/pu_changed; rm -rf "$X"; cp -r "$P" "$X"; bump "$X/pu/users/group-0001.h5" lora/params
  expect_fail outputs_resume_per_user_changed "pu/users/group-0001.h5: its data does not match its content digest" \
    PU "$X" --resume
else bad outputs_resume_per_user "the per-user run failed: $(tail -n 2 "$T/pu_full.log")"; fi

# ---- a full disk: nothing published without its summary / page ----------------------------------
if [ "$(id -u)" != 0 ] || ! mkdir -p "$T/tmpfs" || ! mount -t tmpfs -o size=24m tmpfs "$T/tmpfs" 2> /dev/null; then
  skip outputs_disk_full "needs root and mount -t tmpfs (not available here)"
else
  trap 'umount "$T/tmpfs" 2>/dev/null; rm -rf "$T"' EXIT
  F=$T/tmpfs/run
  # room for all but the last $2 KiB of the files under $1 (their size measured on a full write)
  fill_for() {
    local need; need=$(du -sk --apparent-size "$1" | cut -f1)
    rm -rf "$1"; rm -f "$T/tmpfs/filler"; sync
    dd if=/dev/zero of="$T/tmpfs/filler" bs=4k > /dev/null 2>&1
    truncate -s -"$((need - $2))"K "$T/tmpfs/filler"
  }
  cp -r "$R" "$F" 2> /dev/null || bad outputs_disk_full_copy "the run does not fit the tmpfs"
  rm -rf "$F/report" "$F/logs"
  fill_for "$F/eval" 4
  expect_fail outputs_disk_full_eval "No space left on device" build/nq-eval $CFG --set run_dir=\"$F\" "${TINY_MODEL[@]}"
  left=$(find "$F/eval" \( -name metrics.json -o -name predictions.jsonl -o -name '*.tmp' \) 2>/dev/null | head -3)
  if [ -z "$left" ]; then ok outputs_disk_full_eval_nothing_published
  else bad outputs_disk_full_eval_nothing_published "left without summary.md: $left"; fi
  rm -f "$T/tmpfs/filler"
  build/nq-eval $CFG --set run_dir=\"$F\" "${TINY_MODEL[@]}" > "$T/eval_again.log" 2>&1 ||
    bad outputs_disk_full_eval_rerun "$(tail -n 2 "$T/eval_again.log")"
  build/nq-report $CFG --set run_dir=\"$F\" "${TINY_MODEL[@]}" > "$T/rep_full0.log" 2>&1
  fill_for "$F/report" 4
  expect_fail outputs_disk_full_report "No space left on device" build/nq-report $CFG --set run_dir=\"$F\" "${TINY_MODEL[@]}"
  left=$(find "$F/report" \( -name '*.svg' -o -name '*.tmp' \) 2>/dev/null | head -3)
  if [ -z "$left" ]; then ok outputs_disk_full_report_nothing_published
  else bad outputs_disk_full_report_nothing_published "left without index.html: $left"; fi
  rm -f "$T/tmpfs/filler"
  umount "$T/tmpfs"
fi
exit $failed
