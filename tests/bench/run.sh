#!/usr/bin/env bash
# `make bench` driver: a sequence of sections, each printing a readable table.
# Add a section by appending a function and a call at the bottom. BENCH_ONLY="effect decode"
# runs just those sections (model, effect, decode, train, dp, hf, lora, users, big, nodes).
# Timings are noisy on the shared 2-core machine (+-10-20%).
set -u
cd "$(dirname "$0")/../.."
want() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# OpenBLAS picks its kernels for this CPU (a caller's OPENBLAS_CORETYPE is kept, not forced);
# the core it picked is printed so figures from different machines can be compared.
OPENBLAS_CORE=$(${PY:-/usr/bin/python3} -c 'import ctypes, ctypes.util
l = ctypes.CDLL(ctypes.util.find_library("openblas") or "libopenblas.so.0")
l.openblas_get_corename.restype = ctypes.c_char_p
print(l.openblas_get_corename().decode())' 2>/dev/null || echo unknown)
echo "OpenBLAS core: $OPENBLAS_CORE (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
PY=/usr/bin/python3
TORCH_REF=tests/integration/model/torch_ref.py

# ---- section: model core training throughput (issue 4) ----------------------------------
# Ours: OpenMP threads, each matmul split by rows into single-threaded cblas_sgemm calls; with
# 2 threads the best of the default OpenMP wait policy and OMP_WAIT_POLICY=PASSIVE (the
# choice PyTorch gets too; passive wins when other jobs load the machine).
# PyTorch: best of its settings on the same cores, found in this run (see
# /work/shared/perf-anchors.md): 2 threads = max of (a) OMP_WAIT_POLICY=PASSIVE +
# set_num_threads(2) and (b) set_num_threads(1) with OpenBLAS's own 2 threads; 1 thread =
# OPENBLAS_NUM_THREADS=1 + set_num_threads(1). Both sides run the same step: forward, CE over
# the vocabulary, backward, global-norm clip, AdamW. FLOPs counted the same for both sides:
# 6 x matmul params (incl. LM head) per token + causal attention (T/2 keys on average); plain
# torch 1.13 computes the full masked T x T scores, which is not counted.
# Each row is the median of BENCH_REPS (default 3) repetitions; a repetition runs ours and
# PyTorch back to back, and "ratio" is the median of the per-repetition ratios, so the
# machine's load (shared by several engineers) affects both sides alike.
cfgval() {  # file section key -> value of `key = value;` inside `section: { ... };`
  awk -v sec="$2" -v key="$3" '
    $0 ~ "^"sec":[ \t]*\\{" { in_ = 1 }
    in_ { line = $0; sub(/\/\/.*/, "", line); n = split(line, parts, ";")
          for (i = 1; i <= n; i++) { p = parts[i]
            if (match(p, "(^|[ \t{])"key"[ \t]*=")) { sub(/.*=[ \t]*/, "", p); gsub(/[ \t"]/, "", p); print p; exit } } }
    in_ && /^\};/ { in_ = 0 }' "$1"
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The small model = the default pipeline's (configs/default.cfg, model section).
C=configs/default.cfg
dim=$(cfgval $C model dim); L=$(cfgval $C model n_layers); H=$(cfgval $C model n_heads)
KV=$(cfgval $C model n_kv_heads); F=$(cfgval $C model ffn_dim); S=$(cfgval $C model max_seq_len)
V=$(cfgval $C model vocab_size); { [ -z "$V" ] || [ "$V" = 0 ]; } && V=$(cfgval $C tokenizer vocab_size)
: "${dim:=192}" "${L:=6}" "${H:=6}" "${KV:=2}" "${F:=512}" "${S:=1024}" "${V:=4096}"
SMALL="d$dim L$L H$H KV$KV ffn$F V$V"

# One measurement of ours: the tok_s line of bench_model (2 threads: the better OpenMP wait
# policy), and of PyTorch at its best thread setting; $prec = fp32 | bf16 (PyTorch: autocast).
ours_run() {  # args thr prec -> bench_model output line
  local args=$1 thr=$2 prec=$3 o o2
  o=$(OPENBLAS_NUM_THREADS=1 build/bench/bench_model $args $thr $prec) || return 1
  if [ $thr = 2 ]; then
    o2=$(OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 build/bench/bench_model $args $thr $prec) || return 1
    [ "$(sed -nE 's/.*tok_s=([0-9.]+).*/\1/p' <<<"$o2" | cut -d. -f1)" -gt \
      "$(sed -nE 's/.*tok_s=([0-9.]+).*/\1/p' <<<"$o" | cut -d. -f1)" ] && o=$o2
  fi
  echo "$o"
}
torch_run() {  # args thr prec -> tokens/s
  local args=$1 thr=$2 prec=$3 t1 t2
  if [ $thr = 1 ]; then
    OPENBLAS_NUM_THREADS=1 $PY $TORCH_REF bench $args 1 $prec
  else
    t1=$(OMP_WAIT_POLICY=PASSIVE $PY $TORCH_REF bench $args 2 $prec)
    t2=$($PY $TORCH_REF bench $args 1 $prec)
    echo "$t1 $t2" | awk '{print ($1 > $2) ? $1 : $2}'
  fi
}
tok_of() { sed -nE 's/.*tok_s=([0-9.]+).*/\1/p'; }
ratio() { awk -v a=$1 -v b=$2 'BEGIN { print a / b }'; }

bench_model_section() {
  local reps=${BENCH_REPS:-3}
  local TL=1024; [ "$S" -lt $TL ] && TL=$S
  echo "== model core: training step (forward + CE + backward + clip + AdamW), fp32 and bf16, median of $reps =="
  echo "small = $C's model section; OpenBLAS core $OPENBLAS_CORE; bf16 = model.precision \"bf16\" vs PyTorch under torch.autocast(\"cpu\", bfloat16)"
  echo "each repetition runs ours fp32, ours bf16, PyTorch fp32, PyTorch bf16 back to back; ratios are medians of per-repetition ratios"
  printf '%-7s %-5s %-30s %4s %10s %10s %6s %8s %8s %6s %7s %8s\n' config prec shape thr "ours tok/s" "torch tok/s" ratio "GFLOP/s" "sgemm" "%sgemm" "RSS MB" "vs fp32"
  local cfgs=("small $dim $L $H $KV $F $V 16 256 6" "small $dim $L $H $KV $F $V $((4096 / TL)) $TL 6"
              "medium 512 8 8 4 1376 $V 4 512 4")
  local core=""
  for c in "${cfgs[@]}"; do
    set -- $c
    local name=$1 d=$2 l=$3 h=$4 kv=$5 f=$6 v=$7 B=$8 T=$9 steps=${10}
    local args="$d $l $h $kv $f $v $B $T $steps"
    for thr in 1 2; do
      local -A tok=() tor=() rat=() gfs=() sgs=() rss=()
      local vs="" r p o
      for r in $(seq 1 $reps); do
        local o32 o16
        o32=$(ours_run "$args" $thr fp32) || { echo "bench_model failed"; return 1; }
        o16=$(ours_run "$args" $thr bf16) || { echo "bench_model failed"; return 1; }
        core=$(sed -nE 's/.*core=([A-Za-z0-9_]+).*/\1/p' <<<"$o32")
        for p in fp32 bf16; do
          [ $p = fp32 ] && o=$o32 || o=$o16
          local t; t=$(torch_run "$args" $thr $p)
          tok[$p]+=" $(tok_of <<<"$o")"; tor[$p]+=" $t"
          rat[$p]+=" $(ratio "$(tok_of <<<"$o")" "$t")"
          gfs[$p]+=" $(sed -nE 's/.* gflops=([0-9.]+).*/\1/p' <<<"$o")"
          sgs[$p]+=" $(sed -nE 's/.*sgemm_gflops=([0-9.]+).*/\1/p' <<<"$o")"
          rss[$p]+=" $(sed -nE 's/.*rss_mb=([0-9.]+).*/\1/p' <<<"$o")"
        done
        vs+=" $(ratio "$(tok_of <<<"$o16")" "$(tok_of <<<"$o32")")"
      done
      for p in fp32 bf16; do
        local mv="-"; [ $p = bf16 ] && mv=$(median <<<"$vs")
        awk -v n=$name -v pr=$p -v s="d$d L$l ffn$f V$v B$B T$T" -v th=$thr -v o=$(median <<<"${tok[$p]}") \
            -v t=$(median <<<"${tor[$p]}") -v r=$(median <<<"${rat[$p]}") -v g=$(median <<<"${gfs[$p]}") \
            -v sg=$(median <<<"${sgs[$p]}") -v m=$(median <<<"${rss[$p]}") -v vs=$mv \
          'BEGIN { printf "%-7s %-5s %-30s %4d %10.0f %10.0f %5.2fx %8.1f %8.1f %5.0f%% %7.0f %8s\n", n, pr, s, th, o, t, r, g, sg, 100 * g / sg, m, (vs == "-") ? "-" : sprintf("%.2fx", vs) }'
      done
    done
  done
  echo "OpenBLAS core type that ran: $core (openblas_get_corename)"
  echo "targets (2 threads): fp32 >= 1.5x PyTorch on small, >= 1.0x on medium, >= 50% of sgemm on medium;"
  echo "  bf16: medium >= 1.3x PyTorch autocast and >= 1.8x our fp32, small >= 1.5x PyTorch autocast"
}

want model && bench_model_section

# ---- section: effect estimation (issue 6) -----------------------------------------------
# nq-effect's inner loop (effect_compute: packed micro-batches of 8 samples, both passes,
# log-softmax + JS + ranks per target token) on the small model with random weights, 16
# samples of 288 (with history) / 96 (without) tokens, 64 targets each. Tokens of both passes
# are counted; the ratio is against model_forward alone on the same packed batches (logits at
# every position), in the same run. nq-effect runs the LM head only on the rows that predict
# a target (a third of the tokens here) and then a log-softmax, JS and ranks per target over
# the vocabulary, so the ratio is the LM head it saves minus those per-target kernels, the
# packing and the copies. One effect and one forward-only repetition alternate; the ratio is the
# median of the per-repetition ratios (9 repetitions), the rates the best of each.
bench_effect_section() {
  echo "== effect estimation (nq-effect), small model $SMALL, 1 thread =="
  local out
  out=$(OPENBLAS_NUM_THREADS=1 build/bench/bench_effect 9 $dim $L $H $KV $F $V) || { echo "bench_effect failed"; return 1; }
  local e f r
  e=$(sed -nE 's/^effect_tokens_per_s ([0-9.]+)/\1/p' <<<"$out")
  f=$(sed -nE 's/^forward_tokens_per_s ([0-9.]+)/\1/p' <<<"$out")
  r=$(sed -nE 's/^effect_over_forward ([0-9.]+)/\1/p' <<<"$out")
  printf '%-32s %10s\n' "effect tok/s (both passes)" "$e"
  printf '%-32s %10s\n' "forward-only tok/s" "$f"
  printf '%-32s %9sx\n' "effect / forward-only" "$r"
}

want effect && bench_effect_section

# ---- section: decoding (issue 22) ------------------------------------------------------------
# nq-eval's greedy decoding, one token per call after a prompt in the KV cache: the one-row
# sgemm path (model_kv_forward with n = 1, what nq-eval ran before) against model_kv_step
# (matrix-vector products, what it runs now), alternated in one process; medians of the
# repetitions. Random weights. The default pipeline's model on 1 thread (a rank of make run),
# the Qwen2.5-0.5B shape on 2. max |diff| / argmax: how far the two paths' logits differ
# (sgemv sums in another order than sgemm) and on how many steps they pick the same token.
bench_decode_section() {
  echo "== decoding (KV cache, one token per call): one-row sgemm -> sgemv =="
  printf '%-34s %4s %10s %10s %8s %10s %7s\n' model thr "sgemm tok/s" "gemv tok/s" speedup "max |diff|" argmax
  local args name out
  for args in "small|$dim $L $H $KV $F $V 64 1 64 ${BENCH_REPS:-5} 0 1" \
              "qwen2.5-0.5B-shape|896 24 14 2 4864 151936 128 2 8 3 1 1"; do
    name=${args%%|*}
    out=$(OPENBLAS_NUM_THREADS=1 build/bench/bench_decode ${args#*|}) || { echo "bench_decode failed ($name)"; continue; }
    awk -v n="$name" -v a="${args#*|}" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
         split(a, f, " ")
         printf "%-34s %4s %10s %10s %7sx %10s %7s\n", n " d" f[1] " L" f[2] " V" f[6] " T" f[7], f[8],
                v["sgemm_tok_s"], v["gemv_tok_s"], v["speedup"], v["max_abs_diff"], v["argmax_agree"] }' <<<"$out"
  done
}

want decode && bench_decode_section

# ---- section: NextQuill step vs context_sft (issue 5) --------------------------------------
# nq-train on the smoke benchmark with the small model (1 rank, 1 thread, micro_batch 4,
# 12 steps): median step time and forward tokens/s (both passes counted for NextQuill), and
# NextQuill's cost over context_sft's per step and per sample (two forward and two backward
# passes, the second on the shorter without-history prompts: expect < 2x).
bench_train_section() {
  echo "== training step: nextquill vs context_sft (nq-train, smoke data, $SMALL, 1 rank) =="
  local T; T=$(mktemp -d /tmp/nq-bench-train.XXXXXX)
  local SET=(--set run_dir=\"$T\" --set model.dim=$dim --set model.n_layers=$L --set model.n_heads=$H
             --set model.n_kv_heads=$KV --set model.ffn_dim=$F --set model.max_seq_len=640
             --set model.threads=1
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
print(f"{'nextquill':<14} {r['nq'][0]*1e3:9.1f} {r['nq'][1]:10.0f}   (both passes)")
print(f"nextquill / context_sft: step time {r['nq'][0] / r['ctx'][0]:.2f}x, "
      f"tokens/s {r['nq'][1] / r['ctx'][1]:.2f}x")
PYEOF
  rm -rf "$T"
}

want train && bench_train_section

# ---- section: data parallel (issue 15) -------------------------------------------------------
# nq-train (context_sft, smoke data) on the medium model of the model section (d512 L8 H8 KV4
# ffn1376, vocab $V), the same global batch of 4 samples (micro-batch 2): 1 rank x 2 threads
# (accum 2) against 2 ranks x 1 thread (accum 1), the latter with ZeRO-1 and gradient overlap
# (the defaults), with overlap off, and unsharded. Per run: median step time and tokens/s
# over the steps after the first, the communication share (nq-train's "communication:" line:
# rank 0's seconds waiting for / posting the gradient sums and weight gathers over its seconds
# in steps) and each rank's peak RSS (/usr/bin/time %M). A repetition runs the four back to
# back; "vs 1x2" is the median of the per-repetition tokens/s ratios (target >= 0.90).
# NQ_TRAIN_NO_SAVE=1 (bench/test-only): no checkpoint is written, so RSS is the steps' peak.
bench_dp_section() {
  local reps=${BENCH_REPS_DP:-2} steps=${BENCH_DP_STEPS:-5}
  echo "== data parallel: medium model (d512 L8 V$V), global batch 4, $steps steps, median of $reps (shared machine: noisy) =="
  local T; T=$(mktemp -d /tmp/nq-bench-dp.XXXXXX)
  local SET=(--set run_dir=\"$T\" --set model.dim=512 --set model.n_layers=8 --set model.n_heads=8
             --set model.n_kv_heads=4 --set model.ffn_dim=1376 --set model.vocab_size=$V
             --set model.max_seq_len=640 --set train.micro_batch=2 --set train.steps=$steps
             --set train.valid_every=0 --set train.valid_samples=0 --set train.ckpt_every=0)
  if ! { build/nq-synth configs/smoke.cfg "${SET[@]}" && build/nq-shard configs/smoke.cfg "${SET[@]}"; } > $T/log 2>&1; then
    echo "bench_dp failed: $(tail -n 2 $T/log)"; rm -rf "$T"; return 1
  fi
  local runs=("1x2|1|2|--set train.accum=2" "2x1|2|1|--set train.accum=1"
              "2x1 no-overlap|2|1|--set train.accum=1 --set train.overlap_comm=false"
              "2x1 unsharded|2|1|--set train.accum=1 --set train.shard_optimizer=\"false\"")
  local -A st=() tk=() cs=() rs=() rat=()
  local r spec name np thr extra i
  for r in $(seq 1 $reps); do
    local base=""
    for i in "${!runs[@]}"; do
      IFS='|' read -r name np thr extra <<<"${runs[$i]}"
      rm -rf "$T/dp$i" $T/rss.*
      if ! NQ_TRAIN_NO_SAVE=1 mpirun -np $np --oversubscribe sh -c '/usr/bin/time -f %M -o '$T'/rss.$OMPI_COMM_WORLD_RANK "$@"' \
             sh build/nq-train configs/smoke.cfg "${SET[@]}" --set model.threads=$thr --set train.name=\"dp$i\" $extra \
             > $T/run$i.log 2>&1; then
        echo "bench_dp failed ($name): $(tail -n 2 $T/run$i.log)"; rm -rf "$T"; return 1
      fi
      local o; o=$($PY -c 'import sys, h5py, numpy as np
m = h5py.File(sys.argv[1])["metrics"]
print(np.median(m["step_seconds"][1:]), np.median(m["tokens_per_s"][1:]))' $T/dp$i/metrics.h5)
      st[$i]+=" ${o% *}"; tk[$i]+=" ${o#* }"
      cs[$i]+=" $(sed -nE 's/.*communication: .*\(([0-9.]+)%\).*/\1/p' $T/run$i.log | head -n 1)"
      rs[$i]+=" $(cat $T/rss.* | sort -n | tail -n 1)"
      [ $i = 0 ] && base=${o#* }
      rat[$i]+=" $(ratio "${o#* }" "$base")"
    done
  done
  printf '%-16s %5s %9s %9s %8s %13s %7s\n' "ranks x threads" np "step ms" "tok/s" "comm %" "peak RSS MB/rank" "vs 1x2"
  for i in "${!runs[@]}"; do
    IFS='|' read -r name np thr extra <<<"${runs[$i]}"
    local c="-"; [ -n "${cs[$i]// /}" ] && c=$(median <<<"${cs[$i]}")
    awk -v n="$name" -v np=$np -v s=$(median <<<"${st[$i]}") -v t=$(median <<<"${tk[$i]}") -v c="$c" \
        -v m=$(median <<<"${rs[$i]}") -v q=$(median <<<"${rat[$i]}") \
      'BEGIN { printf "%-16s %5d %9.0f %9.0f %8s %13.0f %7.2fx\n", n, np, 1000 * s, t, c, m / 1024, q }'
  done
  echo "target: 2x1 (ZeRO-1 + overlap) >= 0.90x the tokens/s of 1x2; RSS is the largest rank's peak"
  rm -rf "$T"
}

want dp && bench_dp_section

# ---- what a real model costs on CPU (issues 9, 29) ---------------------------------------
# A Qwen2.5-0.5B-shaped model (hidden 896, 24 layers, 14/2 heads, ffn 4864, vocab 151936, tied,
# q/k/v biases; 494M random weights): scoring forward of one 128-token sequence (logits at every
# position), KV-cache decoding of 64 tokens after a 128-token prefill, peak RSS (generation
# alone, and the whole run with the scoring forward's activations), 2 threads.
# The limit of decoding is memory bandwidth (a step streams every weight once): bench_membw reads
# 256 MiB (8x the LLC) with the same 2 threads, best of 5, in this section; "% of bw" = weight
# bytes per step x decode tok/s / that rate.
# llama.cpp (docs/benchmark.md): with LLAMA_CPP=/path/to/llama-bench (nothing downloads it),
# each repetition also runs llama-bench on a random-weight GGUF of the same shape and precision
# (BF16 / F32), same threads: prompt pp128 and generation tg64 at depth 128 (after a 128-token
# prompt, like ours), default settings, and its peak RSS. The GGUF is made once by
# tests/bench/llamacpp_gguf.py with the llama.cpp tree LLAMA_CPP_SRC (default: three levels
# above llama-bench) into LLAMA_CPP_MODELS (default /tmp/nq-llamacpp-models).
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for both sides (OpenBLAS picks for this CPU).
HF_ENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1)

llama_model() {  # fp32|bf16 -> path of the GGUF at the bench shape (made once)
  local t=f32 dir=${LLAMA_CPP_MODELS:-/tmp/nq-llamacpp-models} src f
  [ "$1" = bf16 ] && t=bf16
  src=${LLAMA_CPP_SRC:-$(dirname "$(dirname "$(dirname "$LLAMA_CPP")")")}
  f=$dir/qwen2.5-0.5b-shape-$t.gguf
  if [ ! -s "$f" ]; then
    mkdir -p "$dir" && $PY tests/bench/llamacpp_gguf.py "$src" "$f.tmp" $t >/dev/null && mv "$f.tmp" "$f" ||
      { echo "llamacpp_gguf.py failed for $f" >&2; return 1; }
  fi
  echo "$f"
}

llama_run() {  # fp32|bf16 tmpdir -> "pp128 tg64@d128 peak_rss_MiB" (llama-bench, 3 repetitions each)
  local m j1 j2 r1 r2
  m=$(llama_model $1) || return 1
  j1=$("${HF_ENV[@]}" /usr/bin/time -f %M -o $2/rss1 "$LLAMA_CPP" -m "$m" -t 2 -p 128 -n 0 -r 3 -o jsonl 2>/dev/null) &&
    j2=$("${HF_ENV[@]}" /usr/bin/time -f %M -o $2/rss2 "$LLAMA_CPP" -m "$m" -t 2 -p 0 -n 64 -d 128 -r 3 -o jsonl 2>/dev/null) ||
    { echo "llama-bench failed" >&2; return 1; }
  r1=$(tail -1 $2/rss1) r2=$(tail -1 $2/rss2)
  echo "$(sed -nE 's/.*"avg_ts": *([0-9.]+).*/\1/p' <<<"$j1" | head -1)" \
       "$(sed -nE 's/.*"avg_ts": *([0-9.]+).*/\1/p' <<<"$j2" | head -1)" \
       "$(awk -v a=$r1 -v b=$r2 'BEGIN { printf "%.0f", (a > b ? a : b) / 1024 }')"
}

bench_hf_section() {
  local reps=${BENCH_REPS_HF:-2} bw r p out lp tmp
  tmp=$(mktemp -d /tmp/nq-bench-hf.XXXXXX)
  bw=$("${HF_ENV[@]}" build/bench/bench_membw 256 2 5 | sed -nE 's/.*read_gbs=([0-9.]+).*/\1/p')
  echo "== Qwen2.5-0.5B-shaped model (494M params, random weights), fp32 vs bf16, 2 threads, median of $reps =="
  echo "bf16: weights in bf16 only (forward-only storage); each repetition runs fp32 then bf16 (then llama.cpp's)"
  echo "memory read bandwidth (bench_membw, 256 MiB, 2 threads): $bw GB/s"
  local -A fw=() dec=() rss=() grss=() gf=() gb=() lpp=() ltg=() lrss=() rdec=() rfw=()
  for r in $(seq 1 $reps); do
    for p in fp32 bf16; do
      out=$("${HF_ENV[@]}" build/bench/bench_hf 128 2 64 $p) || { echo "bench_hf failed"; rm -rf $tmp; return 1; }
      fw[$p]+=" $(sed -nE 's/.*fwd_tok_s=([0-9.]+).*/\1/p' <<<"$out")"
      gf[$p]+=" $(sed -nE 's/.*fwd_gflops=([0-9.]+).*/\1/p' <<<"$out")"
      dec[$p]+=" $(sed -nE 's/.*decode_tok_s=([0-9.]+).*/\1/p' <<<"$out")"
      gb[$p]=$(sed -nE 's/.*decode_gb_per_tok=([0-9.]+).*/\1/p' <<<"$out")
      grss[$p]+=" $(sed -nE 's/.*gen_rss_mb=([0-9.]+).*/\1/p' <<<"$out")"
      rss[$p]+=" $(sed -nE 's/.* rss_mb=([0-9.]+).*/\1/p' <<<"$out")"
      if [ -n "${LLAMA_CPP:-}" ]; then
        lp=($(llama_run $p $tmp)) || { rm -rf $tmp; return 1; }
        lpp[$p]+=" ${lp[0]}" ltg[$p]+=" ${lp[1]}" lrss[$p]+=" ${lp[2]}"
        rdec[$p]+=" $(ratio "${dec[$p]##* }" "${lp[1]}")" rfw[$p]+=" $(ratio "${fw[$p]##* }" "${lp[0]}")"
      fi
    done
  done
  printf '%-5s %14s %9s %13s %9s %12s %12s\n' prec "forward tok/s" "GFLOP/s" "decode tok/s" "% of bw" "gen RSS MiB" "peak RSS MiB"
  for p in fp32 bf16; do
    local d; d=$(median <<<"${dec[$p]}")
    printf '%-5s %14s %9s %13s %8.0f%% %12s %12s\n' $p "$(median <<<"${fw[$p]}")" "$(median <<<"${gf[$p]}")" "$d" \
      "$(awk -v d=$d -v g=${gb[$p]} -v b=$bw 'BEGIN { print 100 * d * g / b }')" "$(median <<<"${grss[$p]}")" \
      "$(median <<<"${rss[$p]}")"
  done
  echo "(a decode step streams ${gb[fp32]} GB (fp32) / ${gb[bf16]} GB (bf16) of weights)"
  if [ -z "${LLAMA_CPP:-}" ]; then
    echo "llama.cpp: not measured (LLAMA_CPP unset)"
  else
    printf '%-5s %16s %20s %12s %17s %20s\n' prec "llama.cpp pp128" "llama.cpp tg64@d128" "its RSS MiB" \
      "our forward / pp" "our decode / its tg"
    for p in fp32 bf16; do
      printf '%-5s %16s %20s %12s %16.2fx %19.2fx\n' $p "$(median <<<"${lpp[$p]}")" "$(median <<<"${ltg[$p]}")" \
        "$(median <<<"${lrss[$p]}")" "$(median <<<"${rfw[$p]}")" "$(median <<<"${rdec[$p]}")"
    done
    echo "(llama.cpp's pp computes the logits of the last position only; our forward computes all 128)"
  fi
  rm -rf $tmp
}
want hf && bench_hf_section

# ---- LoRA vs full fine-tuning at the Qwen2.5-0.5B shape (issue 20) ---------------------------
# nq-train on the smoke data with a Qwen2.5-0.5B-shaped model (hidden 896, 24 layers, 14/2
# heads, ffn 4864, vocab 151936, tied; random init): full fine-tuning (its model.h5 is then
# the frozen base) vs LoRA r = 16, alpha = 32 on all seven projections; 1 rank, micro_batch 1,
# BENCH_LORA_STEPS steps (default 4): median step time (first step excluded) and peak RSS
# (VmHWM, /usr/bin/time %M). Targets: LoRA <= ~40% of full's peak RSS, step no slower. A third
# run holds the base in bf16 only (model.precision = "bf16"; adapters and their state fp32).
# Each run writes its final files (LoRA: model.h5 merged a tensor at a time), all in the peak.
# NQ_MEM_TRACE=1 prints nq-train's RSS at its stages (after load, buffers, first step, end).
bench_lora_section() {
  local steps=${BENCH_LORA_STEPS:-4} T; T=$(mktemp -d /tmp/nq-bench-lora.XXXXXX)
  echo "== LoRA r=16 (all projections) vs full fine-tuning, Qwen2.5-0.5B shape, 1 rank, 2 threads, $steps steps =="
  local SET=(--set run_dir=\"$T\" --set model.dim=896 --set model.n_layers=24 --set model.n_heads=14
             --set model.n_kv_heads=2 --set model.ffn_dim=4864 --set model.vocab_size=151936
             --set model.tie_embeddings=true --set model.qkv_bias=true --set model.max_seq_len=640 --set model.threads=2
             --set train.micro_batch=1 --set train.accum=1 --set train.steps=$steps --set train.warmup=0
             --set train.valid_every=0 --set train.valid_samples=0 --set train.ckpt_every=0)
  local LORA=(--set train.adapter=\"lora\" --set train.init=\"full/model.h5\" --set train.lora_rank=16
              --set train.lora_alpha=32)
  if ! { build/nq-synth configs/smoke.cfg "${SET[@]}" && build/nq-shard configs/smoke.cfg "${SET[@]}" &&
         /usr/bin/time -f %M -o $T/rss.full build/nq-train configs/smoke.cfg "${SET[@]}" --set train.name=\"full\" &&
         /usr/bin/time -f %M -o $T/rss.lora build/nq-train configs/smoke.cfg "${SET[@]}" "${LORA[@]}" \
           --set train.name=\"lora\" &&
         /usr/bin/time -f %M -o $T/rss.lora-bf16 build/nq-train configs/smoke.cfg "${SET[@]}" "${LORA[@]}" \
           --set train.name=\"lora-bf16\" --set model.precision=\"bf16\"; } > $T/log 2>&1; then
    echo "bench_lora failed: $(tail -n 2 $T/log)"; rm -rf "$T"; return 1
  fi
  $PY - "$T" <<'PYEOF'
import sys, h5py, numpy as np
T = sys.argv[1]
r = {}
runs = ("full", "lora", "lora-bf16")
for n in runs:
    m = h5py.File(f"{T}/{n}/metrics.h5")["metrics"]
    r[n] = (float(np.median(m["step_seconds"][1:])), int(open(f"{T}/rss.{n}").read().split()[-1]) / 1024)
print(f"{'run':<22} {'step s':>8} {'peak RSS MB':>12} {'RSS / full':>11}")
names = {"full": "full fp32", "lora": "LoRA, fp32 base", "lora-bf16": "LoRA, bf16 base"}
for n in runs:
    print(f"{names[n]:<22} {r[n][0]:8.2f} {r[n][1]:12.0f} {r[n][1] / r['full'][1]:10.2f}x")
print(f"lora / full: step time {r['lora'][0] / r['full'][0]:.2f}x (target <= 1), "
      f"peak RSS {r['lora'][1] / r['full'][1]:.2f}x (target <= ~0.40); bf16 base: "
      f"{r['lora-bf16'][1] / r['full'][1]:.2f}x")
PYEOF
  rm -rf "$T"
}
want lora && bench_lora_section

# ---- per-user adapters: 1 rank vs 2 ranks (issue 20) -----------------------------------------
# The same per-user run (train.per_user: one LoRA adapter per train-split user of the smoke data,
# r = 8 on all projections, BENCH_USERS_STEPS steps each, micro-batch 1) on a d128 L4 model
# (a context_sft base trained first), at mpirun -np 1 and -np 2, 1 thread per rank: ranks take
# whole groups of users (train.user_groups = 32) and never communicate until the end. Paired:
# a repetition runs np 1 then np 2 back to back; wall seconds of the whole nq-train (start-up,
# data and the group files included); "np2 / np1" is the median of the per-repetition ratios
# (target ~0.5; the users per rank, from the log, bound it: hashing need not split them evenly).
bench_users_section() {
  local reps=${BENCH_REPS_USERS:-3} steps=${BENCH_USERS_STEPS:-24} T; T=$(mktemp -d /tmp/nq-bench-users.XXXXXX)
  echo "== per-user adapters: the same users at -np 1 vs -np 2 (1 thread each), $steps steps per user, median of $reps (shared machine: noisy) =="
  local SET=(--set run_dir=\"$T\" --set model.dim=128 --set model.n_layers=4 --set model.n_heads=4
             --set model.n_kv_heads=2 --set model.ffn_dim=344 --set model.threads=1 --set train.micro_batch=1
             --set train.accum=1 --set train.valid_every=0 --set train.valid_samples=0 --set train.ckpt_every=0)
  local PU=(--set train.adapter=\"lora\" --set train.init=\"base/model.h5\" --set train.per_user=true
            --set train.user_groups=32 --set train.steps=$steps --set train.lora_rank=8 --set train.lora_alpha=16)
  if ! { build/nq-synth configs/smoke.cfg "${SET[@]}" && build/nq-shard configs/smoke.cfg "${SET[@]}" &&
         build/nq-train configs/smoke.cfg "${SET[@]}" --set train.name=\"base\" --set train.steps=2; } > $T/log 2>&1; then
    echo "bench_users failed: $(tail -n 2 $T/log)"; rm -rf "$T"; return 1
  fi
  local -A sec=() rat=()
  local r np t0 users=""
  for r in $(seq 1 $reps); do
    for np in 1 2; do
      rm -rf "$T/pu$np"
      t0=$(date +%s.%N)
      if ! mpirun -np $np --oversubscribe build/nq-train configs/smoke.cfg "${SET[@]}" "${PU[@]}" \
             --set train.name=\"pu$np\" > $T/pu$np.log 2>&1; then
        echo "bench_users failed (np $np): $(tail -n 2 $T/pu$np.log)"; rm -rf "$T"; return 1
      fi
      sec[$np]+=" $(awk -v a=$t0 -v b=$(date +%s.%N) 'BEGIN { print b - a }')"
    done
    rat[2]+=" $(awk -v a="${sec[2]##* }" -v b="${sec[1]##* }" 'BEGIN { print a / b }')"
  done
  users=$(sed -nE 's/.*this rank: ([0-9]+) users.*/\1/p' $T/pu2.log | tr '\n' ' ')
  printf '%-5s %10s\n' ranks "wall s"
  printf '%-5s %10.1f\n' 1 "$(median <<<"${sec[1]}")" 2 "$(median <<<"${sec[2]}")"
  echo "np2 / np1: $(median <<<"${rat[2]}" | awk '{ printf "%.2f", $1 }')x (target ~0.5); users per rank at np 2: $users"
  rm -rf "$T"
}
want users && bench_users_section

# ---- section: a Qwen2.5-3B-shaped model (issue 15) -------------------------------------------
# nq-effect's engine (effect_compute, both passes) on 3.09B random weights in bf16 only (the fp32
# matrices never exist): 2 samples of 128 (with history) / 64 (without) tokens, 2 threads, one
# pass (~6 GFLOP per token: minutes here). Needs ~6.5 GB free. Then nq-train --plan at that
# shape: the memory plan refuses it here and says what a node needs.
bench_big_section() {
  echo "== Qwen2.5-3B-shaped model (3.09B params, random weights): nq-effect engine in bf16, training plan =="
  local avail; avail=$(awk '/MemAvailable/ { print int($2 / 1048576) }' /proc/meminfo)
  if [ "$avail" -lt 8 ]; then echo "skipped: ${avail} GiB available, needs ~8"; return 0; fi
  local out; out=$(OPENBLAS_NUM_THREADS=1 build/bench/bench_effect_big 2 2) || { echo "bench_effect_big failed"; return 1; }
  awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
         printf "effect tok/s (both passes) %s, peak RSS %s MB, init %s s\n", v["effect_tok_s"], v["rss_mb"], v["init_s"] }' <<<"$out"
  local T; T=$(mktemp -d /tmp/nq-bench-big.XXXXXX)
  local Q3=(--set run_dir=\"$T\" --set model.dim=2048 --set model.n_layers=36 --set model.n_heads=16
            --set model.n_kv_heads=2 --set model.ffn_dim=11008 --set model.vocab_size=151936
            --set model.qkv_bias=true --set model.tie_embeddings=true --set model.max_seq_len=640
            --set train.objective=\"lm\" --set train.lm_window=128 --set train.micro_batch=1)
  { build/nq-synth configs/smoke.cfg "${Q3[@]}" && build/nq-shard configs/smoke.cfg "${Q3[@]}"; } > $T/log 2>&1
  echo "nq-train --plan, 1 rank, lm windows of 128 tokens, micro-batch 1:"
  build/nq-train configs/smoke.cfg "${Q3[@]}" --plan 2>&1 | sed -n '/memory plan/,$p' | sed 's/^/  /'
  rm -rf "$T"
  bench_big_stage
}

# The nq-effect STAGE on the same shape: a random-weight HF directory in BF16 (bench_hf_write,
# 6.2 GB on disk), loaded straight into bf16; 4 test samples of the smoke data with short
# prompts, 1 rank x 2 threads. Figures: the stage's own tok/s line and /usr/bin/time's peak RSS
# against the memory plan the stage printed.
bench_big_stage() {
  echo "-- nq-effect stage, Qwen2.5-3B shape from a BF16 HF directory, 1 rank x 2 threads --"
  local avail; avail=$(awk '/MemAvailable/ { print int($2 / 1048576) }' /proc/meminfo)
  if [ "$avail" -lt 8 ]; then echo "skipped: ${avail} GiB memory available, needs ~8"; return 0; fi
  local T; T=$(mktemp -d /tmp/nq-bench-stage.XXXXXX)
  local disk; disk=$(df -k --output=avail "$T" | awk 'NR == 2 { print int($1 / 1048576) }')
  if [ "$disk" -lt 8 ]; then echo "skipped: ${disk} GiB free disk in /tmp, needs ~8 (the 6.2 GB model)"; rm -rf "$T"; return 0; fi
  local gen; gen=$(build/bench/bench_hf_write "$T/q3b" 3b) || { echo "bench_hf_write failed"; rm -rf "$T"; return 1; }
  local S=(--set run_dir=\"$T/run\" --set synth.users=4 --set synth.reviews_min=5 --set synth.reviews_max=5
           --set data.max_prompt_tokens=96 --set data.max_target_tokens=16 --set data.max_history_items=1
           --set shard.count=1 --set effect.model=\"$T/q3b\" --set effect.splits=[\"test\"]
           --set model.precision=\"bf16\" --set model.threads=2 --set effect.max_batch_tokens=256)
  { build/nq-synth configs/smoke.cfg "${S[@]}" && build/nq-shard configs/smoke.cfg "${S[@]}"; } > "$T/log" 2>&1 ||
    { echo "smoke data failed (log: $T/log)"; return 1; }
  if ! OPENBLAS_NUM_THREADS=1 /usr/bin/time -f 'peak_rss_kb=%M' build/nq-effect configs/smoke.cfg "${S[@]}" > "$T/effect.log" 2>&1; then
    echo "nq-effect failed:"; tail -5 "$T/effect.log"; rm -rf "$T"; return 1
  fi
  awk -v gen="$gen" '
    /total per rank/ { plan = $NF }
    /digest in/ { match($0, /digest in [0-9.]+s/); digest = substr($0, RSTART + 10, RLENGTH - 11) }
    /loaded [0-9]+ parameters in/ { match($0, /in [0-9.]+s/); load = substr($0, RSTART + 3, RLENGTH - 4) }
    /tokens \(both passes\) in/ { match($0, /[0-9]+ tokens \(both passes\) in [0-9.]+s: [0-9.]+ tok\/s/); run = substr($0, RSTART, RLENGTH) }
    /peak_rss_kb=/ { split($0, kv, "="); rss = kv[2] }
    END { split(gen, g, /[ =]/); for (i = 1; i < length(g); i += 2) w[g[i]] = g[i + 1]
          printf "model written: fill %s s + write %s s (peak RSS %s MB)\n", w["fill_s"], w["write_s"], w["rss_mb"]
          printf "stage: %s; peak RSS %.0f MB; plan %s GiB vs measured %.3f GiB (%+.1f%%); digest %s s, load %s s\n",
                 run, rss / 1024, plan, rss / 1048576, 100 * (plan - rss / 1048576) / (rss / 1048576), digest, load }' "$T/effect.log"
  rm -rf "$T"
}
want big && bench_big_section

# ---- section: across nodes on shaped links (issue 28) ----------------------------------------
# 2 emulated nodes (jobs/emulate-cluster.sh, root) x 1 rank x 1 thread, Open MPI over TCP only,
# each node's link shaped with tc tbf (rate on its egress): 1 Gb/s and 10 Gb/s. No added
# latency: this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM is not set; `tc qdisc add ...
# netem` says "Specified qdisc kind is unknown"; only tbf, htb, fifo, ingress are built in); the
# veth pair's own latency applies (tens of us, more on a loaded machine). Three shapes
# (BENCH_NODES_SHAPES, default all): "medium" = nq-train context_sft on the medium model of the
# dp section, smoke data cut to 112-token samples (so that the exchange weighs as much as
# compute), micro-batch 2, ZeRO-1; "q05" = the Qwen2.5-0.5B shape (494M parameters), lm on
# 64-token windows, micro-batch 1, full fine-tuning with ZeRO-1 from random init; "q05-lora" =
# the same shape, LoRA r = 16 on all seven projections over a random frozen base (an fp32 HF
# directory written by hf_random_q05.py; only the 8.8M adapter parameters are all-reduced).
# Per shape: unshaped, then 1 and 10 Gb/s with overlap on and off; NQ_TRAIN_NO_SAVE=1 (no
# checkpoint write). Per run: the 1-minute load average before it (`uptime`; the machine is
# shared), median step time after the first step, bytes node 1 sent per step (eth0 tx_bytes over
# the run / steps, launch traffic included), the communication share of nq-train's
# "communication:" line (ZeRO-1 only: LoRA's all-reduce is not timed, "-"), and docs/scaling.md's
# prediction: t_comm = 2 (n-1)/n x 4P / B = 4P/B for n = 2 (P = the exchanged parameters: all,
# or the adapters), t_compute = the unshaped run's step time x (1 - its communication share)
# (LoRA: minus 4P / B_host), step = t_compute + t_comm (overlap off, and LoRA) or t_compute +
# max(0, t_comm - 2/3 t_compute) (on) ("paper"), and the model fixed by what this measured
# ("fixed": B = min(link, the host's TCP rate seen unshaped), no overlap gain). Compute is still
# this machine's 2 cores, shared by both "nodes": the figures test the communication model, not
# compute scaling.
NODES_BH=""   # the host's TCP rate (bytes/s of communication) from the first unshaped ZeRO-1 run
bench_nodes_section() {
  local shapes=${BENCH_NODES_SHAPES:-medium q05 q05-lora}
  echo "== across nodes: 2 emulated nodes x 1 rank x 1 thread, TCP on tc-shaped links, shapes: $shapes (2 shared cores: noisy) =="
  [ "$(id -u)" = 0 ] || { echo "skipped: needs root (network namespaces)"; return 0; }
  local T out; T=$(mktemp -d /tmp/nq-bench-nodes.XXXXXX)
  if ! out=$(jobs/emulate-cluster.sh up 2 --share "$T" 2>&1); then echo "skipped: $out"; rm -rf "$T"; return 0; fi
  eval "$out"
  local sub ns1 ns2; sub=$(jobs/emulate-cluster.sh subnet); ns1=$(jobs/emulate-cluster.sh nodes | head -n 1)
  ns2=$(jobs/emulate-cluster.sh nodes | tail -n 1)
  jobs/emulate-cluster.sh ips | sed 's/$/ slots=1/' > "$T/hosts"
  printf '%-9s %-9s %-7s %5s %9s %12s %7s %10s %10s\n' shape link overlap load "step ms" "MB sent/step" "comm %" "paper ms" "fixed ms"
  local sh
  for sh in $shapes; do
    case $sh in
      medium) nodes_shape "$T/m" medium ${BENCH_NODES_STEPS:-6} --set model.dim=512 --set model.n_layers=8 \
                --set model.n_heads=8 --set model.n_kv_heads=4 --set model.ffn_dim=1376 --set model.vocab_size=$V \
                --set model.max_seq_len=112 --set data.max_prompt_tokens=96 --set data.max_target_tokens=16 \
                --set train.micro_batch=2 || break ;;
      q05|q05-lora)
        local Q=(--set model.dim=896 --set model.n_layers=24 --set model.n_heads=14 --set model.n_kv_heads=2
                 --set model.ffn_dim=4864 --set model.vocab_size=151936 --set model.qkv_bias=true
                 --set model.tie_embeddings=true --set model.max_seq_len=640 --set train.objective=\"lm\"
                 --set train.lm_window=64 --set train.micro_batch=1 --set train.shard_optimizer=\"true\")
        if [ $sh = q05 ]; then
          nodes_shape "$T/q" q05 ${BENCH_NODES_Q05_STEPS:-3} "${Q[@]}" || break
        else
          if [ ! -f "$T/q05/model.safetensors" ] && ! $PY tests/bench/hf_random_q05.py "$T/q05" > "$T/hf.log" 2>&1; then
            echo "bench_nodes: hf_random_q05.py failed: $(tail -n 1 "$T/hf.log")"; break
          fi
          nodes_shape "$T/l" q05-lora ${BENCH_NODES_LORA_STEPS:-4} "${Q[@]}" --set train.adapter=\"lora\" \
            --set train.init=\"$T/q05\" --set train.lora_rank=16 --set train.lora_alpha=32 || break
        fi ;;
      *) echo "bench_nodes: unknown shape '$sh' (medium, q05, q05-lora)"; break ;;
    esac
  done
  echo "paper: docs/scaling.md's formula at the link's B; fixed: B = min(link, this host's TCP rate B_host"\
       "$([ -n "$NODES_BH" ] && awk -v b=$NODES_BH 'BEGIN { printf "%.0f MB/s", b / 1e6 }' || echo "not measured: no ZeRO-1 shape ran") of the first unshaped ZeRO-1 run), nothing hidden by overlap (TCP needs the cores compute uses)"
  nodes_shape_tc none
  jobs/emulate-cluster.sh down
  rm -rf "$T"
}

nodes_shape_tc() {  # RATE BURST on both nodes' egress; "none" removes the shaping
  local ns
  for ns in $ns1 $ns2; do
    ip netns exec $ns tc qdisc del dev eth0 root 2>/dev/null
    [ "$1" = none ] || ip netns exec $ns tc qdisc add dev eth0 root tbf rate "$1" burst "$2" latency 50ms
  done
}

# One shape: RUN_DIR NAME STEPS SETS... -> data, then the five runs, one table row each.
nodes_shape() {
  local R=$1 name=$2 steps=$3; shift 3
  local SET=(--set run_dir=\"$R\" "$@" --set train.accum=1 --set train.steps=$steps --set train.warmup=0
             --set train.valid_every=0 --set train.valid_samples=0 --set train.ckpt_every=0 --set model.threads=1)
  mkdir -p "$R"
  if ! { build/nq-synth configs/smoke.cfg "${SET[@]}" && build/nq-shard configs/smoke.cfg "${SET[@]}"; } > $R/log 2>&1; then
    echo "bench_nodes failed ($name data): $(tail -n 2 $R/log)"; return 1
  fi
  txb() { ip netns exec $ns1 cat /sys/class/net/eth0/statistics/tx_bytes; }
  local runs=("unshaped|none|0|true" "1 Gb/s|1gbit|256kb|true" "1 Gb/s|1gbit|256kb|false"
              "10 Gb/s|10gbit|2mb|true" "10 Gb/s|10gbit|2mb|false")
  local i link rate burst ov b0 b1 o P cs load tc0="" cs0=""
  for i in "${!runs[@]}"; do
    IFS='|' read -r link rate burst ov <<<"${runs[$i]}"
    nodes_shape_tc "$rate" "$burst"
    load=$(uptime | sed -nE 's/.*load average: ([0-9.]+),.*/\1/p')
    b0=$(txb)
    if ! NQ_TRAIN_NO_SAVE=1 OMPI_MCA_orte_default_hostfile="$T/hosts" OMPI_MCA_plm_rsh_agent="$PWD/jobs/emulate-rsh.sh" \
         OMPI_MCA_oob_tcp_if_include=$sub OMPI_MCA_btl_tcp_if_include=$sub OMPI_MCA_btl=tcp,self OPENBLAS_NUM_THREADS=1 \
         mpirun -np 2 build/nq-train configs/smoke.cfg "${SET[@]}" --set train.name=\"n$i\" \
         --set train.overlap_comm=$ov > $R/run$i.log 2>&1; then
      echo "bench_nodes failed ($name, $link): $(grep -v '^\[' $R/run$i.log | tail -n 2)"; return 1
    fi
    b1=$(txb)
    o=$($PY -c 'import sys, h5py, numpy as np
print(np.median(h5py.File(sys.argv[1])["metrics"]["step_seconds"][1:]))' $R/n$i/metrics.h5)
    cs=$(sed -nE 's/.*communication: .*\(([0-9.]+)%\).*/\1/p' $R/run$i.log | head -n 1)
    # P = the parameters that are exchanged: all of them (ZeRO-1), or the LoRA adapters
    P=$(sed -nE 's/.*on ([0-9]+) adapter parameters.*/\1/p' $R/run$i.log | head -n 1)
    local lora=0; [ -n "$P" ] && lora=1
    [ $lora = 1 ] || P=$(grep -oE '[0-9]+ parameters' $R/run$i.log | head -n 1 | cut -d' ' -f1)
    # the unshaped run gives t_compute and (ZeRO-1) the host's own TCP rate B_host (bytes per
    # second of communication: on shared cores TCP costs CPU time, so an unshaped veth is not
    # infinite); LoRA's exchange is not timed, so its t_compute uses the B_host found before
    if [ $i = 0 ]; then
      if [ $lora = 0 ]; then
        tc0=$(awk -v s=$o -v c=$cs 'BEGIN { print s * (1 - c / 100) }'); cs0=$cs
        [ -n "$NODES_BH" ] || NODES_BH=$(awk -v s=$o -v c=$cs -v b=$((b1 - b0)) -v st=$steps 'BEGIN { print b / st / (s * c / 100) }')
      else
        tc0=$(awk -v s=$o -v P=$P -v bh=${NODES_BH:-1e30} 'BEGIN { print s - 4 * P / bh }'); cs0="-"
      fi
    fi
    awk -v sh=$name -v n="$link" -v ov=$ov -v s=$o -v b=$((b1 - b0)) -v st=$steps -v c="${cs:--}" -v P=$P -v r=$rate \
        -v tc=$tc0 -v bh=${NODES_BH:-1e30} -v lora=$lora -v ld=$load '
      BEGIN { B = (r == "1gbit") ? 1e9 / 8 : (r == "10gbit") ? 1e10 / 8 : 0
              tm = B ? 4 * P / B : 0; ex = (ov == "true" && !lora) ? tm - 2 / 3 * tc : tm; if (ex < 0) ex = 0
              pr = B ? sprintf("%.0f", 1000 * (tc + ex)) : "-"
              Be = (B && B < bh) ? B : bh; fx = sprintf("%.0f", 1000 * (tc + 4 * P / Be))
              if (lora) c = "-"
              printf "%-9s %-9s %-7s %5s %9.0f %12.1f %7s %10s %10s\n", sh, n, (ov == "true") ? "on" : "off", ld, 1000 * s, b / st / 1e6, c, pr, fx }'
  done
  echo "  $name: P exchanged = $P (4P = $(awk -v P=$P 'BEGIN { printf "%.1f", 4 * P / 1e6 }') MB per step per rank by the formula);"\
       "t_compute = $(awk -v t=$tc0 'BEGIN { printf "%.0f", 1000 * t }') ms (unshaped step x (1 - ${cs0}% comm), LoRA: minus 4P / B_host)"
}

want nodes && bench_nodes_section
exit 0
