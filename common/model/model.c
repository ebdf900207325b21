// Llama / Qwen2-style decoder: arenas, init, forward and backward over packed sequences.
// The forward and backward read as lists of kernel calls over per-layer slices (l_ prefix);
// equations in docs/model.md. KV-cache decoding lives in model_kv.c.
#include "model/model.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/kernels.h"
#include "model/kernels_bf16.h"
#include "base/log.h"
#include "base/util.h"

// ---- configuration ----------------------------------------------------------------------
void model_config_check(const model_config *mc) {
  if (mc->vocab_size < 2) fatal("model: field 'vocab_size': %d, must be >= 2", mc->vocab_size);
  if (mc->dim < 2 || mc->n_layers < 1 || mc->n_heads < 1 || mc->n_kv_heads < 1 || mc->ffn_dim < 1)
    fatal("model: fields 'dim', 'n_layers', 'n_heads', 'n_kv_heads', 'ffn_dim' must be positive");
  if (mc->dim % mc->n_heads)
    fatal("model: field 'n_heads': dim %d is not a multiple of n_heads %d", mc->dim, mc->n_heads);
  if ((mc->dim / mc->n_heads) % 2)
    fatal("model: field 'n_heads': head_dim %d must be even (RoPE)", mc->dim / mc->n_heads);
  if (mc->n_heads % mc->n_kv_heads)
    fatal("model: field 'n_kv_heads': n_heads %d is not a multiple of n_kv_heads %d", mc->n_heads,
          mc->n_kv_heads);
  if (mc->max_seq_len < 1) fatal("model: field 'max_seq_len': must be positive");
  if (!(mc->norm_eps > 0) || !(mc->rope_theta > 0))
    fatal("model: fields 'norm_eps' and 'rope_theta' must be positive");
}

void model_config_from_settings(model_config *mc, const model_settings *s, int tokenizer_vocab) {
  memset(mc, 0, sizeof *mc);
  long v = s->vocab_size;
  mc->vocab_size = v > 0 ? (int)v : tokenizer_vocab;
  if (v > 0 && tokenizer_vocab > 0 && v < tokenizer_vocab)
    fatal("field 'model.vocab_size': %ld is smaller than the tokenizer's %d", v, tokenizer_vocab);
  mc->dim = (int)s->dim;
  mc->n_layers = (int)s->n_layers;
  mc->n_heads = (int)s->n_heads;
  mc->n_kv_heads = (int)s->n_kv_heads;
  mc->ffn_dim = (int)s->ffn_dim;
  mc->max_seq_len = (int)s->max_seq_len;
  mc->qkv_bias = s->qkv_bias;
  mc->tie_embeddings = s->tie_embeddings;
  mc->rope_theta = (float)s->rope_theta;
  mc->norm_eps = (float)s->norm_eps;
  mc->init_std = (float)s->init_std;
  model_config_check(mc);
}

void model_param_sizes(const model_config *mc, size_t s[P_COUNT]) {
  size_t V = mc->vocab_size, D = mc->dim, L = mc->n_layers, F = mc->ffn_dim;
  size_t hd = D / mc->n_heads, qd = mc->n_heads * hd, kd = mc->n_kv_heads * hd;
  s[P_EMBED] = V * D;
  s[P_ATTN_NORM] = L * D;
  s[P_WQ] = L * qd * D;
  s[P_WK] = L * kd * D;
  s[P_WV] = L * kd * D;
  s[P_BQ] = mc->qkv_bias ? L * qd : 0;
  s[P_BK] = mc->qkv_bias ? L * kd : 0;
  s[P_BV] = mc->qkv_bias ? L * kd : 0;
  s[P_WO] = L * D * qd;
  s[P_MLP_NORM] = L * D;
  s[P_WGATE] = L * F * D;
  s[P_WUP] = L * F * D;
  s[P_WDOWN] = L * D * F;
  s[P_FINAL_NORM] = D;
  s[P_LM_HEAD] = mc->tie_embeddings ? 0 : V * D;
}

double model_flops_per_token(const model_config *mc, int T, int training) {
  size_t s[P_COUNT];
  model_param_sizes(mc, s);
  double mat = (double)(s[P_WQ] + s[P_WK] + s[P_WV] + s[P_WO] + s[P_WGATE] + s[P_WUP] + s[P_WDOWN]) +
               (double)mc->vocab_size * mc->dim;
  // causal attention: QK^T and PV, each 2*hd*H multiply-adds per visible key, T/2 keys on average
  double att = 2.0 * 2.0 * mc->dim * mc->n_layers * (T / 2.0);
  return (training ? 3.0 : 1.0) * (2.0 * mat + att);
}

// ---- tensor list (HF names) --------------------------------------------------------------
static const char *const layer_names[P_COUNT] = {
    [P_ATTN_NORM] = "input_layernorm.weight",          [P_WQ] = "self_attn.q_proj.weight",
    [P_WK] = "self_attn.k_proj.weight",                [P_WV] = "self_attn.v_proj.weight",
    [P_BQ] = "self_attn.q_proj.bias",                  [P_BK] = "self_attn.k_proj.bias",
    [P_BV] = "self_attn.v_proj.bias",                  [P_WO] = "self_attn.o_proj.weight",
    [P_MLP_NORM] = "post_attention_layernorm.weight",  [P_WGATE] = "mlp.gate_proj.weight",
    [P_WUP] = "mlp.up_proj.weight",                    [P_WDOWN] = "mlp.down_proj.weight",
};

