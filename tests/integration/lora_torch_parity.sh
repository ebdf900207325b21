#!/usr/bin/env bash
# PyTorch parity of LoRA (common/model/lora.c inside model_forward/model_backward): the C side
# (build/tests/test_lora_parity --dump) writes a tiny frozen base (GQA, q/k/v biases) with
# r = 3, alpha = 6 adapters on all seven projections (B non-zero), its logits, loss and the
# gradient of every A and B; the plain-torch reference (tests/integration/model/torch_ref.py
# parity_lora: PEFT's LoraLayer, W x + b + (alpha/r) B A x, float64) loads the same weights and
# compares, within 1e-4 relative (max abs error / max abs value per tensor).
set -u
cd "$(dirname "$0")/../.."
bin=build/tests/test_lora_parity
if [ ! -x "$bin" ]; then echo "not ok lora torch parity: $bin not built (make build)"; exit 1; fi
dir=$(mktemp -d /tmp/nq-lora-parity.XXXXXX)
trap 'rm -rf "$dir"' EXIT
if ! "$bin" --dump "$dir"; then echo "not ok lora torch parity: C dump failed"; exit 1; fi
echo "ok lora torch parity: C dump written"
OMP_NUM_THREADS=1 /usr/bin/python3 tests/integration/model/torch_ref.py parity_lora "$dir/lora.h5"
