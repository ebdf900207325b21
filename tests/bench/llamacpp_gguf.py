#!/usr/bin/python3
# Random-weight GGUF at the Qwen2.5-0.5B shape (qwen2 arch) for llama-bench.
#   llamacpp_gguf.py LLAMA_CPP_SRC OUT.gguf bf16|f32
# (LLAMA_CPP_SRC: a llama.cpp source tree; its gguf-py writes the file and its GPT-2 vocab
# is padded below; tests/bench/run.sh's hf section calls this when LLAMA_CPP is set.)
# hidden 896, 24 layers, 14 heads, 2 KV heads, ffn 4864, vocab 151936, tied embeddings
# (no output.weight: llama.cpp reuses token_embd), rope theta 1e6, rms eps 1e-6, q/k/v biases.
# Weights: uniform with std 0.02 (as nextquill's bench_hf fills them), norm weights 1, q/k/v biases uniform like the weights.
# 2-D weights in the chosen type; 1-D tensors (norms, biases) stay F32, as convert_hf_to_gguf does.
# Tokenizer: the repo's models/ggml-vocab-qwen2.gguf is absent from the snapshot (a missing LFS-size
# blob), so the GPT-2 BPE vocab (models/ggml-vocab-gpt-2.gguf, 50257 tokens + 50000 merges) is
# padded with [PAD{i}] tokens to 151936 entries (convert_hf_to_gguf pads Qwen's vocab the same way);
# llama-bench feeds random token ids, so the token strings do not affect timings.
import sys
import numpy as np

if len(sys.argv) != 4:
    sys.exit("usage: llamacpp_gguf.py LLAMA_CPP_SRC OUT.gguf bf16|f32")
src_dir, out, prec = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, src_dir + "/gguf-py")
import gguf  # noqa: E402

assert prec in ("bf16", "f32")
D, L, H, KV, F, V = 896, 24, 14, 2, 4864, 151936
HD = D // H
rng = np.random.default_rng(1234)
A = 0.02 * np.sqrt(3.0)


def to_bf16(x):  # float32 -> uint16 bf16 bits, round to nearest even
    u = x.astype(np.float32).view(np.uint32)
    u = u + (np.uint32(0x7FFF) + ((u >> 16) & 1))
    return (u >> 16).astype(np.uint16)


def mat(rows, cols):  # numpy (rows, cols) -> ggml ne = (cols, rows)
    x = rng.uniform(-A, A, size=(rows, cols)).astype(np.float32)
    return to_bf16(x) if prec == "bf16" else x


src = gguf.GGUFReader(src_dir + "/models/ggml-vocab-gpt-2.gguf")
tokens = src.fields["tokenizer.ggml.tokens"].contents()
ttypes = src.fields["tokenizer.ggml.token_type"].contents()
merges = src.fields["tokenizer.ggml.merges"].contents()
n0 = len(tokens)
tokens = list(tokens) + [f"[PAD{i}]" for i in range(n0, V)]
ttypes = list(ttypes) + [int(gguf.TokenType.UNUSED)] * (V - n0)
assert len(tokens) == V

w = gguf.GGUFWriter(out, "qwen2")
w.add_name(f"random-qwen2.5-0.5B-shape-{prec}")
w.add_context_length(32768)
w.add_embedding_length(D)
w.add_block_count(L)
w.add_feed_forward_length(F)
w.add_head_count(H)
w.add_head_count_kv(KV)
w.add_rope_freq_base(1e6)
w.add_layer_norm_rms_eps(1e-6)
w.add_file_type(gguf.LlamaFileType.MOSTLY_BF16 if prec == "bf16" else gguf.LlamaFileType.ALL_F32)
w.add_tokenizer_model("gpt2")
w.add_tokenizer_pre("qwen2")
w.add_token_list(tokens)
w.add_token_types(ttypes)
w.add_token_merges(merges)
w.add_bos_token_id(50256)
w.add_eos_token_id(50256)
w.add_add_bos_token(False)

BT = gguf.GGMLQuantizationType.BF16 if prec == "bf16" else None
def put(name, x):
    if x.dtype == np.uint16:
        w.add_tensor(name, x, raw_dtype=BT)
    else:
        w.add_tensor(name, x)

put("token_embd.weight", mat(V, D))
w.add_tensor("output_norm.weight", np.ones(D, np.float32))
for i in range(L):
    p = f"blk.{i}."
    w.add_tensor(p + "attn_norm.weight", np.ones(D, np.float32))
    put(p + "attn_q.weight", mat(D, D))
    put(p + "attn_k.weight", mat(KV * HD, D))
    put(p + "attn_v.weight", mat(KV * HD, D))
    w.add_tensor(p + "attn_q.bias", rng.uniform(-A, A, D).astype(np.float32))
    w.add_tensor(p + "attn_k.bias", rng.uniform(-A, A, KV * HD).astype(np.float32))
    w.add_tensor(p + "attn_v.bias", rng.uniform(-A, A, KV * HD).astype(np.float32))
    put(p + "attn_output.weight", mat(D, D))
    w.add_tensor(p + "ffn_norm.weight", np.ones(D, np.float32))
    put(p + "ffn_gate.weight", mat(F, D))
    put(p + "ffn_up.weight", mat(F, D))
    put(p + "ffn_down.weight", mat(D, F))

w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print("wrote", out)
