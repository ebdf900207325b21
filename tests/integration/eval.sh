#!/usr/bin/env bash
# nq-eval on the smoke benchmark with tiny models trained here (lm, sft, context_sft,
# nextquill with uniform weights): outputs exist and parse, summaries agree with the
# per-sample scores, phrase recall re-checked in Python, -np 1 == -np 2 byte for byte, the
# table is printed, sampling is reproducible, refusals. The golden greedy-decoding test is
# in tests/unit/test_eval.c. Run from the repo root with build/ built.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init eval
CHECK=tests/integration/eval/check.py
R=$T/run
SET=(--set run_dir=\"$R\" "${TINY_MODEL[@]}"
     --set train.micro_batch=4 --set train.accum=1 --set train.lr=1e-2
     --set train.min_lr=1e-3 --set train.warmup=2 --set train.valid_every=0
     --set train.valid_samples=4 --set train.ckpt_every=0 --set train.steps=25)
EV=(--set eval.max_new_tokens=48 --set eval.bootstrap=200)
eval1() { build/nq-eval $CFG "${SET[@]}" "${EV[@]}" "$@"; }
evalnp() { local np=$1; shift; mpirun -np "$np" --oversubscribe build/nq-eval $CFG "${SET[@]}" "${EV[@]}" "$@"; }

nq_prepare_smoke "$R" || exit 1
for o in lm sft context_sft; do
  if ! build/nq-train $CFG "${SET[@]}" --set train.name=\"$o\" --set train.objective=\"$o\" > $T/$o.log 2>&1; then
    bad eval_prepare "training $o: $(tail -n 2 $T/$o.log)"; exit 1; fi
done
if ! build/nq-train $CFG "${SET[@]}" --set train.name=\"nextquill\" --set train.objective=\"nextquill\" \
     --set train.weights=\"uniform\" > $T/nq.log 2>&1; then
  bad eval_prepare "training nextquill: $(tail -n 2 $T/nq.log)"; exit 1; fi

# ---- the default rows: base, sft (no history), context_sft, nextquill, nextquill+cos --------
t0=$SECONDS
if eval1 > $T/e1.log 2>&1; then ok "eval_runs ($((SECONDS - t0)) s, -np 1)"
else bad eval_runs "$(tail -n 3 $T/e1.log)"; exit 1; fi
if grep -q "^| model | ROUGE-1 | ROUGE-2 | ROUGE-L | METEOR | BLEU | NLL | NLL pref | NLL other | phrase recall |" $T/e1.log &&
   [ "$(grep -c '^| \(base\|sft\|context_sft\|nextquill\|nextquill+cos\) |' $T/e1.log)" = 5 ]; then
  ok eval_prints_table
else bad eval_prints_table "$(tail -n 12 $T/e1.log)"; fi
if out=$($PY $CHECK outputs $R base sft context_sft nextquill nextquill+cos 2>&1); then ok "eval_outputs_parse_and_agree ($out)"
else bad eval_outputs_parse_and_agree "$out"; fi
if out=$($PY $CHECK recall $R/data/synth.jsonl $R/eval/nextquill/predictions.jsonl $R/eval/sft/predictions.jsonl 2>&1); then
  ok "eval_phrase_recall_python ($out)"
else bad eval_phrase_recall_python "$out"; fi
if out=$($PY $CHECK prompts $R/eval 2>&1); then ok "eval_prompt_kinds ($out)"
else bad eval_prompt_kinds "$out"; fi

# ---- -np 1 == -np 2, byte for byte ------------------------------------------------------------
cp -r $R/eval $T/eval_np1
if evalnp 2 > $T/e2.log 2>&1 && diff -r $T/eval_np1 $R/eval > $T/diff.log 2>&1; then ok eval_np1_equals_np2
else bad eval_np1_equals_np2 "$(head -c 400 $T/diff.log) $(tail -n 2 $T/e2.log)"; fi

# ---- sampling: reproducible for a seed, changes with it, identical across rank counts ---------
SM=(--set eval.decoding=\"sample\" --set eval.top_p=0.9 --set eval.temperature=0.8 --set eval.max_samples=12
    --set 'eval.models={ context_sft = "context_sft/model.h5"; }' --set 'eval.cos_models=[]')
eval1 "${SM[@]}" > $T/s1.log 2>&1 && cp $R/eval/context_sft/predictions.jsonl $T/s1.jsonl
evalnp 2 "${SM[@]}" > $T/s2.log 2>&1 && cp $R/eval/context_sft/predictions.jsonl $T/s2.jsonl
eval1 "${SM[@]}" --set eval.seed=99 > $T/s3.log 2>&1 && cp $R/eval/context_sft/predictions.jsonl $T/s3.jsonl
if [ -s $T/s1.jsonl ] && cmp -s $T/s1.jsonl $T/s2.jsonl && ! cmp -s $T/s1.jsonl $T/s3.jsonl &&
   [ "$(wc -l < $T/s1.jsonl)" = 12 ]; then ok eval_sampling_seeded
else bad eval_sampling_seeded "$(tail -n 2 $T/s1.log $T/s2.log $T/s3.log)"; fi

# ---- refusals ---------------------------------------------------------------------------------
if eval1 --set eval.baseline=\"nosuch\" > $T/r1.log 2>&1; then bad eval_refuses_unknown_baseline "ran"
elif grep -q "eval.baseline \"nosuch\" is not a row" $T/r1.log; then ok eval_refuses_unknown_baseline
else bad eval_refuses_unknown_baseline "$(tail -n 1 $T/r1.log)"; fi
if eval1 --set 'eval.models={ x = "nothere/model.h5"; }' --set eval.baseline=\"\" > $T/r2.log 2>&1; then
  bad eval_refuses_missing_checkpoint "ran"
elif grep -q "checkpoint of eval.models.x is missing" $T/r2.log; then ok eval_refuses_missing_checkpoint
else bad eval_refuses_missing_checkpoint "$(tail -n 1 $T/r2.log)"; fi
# a shard changed after training: the checkpoints' recorded shard digests no longer match
$PY -c "import h5py; h5py.File('$R/shards/shard-00001.h5', 'r+').attrs['touched'] = 1"
if eval1 > $T/r3.log 2>&1; then bad eval_refuses_other_shards "ran"
elif grep -q "trained on .*shard-00001.h5 (sha256" $T/r3.log; then ok eval_refuses_other_shards
else bad eval_refuses_other_shards "$(tail -n 1 $T/r3.log)"; fi
exit $failed
