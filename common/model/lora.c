// LoRA adapters: arena, init, the two kernels, the model hooks with dropout, merge, AdamW.
// The adapter's inner product u = dropout(x) A^T is recomputed in the backward instead of
// kept per pass (N x r floats, cheap next to the base projection), so model_acts does not grow.
#include "model/lora.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

#define LORA_RING (int)(sizeof ((lora *)0)->ring / sizeof ((lora *)0)->ring[0])   // recent passes kept

// ---- kernels ------------------------------------------------------------------------------
void lora_forward(float *out, float *u, const float *x, const float *A, const float *B, int N, int C,
                  int OC, int r, float s) {
  if (N <= 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, r, C, 1.0f, x, C, A, C, 0.0f, u, r);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, r, s, u, r, B, r, 1.0f, out, OC);
}

void lora_backward(float *dx, float *dA, float *dB, float *du, const float *dout, const float *x,
                   const float *u, const float *A, const float *B, int N, int C, int OC, int r, float s) {
  if (N <= 0) return;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, r, N, s, dout, OC, u, r, 1.0f, dB, r);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, r, OC, s, dout, OC, B, r, 0.0f, du, r);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, C, N, 1.0f, du, r, x, C, 1.0f, dA, C);
  if (dx) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, r, 1.0f, du, r, A, C, 1.0f, dx, C);
}

// ---- configuration ----------------------------------------------------------------------------
static const struct {
  const char *name, *module, *parent;
  int kind;
} targets[] = {
    {"q", "q_proj", "self_attn", P_WQ},     {"k", "k_proj", "self_attn", P_WK},
    {"v", "v_proj", "self_attn", P_WV},     {"o", "o_proj", "self_attn", P_WO},
    {"gate", "gate_proj", "mlp", P_WGATE},  {"up", "up_proj", "mlp", P_WUP},
    {"down", "down_proj", "mlp", P_WDOWN},
};
enum { N_TARGETS = sizeof targets / sizeof *targets };

int lora_target_kind(const char *name) {
  for (int i = 0; i < N_TARGETS; i++)
    if (!strcmp(name, targets[i].name) || !strcmp(name, targets[i].module)) return targets[i].kind;
  return -1;
}

static int target_index(int kind) {
  for (int i = 0; i < N_TARGETS; i++)
    if (targets[i].kind == kind) return i;
  return -1;
}

const char *lora_module_name(int kind) { return target_index(kind) >= 0 ? targets[target_index(kind)].module : NULL; }
const char *lora_module_parent(int kind) { return target_index(kind) >= 0 ? targets[target_index(kind)].parent : NULL; }

unsigned lora_all_targets(void) {
  unsigned t = 0;
  for (int i = 0; i < N_TARGETS; i++) t |= 1u << targets[i].kind;
  return t;
}

static int is_target(const lora *lo, int kind) { return kind >= 0 && kind < P_COUNT && (lo->cfg.targets >> kind) & 1u; }

// ---- adapters ---------------------------------------------------------------------------------
static void add_tensor(lora *lo, int kind, int l, int is_b, size_t off, size_t rows, size_t cols) {
  model_tensor *t = &lo->tensors[lo->n_tensors++];
  *t = (model_tensor){.kind = kind, .layer = l, .offset = off, .numel = rows * cols, .ndim = 2,
                      .dims = {rows, cols}, .decay = 1};
  snprintf(t->name, sizeof t->name, "model.layers.%d.%s.%s.lora_%c.weight", l, lora_module_parent(kind),
           lora_module_name(kind), is_b ? 'B' : 'A');
}

