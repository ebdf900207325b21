"""Plain-PyTorch reference of the nextquill decoder (docs/model.md), written from the
published Llama/Qwen2 architecture, not from our C code.

  torch_ref.py parity FILE.h5   compare against the C dump of build/tests/test_model_parity:
                                logits, loss, every parameter gradient, 5 AdamW step losses
  torch_ref.py parity_bf16 FILE.h5   the C dump of a model.precision = "bf16" step against the
                                same step under torch.autocast("cpu", dtype=torch.bfloat16)
                                (fp32 weights): loss, logits, gradients, 5 AdamW step losses
  torch_ref.py parity_lora FILE.h5   the C dump of build/tests/test_lora_parity: the frozen
                                base with plain-torch LoRA layers (PEFT's LoraLayer: W x + b +
                                (alpha/r) B A x) on every projection: logits, loss and the
                                gradient of every A and B
  torch_ref.py bench CONFIG     training tokens/s of the same model (used by make bench;
                                a trailing "bf16" runs forward and loss under autocast)

Run by /usr/bin/python3 (Debian python3-torch 1.13, python3-h5py).
"""
import math
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F


class Cfg:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def cfg_from_h5(f):
    a = f.attrs
    return Cfg(vocab=int(a["model_vocab_size"]), dim=int(a["model_dim"]),
               layers=int(a["model_n_layers"]), heads=int(a["model_n_heads"]),
               kv_heads=int(a["model_n_kv_heads"]), ffn=int(a["model_ffn_dim"]),
               max_seq=int(a["model_max_seq_len"]), bias=bool(a["model_qkv_bias"]),
               tied=bool(a["model_tie_embeddings"]), theta=float(a["model_rope_theta"]),
               eps=float(a["model_norm_eps"]))


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Decoder(torch.nn.Module):
    def __init__(self, c, dtype=torch.float32):
        super().__init__()
        self.c = c
        hd = c.dim // c.heads
        P = lambda *s: torch.nn.Parameter(torch.zeros(*s, dtype=dtype))
        self.params = torch.nn.ParameterDict()
        self.names = []

        def add(name, *shape):
            self.params[name.replace(".", "__")] = P(*shape)
            self.names.append(name)
        add("model.embed_tokens.weight", c.vocab, c.dim)
        for l in range(c.layers):
            p = f"model.layers.{l}."
            add(p + "input_layernorm.weight", c.dim)
            add(p + "self_attn.q_proj.weight", c.heads * hd, c.dim)
            add(p + "self_attn.k_proj.weight", c.kv_heads * hd, c.dim)
            add(p + "self_attn.v_proj.weight", c.kv_heads * hd, c.dim)
            if c.bias:
                add(p + "self_attn.q_proj.bias", c.heads * hd)
                add(p + "self_attn.k_proj.bias", c.kv_heads * hd)
                add(p + "self_attn.v_proj.bias", c.kv_heads * hd)
            add(p + "self_attn.o_proj.weight", c.dim, c.heads * hd)
            add(p + "post_attention_layernorm.weight", c.dim)
            add(p + "mlp.gate_proj.weight", c.ffn, c.dim)
            add(p + "mlp.up_proj.weight", c.ffn, c.dim)
            add(p + "mlp.down_proj.weight", c.dim, c.ffn)
        add("model.norm.weight", c.dim)
        if not c.tied:
            add("lm_head.weight", c.vocab, c.dim)
        # RoPE as HF computes it: float32 inv_freq and angles
        inv = 1.0 / (c.theta ** (torch.arange(0, hd, 2).float() / hd))
        ang = torch.arange(c.max_seq).float()[:, None] * inv[None, :]
        emb = torch.cat((ang, ang), dim=-1)
        self.cos, self.sin = emb.cos().to(dtype), emb.sin().to(dtype)
        self.lora = {}   # "model.layers.0.self_attn.q_proj" -> (A (r, in), B (out, r), alpha / r)

    def lin(self, mod, x, bias=None):
        """A projection; with an adapter, as PEFT's LoraLayer: W x + b + s * B (A x)."""
        y = F.linear(x, self.p(mod + ".weight"), bias)
        if mod in self.lora:
            A, B, s = self.lora[mod]
            y = y + s * F.linear(F.linear(x, A), B)
        return y

    def p(self, name):
        return self.params[name.replace(".", "__")]

    def named(self):
        return [(n, self.p(n)) for n in self.names]

    def forward(self, tokens):  # tokens (B, T) -> logits (B, T, V); one sample per row
        c, hd = self.c, self.c.dim // self.c.heads
        B, T = tokens.shape
        x = F.embedding(tokens, self.p("model.embed_tokens.weight"))
        cos, sin = self.cos[:T], self.sin[:T]
        mask = torch.full((T, T), float("-inf"), dtype=x.dtype).triu(1)
        for l in range(c.layers):
            pre = f"model.layers.{l}."
            h = rms_norm(x, self.p(pre + "input_layernorm.weight"), c.eps)
            b = (lambda n: self.p(pre + n)) if c.bias else (lambda n: None)
            q = self.lin(pre + "self_attn.q_proj", h, b("self_attn.q_proj.bias"))
            k = self.lin(pre + "self_attn.k_proj", h, b("self_attn.k_proj.bias"))
            v = self.lin(pre + "self_attn.v_proj", h, b("self_attn.v_proj.bias"))
            q = q.view(B, T, c.heads, hd).transpose(1, 2)
            k = k.view(B, T, c.kv_heads, hd).transpose(1, 2)
            v = v.view(B, T, c.kv_heads, hd).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            rep = c.heads // c.kv_heads
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
            att = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask
            y = att.softmax(-1) @ v
            y = y.transpose(1, 2).reshape(B, T, c.heads * hd)
            x = x + self.lin(pre + "self_attn.o_proj", y)
            h = rms_norm(x, self.p(pre + "post_attention_layernorm.weight"), c.eps)
            g = self.lin(pre + "mlp.gate_proj", h)
            u = self.lin(pre + "mlp.up_proj", h)
            x = x + self.lin(pre + "mlp.down_proj", F.silu(g) * u)
        x = rms_norm(x, self.p("model.norm.weight"), c.eps)
        head = self.p("model.embed_tokens.weight") if c.tied else self.p("lm_head.weight")
        return F.linear(x, head)


