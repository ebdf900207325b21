// Keys of the `model` section; each row names the model_settings member it fills.
#include "settings/model_settings.h"

#include <stddef.h>

#define F(m) offsetof(model_settings, m)

const cfg_key model_keys[] = {
    {"model.path", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "Hugging Face model directory (config.json, *.safetensors, tokenizer.json; docs/hf.md): "
     "architecture, tokenizer and initial weights; \"\" = the model.* keys below", F(path)},
    {"model.vocab_size", CFG_INT, "0", 0, 1048576, NULL,
     "vocabulary size; 0 = the tokenizer's vocabulary size", F(vocab_size)},
    {"model.dim", CFG_INT, "192", 2, 65536, NULL, "hidden size D", F(dim)},
    {"model.n_layers", CFG_INT, "6", 1, 1024, NULL, "decoder blocks L", F(n_layers)},
    {"model.n_heads", CFG_INT, "6", 1, 1024, NULL, "query heads H (head_dim = dim / n_heads, even)", F(n_heads)},
    {"model.n_kv_heads", CFG_INT, "2", 1, 1024, NULL,
     "key/value heads (grouped-query attention); must divide n_heads", F(n_kv_heads)},
    {"model.ffn_dim", CFG_INT, "512", 1, 1048576, NULL, "SwiGLU intermediate size F", F(ffn_dim)},
    {"model.max_seq_len", CFG_INT, "1024", 1, 1048576, NULL, "longest sequence (RoPE table length)", F(max_seq_len)},
    {"model.rope_theta", CFG_FLOAT, "10000.0", 1.0, 1e12, NULL, "RoPE base (Llama 10000, Qwen2 1e6)", F(rope_theta)},
    {"model.norm_eps", CFG_FLOAT, "1e-5", 1e-12, 1.0, NULL, "RMSNorm epsilon", F(norm_eps)},
    {"model.qkv_bias", CFG_BOOL, "false", CFG_NO_RANGE, NULL, "biases on q/k/v projections (Qwen2)", F(qkv_bias)},
    {"model.tie_embeddings", CFG_BOOL, "true", CFG_NO_RANGE, NULL,
     "LM head shares the token embedding matrix", F(tie_embeddings)},
    {"model.init_std", CFG_FLOAT, "0.02", 0.0, 10.0, NULL, "std of the normal init of weight matrices", F(init_std)},
    {"model.init_seed", CFG_INT, "-1", -1, 2147483647, NULL,
     "seed of the random init; -1 = the experiment's top-level seed", F(init_seed)},
    {"model.threads", CFG_INT, "1", 1, 1024, NULL,
     "threads per rank for the model kernels (OpenMP; OpenBLAS stays single-threaded)", F(threads)},
    {"model.precision", CFG_CHOICE, "\"fp32\"", CFG_NO_RANGE, "fp32|bf16",
     "matmul precision of every stage that runs the model: fp32, or bf16 inputs with fp32 "
     "accumulation (fp32 master weights, gradients, AdamW, norms, softmax, losses; docs/model.md)", F(precision)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
};