static void build_tensors(model *m) {
  const model_config *mc = &m->cfg;
  size_t D = mc->dim, F = mc->ffn_dim, hd = D / mc->n_heads;
  size_t qd = mc->n_heads * hd, kd = mc->n_kv_heads * hd;
  size_t rows[P_COUNT] = {0}, cols[P_COUNT] = {0};   // per-layer shapes
  rows[P_ATTN_NORM] = D; rows[P_MLP_NORM] = D;
  rows[P_WQ] = qd; cols[P_WQ] = D; rows[P_WK] = kd; cols[P_WK] = D; rows[P_WV] = kd; cols[P_WV] = D;
  rows[P_BQ] = qd; rows[P_BK] = kd; rows[P_BV] = kd;
  rows[P_WO] = D; cols[P_WO] = qd;
  rows[P_WGATE] = F; cols[P_WGATE] = D; rows[P_WUP] = F; cols[P_WUP] = D;
  rows[P_WDOWN] = D; cols[P_WDOWN] = F;
  size_t base[P_COUNT], off = 0;
  for (int k = 0; k < P_COUNT; k++) { base[k] = off; off += m->sizes[k]; }
  m->tensors = xcalloc((size_t)(3 + mc->n_layers * 12), sizeof *m->tensors);
  int n = 0;
  model_tensor *t = &m->tensors[n++];
  *t = (model_tensor){.kind = P_EMBED, .layer = -1, .offset = base[P_EMBED], .numel = m->sizes[P_EMBED],
                      .ndim = 2, .dims = {mc->vocab_size, D}, .decay = 1};
  snprintf(t->name, sizeof t->name, "model.embed_tokens.weight");
  for (int l = 0; l < mc->n_layers; l++)
    for (int k = P_ATTN_NORM; k <= P_WDOWN; k++) {
      if (!m->sizes[k]) continue;
      t = &m->tensors[n++];
      size_t numel = rows[k] * (cols[k] ? cols[k] : 1);
      *t = (model_tensor){.kind = k, .layer = l, .offset = base[k] + (size_t)l * numel, .numel = numel,
                          .ndim = cols[k] ? 2 : 1, .dims = {rows[k], cols[k]}, .decay = cols[k] != 0};
      snprintf(t->name, sizeof t->name, "model.layers.%d.%s", l, layer_names[k]);
    }
  t = &m->tensors[n++];
  *t = (model_tensor){.kind = P_FINAL_NORM, .layer = -1, .offset = base[P_FINAL_NORM], .numel = D,
                      .ndim = 1, .dims = {D, 0}, .decay = 0};
  snprintf(t->name, sizeof t->name, "model.norm.weight");
  if (m->sizes[P_LM_HEAD]) {
    t = &m->tensors[n++];
    *t = (model_tensor){.kind = P_LM_HEAD, .layer = -1, .offset = base[P_LM_HEAD],
                        .numel = m->sizes[P_LM_HEAD], .ndim = 2, .dims = {mc->vocab_size, D}, .decay = 1};
    snprintf(t->name, sizeof t->name, "lm_head.weight");
  }
  m->n_tensors = n;
}

static void point_params(model_params *p, float *mem, const size_t sizes[P_COUNT], int tied) {
  float *at = mem;
  for (int k = 0; k < P_COUNT; k++) {
    p->t[k] = sizes[k] ? at : NULL;
    at += sizes[k];
  }
  if (tied) p->t[P_LM_HEAD] = p->t[P_EMBED];
}

// ---- model ---------------------------------------------------------------------------------
static int g_threads_set = 0;

void model_set_threads(int n) {
  kernels_set_threads(n);
  g_threads_set = 1;
}

int model_threads(void) { return kernels_threads(); }

model *model_create(const model_config *mc, int for_training) {
  model_config_check(mc);
  if (!g_threads_set) model_set_threads(1);
  model *m = xcalloc(1, sizeof *m);
  m->cfg = *mc;
  model_param_sizes(mc, m->sizes);
  for (int k = 0; k < P_COUNT; k++) m->n_params += m->sizes[k];
  m->params_mem = xcalloc(m->n_params, sizeof(float));
  point_params(&m->params, m->params_mem, m->sizes, mc->tie_embeddings);
  if (for_training) {
    m->grads_mem = xcalloc(m->n_params, sizeof(float));
    m->m_mem = xcalloc(m->n_params, sizeof(float));
    m->v_mem = xcalloc(m->n_params, sizeof(float));
    point_params(&m->grads, m->grads_mem, m->sizes, mc->tie_embeddings);
  }
  build_tensors(m);
  int half = mc->dim / mc->n_heads / 2;
  m->rope_cos = xmalloc((size_t)mc->max_seq_len * half * sizeof(float));
  m->rope_sin = xmalloc((size_t)mc->max_seq_len * half * sizeof(float));
  rope_tables(m->rope_cos, m->rope_sin, mc->max_seq_len, 2 * half, mc->rope_theta);
  return m;
}

void model_free(model *m) {
  if (!m) return;
  free(m->params_mem);
  free(m->grads_mem);
  free(m->m_mem);
  free(m->v_mem);
  free(m->tensors);
  free(m->rope_cos);
  free(m->rope_sin);
  free(m->scratch);
  free(m->scratch16);
  free(m->w16_mem);
  free(m->small_mem);
  free(m);
}

