#!/usr/bin/env bash
# LoRA (train.adapter = "lora") on the smoke benchmark with the tests' tiny model: the loss of
# a LoRA NextQuill run falls; the merged model.h5 equals base + (alpha/r) B A; --resume from an
# adapter checkpoint equals the uninterrupted run; an adapter is refused on another base
# (resume, per-user eval); per-user adapters: SIGTERM -> exit 75 -> --resume finishes without
# redoing finished users and equals an uninterrupted run; nq-eval's +user-lora row; nq-export
# to PEFT's layout (names, config, values), back bitwise, and --merge == W + (alpha/r) B A.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init lora
CK=tests/integration/lora/check.py
R=$T/run
SET=(--set run_dir=\"$R\" "${TINY_MODEL[@]}" --set train.micro_batch=2 --set train.accum=2
     --set train.lr=1e-2 --set train.warmup=1 --set train.valid_every=0 --set train.valid_samples=4)
train() { build/nq-train $CFG "${SET[@]}" "$@"; }
LORA=(--set train.adapter=\"lora\" --set train.init=\"base/model.h5\" --set train.objective=\"nextquill\"
      --set train.weights=\"uniform\" --set train.lora_rank=4 --set train.lora_alpha=8)

nq_prepare_smoke "$R" || exit 1
train --set train.name=\"base\" --set train.objective=\"context_sft\" --set train.steps=20 > $T/base.log 2>&1 ||
  { bad lora_base_model "$(tail -n 2 $T/base.log)"; exit 1; }
train --set train.name=\"other\" --set train.objective=\"sft\" --set train.steps=2 > $T/other.log 2>&1

# ---- dropout masks are keyed by sample and position, not rank: -np 1 (micro-batch 4) and -np 2
# (2 each) train the same adapters (fp32 round-off tolerance, as train.sh's -np 1 vs -np 2)
DR=("${LORA[@]}" --set train.lora_dropout=0.3 --set train.steps=4 --set train.accum=1)
if train --set train.name=\"dnp1\" "${DR[@]}" --set train.micro_batch=4 > $T/dnp1.log 2>&1 &&
   mpirun -np 2 --oversubscribe build/nq-train $CFG "${SET[@]}" --set train.name=\"dnp2\" "${DR[@]}" \
     --set train.micro_batch=2 > $T/dnp2.log 2>&1; then
  out=$($PY tests/integration/train/cmp.py losses $R/dnp1/metrics.h5 $R/dnp2/metrics.h5 1e-5 2>&1) &&
    out2=$($PY tests/integration/train/cmp.py close $R/dnp1/adapter.h5 $R/dnp2/adapter.h5 1e-5 1e-4 2>&1) &&
    ok "lora_dropout_np1_np2_agree ($out; $out2)" || bad lora_dropout_np1_np2_agree "$out ${out2:-}"
else bad lora_dropout_np1_np2_agree "a run failed: $(tail -n 1 $T/dnp1.log) $(tail -n 1 $T/dnp2.log)"; fi

# ---- a LoRA NextQuill run: loss falls, merged model ------------------------------------------
if train --set train.name=\"nql\" "${LORA[@]}" --set train.steps=40 --set train.lora_dropout=0.1 \
     > $T/nql.log 2>&1; then
  out=$($PY tests/integration/train/cmp.py decreases $R/nql/metrics.h5 2>&1) && ok "lora_loss_decreases ($out)" \
    || bad lora_loss_decreases "$out"
  out=$($PY $CK merged $R/base/model.h5 $R/nql/adapter.h5 $R/nql/model.h5 2>&1) && ok "lora_merged_model ($out)" \
    || bad lora_merged_model "$out"
else bad lora_trains "$(tail -n 2 $T/nql.log)"; fi

# ---- PEFT export / import, merged HF export ---------------------------------------------------
PC=tests/integration/lora/peft_check.py
if build/nq-export $R/nql/adapter.h5 $T/peft --base $R/base/model.h5 > $T/peft.log 2>&1; then
  out=$($PY $PC layout $T/peft $R/nql/adapter.h5 2>&1) && ok "lora_peft_layout ($out)" || bad lora_peft_layout "$out"
  build/nq-export $T/peft $T/back.h5 > $T/back.log 2>&1   # base from base_model_name_or_path
  $PY -c "import h5py,numpy as np,sys; a,b=(h5py.File(p)['lora/params'][()].view(np.uint32) for p in ('$R/nql/adapter.h5','$T/back.h5')); sys.exit(not np.array_equal(a,b))" \
    && ok lora_peft_round_trip_bitwise || bad lora_peft_round_trip_bitwise "$(tail -n 1 $T/back.log)"
  build/nq-export $R/nql/adapter.h5 $T/merged --merge --base $R/base/model.h5 > $T/merged.log 2>&1
  out=$($PY $PC merged $R/base/model.h5 $T/peft $T/merged 2>&1) && ok "lora_merged_export ($out)" || bad lora_merged_export "$out"
  build/nq-export $T/peft $T/merged2 --merge > $T/merged2.log 2>&1
  cmp -s $T/merged/model.safetensors $T/merged2/model.safetensors && ok lora_peft_import_merge_equal \
    || bad lora_peft_import_merge_equal "$(tail -n 1 $T/merged2.log)"
  cp -r $T/peft $T/dora && sed -i 's/"use_dora": false/"use_dora": true/' $T/dora/adapter_config.json
  if build/nq-export $T/dora $T/dora.h5 > $T/dora.log 2>&1; then bad lora_peft_refuses_dora imported
  elif grep -q "field 'use_dora': not supported" $T/dora.log; then ok lora_peft_refuses_dora
  else bad lora_peft_refuses_dora "$(tail -n 1 $T/dora.log)"; fi
else bad lora_peft_export "$(tail -n 2 $T/peft.log)"; fi
if build/nq-export $R/nql/adapter.h5 $T/peft_wrong --base $R/other/model.h5 > $T/pw.log 2>&1; then bad lora_export_refuses_other_base ran
elif grep -q "adapter trained on another base model" $T/pw.log; then ok lora_export_refuses_other_base
else bad lora_export_refuses_other_base "$(tail -n 1 $T/pw.log)"; fi

# ---- resume equals the uninterrupted run; another base is refused ----------------------------
RS=("${LORA[@]}" --set train.steps=6 --set train.ckpt_every=3 --set train.keep=5)
train --set train.name=\"full\" "${RS[@]}" > $T/full.log 2>&1
mkdir -p $R/res && cp $R/full/ckpt-000003.h5 $R/full/metrics.h5 $R/res/
train --set train.name=\"res\" "${RS[@]}" --resume > $T/res.log 2>&1
$PY -c "import h5py,numpy as np,sys; a,b=(h5py.File('$R/%s/adapter.h5'%n)['lora/params'][()] for n in ('full','res')); sys.exit(not np.array_equal(a,b))" \
  && ok lora_resume_equal || bad lora_resume_equal "$(tail -n 2 $T/res.log)"
# killed between the metrics write and the adapter checkpoint of step 6 (the last): the resumed
# run (from step 3) ends with every metrics row of the uninterrupted run (the order of
# train_checkpoint: metrics first, then the checkpoint)
NQ_FAULT_KILL=between-metrics-and-checkpoint:6 train --set train.name=\"kwin\" "${RS[@]}" > $T/kwin.log 2>&1
if ! grep -q "NQ_FAULT_KILL: killing" $T/kwin.log; then bad lora_kill_window_hit "not reached: $(tail -n 1 $T/kwin.log)"
elif [ -e $R/kwin/ckpt-000006.h5 ]; then bad lora_kill_window_order "the checkpoint of step 6 was written before the metrics"
else
  train --set train.name=\"kwin\" "${RS[@]}" --resume > $T/kwin2.log 2>&1
  out=$($PY tests/integration/train/cmp.py losses $R/full/metrics.h5 $R/kwin/metrics.h5 0 2>&1) \
    && ok "lora_kill_window_metrics_whole" || bad lora_kill_window_metrics_whole "$out $(tail -n 1 $T/kwin2.log)"
fi
mkdir -p $R/wrong && cp $R/full/ckpt-000003.h5 $R/wrong/
if train --set train.name=\"wrong\" "${RS[@]}" --set train.init=\"other/model.h5\" --resume > $T/wrong.log 2>&1; then
  bad lora_refuses_other_base "resumed"
elif grep -q "adapter trained on another base model" $T/wrong.log; then ok lora_refuses_other_base
else bad lora_refuses_other_base "$(tail -n 1 $T/wrong.log)"; fi

# ---- per-user adapters: SIGTERM, resume, equality ----------------------------------------------
PU=("${LORA[@]}" --set train.init=\"nql/model.h5\" --set train.per_user=true --set train.user_groups=3
    --set train.steps=6 --set train.accum=1)
train --set train.name=\"pu_full\" "${PU[@]}" > $T/pu_full.log 2>&1 || bad lora_per_user_runs "$(tail -n 2 $T/pu_full.log)"
build/nq-train $CFG "${SET[@]}" --set train.name=\"pu\" "${PU[@]}" > $T/pu1.log 2>&1 &
pid=$!
for _ in $(seq 200); do ls $R/pu/users/group-*.h5 >/dev/null 2>&1 && break; sleep 0.1; done
kill -TERM $pid; wait $pid; rc=$?
if [ $rc = 75 ]; then
  train --set train.name=\"pu\" "${PU[@]}" --resume > $T/pu2.log 2>&1
  kept=$(sed -n 's/.*trained now, \([0-9]*\) kept from before.*/\1/p' $T/pu2.log)
  out=$($PY $CK groups_equal $R/pu_full/users $R/pu/users 2>&1)
  if [ -n "$kept" ] && [ "$kept" -gt 0 ] && [ $? = 0 ] && grep -q "bitwise equal" <<<"$out"; then
    ok "lora_per_user_resume ($kept users kept; $out)"
  else bad lora_per_user_resume "kept '$kept'; $out"; fi
else bad lora_per_user_resume "SIGTERM gave exit $rc (want 75; $(tail -n 1 $T/pu1.log))"; fi

# ---- nq-eval's +user-lora row; adapters on another base refused --------------------------------
EV=(--set eval.max_new_tokens=8 --set 'eval.cos_models=[]' --set 'eval.nohist_models=[]' --set eval.baseline=\"nql\")
if build/nq-eval $CFG "${SET[@]}" "${EV[@]}" --set 'eval.models={ nql = "nql/model.h5"; }' \
     --set 'eval.user_adapters={ nql = "pu_full/users"; }' > $T/ev.log 2>&1 && grep -q "nql+user-lora" $R/eval/summary.md; then
  ok lora_eval_user_row
else bad lora_eval_user_row "$(tail -n 2 $T/ev.log)"; fi
if build/nq-eval $CFG "${SET[@]}" "${EV[@]}" --set 'eval.models={ nql = "base/model.h5"; }' \
     --set 'eval.user_adapters={ nql = "pu_full/users"; }' > $T/ev2.log 2>&1; then bad lora_eval_refuses_other_base "ran"
elif grep -q "adapter trained on another base model" $T/ev2.log; then ok lora_eval_refuses_other_base
else bad lora_eval_refuses_other_base "$(tail -n 1 $T/ev2.log)"; fi
exit $failed
