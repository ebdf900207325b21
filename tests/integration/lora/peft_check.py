# PEFT export checks (tests/integration/lora.sh), reading safetensors by hand with numpy (the
# format: u64 header length, JSON header, little-endian data), tensors found by name:
#   layout PEFT_DIR ADAPTER_H5        : adapter_config.json and the tensor names/shapes are PEFT's,
#                                       and the tensors equal the adapter file's arena
#   merged BASE_H5 PEFT_DIR MERGED_DIR : every weight of the merged HF model == base + (alpha/r) B A
#                                       (B, A of that projection from the PEFT file), others equal
import json, os, struct, sys
import h5py
import numpy as np

def load_st(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in sorted(((k, v) for k, v in hdr.items() if k != "__metadata__"), key=lambda kv: kv[1]["data_offsets"][0]):
        assert t["dtype"] == "F32", (name, t["dtype"])
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(t["shape"])
    return out

mode = sys.argv[1]
if mode == "layout":
    d, ad = sys.argv[2], h5py.File(sys.argv[3], "r")
    cfg = json.load(open(os.path.join(d, "adapter_config.json")))
    r, alpha = int(ad.attrs["lora_rank"]), float(ad.attrs["lora_alpha"])
    want = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": alpha, "bias": "none",
            "use_dora": False, "fan_in_fan_out": False}
    bad = {k: cfg.get(k) for k, v in want.items() if cfg.get(k) != v}
    if bad: print("adapter_config.json fields differ:", bad); sys.exit(1)
    t = load_st(os.path.join(d, "adapter_model.safetensors"))
    mods = set(cfg["target_modules"])
    for name, a in t.items():
        parts = name.split(".")   # base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight
        ok = (parts[:4] == ["base_model", "model", "model", "layers"] and parts[6] in mods and
              parts[7] in ("lora_A", "lora_B") and parts[8] == "weight" and a.ndim == 2 and
              (a.shape[0] == r if parts[7] == "lora_A" else a.shape[1] == r))
        if not ok: print("not a PEFT LoRA tensor:", name, a.shape); sys.exit(1)
    p = ad["lora/params"][()]
    # lora.h's arena: per target (q, k, v, o, gate, up, down), A of every layer, then B of every layer
    L = 1 + max(int(n.split(".")[4]) for n in t)
    order = [m for m in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj") if m in mods]
    par = lambda m: "mlp" if m in ("gate_proj", "up_proj", "down_proj") else "self_attn"
    flat = np.concatenate([t["base_model.model.model.layers.%d.%s.%s.%s.weight" % (l, par(m), m, ab)].ravel()
                           for m in order for ab in ("lora_A", "lora_B") for l in range(L)])
    if flat.size != p.size or not np.array_equal(flat.view(np.uint32), p.view(np.uint32)):
        print("tensors differ from the adapter file's arena"); sys.exit(1)
    print("%d PEFT tensors, r=%d alpha=%g, %s, bitwise the adapter" % (len(t), r, alpha, ",".join(sorted(mods))))
elif mode == "merged":
    base = h5py.File(sys.argv[2], "r")
    cfg = json.load(open(os.path.join(sys.argv[3], "adapter_config.json")))
    s = cfg["lora_alpha"] / cfg["r"]
    ad = load_st(os.path.join(sys.argv[3], "adapter_model.safetensors"))
    merged = load_st(os.path.join(sys.argv[4], "model.safetensors"))
    worst, adapted = 0.0, 0
    for name, w in merged.items():
        ref = base[name][()].astype(np.float64)
        key = "base_model.model." + name[:-len(".weight")]
        if key + ".lora_A.weight" in ad:
            ref = ref + s * (ad[key + ".lora_B.weight"].astype(np.float64) @ ad[key + ".lora_A.weight"].astype(np.float64))
            adapted += 1
        worst = max(worst, float(np.abs(w - ref).max() / (np.abs(ref).max() + 1e-30)))
    if adapted * 2 != len(ad) or worst > 1e-6:
        print("merged differs: max rel diff %.3g, %d adapted of %d" % (worst, adapted, len(ad) // 2)); sys.exit(1)
    print("merged HF model == W + (alpha/r) B A: max rel diff %.2g over %d tensors (%d adapted)" % (worst, len(merged), adapted))