// splitmix64 + Box-Muller in double: the same stream on every machine and thread count.
static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double uniform01(uint64_t *s) { return ((splitmix64(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

void model_init(model *m, uint64_t seed) {
  uint64_t s = seed * 0x2545F4914F6CDD1Dull + 1;
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *t = &m->tensors[i];
    float *p = m->params_mem + t->offset;
    if (!t->decay) {   // norms -> 1, biases -> 0
      float val = (t->kind == P_BQ || t->kind == P_BK || t->kind == P_BV) ? 0.0f : 1.0f;
      for (size_t j = 0; j < t->numel; j++) p[j] = val;
      continue;
    }
    for (size_t j = 0; j < t->numel; j++) {
      double u1 = uniform01(&s), u2 = uniform01(&s);
      p[j] = (float)(m->cfg.init_std * sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
    }
  }
}

void model_zero_grad(model *m) {
  if (!m->grads_mem) error("model_zero_grad: model was created without gradients");
  memset(m->grads_mem, 0, m->n_params * sizeof(float));
}

// ---- activation arena -------------------------------------------------------------------------
size_t model_acts_bytes(const model_config *c, int precision, int max_tokens, int max_seq) {
  if (max_seq > c->max_seq_len) max_seq = c->max_seq_len;
  if (max_seq > max_tokens) max_seq = max_tokens;
  size_t N = max_tokens, L = c->n_layers, D = c->dim, F = c->ffn_dim, H = c->n_heads;
  size_t qd = D, kd = c->n_kv_heads * (D / H);
  // model_acts_create's arrays: x, ln1, rstd1, q, k, v, att, atty, x2, ln2, rstd2, gate, up,
  // hmlp, lnf, rstdf, logits; bf16: ln1, atty, ln2, h, lnf; plus backward's scratch
  size_t f32 = (L + 1) * N * D + L * N * (3 * D + qd * 2 + kd * 2 + 2 + 3 * F) + L * H * N * max_seq +
               N * D + N + N * (size_t)c->vocab_size;
  size_t b16 = precision == MODEL_BF16 ? L * N * (2 * D + qd + F) + N * D : 0;   // the rounded operands
  return f32 * sizeof(float) + b16 * model_precision_bytes(MODEL_BF16) + N * 3 * sizeof(int);
}

size_t model_precision_bytes(int precision) { return precision == MODEL_BF16 ? sizeof(bf16) : sizeof(float); }

size_t model_backward_scratch_bytes(const model_config *c, int precision, int threads, int max_tokens,
                                    int max_seq) {
  size_t D = c->dim, F = c->ffn_dim, qd = D, kd = c->n_kv_heads * (D / c->n_heads), V = c->vocab_size;
  size_t per16 = 2 * D + 2 * F + qd + 2 * kd;   // bf16: the rounded output gradients (grads16)
  size_t b16 = precision == MODEL_BF16 ? (size_t)max_tokens * (per16 > V ? per16 : V) : 0;
  return sizeof(float) * ((size_t)max_tokens * (2 * D + 3 * F + 2 * qd + 2 * kd) + (size_t)threads * max_seq * max_seq) +
         b16 * model_precision_bytes(MODEL_BF16);
}

model_acts *model_acts_create(const model *m, int max_tokens, int max_seq) {
  const model_config *c = &m->cfg;
  if (max_tokens < 1 || max_seq < 1) error("model_acts_create: bad capacity %d/%d", max_tokens, max_seq);
  if (max_seq > c->max_seq_len) max_seq = c->max_seq_len;
  if (max_seq > max_tokens) max_seq = max_tokens;
  model_acts *a = xcalloc(1, sizeof *a);
  a->max_tokens = max_tokens;
  a->max_seq = max_seq;
  size_t N = max_tokens, L = c->n_layers, D = c->dim, F = c->ffn_dim, H = c->n_heads;
  size_t hd = D / H, qd = H * hd, kd = c->n_kv_heads * hd;
  size_t sz[] = {(L + 1) * N * D, L * N * D, L * N, L * N * qd, L * N * kd, L * N * kd,
                 L * H * N * max_seq, L * N * qd, L * N * D, L * N * D, L * N, L * N * F, L * N * F,
                 L * N * F, N * D, N, N * (size_t)c->vocab_size};
  float **dst[] = {&a->x, &a->ln1, &a->rstd1, &a->q, &a->k, &a->v, &a->att, &a->atty, &a->x2,
                   &a->ln2, &a->rstd2, &a->gate, &a->up, &a->hmlp, &a->lnf, &a->rstdf, &a->logits};
  size_t n = sizeof sz / sizeof *sz;
  for (size_t i = 0; i < n; i++) a->n_floats += sz[i];
  a->mem = xmalloc(a->n_floats * sizeof(float));
  float *at = a->mem;
  for (size_t i = 0; i < n; i++) { *dst[i] = at; at += sz[i]; }
  if (m->precision == MODEL_BF16) {   // bf16 copies of the matmul inputs, for the weight gradients
    size_t s16[] = {L * N * D, L * N * qd, L * N * D, L * N * F, N * D};
    bf16 **d16[] = {&a->ln1_16, &a->atty16, &a->ln2_16, &a->h16, &a->lnf16};
    size_t n16 = 0;
    for (size_t i = 0; i < 5; i++) n16 += s16[i];
    a->mem16 = xmalloc(n16 * sizeof(bf16));
    bf16 *at16 = a->mem16;
    for (size_t i = 0; i < 5; i++) { *d16[i] = at16; at16 += s16[i]; }
  }
  a->seq_off = xmalloc((N + 1) * sizeof(int));
  a->tokens = xmalloc(N * sizeof(int));
  a->pos = xmalloc(N * sizeof(int));
  return a;
}

void model_acts_free(model_acts *a) {
  if (!a) return;
  free(a->mem);
  free(a->mem16);
  free(a->seq_off);
  free(a->tokens);
  free(a->pos);
  free(a);
}

// ---- the weights the forward reads ----------------------------------------------------------
void model_sync_bf16(model *m) {
  if (m->precision != MODEL_BF16 || !m->params_mem) return;
  size_t n = m->n_params, chunk = 1 << 16, nch = (n + chunk - 1) / chunk;
#pragma omp parallel for num_threads(kernels_threads()) schedule(static)
  for (size_t i = 0; i < nch; i++) {
    size_t a = i * chunk, len = a + chunk < n ? chunk : n - a;
    bf16_from_f32(m->w16_mem + a, m->params_mem + a, len);
  }
}

void model_embed(const model *m, float *out, const int32_t *tokens, int n) {
  int D = m->cfg.dim;
  if (m->params.t[P_EMBED]) {
    embedding_forward(out, tokens, m->params.t[P_EMBED], n, D);
    return;
  }
  for (int i = 0; i < n; i++)   // forward-only bf16: the rows widened (exact)
    bf16_to_f32(out + (size_t)i * D, m->params16.t[P_EMBED] + (size_t)tokens[i] * D, (size_t)D);
}

// ---- forward ------------------------------------------------------------------------------------
// With several threads, one parallel region for the whole forward: each thread carries its
// own rows through every row-local kernel (norms, projections, RoPE, MLP, residuals, LM head)
// and the threads meet only around attention (two barriers per layer instead of a fork and a
// join per kernel; the rows stay in the thread's cache). The rows are split as
// matmul_forward splits them (one sgemm per thread, blocks aligned to 16), so the values equal
// the per-kernel path's, whatever the thread count.
static void rows_split(int n, int nt, int t, int *a, int *b) {
  int per = (n + nt - 1) / nt;
  per = (per + 15) / 16 * 16;
  *a = t * per < n ? t * per : n;
  *b = (t + 1) * per < n ? (t + 1) * per : n;
}

// out (n, OC) = inp (n, C) w^T (+ bias) (+ out when accumulate), one sgemm on this thread
static void rows_matmul(float *out, const float *inp, const float *w, const float *bias, int n, int C,
                        int OC, int accumulate) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, OC, C, 1.0f, inp, C, w, C,
              accumulate ? 1.0f : 0.0f, out, OC);
  if (bias)
    for (int i = 0; i < n; i++)
      for (int o = 0; o < OC; o++) out[(size_t)i * OC + o] += bias[o];
}

// bf16 (MODEL_BF16) helpers: p + off, or NULL in fp32 (no bf16 arena); dst = bf16(src).
static bf16 *at16(bf16 *p, size_t off) { return p ? p + off : NULL; }
static void keep16(bf16 *dst, const float *src, size_t n) {
  if (dst) bf16_from_f32(dst, src, n);
}

// rows_matmul in the model's precision: W = parameter `kind` at offset `off`; inp16 is inp
// rounded to bf16 (read in bf16 only).
static void rows_linear(const model *m, float *out, const float *inp, const bf16 *inp16, int kind, size_t off,
                        const float *bias, int n, int C, int OC, int accumulate) {
  if (m->precision == MODEL_BF16)
    linear_rows_bf16(out, inp16, m->params16.t[kind] + off, bias, n, C, OC, accumulate);
  else
    rows_matmul(out, inp, m->params.t[kind] + off, bias, n, C, OC, accumulate);
}

// matmul_forward in the model's precision (all threads)
static void mm_forward(const model *m, float *out, const float *inp, const bf16 *inp16, int kind, size_t off,
                       const float *bias, int N, int C, int OC, int accumulate) {
  if (m->precision == MODEL_BF16)
    matmul_forward_bf16(out, inp16, m->params16.t[kind] + off, bias, N, C, OC, accumulate);
  else
    matmul_forward(out, inp, m->params.t[kind] + off, bias, N, C, OC, accumulate);
}

// The adapter of projection `kind` of layer l (model.h model_adapters), when the model has one.
static void adapter_fwd(const model *m, const model_acts *a, int kind, int l, float *out, const float *inp,
                        int N) {
  if (m->adapters) m->adapters->forward(m->adapters->self, a->adapter_pass, kind, l, out, inp, N);
}
static void adapter_bwd(const model *m, const model_acts *a, int kind, int l, float *dinp, const float *dout,
                        const float *inp, int N) {
  if (m->adapters) m->adapters->backward(m->adapters->self, a->adapter_pass, kind, l, dinp, dout, inp, N);
}

static void forward_fused(model *m, model_acts *a, int nt) {
  const model_config *c = &m->cfg;
  int D = c->dim, F = c->ffn_dim, H = c->n_heads, KV = c->n_kv_heads, hd = D / H, V = c->vocab_size;
  int qd = H * hd, kd = KV * hd, N = a->n_tokens, B = a->n_seqs;
  size_t MN = a->max_tokens;
  const model_params *p = &m->params;
#pragma omp parallel num_threads(nt)
  {
    int r0, r1;
    rows_split(N, omp_get_num_threads(), omp_get_thread_num(), &r0, &r1);
    size_t n = (size_t)(r1 - r0), o = (size_t)r0;
    if (n) model_embed(m, a->x + o * D, a->tokens + o, (int)n);
    for (int l = 0; l < c->n_layers; l++) {
      float *l_x = a->x + l * MN * D, *l_ln1 = a->ln1 + l * MN * D, *l_rstd1 = a->rstd1 + l * MN;
      float *l_q = a->q + l * MN * qd, *l_k = a->k + l * MN * kd, *l_v = a->v + l * MN * kd;
      float *l_att = a->att + l * (size_t)H * MN * a->max_seq, *l_atty = a->atty + l * MN * qd;
      float *l_x2 = a->x2 + l * MN * D, *l_ln2 = a->ln2 + l * MN * D, *l_rstd2 = a->rstd2 + l * MN;
      float *l_gate = a->gate + l * MN * F, *l_up = a->up + l * MN * F, *l_h = a->hmlp + l * MN * F;
      float *l_out = a->x + (l + 1) * MN * D;
      const float *l_bq = c->qkv_bias ? p->t[P_BQ] + (size_t)l * qd : NULL;
      const float *l_bk = c->qkv_bias ? p->t[P_BK] + (size_t)l * kd : NULL;
      const float *l_bv = c->qkv_bias ? p->t[P_BV] + (size_t)l * kd : NULL;
      bf16 *h_ln1 = at16(a->ln1_16, l * MN * D + o * D), *h_atty = at16(a->atty16, l * MN * qd + o * qd);
      bf16 *h_ln2 = at16(a->ln2_16, l * MN * D + o * D), *h_h = at16(a->h16, l * MN * F + o * F);
      if (n) {
        rmsnorm_forward(l_ln1 + o * D, l_rstd1 + o, l_x + o * D, p->t[P_ATTN_NORM] + (size_t)l * D, (int)n,
                        D, c->norm_eps);
        keep16(h_ln1, l_ln1 + o * D, n * D);
        rows_linear(m, l_q + o * qd, l_ln1 + o * D, h_ln1, P_WQ, (size_t)l * qd * D, l_bq, (int)n, D, qd, 0);
        rows_linear(m, l_k + o * kd, l_ln1 + o * D, h_ln1, P_WK, (size_t)l * kd * D, l_bk, (int)n, D, kd, 0);
        rows_linear(m, l_v + o * kd, l_ln1 + o * D, h_ln1, P_WV, (size_t)l * kd * D, l_bv, (int)n, D, kd, 0);
        rope_forward(l_q + o * qd, a->pos + o, m->rope_cos, m->rope_sin, (int)n, H, hd);
        rope_forward(l_k + o * kd, a->pos + o, m->rope_cos, m->rope_sin, (int)n, KV, hd);
      }
#pragma omp barrier
#pragma omp for schedule(dynamic, 1)
      for (int task = 0; task < B * KV; task++)
        attention_forward_task(task, l_atty, l_att, l_q, l_k, l_v, a->seq_off, H, KV, hd, a->max_seq);
      if (n) {   // the next layer's first kernels use only these rows: no barrier before them
        memcpy(l_x2 + o * D, l_x + o * D, n * D * sizeof(float));
        keep16(h_atty, l_atty + o * qd, n * qd);
        rows_linear(m, l_x2 + o * D, l_atty + o * qd, h_atty, P_WO, (size_t)l * D * qd, NULL, (int)n, qd, D, 1);
        rmsnorm_forward(l_ln2 + o * D, l_rstd2 + o, l_x2 + o * D, p->t[P_MLP_NORM] + (size_t)l * D, (int)n,
                        D, c->norm_eps);
        keep16(h_ln2, l_ln2 + o * D, n * D);
        rows_linear(m, l_gate + o * F, l_ln2 + o * D, h_ln2, P_WGATE, (size_t)l * F * D, NULL, (int)n, D, F, 0);
        rows_linear(m, l_up + o * F, l_ln2 + o * D, h_ln2, P_WUP, (size_t)l * F * D, NULL, (int)n, D, F, 0);
        swiglu_forward(l_h + o * F, l_gate + o * F, l_up + o * F, n * F);
        keep16(h_h, l_h + o * F, n * F);
        memcpy(l_out + o * D, l_x2 + o * D, n * D * sizeof(float));
        rows_linear(m, l_out + o * D, l_h + o * F, h_h, P_WDOWN, (size_t)l * D * F, NULL, (int)n, F, D, 1);
      }
    }
    if (n) {
      rmsnorm_forward(a->lnf + o * D, a->rstdf + o, a->x + c->n_layers * MN * D + o * D,
                      p->t[P_FINAL_NORM], (int)n, D, c->norm_eps);
      if (!a->no_logits) {
        keep16(at16(a->lnf16, o * D), a->lnf + o * D, n * D);
        rows_linear(m, a->logits + o * V, a->lnf + o * D, at16(a->lnf16, o * D), P_LM_HEAD, 0, NULL, (int)n, D, V, 0);
      }
    }
  }
}

void model_forward(model *m, model_acts *a, const int32_t *tokens, const int *lens, int B) {
  const model_config *c = &m->cfg;
  int D = c->dim, F = c->ffn_dim, H = c->n_heads, KV = c->n_kv_heads, hd = D / H, V = c->vocab_size;
  int qd = H * hd, kd = KV * hd;
  int N = 0;
  a->seq_off[0] = 0;
  for (int b = 0; b < B; b++) {
    if (lens[b] < 1 || lens[b] > a->max_seq)
      error("model_forward: sequence %d has length %d (arena max %d)", b, lens[b], a->max_seq);
    if (N + lens[b] > a->max_tokens)
      error("model_forward: batch exceeds the arena's %d tokens", a->max_tokens);
    for (int t = 0; t < lens[b]; t++) {
      int tok = tokens[N + t];
      if (tok < 0 || tok >= V) error("model_forward: token %d at %d outside vocabulary %d", tok, N + t, V);
      a->tokens[N + t] = tok;
      a->pos[N + t] = t;
    }
    N += lens[b];
    a->seq_off[b + 1] = N;
  }
  a->n_tokens = N;
  a->n_seqs = B;
  if (m->precision == MODEL_BF16) {
    if (!a->mem16) error("model_forward: bf16 model, activations created before model_set_precision");
    if (m->grads_mem) model_sync_bf16(m);   // the master weights changed since the last forward
  }
  int nt = model_threads();
  if (m->adapters) a->adapter_pass = m->adapters->next_pass(m->adapters->self, a->seq_off, B);
  if (nt > 1 && N >= 64 * nt && !m->adapters) {   // adapters: the per-kernel path below
    forward_fused(m, a, nt);
    return;
  }
  size_t MN = a->max_tokens;
  const model_params *p = &m->params;
  model_embed(m, a->x, a->tokens, N);
  for (int l = 0; l < c->n_layers; l++) {
    float *l_x = a->x + l * MN * D, *l_ln1 = a->ln1 + l * MN * D, *l_rstd1 = a->rstd1 + l * MN;
    float *l_q = a->q + l * MN * qd, *l_k = a->k + l * MN * kd, *l_v = a->v + l * MN * kd;
    float *l_att = a->att + l * (size_t)H * MN * a->max_seq, *l_atty = a->atty + l * MN * qd;
    float *l_x2 = a->x2 + l * MN * D, *l_ln2 = a->ln2 + l * MN * D, *l_rstd2 = a->rstd2 + l * MN;
    float *l_gate = a->gate + l * MN * F, *l_up = a->up + l * MN * F, *l_h = a->hmlp + l * MN * F;
    float *l_out = a->x + (l + 1) * MN * D;
    size_t oq = (size_t)l * qd * D, ok = (size_t)l * kd * D, of = (size_t)l * F * D;
    bf16 *h_ln1 = at16(a->ln1_16, l * MN * D), *h_atty = at16(a->atty16, l * MN * qd);
    bf16 *h_ln2 = at16(a->ln2_16, l * MN * D), *h_h = at16(a->h16, l * MN * F);
    const float *l_bq = c->qkv_bias ? p->t[P_BQ] + (size_t)l * qd : NULL;
    const float *l_bk = c->qkv_bias ? p->t[P_BK] + (size_t)l * kd : NULL;
    const float *l_bv = c->qkv_bias ? p->t[P_BV] + (size_t)l * kd : NULL;

    rmsnorm_forward(l_ln1, l_rstd1, l_x, p->t[P_ATTN_NORM] + (size_t)l * D, N, D, c->norm_eps);
    keep16(h_ln1, l_ln1, (size_t)N * D);
    mm_forward(m, l_q, l_ln1, h_ln1, P_WQ, oq, l_bq, N, D, qd, 0);
    mm_forward(m, l_k, l_ln1, h_ln1, P_WK, ok, l_bk, N, D, kd, 0);
    mm_forward(m, l_v, l_ln1, h_ln1, P_WV, ok, l_bv, N, D, kd, 0);
    adapter_fwd(m, a, P_WQ, l, l_q, l_ln1, N);
    adapter_fwd(m, a, P_WK, l, l_k, l_ln1, N);
    adapter_fwd(m, a, P_WV, l, l_v, l_ln1, N);
    rope_forward(l_q, a->pos, m->rope_cos, m->rope_sin, N, H, hd);
    rope_forward(l_k, a->pos, m->rope_cos, m->rope_sin, N, KV, hd);
    attention_forward(l_atty, l_att, l_q, l_k, l_v, a->seq_off, B, H, KV, hd, a->max_seq);
    memcpy(l_x2, l_x, (size_t)N * D * sizeof(float));
    keep16(h_atty, l_atty, (size_t)N * qd);
    mm_forward(m, l_x2, l_atty, h_atty, P_WO, oq, NULL, N, qd, D, 1);   // residual
    adapter_fwd(m, a, P_WO, l, l_x2, l_atty, N);
    rmsnorm_forward(l_ln2, l_rstd2, l_x2, p->t[P_MLP_NORM] + (size_t)l * D, N, D, c->norm_eps);
    keep16(h_ln2, l_ln2, (size_t)N * D);
    mm_forward(m, l_gate, l_ln2, h_ln2, P_WGATE, of, NULL, N, D, F, 0);
    mm_forward(m, l_up, l_ln2, h_ln2, P_WUP, of, NULL, N, D, F, 0);
    adapter_fwd(m, a, P_WGATE, l, l_gate, l_ln2, N);
    adapter_fwd(m, a, P_WUP, l, l_up, l_ln2, N);
    swiglu_forward(l_h, l_gate, l_up, (size_t)N * F);
    keep16(h_h, l_h, (size_t)N * F);
    memcpy(l_out, l_x2, (size_t)N * D * sizeof(float));
    mm_forward(m, l_out, l_h, h_h, P_WDOWN, of, NULL, N, F, D, 1);      // residual
    adapter_fwd(m, a, P_WDOWN, l, l_out, l_h, N);
  }
  rmsnorm_forward(a->lnf, a->rstdf, a->x + c->n_layers * MN * D, p->t[P_FINAL_NORM], N, D, c->norm_eps);
  if (a->no_logits) return;
  keep16(a->lnf16, a->lnf, (size_t)N * D);
  mm_forward(m, a->logits, a->lnf, a->lnf16, P_LM_HEAD, 0, NULL, N, D, V, 0);
}

// ---- backward -----------------------------------------------------------------------------------
// dinp (n, C) += dout (n, OC) W, this thread's rows; W = parameter `kind` at offset `off`,
// in the model's precision (bf16: dout16, the rows of dout rounded)
static void rows_dinp(const model *m, float *dinp, const float *dout, const bf16 *dout16, int kind, size_t off,
                      int n, int C, int OC) {
  if (m->precision == MODEL_BF16) {
    linear_dinp_rows_bf16(dinp, dout16, m->params16.t[kind] + off, n, C, OC);
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, C, OC, 1.0f, dout, OC, m->params.t[kind] + off, C,
              1.0f, dinp, C);
}

// dw (OC, C) += dout^T inp, dbias += column sums: thread t's block of output rows, cut as
// matmul_backward cuts them; bf16: from dout16 (all of dout rounded) and inp16
static void part_dw(const model *m, float *dw, float *dbias, const float *dout, const bf16 *dout16,
                    const float *inp, const bf16 *inp16, int N, int C, int OC, int t, int nt) {
  int a, b;
  rows_split(OC, nt, t, &a, &b);
  if (m->precision == MODEL_BF16)
    linear_dw_part_bf16(dw, dout16, inp16, N, C, OC, a, b);
  else if (b > a)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b - a, C, N, 1.0f, dout + a, OC, inp, C, 1.0f,
                dw + (size_t)a * C, C);
  if (dbias)
    for (int n = 0; n < N; n++)
      for (int o = a; o < b; o++) dbias[o] += dout[(size_t)n * OC + o];
}

// matmul_backward in the model's precision (all threads); inp16 = inp rounded to bf16
static void mm_backward(const model *m, float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                        const bf16 *inp16, int kind, size_t off, int N, int C, int OC) {
  if (m->precision == MODEL_BF16)
    matmul_backward_bf16(dinp, dw, dbias, dout, inp16, m->params16.t[kind] + off, N, C, OC);
  else
    matmul_backward(dinp, dw, dbias, dout, inp, m->params.t[kind] + off, N, C, OC);
}

// Gradients of `stage` are final (model.h: grads_ready).
static void ready(model *m, int stage) {
  if (m->grads_ready) m->grads_ready(m->grads_ready_arg, stage);
}

// bf16: the output gradients rounded once, written row by row by the thread that owns the
// rows (and read by its input-gradient products) and read whole by the weight-gradient
// products after the next barrier. All NULL in fp32. The LM head's (N, V) rows share the
// memory with the layers' ones: they are dead before the first layer starts.
typedef struct {
  bf16 *logits, *res, *res2, *gate, *up, *q, *k, *v;
} grads16;

static grads16 grads16_carve(bf16 *mem, size_t N, int D, int F, int qd, int kd) {
  grads16 g = {0};
  if (!mem) return g;
  g.logits = mem;
  g.res = mem, g.res2 = g.res + N * D, g.gate = g.res2 + N * D, g.up = g.gate + N * F;
  g.q = g.up + N * F, g.k = g.q + N * qd, g.v = g.k + N * kd;
  return g;
}

// The LM head and the final norm (fused region, thread t of T; rows [o, o + n)).
static void backward_head(model *m, model_acts *a, const float *dlogits, const grads16 *g16, float *dres,
                          float *dln, int t, int T, size_t o, size_t n, int c0, int c1) {
  const model_config *c = &m->cfg;
  int D = c->dim, V = c->vocab_size, N = a->n_tokens;
  const float *xL = a->x + c->n_layers * (size_t)a->max_tokens * D;
  if (n) {
    keep16(at16(g16->logits, o * V), dlogits + o * V, n * V);
    memset(dln + o * D, 0, n * D * sizeof(float));
    rows_dinp(m, dln + o * D, dlogits + o * V, at16(g16->logits, o * V), P_LM_HEAD, 0, (int)n, D, V);
    memset(dres + o * D, 0, n * D * sizeof(float));
    rmsnorm_backward_dx(dres + o * D, dln + o * D, xL + o * D, m->params.t[P_FINAL_NORM], a->rstdf + o, (int)n, D);
  }
#pragma omp barrier
  part_dw(m, m->grads.t[P_LM_HEAD], NULL, dlogits, g16->logits, a->lnf, a->lnf16, N, D, V, t, T);
  rmsnorm_backward_dw(m->grads.t[P_FINAL_NORM], dln, xL, a->rstdf, N, D, c0, c1);
#pragma omp barrier
}

// The backward in one parallel region (see forward_fused): row-local work on the thread's
// rows, weight gradients on its block of output rows, norm weights on its block of columns,
// attention by (sequence, kv group) tasks; six barriers per layer. The same splits as the
// per-kernel path, so the same values.
// Gradients of `stage` are final (model.h: grads_ready). Thread 0 of the fused region is the
// thread that called model_backward (the MPI-calling thread).
static void backward_fused(model *m, model_acts *a, const float *dlogits, const grads16 *g16, float *dres,
                           float *dln, float *dh, float *dgate, float *dup, float *datty, float *dq, float *dk,
                           float *dv, float *attscr, int nt) {
  const model_config *c = &m->cfg;
  int D = c->dim, F = c->ffn_dim, H = c->n_heads, KV = c->n_kv_heads, hd = D / H;
  int qd = H * hd, kd = KV * hd, N = a->n_tokens, B = a->n_seqs, bf = m->precision == MODEL_BF16;
  size_t MN = a->max_tokens, fl = sizeof(float);
  const model_params *p = &m->params, *g = &m->grads;
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num(), T = omp_get_num_threads(), r0, r1, c0, c1;
    rows_split(N, T, t, &r0, &r1);
    rows_split(D, T, t, &c0, &c1);
    size_t n = (size_t)(r1 - r0), o = (size_t)r0;
    float *dP = attscr + (size_t)t * a->max_seq * a->max_seq;
    backward_head(m, a, dlogits, g16, dres, dln, t, T, o, n, c0, c1);
    if (t == 0) ready(m, c->n_layers);   // the others go on with the top layer meanwhile
    for (int l = c->n_layers - 1; l >= 0; l--) {
      float *l_x = a->x + l * MN * D, *l_ln1 = a->ln1 + l * MN * D, *l_rstd1 = a->rstd1 + l * MN;
      float *l_q = a->q + l * MN * qd, *l_k = a->k + l * MN * kd, *l_v = a->v + l * MN * kd;
      float *l_att = a->att + l * (size_t)H * MN * a->max_seq, *l_atty = a->atty + l * MN * qd;
      float *l_x2 = a->x2 + l * MN * D, *l_rstd2 = a->rstd2 + l * MN;
      float *l_gate = a->gate + l * MN * F, *l_up = a->up + l * MN * F, *l_h = a->hmlp + l * MN * F;
      size_t oq = (size_t)l * qd * D, ok = (size_t)l * kd * D, of = (size_t)l * F * D, ol = (size_t)l * D;
      bf16 *h_ln1 = at16(a->ln1_16, l * MN * D), *h_atty = at16(a->atty16, l * MN * qd);
      bf16 *h_ln2 = at16(a->ln2_16, l * MN * D), *h_h = at16(a->h16, l * MN * F);
      // MLP: dres holds d x_out (all rows)
      if (n) {
        keep16(at16(g16->res, o * D), dres + o * D, n * D);
        memset(dh + o * F, 0, n * F * fl);
        rows_dinp(m, dh + o * F, dres + o * D, at16(g16->res, o * D), P_WDOWN, of, (int)n, F, D);
      }
      // fp32 reads dres itself, rewritten after the barrier; bf16 needs all rows of its copy
      if (!bf) part_dw(m, g->t[P_WDOWN] + of, NULL, dres, NULL, l_h, h_h, N, F, D, t, T);
      if (n) {
        memset(dgate + o * F, 0, n * F * fl);
        memset(dup + o * F, 0, n * F * fl);
        swiglu_backward(dgate + o * F, dup + o * F, dh + o * F, l_gate + o * F, l_up + o * F, n * F);
        keep16(at16(g16->gate, o * F), dgate + o * F, n * F);
        keep16(at16(g16->up, o * F), dup + o * F, n * F);
        memset(dln + o * D, 0, n * D * fl);
        rows_dinp(m, dln + o * D, dgate + o * F, at16(g16->gate, o * F), P_WGATE, of, (int)n, D, F);
        rows_dinp(m, dln + o * D, dup + o * F, at16(g16->up, o * F), P_WUP, of, (int)n, D, F);
      }
#pragma omp barrier
      if (bf) part_dw(m, g->t[P_WDOWN] + of, NULL, dres, g16->res, l_h, h_h, N, F, D, t, T);
      part_dw(m, g->t[P_WGATE] + of, NULL, dgate, g16->gate, a->ln2 + l * MN * D, h_ln2, N, D, F, t, T);
      part_dw(m, g->t[P_WUP] + of, NULL, dup, g16->up, a->ln2 + l * MN * D, h_ln2, N, D, F, t, T);
      rmsnorm_backward_dw(g->t[P_MLP_NORM] + ol, dln, l_x2, l_rstd2, N, D, c0, c1);
      if (n) {   // dres becomes d x2
        rmsnorm_backward_dx(dres + o * D, dln + o * D, l_x2 + o * D, p->t[P_MLP_NORM] + ol, l_rstd2 + o,
                            (int)n, D);
        keep16(at16(g16->res2, o * D), dres + o * D, n * D);
        memset(datty + o * qd, 0, n * qd * fl);
        rows_dinp(m, datty + o * qd, dres + o * D, at16(g16->res2, o * D), P_WO, oq, (int)n, qd, D);
        memset(dq + o * qd, 0, n * qd * fl);
        memset(dk + o * kd, 0, n * kd * fl);
        memset(dv + o * kd, 0, n * kd * fl);
      }
#pragma omp barrier
      // attention
      part_dw(m, g->t[P_WO] + oq, NULL, dres, g16->res2, l_atty, h_atty, N, qd, D, t, T);
#pragma omp for schedule(dynamic, 1)
      for (int task = 0; task < B * KV; task++)
        attention_backward_task(task, dq, dk, dv, dP, datty, l_q, l_k, l_v, l_att, a->seq_off, H, KV, hd,
                                a->max_seq);
      if (n) {
        rope_backward(dq + o * qd, a->pos + o, m->rope_cos, m->rope_sin, (int)n, H, hd);
        rope_backward(dk + o * kd, a->pos + o, m->rope_cos, m->rope_sin, (int)n, KV, hd);
        keep16(at16(g16->q, o * qd), dq + o * qd, n * qd);
        keep16(at16(g16->k, o * kd), dk + o * kd, n * kd);
        keep16(at16(g16->v, o * kd), dv + o * kd, n * kd);
      }
#pragma omp barrier
      part_dw(m, g->t[P_WQ] + oq, c->qkv_bias ? g->t[P_BQ] + (size_t)l * qd : NULL, dq, g16->q, l_ln1, h_ln1, N, D, qd, t, T);
      part_dw(m, g->t[P_WK] + ok, c->qkv_bias ? g->t[P_BK] + (size_t)l * kd : NULL, dk, g16->k, l_ln1, h_ln1, N, D, kd, t, T);
      part_dw(m, g->t[P_WV] + ok, c->qkv_bias ? g->t[P_BV] + (size_t)l * kd : NULL, dv, g16->v, l_ln1, h_ln1, N, D, kd, t, T);
      if (n) {   // dres becomes d x (layer input)
        memset(dln + o * D, 0, n * D * fl);
        rows_dinp(m, dln + o * D, dq + o * qd, at16(g16->q, o * qd), P_WQ, oq, (int)n, D, qd);
        rows_dinp(m, dln + o * D, dk + o * kd, at16(g16->k, o * kd), P_WK, ok, (int)n, D, kd);
        rows_dinp(m, dln + o * D, dv + o * kd, at16(g16->v, o * kd), P_WV, ok, (int)n, D, kd);
        rmsnorm_backward_dx(dres + o * D, dln + o * D, l_x + o * D, p->t[P_ATTN_NORM] + ol, l_rstd1 + o,
                            (int)n, D);
      }
#pragma omp barrier
      rmsnorm_backward_dw(g->t[P_ATTN_NORM] + ol, dln, l_x, l_rstd1, N, D, c0, c1);
#pragma omp barrier
      if (t == 0) ready(m, l);
    }
  }
  embedding_backward(g->t[P_EMBED], dres, a->tokens, N, D);
  ready(m, -1);
}

