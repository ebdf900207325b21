"""Hugging Face format checks for tests/integration/hf_parity.sh (run by /usr/bin/python3).

  hf_check.py make DIR              tiny random LlamaForCausalLM / Qwen2ForCausalLM directories
                                    in real safetensors format (F32, BF16, F16; tied and untied;
                                    one sharded with an index), broken variants, tokens.txt and
                                    a tiny byte-level BPE tokenizer.json
  hf_check.py logits DIR MODEL BIN  our logits (BIN, fp32 (N, V)) vs the plain-torch reference
                                    forward (tests/integration/model/torch_ref.py) in float64 on
                                    the same weights (BF16/F16 converted to fp32), 1e-4 relative
  hf_check.py same A B              the tensors of HF dirs A and B are byte-identical (names,
                                    dtypes, shapes, bytes) and config.json agrees
  hf_check.py widened A B           B (F32) holds exactly A's F16/BF16 values widened to fp32
  hf_check.py batch                 the commands above, one per line on stdin (one torch start-up);
                                    exits 1 if any failed

The safetensors bytes are written here by hand (8-byte LE header length, JSON header with
dtype/shape/data_offsets relative to the data section, __metadata__), not by a library.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model"))
from torch_ref import Cfg, Decoder, relerr  # noqa: E402

DT = {"F32": (torch.float32, 4), "BF16": (torch.bfloat16, 2), "F16": (torch.float16, 2)}


# ---- safetensors by hand --------------------------------------------------------------------
def tensor_bytes(t, dtype):
    t = t.detach().to(DT[dtype][0]).contiguous()
    if dtype == "BF16":
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, dtype_of, pad_to=8):
    """tensors: list of (name, torch tensor); dtype_of(name) -> 'F32' | 'BF16' | 'F16' | 'I32'."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors:
        dt = dtype_of(name)
        b = t.numpy().astype(np.int32).tobytes() if dt == "I32" else tensor_bytes(t, dt)
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((-len(h)) % pad_to)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """-> {name: (dtype, shape, raw bytes)}"""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        b, e = v["data_offsets"]
        out[name] = (v["dtype"], tuple(v["shape"]), data[base + b:base + e])
    return out, header.get("__metadata__")


