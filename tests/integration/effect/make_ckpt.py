# Writes a random Llama-style checkpoint in the layout of common/files/checkpoint.c
# (docs/hdf5-layout.md#checkpoints)
# so the effect tests need no training run: python3 make_ckpt.py OUT VOCAB SEED
import sys
import h5py
import numpy as np

out, V, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
D, L, H, KV, F, T = 32, 2, 4, 2, 64, 640
hd = D // H
rng = np.random.default_rng(seed)
w = lambda *shape: (rng.standard_normal(shape) * 0.2).astype(np.float32)
with h5py.File(out, "w") as f:
    a = f.attrs
    a["model_architecture"] = "llama"
    for k, v in dict(vocab_size=V, dim=D, n_layers=L, n_heads=H, n_kv_heads=KV, ffn_dim=F,
                     max_seq_len=T, qkv_bias=0, tie_embeddings=0, step=0).items():
        a[k if k == "step" else "model_" + k] = np.int64(v)
    a["model_rope_theta"] = 10000.0
    a["model_norm_eps"] = 1e-5
    a["model_init_std"] = 0.2
    a["nq_stage"] = "model"
    f["model.embed_tokens.weight"] = w(V, D)
    for l in range(L):
        p = f"model.layers.{l}."
        f[p + "input_layernorm.weight"] = np.ones(D, np.float32)
        f[p + "self_attn.q_proj.weight"] = w(H * hd, D)
        f[p + "self_attn.k_proj.weight"] = w(KV * hd, D)
        f[p + "self_attn.v_proj.weight"] = w(KV * hd, D)
        f[p + "self_attn.o_proj.weight"] = w(D, H * hd)
        f[p + "post_attention_layernorm.weight"] = np.ones(D, np.float32)
        f[p + "mlp.gate_proj.weight"] = w(F, D)
        f[p + "mlp.up_proj.weight"] = w(F, D)
        f[p + "mlp.down_proj.weight"] = w(D, F)
    f["model.norm.weight"] = np.ones(D, np.float32)
    f["lm_head.weight"] = w(V, D)
