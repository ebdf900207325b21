#!/usr/bin/env bash
# PyTorch parity of the model core: the C side (build/tests/test_model_parity --dump) writes
# checkpoints of a tiny GQA model with q/k/v biases and untied head, and one with a tied head,
# plus its logits, loss, gradients and 5 AdamW step losses; the plain-torch reference
# (tests/integration/model/torch_ref.py) loads the same weights with h5py and compares, all
# within 1e-4 relative (max abs error / max abs value per tensor). Then the same step with
# model.precision = "bf16" (bf16.h5) against PyTorch under torch.autocast("cpu", bfloat16):
# loss 1e-2, logits and gradients 5e-2 relative (torch_ref.py parity_bf16).
set -u
cd "$(dirname "$0")/../.."
bin=build/tests/test_model_parity
if [ ! -x "$bin" ]; then echo "not ok model parity: $bin not built (make build)"; exit 1; fi
dir=$(mktemp -d /tmp/nq-model-parity.XXXXXX)
trap 'rm -rf "$dir"' EXIT
if ! "$bin" --dump "$dir"; then echo "not ok model parity: C dump failed"; exit 1; fi
echo "ok model parity: C dump written"
OMP_NUM_THREADS=1 /usr/bin/python3 tests/integration/model/torch_ref.py parity "$dir/untied.h5" "$dir/tied.h5"
fp32=$?
OMP_NUM_THREADS=1 /usr/bin/python3 tests/integration/model/torch_ref.py parity_bf16 "$dir/bf16.h5"
bf=$?
[ $fp32 = 0 ] && [ $bf = 0 ]
