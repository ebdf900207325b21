#!/usr/bin/env bash
# ZeRO-1 (train.shard_optimizer, docs/scaling.md) on the smoke benchmark with the tests' tiny
# model, with NQ_MPI_CHUNK_ELEMS=100 so every tensor is cut into several buckets and the
# chunked collectives run: sharded vs unsharded final model at -np 2 (fp32 round-off
# tolerance, stated below); a sharded checkpoint written at -np 2 resumes at -np 1 and -np 3
# and ends where the uninterrupted -np 2 run ends; SIGTERM to one rank -> 75 -> --resume is
# bit-identical at -np 2. Run from the repo root with build/ built.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.bash
nq_test_init train_zero
CMP=tests/integration/train/cmp.py
R=$T/run
export NQ_MPI_CHUNK_ELEMS=100
# global batch 12 = 1 x 4 x 3 = 2 x 2 x 3 = 3 x 4 x 1, so -np 1, 2 and 3 see the same samples
SET=(--set run_dir=\"$R\" "${TINY_MODEL[@]}" --set train.lr=3e-3 --set train.min_lr=1e-3
     --set train.warmup=1 --set train.valid_every=0 --set train.valid_samples=4
     --set train.objective=\"nextquill\" --set train.weights=\"online\")
np() { local n=$1; shift; mpirun -np "$n" --oversubscribe build/nq-train $CFG "${SET[@]}" "$@"; }
G1=(--set train.micro_batch=4 --set train.accum=3)
G2=(--set train.micro_batch=2 --set train.accum=3)
G3=(--set train.micro_batch=4 --set train.accum=1)
M() { echo "$R/$1/metrics.h5"; }
# final weights within fp32 round-off: |a - b| <= 1e-5 + 1e-4 |b| per element
TOL=(1e-5 1e-4)

nq_prepare_smoke "$R" || exit 1

# ---- sharded vs unsharded at -np 2 ----------------------------------------------------------
np 2 "${G2[@]}" --set train.name=\"whole\" --set train.steps=6 --set train.shard_optimizer=\"false\" > $T/whole.log 2>&1
np 2 "${G2[@]}" --set train.name=\"zero\" --set train.steps=6 --set train.ckpt_every=3 > $T/zero.log 2>&1
if ! grep -q "optimizer sharded (ZeRO-1)" $T/zero.log || ! grep -q "optimizer whole" $T/whole.log; then
  bad train_zero_switch "$(tail -n 2 $T/zero.log)"
elif out=$($PY $CMP close $R/whole/model.h5 $R/zero/model.h5 "${TOL[@]}" 2>&1) &&
     out2=$($PY $CMP losses "$(M whole)" "$(M zero)" 1e-5 2>&1); then
  ok "train_zero_matches_unsharded ($out; losses $out2)"
else bad train_zero_matches_unsharded "$out ${out2:-} $(tail -n 2 $T/zero.log)"; fi

# the chunked all-reduce (buckets of 100 floats) sums exactly what the one-call one does
NQ_MPI_CHUNK_ELEMS= np 2 "${G2[@]}" --set train.name=\"whole1\" --set train.steps=6 \
  --set train.shard_optimizer=\"false\" > $T/whole1.log 2>&1
if out=$($PY $CMP weights $R/whole/model.h5 $R/whole1/model.h5 2>&1); then ok train_zero_chunked_allreduce_exact
else bad train_zero_chunked_allreduce_exact "$out"; fi

# ---- the -np 2 checkpoint of step 3 resumes at -np 1 and -np 3 -------------------------------
for n in 1 3; do
  d=res$n
  mkdir -p $R/$d && cp $R/zero/ckpt-000003.h5 $R/$d/ && cp $R/zero/metrics.h5 $R/$d/
  G=G$n[@]
  np $n "${!G}" --set train.name=\"$d\" --set train.steps=6 --set train.ckpt_every=3 --resume > $T/$d.log 2>&1
  if grep -q "resuming .*ckpt-000003.h5.* at step 3" $T/$d.log &&
     out=$($PY $CMP close $R/zero/model.h5 $R/$d/model.h5 "${TOL[@]}" 2>&1) &&
     out2=$($PY $CMP losses "$(M zero)" "$(M $d)" 1e-5 2>&1); then
    ok "train_zero_np2_checkpoint_resumes_at_np$n ($out)"
  else bad train_zero_np2_checkpoint_resumes_at_np$n "${out:-} ${out2:-} $(tail -n 2 $T/$d.log)"; fi
done
# the moments in the checkpoint are whole tensors, so they equal an unsharded run's to round-off
np 2 "${G2[@]}" --set train.name=\"whole3\" --set train.steps=3 --set train.shard_optimizer=\"false\" > $T/whole3.log 2>&1
if out=$($PY $CMP close_moments $R/whole3/ckpt-000003.h5 $R/zero/ckpt-000003.h5 "${TOL[@]}" 2>&1); then
  ok "train_zero_checkpoint_moments_whole ($out)"
else bad train_zero_checkpoint_moments_whole "$out"; fi

# ---- SIGTERM at -np 2 (sharded): exit 75, --resume finishes bit-identically ------------------
# (2000 steps: on a quiet machine 400 steps ended in 1.4 s, before the signal came)
LONG=(--set train.steps=2000 --set train.ckpt_every=0 --set train.objective=\"sft\"
      --set train.micro_batch=1 --set train.accum=1)
np 2 --set train.name=\"sig\" "${LONG[@]}" > $T/sig1.log 2>&1 &
pid=$!
for i in $(seq 1 300); do grep -q "starting at step" $T/sig1.log 2>/dev/null && break; sleep 0.05; done
sleep 0.5
# signal one rank, as Slurm's --signal does (mpirun itself would not forward it, it would end)
kill -TERM $(pgrep -P $pid | head -n 1)
wait $pid; rc=$?
# mpirun turns the ranks' 75 into its own non-zero code; the ranks' exit is in the log
if [ $rc -ne 0 ] && grep -q "exiting 75" $T/sig1.log && ls $R/sig/ckpt-*.h5 > /dev/null 2>&1 && [ ! -e $R/sig/model.h5 ]; then
  ok "train_zero_sigterm_exits_75 ($(ls $R/sig | grep ckpt))"
  np 2 --set train.name=\"sig\" "${LONG[@]}" --resume > $T/sig2.log 2>&1
  np 2 --set train.name=\"nosig\" "${LONG[@]}" > $T/sig3.log 2>&1
  if out=$($PY $CMP weights $R/sig/model.h5 $R/nosig/model.h5 2>&1) &&
     out=$($PY $CMP losses "$(M sig)" "$(M nosig)" 0 2>&1); then ok train_zero_sigterm_resume_identical
  else bad train_zero_sigterm_resume_identical "$out $(tail -n 2 $T/sig2.log)"; fi
else bad train_zero_sigterm_exits_75 "rc $rc, $(ls $R/sig 2>&1 | tr '\n' ' ') $(tail -n 2 $T/sig1.log)"; fi

# ---- memory plan: --plan prints and exits 0; an oversize model is refused naming the numbers --
if build/nq-train $CFG "${SET[@]}" --set train.name=\"plan\" --plan > $T/plan.log 2>&1 &&
   grep -q "total per rank" $T/plan.log && [ ! -e $R/plan ]; then ok train_plan_prints_and_exits
else bad train_plan_prints_and_exits "$(tail -n 2 $T/plan.log)"; fi
# Qwen2.5-3B's shape (3.09B parameters) under a 20G limit: 16 B/parameter alone is 46 GiB
Q3=(--set model.dim=2048 --set model.n_layers=36 --set model.n_heads=16 --set model.n_kv_heads=2
    --set model.ffn_dim=11008 --set model.vocab_size=151936 --set model.qkv_bias=true
    --set model.tie_embeddings=true --set model.max_seq_len=1024)
if build/nq-train $CFG "${SET[@]}" "${Q3[@]}" --set memory_limit=\"20G\" --set train.name=\"q3\" --plan \
     > $T/q3.log 2>&1; then bad train_plan_refuses_oversize "accepted: $(tail -n 3 $T/q3.log)"
elif grep -q "needs [0-9.]* GiB on this node (.* per rank x 1 on the node) but the limit is 20.00 GiB (memory_limit)" $T/q3.log &&
     grep -q "3085938688 parameters" $T/q3.log; then ok "train_plan_refuses_oversize ($(grep -o 'needs [0-9.]* GiB' $T/q3.log))"
else bad train_plan_refuses_oversize "$(tail -n 2 $T/q3.log)"; fi
exit $failed