def packed_logits(model, tokens, lens):
    """Packed batch = each sequence on its own (no attention across samples)."""
    out, o = [], 0
    for n in lens:
        out.append(model(tokens[o:o + n][None])[0])
        o += n
    return torch.cat(out, 0)


def weighted_loss(logits, targets, weights):
    keep = targets >= 0
    ce = F.cross_entropy(logits, targets.clamp(min=0), reduction="none")
    ce = torch.where(keep, ce, torch.zeros_like(ce))
    w = torch.where(keep, weights, torch.zeros_like(weights))
    return (w * ce).sum() / w.sum(), ce


def lr_at(step, a):
    lr, mn, wu, tot = float(a["lr"]), float(a["min_lr"]), int(a["warmup_steps"]), int(a["total_steps"])
    if wu > 0 and step < wu:
        return lr * (step + 1) / wu
    span = tot - wu
    if span <= 0:
        return lr
    frac = min(1.0, (step - wu) / span)
    return mn + 0.5 * (lr - mn) * (1 + math.cos(math.pi * frac))


def relerr(c, t):
    c, t = np.asarray(c, np.float64), np.asarray(t, np.float64)
    scale = max(np.abs(t).max(), 1e-30)
    return float(np.abs(c - t).max() / scale)


class Checker:
    """Prints one ok / not ok line per compared quantity and counts the failures."""

    def __init__(self, tag, tol):
        self.tag, self.tol, self.fails = tag, tol, 0

    def __call__(self, name, err):
        if err <= self.tol:
            print(f"ok {self.tag} {name} (rel err {err:.2e})")
        else:
            self.fails += 1
            print(f"not ok {self.tag} {name}: rel err {err:.2e} > {self.tol}")


def load_f64(f, frozen=False):
    """The dumped model in float64 (the reference precision), its parameters from the file."""
    c = cfg_from_h5(f)
    m = Decoder(c, torch.float64)
    with torch.no_grad():
        for n, p in m.named():
            p.copy_(torch.from_numpy(f[n][...].astype(np.float64)))
            if frozen:
                p.requires_grad_(False)
    return c, m


def read_batch(g, vocab):
    """The dumped batch and the C side's logits, token losses and loss."""
    b = dict(tokens=torch.from_numpy(g["tokens"][...].astype(np.int64)),
             lens=[int(x) for x in g["lens"][...]],
             targets=torch.from_numpy(g["targets"][...].astype(np.int64)),
             weights=torch.from_numpy(g["weights"][...].astype(np.float64)))
    b["c_logits"] = g["logits"][...].reshape(len(b["tokens"]), vocab)
    b["c_tokloss"], b["c_loss"] = g["token_loss"][...], float(g["loss"][0])
    return b


def check_loss(check, m_logits, ce, loss, b):
    check("logits", relerr(b["c_logits"], m_logits.detach().numpy()))
    check("token losses", relerr(b["c_tokloss"], ce.detach().numpy()))
    check("loss", abs(b["c_loss"] - loss.item()) / abs(loss.item()))