lora *lora_create(const lora_config *c, const model_config *mc, int for_training) {
  if (c->rank < 1) fatal("lora: rank %d must be >= 1", c->rank);
  if (!(c->dropout >= 0 && c->dropout < 1)) fatal("lora: dropout %g must be in [0, 1)", c->dropout);
  if (!(c->targets & lora_all_targets()) || (c->targets & ~lora_all_targets()))
    fatal("lora: no target projections (q, k, v, o, gate, up, down)");
  lora *lo = xcalloc(1, sizeof *lo);
  lo->cfg = *c;
  lo->scale = c->alpha / (float)c->rank;
  lo->n_layers = mc->n_layers;
  int D = mc->dim, F = mc->ffn_dim, hd = D / mc->n_heads, qd = mc->n_heads * hd, kd = mc->n_kv_heads * hd;
  int in[P_COUNT] = {[P_WQ] = D, [P_WK] = D, [P_WV] = D, [P_WO] = qd, [P_WGATE] = D, [P_WUP] = D, [P_WDOWN] = F};
  int out[P_COUNT] = {[P_WQ] = qd, [P_WK] = kd, [P_WV] = kd, [P_WO] = D, [P_WGATE] = F, [P_WUP] = F, [P_WDOWN] = D};
  size_t L = (size_t)mc->n_layers, r = (size_t)c->rank, off = 0;
  lo->tensors = xcalloc(L * 2 * N_TARGETS, sizeof *lo->tensors);
  for (int i = 0; i < N_TARGETS; i++) {
    int k = targets[i].kind;
    if (!is_target(lo, k)) continue;
    lo->in[k] = in[k];
    lo->out[k] = out[k];
    lo->a_off[k] = off;
    off += L * r * in[k];
    lo->b_off[k] = off;
    off += L * out[k] * r;
  }
  lo->n_params = off;
  for (size_t l = 0; l < L; l++)   // tensors in HF module order: layer, then target
    for (int i = 0; i < N_TARGETS; i++) {
      int k = targets[i].kind;
      if (!is_target(lo, k)) continue;
      add_tensor(lo, k, (int)l, 0, lo->a_off[k] + l * r * in[k], r, in[k]);
      add_tensor(lo, k, (int)l, 1, lo->b_off[k] + l * out[k] * r, out[k], r);
    }
  lo->params_mem = xcalloc(lo->n_params, sizeof(float));
  if (for_training) {
    lo->grads_mem = xcalloc(lo->n_params, sizeof(float));
    lo->m_mem = xcalloc(lo->n_params, sizeof(float));
    lo->v_mem = xcalloc(lo->n_params, sizeof(float));
  }
  return lo;
}

void lora_free(lora *lo) {
  if (!lo) return;
  free(lo->params_mem);
  free(lo->grads_mem);
  free(lo->m_mem);
  free(lo->v_mem);
  free(lo->tensors);
  free(lo->scratch);
  for (int i = 0; i < LORA_RING; i++) free(lo->ring[i].seq_off), free(lo->ring[i].key);
  free(lo);
}

static uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void lora_init(lora *lo, uint64_t seed) {
  memset(lo->params_mem, 0, lo->n_params * sizeof(float));
  uint64_t s = mix64(seed ^ 0x4C6F5241ull);
  for (int i = 0; i < lo->n_tensors; i++) {
    const model_tensor *t = &lo->tensors[i];
    if (t->name[strlen(t->name) - 8] != 'A') continue;   // "...lora_A.weight": B stays 0
    float bound = 1.0f / sqrtf((float)t->dims[1]);
    float *p = lo->params_mem + t->offset;
    for (size_t j = 0; j < t->numel; j++) {
      s = mix64(s);
      p[j] = bound * (float)(2.0 * ((s >> 11) * (1.0 / 9007199254740992.0)) - 1.0);
    }
  }
}

void lora_zero_grad(lora *lo) {
  if (!lo->grads_mem) error("lora_zero_grad: adapters were created without gradients");
  memset(lo->grads_mem, 0, lo->n_params * sizeof(float));
}

void lora_adamw_step(lora *lo, const adamw_config *c, float lr, long t) {
  adamw_update(lo->params_mem, lo->grads_mem, lo->m_mem, lo->v_mem, lo->n_params, c, lr, c->weight_decay, t);
}

