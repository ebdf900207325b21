#!/usr/bin/env bash
# nq-train on the smoke benchmark with a tiny model (set here, so the test does not depend on
# the configs' model section): every objective reduces its loss; nextquill with alpha=0, w=1
# equals context_sft exactly; -np 1 vs -np 2; resume equality; SIGTERM -> 75 -> resume;
# refusal of mismatched inputs. Run from the repo root with build/ built.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init train
CMP=tests/integration/train/cmp.py
R=$T/run
SET=(--set run_dir=\"$R\" "${TINY_MODEL[@]}"
     --set train.micro_batch=2 --set train.accum=2 --set train.lr=3e-3
     --set train.min_lr=1e-3 --set train.warmup=1 --set train.valid_every=0
     --set train.valid_samples=4)
train() { build/nq-train $CFG "${SET[@]}" "$@"; }
trainnp() { local np=$1; shift; mpirun -np "$np" --oversubscribe build/nq-train $CFG "${SET[@]}" "$@"; }
M() { echo "$R/$1/metrics.h5"; }

nq_prepare_smoke "$R" || exit 1

# ---- each objective reduces its loss ------------------------------------------------------
run_obj() {  # name, extra args...
  local n=$1; shift
  if ! train --set train.name=\"$n\" --set train.steps=20 "$@" > $T/$n.log 2>&1; then
    bad train_${n}_runs "$(tail -n 3 $T/$n.log)"; return 1; fi
  if out=$($PY $CMP decreases "$(M $n)" 2>&1); then ok "train_${n}_loss_decreases ($out)"
  else bad train_${n}_loss_decreases "$out"; fi
}
run_obj lm --set train.objective=\"lm\"
run_obj sft --set train.objective=\"sft\"
run_obj context_sft --set train.objective=\"context_sft\" --set train.history_dropout=0.3
run_obj nq_uniform --set train.objective=\"nextquill\" --set train.weights=\"uniform\"
run_obj nq_online --set train.objective=\"nextquill\" --set train.weights=\"online\"
run_obj nq_align --set train.objective=\"nextquill\" --set train.weights=\"uniform\" \
  --set train.effect_alignment=true --set train.reference=\"context_sft/model.h5\" --set train.alpha=1
