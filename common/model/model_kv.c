// KV-cache decoding of one sequence: the same equations as model_forward, for n new tokens
// at positions len..len+n-1 attending to the cached keys/values (prefill: n = prompt length;
// generation: n = 1). No activations are kept.
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "model/kernels.h"
#include "base/log.h"
#include "model/model.h"
#include "base/util.h"

model_kv *model_kv_create(const model *m, int max_len) {
  const model_config *c = &m->cfg;
  if (max_len < 1 || max_len > c->max_seq_len)
    error("model_kv_create: max_len %d outside 1..%d", max_len, c->max_seq_len);
  model_kv *kv = xcalloc(1, sizeof *kv);
  size_t kd = (size_t)c->n_kv_heads * (c->dim / c->n_heads);
  kv->max_len = max_len;
  kv->n_floats = 2 * (size_t)c->n_layers * max_len * kd;
  kv->mem = xmalloc(kv->n_floats * sizeof(float));
  kv->k = kv->mem;
  kv->v = kv->mem + kv->n_floats / 2;
  return kv;
}

void model_kv_free(model_kv *kv) {
  if (!kv) return;
  free(kv->mem);
  free(kv->work);
  free(kv->pos);
  free(kv);
}

void model_kv_reset(model_kv *kv) { kv->len = 0; }

// One query head against T cached positions (K0, V0: the head's group, rows kd apart):
// softmax(q K^T * scale) V into y (hd). `sc` holds T scores. Shared by the prefill above and
// model_kv_step (model_decode.c), so both sum in the same order.
void kv_attend(float *y, const float *q, const float *K0, const float *V0, float *sc, int T, int kd,
               int hd, float scale) {
  float mx = -INFINITY, sum = 0.0f;
  for (int j = 0; j < T; j++) {
    const float *kj = K0 + (size_t)j * kd;
    float d = 0.0f;
    for (int e = 0; e < hd; e++) d += q[e] * kj[e];
    sc[j] = d * scale;
    mx = sc[j] > mx ? sc[j] : mx;
  }
  for (int j = 0; j < T; j++) { sc[j] = expf(sc[j] - mx); sum += sc[j]; }
  for (int e = 0; e < hd; e++) y[e] = 0.0f;
  for (int j = 0; j < T; j++) {
    const float *vj = V0 + (size_t)j * kd;
    float pj = sc[j] / sum;
    for (int e = 0; e < hd; e++) y[e] += pj * vj[e];
  }
}

void model_kv_forward(const model *m, model_kv *kv, const int32_t *tokens, int n, float *logits,
                      float *all_logits) {
  const model_config *c = &m->cfg;
  int D = c->dim, F = c->ffn_dim, H = c->n_heads, KV = c->n_kv_heads, hd = D / H, V = c->vocab_size;
  int qd = H * hd, kd = KV * hd, G = H / KV, nt = model_threads();
  if (n < 1 || kv->len + n > kv->max_len)
    error("model_kv_forward: %d tokens after %d exceed the cache of %d", n, kv->len, kv->max_len);
  size_t need = (size_t)n * (3 * (size_t)D + 2 * qd + 3 * (size_t)F + 1) + (size_t)nt * kv->max_len;
  if (need > kv->work_floats) {
    free(kv->work);
    kv->work = xmalloc(need * sizeof(float));
    kv->work_floats = need;
  }
  if (n > kv->cap_tokens) {
    free(kv->pos);
    kv->pos = xmalloc((size_t)n * sizeof(int));
    kv->cap_tokens = n;
  }
  float *x = kv->work, *ln = x + (size_t)n * D, *q = ln + (size_t)n * D, *y = q + (size_t)n * qd;
  float *gate = y + (size_t)n * qd, *up = gate + (size_t)n * F, *h = up + (size_t)n * F;
  float *rstd = h + (size_t)n * F, *x2 = rstd + n, *scores = x2 + (size_t)n * D;
  for (int i = 0; i < n; i++) {
    if (tokens[i] < 0 || tokens[i] >= V) error("model_kv_forward: token %d outside vocabulary %d", tokens[i], V);
    kv->pos[i] = kv->len + i;
  }
  const model_params *p = &m->params;
  float scale = 1.0f / sqrtf((float)hd);
  model_embed(m, x, tokens, n);
  for (int l = 0; l < c->n_layers; l++) {
    float *l_k = kv->k + ((size_t)l * kv->max_len + kv->len) * kd;
    float *l_v = kv->v + ((size_t)l * kv->max_len + kv->len) * kd;
    const float *K0 = kv->k + (size_t)l * kv->max_len * kd, *V0 = kv->v + (size_t)l * kv->max_len * kd;
    rmsnorm_forward(ln, rstd, x, p->t[P_ATTN_NORM] + (size_t)l * D, n, D, c->norm_eps);
    model_linear(m, q, ln, P_WQ, (size_t)l * qd * D, c->qkv_bias ? p->t[P_BQ] + (size_t)l * qd : NULL, n, D, qd, 0);
    model_linear(m, l_k, ln, P_WK, (size_t)l * kd * D, c->qkv_bias ? p->t[P_BK] + (size_t)l * kd : NULL, n, D, kd, 0);
    model_linear(m, l_v, ln, P_WV, (size_t)l * kd * D, c->qkv_bias ? p->t[P_BV] + (size_t)l * kd : NULL, n, D, kd, 0);
    rope_forward(q, kv->pos, m->rope_cos, m->rope_sin, n, H, hd);
    rope_forward(l_k, kv->pos, m->rope_cos, m->rope_sin, n, KV, hd);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int task = 0; task < n * H; task++) {
      int i = task / H, hh = task % H, g = hh / G, T = kv->pos[i] + 1;
      kv_attend(y + (size_t)i * qd + hh * hd, q + (size_t)i * qd + hh * hd, K0 + g * hd, V0 + g * hd,
                scores + (size_t)omp_get_thread_num() * kv->max_len, T, kd, hd, scale);
    }
    memcpy(x2, x, (size_t)n * D * sizeof(float));
    model_linear(m, x2, y, P_WO, (size_t)l * D * qd, NULL, n, qd, D, 1);
    rmsnorm_forward(ln, rstd, x2, p->t[P_MLP_NORM] + (size_t)l * D, n, D, c->norm_eps);
    model_linear(m, gate, ln, P_WGATE, (size_t)l * F * D, NULL, n, D, F, 0);
    model_linear(m, up, ln, P_WUP, (size_t)l * F * D, NULL, n, D, F, 0);
    swiglu_forward(h, gate, up, (size_t)n * F);
    memcpy(x, x2, (size_t)n * D * sizeof(float));
    model_linear(m, x, h, P_WDOWN, (size_t)l * D * F, NULL, n, F, D, 1);
  }
  rmsnorm_forward(ln, rstd, x, p->t[P_FINAL_NORM], n, D, c->norm_eps);
  if (all_logits) {
    model_linear(m, all_logits, ln, P_LM_HEAD, 0, NULL, n, D, V, 0);
    if (logits) memcpy(logits, all_logits + (size_t)(n - 1) * V, (size_t)V * sizeof(float));
  } else if (logits) {
    model_linear(m, logits, ln + (size_t)(n - 1) * D, P_LM_HEAD, 0, NULL, 1, D, V, 0);
  }
  kv->len += n;
}