// The gradient of parameter `kind` at offset `off`, or NULL when the base is frozen (no
// gradient arena: LoRA), so the kernels compute the input gradients only.
static float *gw(const model *m, int kind, size_t off) {
  return m->grads_mem && m->grads.t[kind] ? m->grads.t[kind] + off : NULL;
}
// rmsnorm_backward; without a weight gradient (frozen base) the input gradient only.
static void norm_bwd(float *dx, float *dw, const float *dout, const float *x, const float *w,
                     const float *rstd, int N, int D) {
  if (dw) rmsnorm_backward(dx, dw, dout, x, w, rstd, N, D);
  else rmsnorm_backward_dx(dx, dout, x, w, rstd, N, D);
}

void model_backward(model *m, model_acts *a, const float *dlogits) {
  if (!m->grads_mem && !m->adapters) error("model_backward: model was created without gradients");
  const model_config *c = &m->cfg;
  int D = c->dim, F = c->ffn_dim, H = c->n_heads, KV = c->n_kv_heads, hd = D / H, V = c->vocab_size;
  int qd = H * hd, kd = KV * hd, N = a->n_tokens, B = a->n_seqs;
  size_t MN = a->max_tokens, nN = (size_t)N;
  int nt = model_threads();
  size_t need = nN * (2 * D + 3 * (size_t)F + 2 * qd + 2 * kd) + (size_t)nt * a->max_seq * a->max_seq;
  if (need > m->scratch_floats) {
    free(m->scratch);
    m->scratch = xmalloc(need * sizeof(float));
    m->scratch_floats = need;
  }
  float *dres = m->scratch, *dln = dres + nN * D, *dh = dln + nN * D, *dgate = dh + nN * F;
  float *dup = dgate + nN * F, *datty = dup + nN * F, *dq = datty + nN * qd, *dk = dq + nN * qd;
  float *dv = dk + nN * kd, *attscr = dv + nN * kd;
  const model_params *p = &m->params;
  const model_params *g = &m->grads;
  size_t fD = nN * D * sizeof(float);
  if (nt > 1 && N >= 64 * nt && !m->adapters) {
    bf16 *mem16 = NULL;
    if (m->precision == MODEL_BF16) {
      size_t per = 2 * (size_t)D + 2 * (size_t)F + qd + 2 * (size_t)kd, n16 = nN * (per > (size_t)V ? per : (size_t)V);
      if (n16 > m->scratch16_n) {
        free(m->scratch16);
        m->scratch16 = xmalloc(n16 * sizeof(bf16));
        m->scratch16_n = n16;
      }
      mem16 = m->scratch16;
    }
    grads16 g16 = grads16_carve(mem16, nN, D, F, qd, kd);
    backward_fused(m, a, dlogits, &g16, dres, dln, dh, dgate, dup, datty, dq, dk, dv, attscr, nt);
    return;
  }

  memset(dln, 0, fD);
  mm_backward(m, dln, gw(m, P_LM_HEAD, 0), NULL, dlogits, a->lnf, a->lnf16, P_LM_HEAD, 0, N, D, V);
  memset(dres, 0, fD);
  norm_bwd(dres, gw(m, P_FINAL_NORM, 0), dln, a->x + c->n_layers * MN * D, p->t[P_FINAL_NORM],
                   a->rstdf, N, D);
  ready(m, c->n_layers);
  for (int l = c->n_layers - 1; l >= 0; l--) {
    float *l_x = a->x + l * MN * D, *l_ln1 = a->ln1 + l * MN * D, *l_rstd1 = a->rstd1 + l * MN;
    float *l_q = a->q + l * MN * qd, *l_k = a->k + l * MN * kd, *l_v = a->v + l * MN * kd;
    float *l_att = a->att + l * (size_t)H * MN * a->max_seq, *l_atty = a->atty + l * MN * qd;
    float *l_x2 = a->x2 + l * MN * D, *l_ln2 = a->ln2 + l * MN * D, *l_rstd2 = a->rstd2 + l * MN;
    float *l_gate = a->gate + l * MN * F, *l_up = a->up + l * MN * F, *l_h = a->hmlp + l * MN * F;
    size_t oq = (size_t)l * qd * D, ok = (size_t)l * kd * D, of = (size_t)l * F * D;
    bf16 *h_ln1 = at16(a->ln1_16, l * MN * D), *h_atty = at16(a->atty16, l * MN * qd);
    bf16 *h_ln2 = at16(a->ln2_16, l * MN * D), *h_h = at16(a->h16, l * MN * F);

    // MLP: x_out = x2 + down(silu(gate(ln2)) * up(ln2)); dres holds d x_out
    memset(dh, 0, nN * F * sizeof(float));
    mm_backward(m, dh, gw(m, P_WDOWN, of), NULL, dres, l_h, h_h, P_WDOWN, of, N, F, D);
    adapter_bwd(m, a, P_WDOWN, l, dh, dres, l_h, N);
    memset(dgate, 0, nN * F * sizeof(float));
    memset(dup, 0, nN * F * sizeof(float));
    swiglu_backward(dgate, dup, dh, l_gate, l_up, nN * F);
    memset(dln, 0, fD);
    mm_backward(m, dln, gw(m, P_WGATE, of), NULL, dgate, l_ln2, h_ln2, P_WGATE, of, N, D, F);
    adapter_bwd(m, a, P_WGATE, l, dln, dgate, l_ln2, N);
    mm_backward(m, dln, gw(m, P_WUP, of), NULL, dup, l_ln2, h_ln2, P_WUP, of, N, D, F);
    adapter_bwd(m, a, P_WUP, l, dln, dup, l_ln2, N);
    norm_bwd(dres, gw(m, P_MLP_NORM, (size_t)l * D), dln, l_x2, p->t[P_MLP_NORM] + (size_t)l * D,
                     l_rstd2, N, D);   // dres is now d x2
    // attention: x2 = x + o(attn(rope(q(ln1)), rope(k(ln1)), v(ln1)))
    memset(datty, 0, nN * qd * sizeof(float));
    mm_backward(m, datty, gw(m, P_WO, oq), NULL, dres, l_atty, h_atty, P_WO, oq, N, qd, D);
    adapter_bwd(m, a, P_WO, l, datty, dres, l_atty, N);
    memset(dq, 0, nN * (qd + 2 * (size_t)kd) * sizeof(float));   // dq, dk, dv are adjacent
    attention_backward(dq, dk, dv, attscr, datty, l_q, l_k, l_v, l_att, a->seq_off, B, H, KV, hd,
                       a->max_seq);
    rope_backward(dq, a->pos, m->rope_cos, m->rope_sin, N, H, hd);
    rope_backward(dk, a->pos, m->rope_cos, m->rope_sin, N, KV, hd);
    memset(dln, 0, fD);
    mm_backward(m, dln, gw(m, P_WQ, oq), c->qkv_bias ? gw(m, P_BQ, (size_t)l * qd) : NULL, dq, l_ln1, h_ln1, P_WQ, oq, N, D, qd);
    mm_backward(m, dln, gw(m, P_WK, ok), c->qkv_bias ? gw(m, P_BK, (size_t)l * kd) : NULL, dk, l_ln1, h_ln1, P_WK, ok, N, D, kd);
    mm_backward(m, dln, gw(m, P_WV, ok), c->qkv_bias ? gw(m, P_BV, (size_t)l * kd) : NULL, dv, l_ln1, h_ln1, P_WV, ok, N, D, kd);
    adapter_bwd(m, a, P_WQ, l, dln, dq, l_ln1, N);
    adapter_bwd(m, a, P_WK, l, dln, dk, l_ln1, N);
    adapter_bwd(m, a, P_WV, l, dln, dv, l_ln1, N);
    norm_bwd(dres, gw(m, P_ATTN_NORM, (size_t)l * D), dln, l_x, p->t[P_ATTN_NORM] + (size_t)l * D,
                     l_rstd1, N, D);   // dres is now d x (layer input)
    ready(m, l);
  }
  if (m->grads_mem) embedding_backward(g->t[P_EMBED], dres, a->tokens, N, D);
  ready(m, -1);
}

int argmax_f32(const float *x, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}