def read_dir(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            wm = json.load(f)["weight_map"]
        out = {}
        for shard in sorted(set(wm.values())):
            out.update(read_safetensors(os.path.join(d, shard))[0])
        return out
    return read_safetensors(os.path.join(d, "model.safetensors"))[0]


def to_f64(dtype, shape, raw):
    if dtype == "F32":
        a = np.frombuffer(raw, np.float32)
    elif dtype == "BF16":
        a = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
    elif dtype == "F16":
        a = np.frombuffer(raw, np.float16).astype(np.float32)
    else:
        raise ValueError(dtype)
    return torch.from_numpy(a.astype(np.float64).reshape(shape))


# ---- tiny models ---------------------------------------------------------------------------
SPECS = {
    # name: arch, dtype, tied, sharded, heads, kv heads, theta, eps
    "llama_f32_tied": ("LlamaForCausalLM", "F32", True, False, 4, 2, 10000.0, 1e-5),
    "llama_bf16_untied_sharded": ("LlamaForCausalLM", "BF16", False, True, 4, 1, 500000.0, 1e-6),
    "qwen2_f32_untied": ("Qwen2ForCausalLM", "F32", False, False, 4, 2, 1000000.0, 1e-6),
    "qwen2_bf16_tied": ("Qwen2ForCausalLM", "BF16", True, False, 4, 2, 1000000.0, 1e-6),
    "qwen2_f16_tied": ("Qwen2ForCausalLM", "F16", True, False, 2, 1, 10000.0, 1e-6),
}
V, D, L, FF, T = 300, 32, 2, 64, 64


def config_json(arch, tied, heads, kv, theta, eps, dtype, V=V, T=T):
    qwen = arch.startswith("Qwen2")
    c = {"architectures": [arch], "model_type": "qwen2" if qwen else "llama", "vocab_size": V,
         "hidden_size": D, "intermediate_size": FF, "num_hidden_layers": L,
         "num_attention_heads": heads, "num_key_value_heads": kv, "hidden_act": "silu",
         "max_position_embeddings": T, "rope_theta": theta, "rms_norm_eps": eps,
         "tie_word_embeddings": tied, "initializer_range": 0.02, "torch_dtype":
         {"F32": "float32", "BF16": "bfloat16", "F16": "float16"}[dtype], "rope_scaling": None}
    if qwen:
        c.update(use_sliding_window=False, sliding_window=T, max_window_layers=L)
    else:
        c.update(attention_bias=False, mlp_bias=False)
    return c


def random_tensors(arch, tied, heads, kv, gen, V=V):
    c = Cfg(vocab=V, dim=D, layers=L, heads=heads, kv_heads=kv, ffn=FF, max_seq=T,
            bias=arch.startswith("Qwen2"), tied=tied, theta=1.0, eps=1.0)
    m = Decoder(c)
    out = []
    for n, p in m.named():
        if n.endswith("norm.weight"):
            t = 1.0 + 0.1 * torch.randn(p.shape, generator=gen)
        elif n.endswith(".bias"):
            t = 0.1 * torch.randn(p.shape, generator=gen)
        else:
            t = 0.15 * torch.randn(p.shape, generator=gen)
        out.append((n, t))
    return out


def write_model(d, cfg, tensors, dtype, shards=1, dtype_of=None):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    dtype_of = dtype_of or (lambda n: dtype)
    if shards == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), tensors, dtype_of)
        return
    per = (len(tensors) + shards - 1) // shards
    wm, total = {}, 0
    for s in range(shards):
        fn = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = tensors[s * per:(s + 1) * per]
        write_safetensors(os.path.join(d, fn), part, dtype_of, pad_to=1 if s == 1 else 8)
        for n, t in part:
            wm[n] = fn
            total += t.numel() * DT[dtype_of(n)][1]
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": wm}, f, indent=2)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def tiny_tokenizer(path):
    u = bytes_to_unicode()
    vocab = {u[b]: b for b in range(256)}
    merges = []
    for a, b in [(" ", "t"), ("h", "e"), (" t", "he"), ("i", "n"), (" ", "a")]:
        ua, ub = "".join(u[x] for x in a.encode()), "".join(u[x] for x in b.encode())
        merges.append(f"{ua} {ub}")
        vocab[ua + ub] = len(vocab)
    eot = len(vocab)
    tok = {"version": "1.0", "truncation": None, "padding": None,
           "added_tokens": [{"id": eot, "content": "<|endoftext|>", "single_word": False,
                             "lstrip": False, "rstrip": False, "normalized": False, "special": True}],
           "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                             "use_regex": True},
           "post_processor": None, "decoder": {"type": "ByteLevel"},
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "vocab": vocab,
                     "merges": merges}}
    with open(path, "w") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)


def make(root):
    gen = torch.Generator().manual_seed(20250611)
    for name, (arch, dtype, tied, sharded, heads, kv, theta, eps) in SPECS.items():
        t = random_tensors(arch, tied, heads, kv, gen)
        write_model(os.path.join(root, name), config_json(arch, tied, heads, kv, theta, eps, dtype), t,
                    dtype, shards=3 if sharded else 1)
    # broken variants of qwen2_f32_untied: (dir, config change, tensor change, dtype_of, shards)
    arch, dtype, tied, _, heads, kv, theta, eps = SPECS["qwen2_f32_untied"]
    base_cfg = config_json(arch, tied, heads, kv, theta, eps, dtype)
    base = random_tensors(arch, tied, heads, kv, gen)

    def variant(name, cfg=None, tensors=None, dtype_of=None, shards=1):
        write_model(os.path.join(root, name), cfg or base_cfg, tensors or base, dtype, shards, dtype_of)
    variant("bad_missing", tensors=[x for x in base if x[0] != "model.layers.1.mlp.up_proj.weight"])
    variant("bad_extra", tensors=base + [("model.layers.0.self_attn.o_proj.bias", torch.zeros(D))])
    variant("bad_shape", tensors=[(n, t[:-2] if n == "model.layers.0.self_attn.k_proj.weight" else t)
                                  for n, t in base])
    variant("bad_arch", cfg=dict(base_cfg, architectures=["MistralForCausalLM"]))
    variant("bad_rope", cfg=dict(base_cfg, rope_scaling={"rope_type": "llama3", "factor": 8.0}))
    variant("bad_dtype", dtype_of=lambda n: "I32" if n == "model.norm.weight" else "F32")
    variant("bad_index", shards=2)
    with open(os.path.join(root, "bad_index", "model.safetensors.index.json")) as f:
        idx = json.load(f)
    idx["weight_map"]["model.embed_tokens.weight"] = "model-00002-of-00002.safetensors"
    with open(os.path.join(root, "bad_index", "model.safetensors.index.json"), "w") as f:
        json.dump(idx, f)
    g = torch.Generator().manual_seed(7)
    with open(os.path.join(root, "tokens.txt"), "w") as f:
        for n in (9, 17, 1):
            f.write(" ".join(str(int(x)) for x in torch.randint(0, V, (n,), generator=g)) + "\n")
    tiny_tokenizer(os.path.join(root, "tokenizer.json"))
    # for the pipeline check: the tiny tokenizer's vocabulary (262), long context
    write_model(os.path.join(root, "pipeline_qwen2"),
                config_json("Qwen2ForCausalLM", False, 4, 2, 1e6, 1e-6, "BF16", V=262, T=4096),
                random_tensors("Qwen2ForCausalLM", False, 4, 2, gen, V=262), "BF16")