# annotations from nq-effect/nq-annotate with the context_sft run as reference
if { build/nq-effect $CFG "${SET[@]}" --set effect.model=\"$R/context_sft/model.h5\" &&
     build/nq-annotate $CFG "${SET[@]}" --set annotate.rule=\"top_fraction\" \
       --set annotate.top_fraction=0.3; } > $T/ann.log 2>&1; then
  run_obj nq_ann --set train.objective=\"nextquill\" --set train.weights=\"annotations\"
  share=$($PY -c "import h5py; print(h5py.File('$(M nq_ann)')['metrics/pref_share'][()].max())" 2>&1)
  $PY -c "import sys; sys.exit(not 0 < float('$share') <= 1)" 2>/dev/null \
    && ok "train_pref_share_logged ($share)" || bad train_pref_share_logged "share '$share'"
  # ratio weights (p_h / p_0 clipped) from the same effect files, and online; a missing
  # effect file is refused naming it
  run_obj nq_ratio --set train.objective=\"nextquill\" --set train.weights=\"ratio\"
  run_obj nq_ratio_online --set train.objective=\"nextquill\" --set train.weights=\"ratio_online\"
  share=$($PY -c "import h5py; print(h5py.File('$(M nq_ratio)')['metrics/pref_share'][()].max())" 2>&1)
  $PY -c "import sys; sys.exit(not 0 < float('$share') < 1)" 2>/dev/null \
    && ok "train_ratio_pref_share_logged ($share)" || bad train_ratio_pref_share_logged "share '$share'"
  if train --set train.name=\"nq_ratio_bad\" --set train.objective=\"nextquill\" --set train.weights=\"ratio\" \
       --set effect.output=\"no_effects\" > $T/ratio_bad.log 2>&1; then bad train_ratio_needs_effects "ran"
  elif grep -q "no_effects/shard-00000.h5: missing effect file" $T/ratio_bad.log; then ok train_ratio_needs_effects
  else bad train_ratio_needs_effects "$(tail -n 1 $T/ratio_bad.log)"; fi
  # an annotation file made from another shard is refused before any step
  cp $R/shards/shard-00000.h5 $T/s0.h5
  cp $R/annotations/shard-00001.h5 $R/annotations/shard-00000.h5
  if train --set train.name=\"nq_bad\" --set train.objective=\"nextquill\" > $T/bad.log 2>&1; then
    bad train_refuses_stale_annotations "ran"
  elif grep -q "made from another shard" $T/bad.log; then ok train_refuses_stale_annotations
  else bad train_refuses_stale_annotations "$(tail -n 1 $T/bad.log)"; fi
  [ -e $R/nq_bad/ckpt-000200.h5 ] && bad train_refuses_stale_annotations "wrote a checkpoint"
else
  bad train_annotations_prepare "$(tail -n 3 $T/ann.log)"
fi

# ---- nextquill with alpha = 0 and w = 1 equals context_sft exactly ------------------------
train --set train.name=\"eq_ctx\" --set train.steps=4 > $T/eq1.log 2>&1 &&
train --set train.name=\"eq_nq\" --set train.steps=4 --set train.objective=\"nextquill\" \
  --set train.weights=\"uniform\" --set train.alpha=0 > $T/eq2.log 2>&1
if out=$($PY $CMP losses "$(M eq_ctx)" "$(M eq_nq)" 0 2>&1) &&
   out=$($PY $CMP weights $R/eq_ctx/model.h5 $R/eq_nq/model.h5 2>&1); then
  ok train_nextquill_alpha0_equals_context_sft
else bad train_nextquill_alpha0_equals_context_sft "$out"; fi

# ---- -np 1 vs -np 2 (same global batch 4) ---------------------------------------------------
trainnp 1 --set train.name=\"np1\" --set train.steps=5 --set train.objective=\"nextquill\" \
  --set train.weights=\"online\" --set train.micro_batch=4 --set train.accum=1 > $T/np1.log 2>&1 &&
trainnp 2 --set train.name=\"np2\" --set train.steps=5 --set train.objective=\"nextquill\" \
  --set train.weights=\"online\" --set train.micro_batch=1 --set train.accum=2 > $T/np2.log 2>&1
if out=$($PY $CMP losses "$(M np1)" "$(M np2)" 1e-5 2>&1); then ok "train_np1_np2_agree ($out)"
else bad train_np1_np2_agree "$out $(tail -n 2 $T/np2.log)"; fi

# lm on per-user stream windows (128 tokens: several windows per user), -np 1 vs -np 2
trainnp 1 --set train.name=\"lm_np1\" --set train.steps=4 --set train.objective=\"lm\" \
  --set train.lm_window=128 --set train.micro_batch=4 --set train.accum=1 > $T/lmnp1.log 2>&1 &&
trainnp 2 --set train.name=\"lm_np2\" --set train.steps=4 --set train.objective=\"lm\" \
  --set train.lm_window=128 --set train.micro_batch=1 --set train.accum=2 > $T/lmnp2.log 2>&1
if out=$($PY $CMP losses "$(M lm_np1)" "$(M lm_np2)" 1e-5 2>&1) &&
   grep -q "lm streams: .* windows of <= 128 tokens" $T/lmnp1.log; then ok "train_lm_np1_np2_agree ($out)"
else bad train_lm_np1_np2_agree "$out $(tail -n 2 $T/lmnp2.log)"; fi

# ---- resume equality: drop the last checkpoint and continue ---------------------------------
train --set train.name=\"full\" --set train.steps=6 --set train.ckpt_every=2 > $T/full.log 2>&1
train --set train.name=\"res\" --set train.steps=6 --set train.ckpt_every=2 > $T/res1.log 2>&1
rm -f $R/res/ckpt-000006.h5 $R/res/model.h5
if train --set train.name=\"res\" --set train.steps=6 --set train.ckpt_every=2 > $T/res0.log 2>&1; then
  bad train_needs_resume_flag "reran over existing checkpoints without --resume"
else ok train_needs_resume_flag; fi
train --set train.name=\"res\" --set train.steps=6 --set train.ckpt_every=2 --resume > $T/res2.log 2>&1
if grep -q "resuming .*ckpt-000004.h5 at step 4" $T/res2.log &&
   out=$($PY $CMP losses "$(M full)" "$(M res)" 0 2>&1) &&
   out=$($PY $CMP weights $R/full/model.h5 $R/res/model.h5 2>&1); then ok train_resume_identical
else bad train_resume_identical "${out:-no resume line} $(tail -n 2 $T/res2.log)"; fi

# ---- SIGTERM: checkpoint, exit 75, --resume finishes identically ----------------------------
LONG=(--set train.steps=500 --set train.ckpt_every=0 --set train.objective=\"sft\"
      --set train.micro_batch=1 --set train.accum=1)
build/nq-train $CFG "${SET[@]}" --set train.name=\"sig\" "${LONG[@]}" > $T/sig1.log 2>&1 &
pid=$!
# the "starting at step" line comes after the signal handlers are installed
for i in $(seq 1 200); do grep -q "starting at step" $T/sig1.log 2>/dev/null && break; sleep 0.05; done
sleep 0.2
kill -TERM $pid
wait $pid; rc=$?
if [ $rc -eq 75 ] && ls $R/sig/ckpt-*.h5 > /dev/null 2>&1 && [ ! -e $R/sig/model.h5 ]; then
  ok "train_sigterm_exits_75 ($(ls $R/sig | grep ckpt))"
  train --set train.name=\"sig\" "${LONG[@]}" --resume > $T/sig2.log 2>&1
  train --set train.name=\"nosig\" "${LONG[@]}" > $T/sig3.log 2>&1
  if out=$($PY $CMP weights $R/sig/model.h5 $R/nosig/model.h5 2>&1) &&
     out=$($PY $CMP losses "$(M sig)" "$(M nosig)" 0 2>&1); then ok train_sigterm_resume_identical
  else bad train_sigterm_resume_identical "$out"; fi
else bad train_sigterm_exits_75 "rc $rc, $(ls $R/sig 2>&1 | tr '\n' ' ') $(tail -n 1 $T/sig1.log)"; fi

# ---- refusals before any step ---------------------------------------------------------------
# a larger model vocabulary is padding (as in Qwen2.5's checkpoints); a smaller one is an error
if train --set train.name=\"badvocab\" --set model.vocab_size=400 > $T/v.log 2>&1; then
  bad train_refuses_vocab_mismatch "ran"
elif grep -q "'model.vocab_size': 400 is smaller than the tokenizer's 512" $T/v.log; then ok train_refuses_vocab_mismatch
else bad train_refuses_vocab_mismatch "$(tail -n 1 $T/v.log)"; fi
if train --set train.name=\"badlen\" --set model.max_seq_len=16 > $T/l.log 2>&1; then
  bad train_refuses_short_max_seq_len "ran"
elif grep -q "max_seq_len" $T/l.log; then ok train_refuses_short_max_seq_len
else bad train_refuses_short_max_seq_len "$(tail -n 1 $T/l.log)"; fi
exit $failed
