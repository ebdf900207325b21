# A Qwen2.5-0.5B-shaped HF directory with random fp32 weights (config.json + model.safetensors,
# 1.98 GB), written with numpy only, for `make bench` sections that need that shape as
# train.init (LoRA's frozen base) without nq-train's full-model write (the deflate-compressed
# 0.5B checkpoint took more than 10 minutes here; this takes seconds). No tokenizer.json: the
# run's shards bring their own tokenizer. Usage: hf_random_q05.py DIR [seed]
import json, os, struct, sys
import numpy as np

D, L, H, KV, F, V = 896, 24, 14, 2, 4864, 151936
hd = D // H
cfg = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_act": "silu",
       "vocab_size": V, "hidden_size": D, "num_hidden_layers": L, "num_attention_heads": H,
       "num_key_value_heads": KV, "intermediate_size": F, "max_position_embeddings": 32768,
       "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": True,
       "use_sliding_window": False, "torch_dtype": "float32"}
shapes = [("model.embed_tokens.weight", (V, D))]
for l in range(L):
    p = f"model.layers.{l}."
    shapes += [(p + "input_layernorm.weight", (D,)), (p + "self_attn.q_proj.weight", (H * hd, D)),
               (p + "self_attn.k_proj.weight", (KV * hd, D)), (p + "self_attn.v_proj.weight", (KV * hd, D)),
               (p + "self_attn.q_proj.bias", (H * hd,)), (p + "self_attn.k_proj.bias", (KV * hd,)),
               (p + "self_attn.v_proj.bias", (KV * hd,)), (p + "self_attn.o_proj.weight", (D, H * hd)),
               (p + "post_attention_layernorm.weight", (D,)), (p + "mlp.gate_proj.weight", (F, D)),
               (p + "mlp.up_proj.weight", (F, D)), (p + "mlp.down_proj.weight", (D, F))]
shapes.append(("model.norm.weight", (D,)))

out = sys.argv[1]
rng = np.random.default_rng(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
os.makedirs(out, exist_ok=True)
header, off = {}, 0
for name, shp in shapes:
    n = int(np.prod(shp)) * 4
    header[name] = {"dtype": "F32", "shape": list(shp), "data_offsets": [off, off + n]}
    off += n
hj = json.dumps(header).encode()
hj += b" " * (-len(hj) % 8)
tmp = os.path.join(out, "model.safetensors.tmp")
with open(tmp, "wb") as f:
    f.write(struct.pack("<Q", len(hj)) + hj)
    for name, shp in shapes:
        if name.endswith("norm.weight"):
            a = np.ones(shp, np.float32)
        else:
            a = (rng.standard_normal(shp, np.float32) * 0.02).astype(np.float32)
        f.write(a.tobytes())
os.rename(tmp, os.path.join(out, "model.safetensors"))
with open(os.path.join(out, "config.json.tmp"), "w") as f:
    json.dump(cfg, f, indent=1)
os.rename(os.path.join(out, "config.json.tmp"), os.path.join(out, "config.json"))
print(sum(int(np.prod(s)) for _, s in shapes))