def parity(path, tol=1e-4):
    check = Checker(path.rsplit("/", 1)[-1].replace(".h5", ""), tol)
    torch.set_default_dtype(torch.float64)
    with h5py.File(path, "r") as f:
        c, m = load_f64(f)
        g = f["parity"]
        b = read_batch(g, c.vocab)
        c_grads = {n: g["grad"][n][...] for n in m.names}
        c_steps = g["adamw_losses"][...]
        a = dict(g.attrs)
    tokens, lens, targets, weights = b["tokens"], b["lens"], b["targets"], b["weights"]
    logits = packed_logits(m, tokens, lens)
    loss, ce = weighted_loss(logits, targets, weights)
    loss.backward()
    check_loss(check, logits, ce, loss, b)
    worst = max(((relerr(c_grads[n], p.grad.numpy()), n) for n, p in m.named()))
    for n, p in m.named():
        e = relerr(c_grads[n], p.grad.numpy())
        if e > tol:
            check("grad " + n, e)
    check(f"all {len(m.names)} parameter gradients (worst {worst[1]})", worst[0])
    # 5 AdamW steps: torch.optim.AdamW, decay on matrices only, clip_grad_norm_, warmup+cosine
    decay = [p for n, p in m.named() if p.dim() == 2]
    nodecay = [p for n, p in m.named() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": float(a["weight_decay"])},
                             {"params": nodecay, "weight_decay": 0.0}],
                            lr=float(a["lr"]), betas=(float(a["beta1"]), float(a["beta2"])),
                            eps=float(a["eps"]))
    losses = []
    for st in range(len(c_steps)):
        opt.zero_grad()
        loss, _ = weighted_loss(packed_logits(m, tokens, lens), targets, weights)
        losses.append(loss.item())
        if st == len(c_steps) - 1:
            break
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), float(a["max_norm"]))
        for grp in opt.param_groups:
            grp["lr"] = lr_at(st, a)
        opt.step()
    check(f"{len(c_steps) - 1} AdamW steps, losses {' '.join(f'{x:.5f}' for x in losses)}",
          relerr(c_steps, losses))
    return check.fails


def parity_lora(path, tol=1e-4):
    check = Checker("lora", tol)
    torch.set_default_dtype(torch.float64)
    with h5py.File(path, "r") as f:
        c, m = load_f64(f, frozen=True)   # the base is frozen
        g = f["parity"]
        s = float(g.attrs["lora_alpha"]) / int(g.attrs["lora_rank"])
        ad = {n: torch.nn.Parameter(torch.from_numpy(g["lora"][n][...].astype(np.float64)))
              for n in g["lora"]}
        c_grads = {n: g["lora_grad"][n][...] for n in g["lora_grad"]}
        b = read_batch(g, c.vocab)
    for n in ad:
        if n.endswith(".lora_A.weight"):
            mod = n[:-len(".lora_A.weight")]
            m.lora[mod] = (ad[n], ad[mod + ".lora_B.weight"], s)
    if len(m.lora) != 7 * c.layers:
        print(f"not ok lora: {len(m.lora)} adapted projections, want {7 * c.layers}")
        return 1
    logits = packed_logits(m, b["tokens"], b["lens"])
    loss, ce = weighted_loss(logits, b["targets"], b["weights"])
    loss.backward()
    check_loss(check, logits, ce, loss, b)
    errs = sorted((relerr(c_grads[n], p.grad.numpy()), n) for n, p in ad.items())
    for e, n in errs:
        if e > tol:
            check("grad " + n, e)
    check(f"all {len(ad)} adapter gradients dL/dA, dL/dB (worst {errs[-1][1]})", errs[-1][0])
    return check.fails