# ---- checks --------------------------------------------------------------------------------
def logits(root, name, binpath):
    d = os.path.join(root, name)
    with open(os.path.join(d, "config.json")) as f:
        cj = json.load(f)
    c = Cfg(vocab=cj["vocab_size"], dim=cj["hidden_size"], layers=cj["num_hidden_layers"],
            heads=cj["num_attention_heads"], kv_heads=cj["num_key_value_heads"],
            ffn=cj["intermediate_size"], max_seq=cj["max_position_embeddings"],
            bias=cj["architectures"][0] == "Qwen2ForCausalLM", tied=cj["tie_word_embeddings"],
            theta=cj["rope_theta"], eps=cj["rms_norm_eps"])
    torch.set_default_dtype(torch.float64)
    m = Decoder(c, torch.float64)
    st = read_dir(d)
    with torch.no_grad():
        for n, p in m.named():
            p.copy_(to_f64(*st[n]))
    seqs = [[int(x) for x in line.split()] for line in open(os.path.join(root, "tokens.txt")) if line.strip()]
    ref = torch.cat([m(torch.tensor(s)[None])[0] for s in seqs], 0).detach().numpy()
    ours = np.fromfile(binpath, np.float32).reshape(ref.shape)
    e = relerr(ours, ref)
    dts = sorted({v[0] for v in st.values()})
    ok = e <= 1e-4 and np.abs(ref).max() > 0.5
    print(f"{'ok' if ok else 'not ok'} logits {name} ({'/'.join(dts)}, {len(st)} tensors): "
          f"rel err {e:.2e} vs torch reference")
    return 0 if ok else 1


def same(a, b, widened=False):
    ta, tb = read_dir(a), read_dir(b)
    what = f"{os.path.basename(a)} -> {os.path.basename(b)}"
    if set(ta) != set(tb):
        print(f"not ok export {what}: tensor names differ: {sorted(set(ta) ^ set(tb))[:3]}")
        return 1
    for n in ta:
        if widened:
            good = tb[n][0] == "F32" and ta[n][0] != "F32" and torch.equal(to_f64(*ta[n]), to_f64(*tb[n]))
        else:
            good = ta[n] == tb[n]
        if not good:
            print(f"not ok export {what}: tensor {n} differs ({ta[n][0]} {ta[n][1]} vs {tb[n][0]} {tb[n][1]})")
            return 1
    ca, cb = (json.load(open(os.path.join(x, "config.json"))) for x in (a, b))
    keys = ["architectures", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
            "num_attention_heads", "num_key_value_heads", "max_position_embeddings", "rope_theta",
            "rms_norm_eps", "tie_word_embeddings"]
    bad = [k for k in keys if ca.get(k) != cb.get(k)]
    if not widened and ca.get("torch_dtype") != cb.get("torch_dtype"):
        bad.append("torch_dtype")
    if bad:
        print(f"not ok export {what}: config.json differs in {bad}")
        return 1
    meta = read_safetensors(os.path.join(b, "model.safetensors"))[1]
    if meta != {"format": "pt"}:
        print(f"not ok export {what}: __metadata__ {meta}")
        return 1
    kind = "F16/BF16 values widened to F32 exactly" if widened else "byte-identical tensors"
    print(f"ok export {what}: {len(ta)} {kind}, same config.json fields")
    return 0


def command(a):
    if len(a) == 2 and a[0] == "make":
        make(a[1])
        return 0
    if len(a) == 4 and a[0] == "logits":
        return logits(a[1], a[2], a[3])
    if len(a) == 3 and a[0] in ("same", "widened"):
        return same(a[1], a[2], a[0] == "widened")
    print(__doc__, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    if sys.argv[1:] == ["batch"]:
        sys.exit(1 if sum(command(line.split()) for line in sys.stdin if line.strip()) else 0)
    sys.exit(command(sys.argv[1:]))
