#!/usr/bin/env bash
# Gradient overlap (train.overlap_comm, docs/scaling.md): the buckets posted from inside the
# backward pass give bit-identical weights and losses to the same buckets posted after it, at
# a fixed rank count: -np 2 sharded and unsharded (1 thread: the serial backward) and -np 3
# sharded with 2 threads (the fused OpenMP backward, hook on thread 0). nextquill with
# accumulation (the hook runs on the last micro-batch's second backward pass only), buckets of
# 100 floats so every layer has several. Run from the repo root with build/ built.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init train_overlap
CMP=tests/integration/train/cmp.py
R=$T/run
export NQ_MPI_CHUNK_ELEMS=100
SET=(--set run_dir=\"$R\" "${TINY_MODEL[@]}" --set train.lr=3e-3 --set train.min_lr=1e-3
     --set train.warmup=1 --set train.valid_every=0 --set train.valid_samples=4 --set train.steps=4
     --set train.objective=\"nextquill\" --set train.weights=\"online\")
np() { local n=$1; shift; mpirun -np "$n" --oversubscribe build/nq-train $CFG "${SET[@]}" "$@"; }
M() { echo "$R/$1/metrics.h5"; }

nq_prepare_smoke "$R" || exit 1

# name ranks extra... : the run with overlap and without; identical weights and losses
pair() {
  local name=$1 n=$2; shift 2
  np $n "$@" --set train.name=\"${name}_on\" > $T/${name}_on.log 2>&1
  np $n "$@" --set train.name=\"${name}_off\" --set train.overlap_comm=false > $T/${name}_off.log 2>&1
  local early; early=$(sed -nE 's/.*overlap on, ([0-9]+) of ([0-9]+) gradient buckets posted during.*/\1 \2/p' $T/${name}_on.log)
  if [ -z "$early" ] || [ "${early% *}" -eq 0 ] || ! grep -q "overlap off, 0 of" $T/${name}_off.log; then
    bad "train_overlap_${name}_posts_early" "on: '${early}' $(tail -n 2 $T/${name}_on.log) off: $(tail -n 1 $T/${name}_off.log)"
    return
  fi
  ok "train_overlap_${name}_posts_early (${early% *} of ${early#* } buckets posted inside the backward)"
  local out out2
  if out=$($PY $CMP weights $R/${name}_on/model.h5 $R/${name}_off/model.h5 2>&1) &&
     out2=$($PY $CMP losses "$(M ${name}_on)" "$(M ${name}_off)" 0 2>&1); then
    ok "train_overlap_${name}_bit_identical"
  else bad "train_overlap_${name}_bit_identical" "$out ${out2:-}"; fi
}
pair np2_sharded 2 --set train.micro_batch=2 --set train.accum=3
pair np2_whole 2 --set train.micro_batch=2 --set train.accum=3 --set train.shard_optimizer=\"false\"
pair np3_threads2 3 --set train.micro_batch=4 --set train.accum=1 --set model.threads=2

# ---- the memory plans of nq-effect and nq-eval (docs/scaling.md): --plan prints the plan and
# exits 0 without output; a memory_limit below the plan is refused with the numbers
MOD=$R/np2_sharded_on/model.h5
EFF=(--set effect.model=\"$MOD\")
EVL=(--set "eval.models={ a = \"$MOD\"; b = \"$MOD\"; }" --set eval.baseline=\"\")
for st in effect eval; do
  if [ $st = effect ]; then X=("${EFF[@]}"); else X=("${EVL[@]}"); fi
  if build/nq-$st $CFG "${SET[@]}" "${X[@]}" --plan > $T/$st-plan.log 2>&1 &&
     grep -q "weights (fp32)" $T/$st-plan.log && grep -q "total per rank" $T/$st-plan.log &&
     [ ! -e $R/$st ]; then ok "${st}_plan_prints_and_exits"
  else bad "${st}_plan_prints_and_exits" "$(tail -n 3 $T/$st-plan.log)"; fi
  if build/nq-$st $CFG "${SET[@]}" "${X[@]}" --set memory_limit=\"1K\" --plan > $T/$st-big.log 2>&1; then
    bad "${st}_plan_refuses_over_limit" "accepted: $(tail -n 2 $T/$st-big.log)"
  elif grep -q "needs [0-9.]* GiB on this node (.* per rank x 1 on the node) but the limit is 0.00 GiB (memory_limit)" $T/$st-big.log
  then ok "${st}_plan_refuses_over_limit"
  else bad "${st}_plan_refuses_over_limit" "$(tail -n 2 $T/$st-big.log)"; fi
done
# nq-eval counts each model's weights and the largest pass's activations once
if [ "$(grep -c "weights (fp32)" $T/eval-plan.log)" = 2 ] && [ "$(grep -c "activations" $T/eval-plan.log)" = 1 ]; then
  ok eval_plan_counts_models
else bad eval_plan_counts_models "$(cat $T/eval-plan.log)"; fi
exit $failed