def parity_bf16(path, tol_loss=1e-2, tol_grad=5e-2):
    """Ours in bf16 vs PyTorch autocast bf16 on the same fp32 weights and batch. Both round
    the matmul inputs to bf16 (ours keeps attention scores in fp32, autocast does not), so
    they agree to bf16 noise, not bitwise; the fp64 reference errors of both are printed
    for scale. Tolerances: loss and step losses 1e-2 relative; logits and each gradient
    tensor 5e-2 (max abs error / max abs value)."""
    fails = 0

    def check(name, err, tol):
        nonlocal fails
        ok = err <= tol
        fails += 0 if ok else 1
        print(f"{'ok' if ok else 'not ok'} bf16 {name} (rel err {err:.2e}, tolerance {tol})")

    with h5py.File(path, "r") as f:
        c = cfg_from_h5(f)
        ms = {dt: Decoder(c, dt) for dt in (torch.float32, torch.float64)}
        with torch.no_grad():
            for dt, m in ms.items():
                for n, p in m.named():
                    p.copy_(torch.from_numpy(f[n][...]).to(dt))
        g = f["parity"]
        tokens = torch.from_numpy(g["tokens"][...].astype(np.int64))
        lens = [int(x) for x in g["lens"][...]]
        targets = torch.from_numpy(g["targets"][...].astype(np.int64))
        weights = torch.from_numpy(g["weights"][...].astype(np.float64))
        c_logits = g["logits"][...].reshape(len(tokens), c.vocab)
        c_loss = float(g["loss"][0])
        c_grads = {n: g["grad"][n][...] for n in ms[torch.float32].names}
        c_steps = g["adamw_losses"][...]
        a = dict(g.attrs)
    m = ms[torch.float32]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = packed_logits(m, tokens, lens)
        loss, _ = weighted_loss(logits.float(), targets, weights.float())
    loss.backward()
    r = ms[torch.float64]
    rl = packed_logits(r, tokens, lens)
    rloss, _ = weighted_loss(rl, targets, weights)
    rloss.backward()
    print(f"# vs fp64: ours loss {abs(c_loss - rloss.item()) / rloss.item():.2e}, autocast "
          f"{abs(loss.item() - rloss.item()) / rloss.item():.2e}; logits ours "
          f"{relerr(c_logits, rl.detach().numpy()):.2e}, autocast "
          f"{relerr(logits.float().detach().numpy(), rl.detach().numpy()):.2e}")
    check("loss", abs(c_loss - loss.item()) / abs(loss.item()), tol_loss)
    check("logits", relerr(c_logits, logits.float().detach().numpy()), tol_grad)
    worst = max((relerr(c_grads[n], p.grad.numpy()), n) for n, p in m.named())
    wref = max((relerr(c_grads[n], p.grad.numpy()), n) for n, p in r.named())
    wac = max((relerr(p.grad.numpy(), q.grad.numpy()), n) for (n, p), (_, q) in zip(m.named(), r.named()))
    print(f"# gradients vs fp64: ours worst {wref[0]:.2e} ({wref[1]}), autocast worst {wac[0]:.2e} ({wac[1]})")
    check(f"all {len(m.names)} parameter gradients (worst {worst[1]})", worst[0], tol_grad)
    # AdamW steps under autocast, as in parity()
    decay = [p for n, p in m.named() if p.dim() == 2]
    nodecay = [p for n, p in m.named() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": float(a["weight_decay"])},
                             {"params": nodecay, "weight_decay": 0.0}],
                            lr=float(a["lr"]), betas=(float(a["beta1"]), float(a["beta2"])),
                            eps=float(a["eps"]))
    losses = []
    for st in range(len(c_steps)):
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss, _ = weighted_loss(packed_logits(m, tokens, lens).float(), targets, weights.float())
        losses.append(loss.item())
        if st == len(c_steps) - 1:
            break
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), float(a["max_norm"]))
        for grp in opt.param_groups:
            grp["lr"] = lr_at(st, a)
        opt.step()
    check(f"{len(c_steps) - 1} AdamW steps, losses {' '.join(f'{x:.5f}' for x in losses)}",
          relerr(c_steps, losses), tol_loss)
    return fails


def bench(argv):
    """bench dim layers heads kv ffn vocab B T steps threads [bf16] -> prints tokens/s (median);
    bf16: forward and loss under torch.autocast("cpu", dtype=torch.bfloat16), fp32 weights"""
    dim, layers, heads, kv, ffn, vocab, B, T, steps, threads = map(int, argv[:10])
    ac = len(argv) > 10 and argv[10] == "bf16"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    c = Cfg(vocab=vocab, dim=dim, layers=layers, heads=heads, kv_heads=kv, ffn=ffn, max_seq=T,
            bias=False, tied=True, theta=10000.0, eps=1e-5)
    m = Decoder(c)
    with torch.no_grad():
        for n, p in m.named():
            if p.dim() == 2:
                p.normal_(0, 0.02)
            else:
                p.fill_(1.0)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
    x = torch.randint(0, vocab, (B, T))
    y = torch.randint(0, vocab, (B, T))
    times = []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=ac):
            loss = F.cross_entropy(m(x).view(-1, vocab), y.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)   # ours clips too
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    times.sort()
    print(f"{B * T / times[len(times) // 2]:.1f}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "parity":
        sys.exit(1 if sum(parity(p) for p in sys.argv[2:]) else 0)
    if len(sys.argv) == 3 and sys.argv[1] == "parity_lora":
        sys.exit(1 if parity_lora(sys.argv[2]) else 0)
    if len(sys.argv) == 3 and sys.argv[1] == "parity_bf16":
        sys.exit(1 if parity_bf16(sys.argv[2]) else 0)
    if len(sys.argv) >= 12 and sys.argv[1] == "bench":
        bench(sys.argv[2:])
        sys.exit(0)
    print(__doc__, file=sys.stderr)
    sys.exit(2)