const model_tensor *lora_find(const lora *lo, const char *name) {
  for (int i = 0; i < lo->n_tensors; i++)
    if (!strcmp(lo->tensors[i].name, name)) return &lo->tensors[i];
  return NULL;
}

void lora_merge_tensor(const lora *lo, const model_tensor *t, float *w, float sign) {
  int k = t->kind, l = t->layer;
  if (!is_target(lo, k) || l < 0) return;   // (biases are kinds of their own: P_BQ ...)
  size_t r = (size_t)lo->cfg.rank, in = lo->in[k], out = lo->out[k];
  if (t->ndim != 2 || t->dims[0] != out || t->dims[1] != in || l >= lo->n_layers)
    fatal("lora_merge: tensor %s is not the (%zu, %zu) matrix the adapter was made for", t->name, out, in);
  const float *A = lo->params_mem + lo->a_off[k] + l * r * in, *B = lo->params_mem + lo->b_off[k] + l * out * r;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)out, (int)in, (int)r, sign * lo->scale, B, (int)r,
              A, (int)in, 1.0f, w, (int)in);
}

void lora_merge(const lora *lo, model *m, float sign) {
  if (lo->n_layers != m->cfg.n_layers) fatal("lora_merge: adapter has %d layers, model %d", lo->n_layers, m->cfg.n_layers);
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *t = &m->tensors[i];
    if (!is_target(lo, t->kind) || t->layer < 0) continue;
    if (!m->params.t[t->kind]) fatal("lora_merge: the model holds its weights in bf16 only; load it in fp32");
    lora_merge_tensor(lo, t, m->params_mem + t->offset, sign);
  }
  if (m->precision == MODEL_BF16 && m->w16_mem) model_sync_bf16(m);
}

// ---- on a model (model.h model_adapters) -------------------------------------------------------
void lora_set_batch(lora *lo, const long *keys, int n) {
  lo->batch_keys = keys;
  lo->n_batch_keys = n;
  lo->batch_passes = 0;
}

// A forward pass of the packed sequences seq_off (n_seqs + 1 offsets): what its masks are keyed by.
static uint64_t next_pass(void *self, const int *seq_off, int n_seqs) {
  lora *lo = self;
  uint64_t p = ++lo->passes;
  struct lora_pass *r = &lo->ring[p % LORA_RING];
  r->pass = p;
  r->in_batch = lo->batch_passes++;
  r->n_seqs = 0;
  if (!lo->training || !lo->batch_keys) return p;
  if (n_seqs != lo->n_batch_keys)
    error("lora: a forward of %d sequences after lora_set_batch of %d samples", n_seqs, lo->n_batch_keys);
  if (n_seqs > r->cap) {
    r->cap = n_seqs;
    r->seq_off = xrealloc(r->seq_off, sizeof *r->seq_off * (size_t)(n_seqs + 1));
    r->key = xrealloc(r->key, sizeof *r->key * (size_t)n_seqs);
  }
  memcpy(r->seq_off, seq_off, sizeof *r->seq_off * (size_t)(n_seqs + 1));
  memcpy(r->key, lo->batch_keys, sizeof *r->key * (size_t)n_seqs);
  r->n_seqs = n_seqs;
  return p;
}

static float *lora_scratch(lora *lo, size_t n) {
  if (n > lo->scratch_floats) {
    free(lo->scratch);
    lo->scratch = xmalloc(n * sizeof(float));
    lo->scratch_floats = n;
  }
  return lo->scratch;
}

