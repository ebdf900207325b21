#!/usr/bin/env bash
# `make bench` driver: a sequence of sections, each printing a readable table.
# Add a section by appending a function and a call at the bottom.
# Timings are noisy on the shared 2-core machine (+-10-20%).
set -u
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PY=/usr/bin/python3
TORCH_REF=tests/integration/model/torch_ref.py

# ---- section: model core training throughput (issue 4) ----------------------------------
# Ours: OpenMP threads, each matmul split by rows into single-threaded cblas_sgemm calls.
# PyTorch: best of its settings on the same 2 cores, found in this run (see
# /work/shared/perf-anchors.md): (a) OMP_WAIT_POLICY=PASSIVE + set_num_threads(2),
# (b) set_num_threads(1) with OpenBLAS's own 2 threads; 1-core rows use
# OPENBLAS_NUM_THREADS=1 + set_num_threads(1). FLOPs counted the same for both sides:
# 6 x matmul params per token + causal attention (T/2 keys on average).
bench_model_section() {
  echo "== model core: training step (forward + CE + backward + clip + AdamW), fp32 =="
  printf '%-7s %-26s %4s %10s %10s %6s %8s %8s %6s %7s\n' config shape thr "ours tok/s" "torch tok/s" ratio "GFLOP/s" "sgemm" "%sgemm" "RSS MB"
  local cfgs=("small 192 6 6 2 512 2048 8 256 8" "medium 512 8 8 4 1376 2048 4 512 4")
  for c in "${cfgs[@]}"; do
    set -- $c
    local name=$1 dim=$2 L=$3 H=$4 KV=$5 F=$6 V=$7 B=$8 T=$9 steps=${10}
    for thr in 1 2; do
      local ours torch t1 t2
      ours=$(OPENBLAS_NUM_THREADS=1 build/bench/bench_model $dim $L $H $KV $F $V $B $T $steps $thr) || { echo "bench_model failed"; return 1; }
      if [ $thr = 1 ]; then
        torch=$(OPENBLAS_NUM_THREADS=1 $PY $TORCH_REF bench $dim $L $H $KV $F $V $B $T $steps 1)
      else
        t1=$(OMP_WAIT_POLICY=PASSIVE $PY $TORCH_REF bench $dim $L $H $KV $F $V $B $T $steps 2)
        t2=$($PY $TORCH_REF bench $dim $L $H $KV $F $V $B $T $steps 1)
        torch=$(echo "$t1 $t2" | awk '{print ($1 > $2) ? $1 : $2}')
      fi
      local tok gf sg rss
      tok=$(sed -nE 's/.*tok_s=([0-9.]+).*/\1/p' <<<"$ours")
      gf=$(sed -nE 's/.* gflops=([0-9.]+).*/\1/p' <<<"$ours")
      sg=$(sed -nE 's/.*sgemm_gflops=([0-9.]+).*/\1/p' <<<"$ours")
      rss=$(sed -nE 's/.*rss_mb=([0-9.]+).*/\1/p' <<<"$ours")
      awk -v n=$name -v s="d$dim L$L ffn$F V$V B$B T$T" -v th=$thr -v o=$tok -v t=$torch -v g=$gf -v sg=$sg -v r=$rss \
        'BEGIN { printf "%-7s %-26s %4d %10.0f %10.0f %5.2fx %8.1f %8.1f %5.0f%% %7.0f\n", n, s, th, o, t, o / t, g, sg, 100 * g / sg, r }'
    done
  done
  echo "targets: >= 1.5x PyTorch on small, >= 1.0x on medium, >= 50% of sgemm on medium (2 threads)"
}

bench_model_section

# ---- section: effect estimation (issue 6) -----------------------------------------------
# nq-effect's inner loop (effect_compute: packed micro-batches of 8 samples, both passes,
# log-softmax + JS + ranks per target token) on the small model with random weights, 16
# samples of 288 (with history) / 96 (without) tokens, 64 targets each. Tokens of both passes
# are counted; the ratio is against model_forward alone on the same packed batches, in the
# same run, so it shows what the effect kernels and packing cost on top of the forward.
bench_effect_section() {
  echo "== effect estimation (nq-effect), small model d192 L6 ffn512 V2048, 1 thread =="
  local out
  out=$(OPENBLAS_NUM_THREADS=1 build/bench/bench_effect 3) || { echo "bench_effect failed"; return 1; }
  local e f r
  e=$(sed -nE 's/^effect_tokens_per_s ([0-9.]+)/\1/p' <<<"$out")
  f=$(sed -nE 's/^forward_tokens_per_s ([0-9.]+)/\1/p' <<<"$out")
  r=$(sed -nE 's/^effect_over_forward ([0-9.]+)/\1/p' <<<"$out")
  printf '%-32s %10s\n' "effect tok/s (both passes)" "$e"
  printf '%-32s %10s\n' "forward-only tok/s" "$f"
  printf '%-32s %9sx\n' "effect / forward-only" "$r"
}

bench_effect_section

# ---- section: NextQuill step vs context_sft (issue 5) --------------------------------------
# nq-train on the smoke benchmark (tiny model d64 L2, 1 rank, micro_batch 4, 12 steps):
# median step time and forward tokens/s (NextQuill forwards both prompts), and the NextQuill
# step's cost over context_sft's (two passes and two backward passes: expect ~2x).
bench_train_section() {
  echo "== training step: nextquill vs context_sft (nq-train, smoke data, d64 L2, 1 rank) =="
  local T; T=$(mktemp -d /tmp/nq-bench-train.XXXXXX)
  local SET=(--set run_dir=\"$T\" --set model.dim=64 --set model.n_layers=2 --set model.n_heads=2
             --set model.n_kv_heads=1 --set model.ffn_dim=192 --set model.max_seq_len=640
             --set train.micro_batch=4 --set train.accum=1 --set train.steps=12
             --set train.valid_every=0 --set train.valid_samples=0 --set train.ckpt_every=0)
  if ! { build/nq-synth configs/smoke.cfg "${SET[@]}" && build/nq-shard configs/smoke.cfg "${SET[@]}" &&
         build/nq-train configs/smoke.cfg "${SET[@]}" --set train.name=\"ctx\" &&
         build/nq-train configs/smoke.cfg "${SET[@]}" --set train.name=\"nq\" \
           --set train.objective=\"nextquill\" --set train.weights=\"uniform\"; } > $T/log 2>&1; then
    echo "bench_train failed: $(tail -n 2 $T/log)"; rm -rf "$T"; return 1
  fi
  $PY - "$T" <<'PYEOF'
import sys, h5py, numpy as np
T = sys.argv[1]
r = {}
for n in ("ctx", "nq"):
    m = h5py.File(f"{T}/{n}/metrics.h5")["metrics"]
    r[n] = (np.median(m["step_seconds"][1:]), np.median(m["tokens_per_s"][1:]))
print(f"{'objective':<14} {'step ms':>9} {'fwd tok/s':>10}")
print(f"{'context_sft':<14} {r['ctx'][0]*1e3:9.1f} {r['ctx'][1]:10.0f}")
print(f"{'nextquill':<14} {r['nq'][0]*1e3:9.1f} {r['nq'][1]:10.0f}")
print(f"nextquill / context_sft step time: {r['nq'][0] / r['ctx'][0]:.2f}x")
PYEOF
  rm -rf "$T"
}

bench_train_section