// dst (N, C) = src * keep / (1 - p): the inverted-dropout mask of (pass, layer, kind), the same
// in the forward and the backward of a pass. Keyed passes (lora_set_batch): each row's mask
// comes from its sample's key and its position, never from where the row sits in the batch.
static void dropout_apply(const lora *lo, uint64_t pass, int kind, int l, float *dst, const float *src, int N,
                          int C) {
  const struct lora_pass *r = &lo->ring[pass % LORA_RING];
  if (r->pass != pass) error("lora: the backward of pass %llu came after its masks were dropped", (unsigned long long)pass);
  float p = lo->cfg.dropout, inv = 1.0f / (1.0f - p);
  double thr = p * 18446744073709551616.0;
  uint64_t lk = (uint64_t)(l * P_COUNT + kind);
  if (!r->n_seqs) {
    uint64_t base = mix64(lo->seed ^ mix64(pass * 1315423911ull + lk));
    for (size_t i = 0; i < (size_t)N * C; i++) dst[i] = (double)mix64(base + i) < thr ? 0.0f : src[i] * inv;
    return;
  }
  uint64_t base = mix64(lo->seed ^ mix64((uint64_t)r->in_batch * 1315423911ull + lk));
  int b = 0;
  for (int i = 0; i < N; i++) {
    while (b + 1 < r->n_seqs && i >= r->seq_off[b + 1]) b++;
    uint64_t row = mix64(base ^ mix64((uint64_t)r->key[b] * 0x9E3779B97F4A7C15ull + (uint64_t)(i - r->seq_off[b])));
    for (size_t c = 0, at = (size_t)i * C; c < (size_t)C; c++)
      dst[at + c] = (double)mix64(row + c) < thr ? 0.0f : src[at + c] * inv;
  }
}

static int dropping(const lora *lo) { return lo->training && lo->cfg.dropout > 0; }

static void adapter_forward(void *self, uint64_t pass, int kind, int l, float *out, const float *x, int N) {
  lora *lo = self;
  if (!is_target(lo, kind) || N <= 0) return;
  int C = lo->in[kind], OC = lo->out[kind], r = lo->cfg.rank;
  float *u = lora_scratch(lo, (size_t)N * r + (dropping(lo) ? (size_t)N * C : 0)), *xd = u + (size_t)N * r;
  if (dropping(lo)) {
    dropout_apply(lo, pass, kind, l, xd, x, N, C);
    x = xd;
  }
  const float *A = lo->params_mem + lo->a_off[kind] + (size_t)l * r * C;
  const float *B = lo->params_mem + lo->b_off[kind] + (size_t)l * OC * r;
  lora_forward(out, u, x, A, B, N, C, OC, r, lo->scale);
}

static void adapter_backward(void *self, uint64_t pass, int kind, int l, float *dx, const float *dout,
                             const float *x, int N) {
  lora *lo = self;
  if (!is_target(lo, kind) || N <= 0) return;
  if (!lo->grads_mem) error("lora: backward through adapters created without gradients");
  int C = lo->in[kind], OC = lo->out[kind], r = lo->cfg.rank, drop = dropping(lo);
  size_t nr = (size_t)N * r, nc = (size_t)N * C;
  float *u = lora_scratch(lo, 2 * nr + (drop ? 2 * nc : 0)), *du = u + nr, *xd = du + nr, *dxd = xd + nc;
  if (drop) {
    dropout_apply(lo, pass, kind, l, xd, x, N, C);
    x = xd;
    memset(dxd, 0, nc * sizeof(float));
  }
  size_t ao = lo->a_off[kind] + (size_t)l * r * C, bo = lo->b_off[kind] + (size_t)l * OC * r;
  const float *A = lo->params_mem + ao, *B = lo->params_mem + bo;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, r, C, 1.0f, x, C, A, C, 0.0f, u, r);   // u again
  lora_backward(drop ? dxd : dx, lo->grads_mem + ao, lo->grads_mem + bo, du, dout, x, u, A, B, N, C, OC, r,
                lo->scale);
  if (drop && dx) {   // d x = mask / (1 - p) * d dropout(x)
    dropout_apply(lo, pass, kind, l, dxd, dxd, N, C);
    for (size_t i = 0; i < nc; i++) dx[i] += dxd[i];
  }
}

void lora_attach(lora *lo, model *m) {
  lo->hooks = (model_adapters){lo, next_pass, adapter_forward, adapter_backward};
  m->adapters = &lo->hooks;
}
