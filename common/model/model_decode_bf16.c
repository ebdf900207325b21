// One bf16 decoding step (model_kv_step_bf16 in model.h): model_kv_forward's equations for
// one token, every projection and the LM head a matrix-vector product over the bf16 weights
// (gemm_bf16 -> gemv_bf16.c, each weight byte read once per token). What a decode step
// spends besides reading the weights is parallel regions: the operand of a group of
// projections is rounded to bf16 once and the group is one region (q, k, v read the same
// normed row; gate and up too), 5 regions a layer instead of model_kv_forward's 8.
// Each output is one weight row's dot product, summed by the same kernel in the same order
// whatever the split between threads, so the step equals model_kv_forward(n = 1) bitwise
// (test_bf16.c test_kv_step_bf16).
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "model/decode_work.h"
#include "model/kernels.h"
#include "model/matmul_bf16.h"
#include "model/model.h"

// One projection of a group: out (OC) = w (OC, C) x (+ bias) (+ out when accumulate).
typedef struct {
  float *out;
  const bf16 *w;
  const float *bias;
  int OC;
} proj;

// 64 weight rows (112 KB at C = 896) per task: the LM head is ~2,400 tasks, a k or v
// projection 2, so two threads stay balanced on every op.
#define ROW_BLOCK 64

// The np projections of a group on x16 (C, already bf16), in blocks of ROW_BLOCK rows handed
// out dynamically: a thread whose partner was descheduled by another job takes its blocks.
static void project(const proj *p, int np, const bf16 *x16, int C, int accumulate, int nt) {
  int first[4], nb = 0;
  for (int j = 0; j < np; j++) {
    first[j] = nb;
    nb += (p[j].OC + ROW_BLOCK - 1) / ROW_BLOCK;
  }
  first[np] = nb;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (int b = 0; b < nb; b++) {
    int j = 0;
    while (b >= first[j + 1]) j++;
    int a = (b - first[j]) * ROW_BLOCK, e = a + ROW_BLOCK < p[j].OC ? a + ROW_BLOCK : p[j].OC;
    gemm_bf16(1, e - a, C, x16, C, 1, p[j].w + (size_t)a * C, 1, C, p[j].out + a, p[j].OC, accumulate);
    if (p[j].bias)
      for (int o = a; o < e; o++) p[j].out[o] += p[j].bias[o];
  }
}

// One layer for the token at position `pos`; s->x holds its residual stream in and out.
static void layer16(const model *m, model_kv *kv, int l, int pos, decode_work *s, bf16 *x16, int nt) {
  const model_config *c = &m->cfg;
  const model_params *p = &m->params;
  const model_params16 *w = &m->params16;
  int D = c->dim, F = c->ffn_dim, H = c->n_heads, KV = c->n_kv_heads, hd = D / H, G = H / KV;
  int qd = H * hd, kd = KV * hd;
  float *l_k = kv->k + ((size_t)l * kv->max_len + pos) * kd;
  float *l_v = kv->v + ((size_t)l * kv->max_len + pos) * kd;
  const float *K0 = kv->k + (size_t)l * kv->max_len * kd, *V0 = kv->v + (size_t)l * kv->max_len * kd;
  rmsnorm_forward(s->ln, &s->rstd, s->x, p->t[P_ATTN_NORM] + (size_t)l * D, 1, D, c->norm_eps);
  bf16_from_f32(x16, s->ln, (size_t)D);
  int bias = c->qkv_bias;
  proj qkv[3] = {{s->q, w->t[P_WQ] + (size_t)l * qd * D, bias ? p->t[P_BQ] + (size_t)l * qd : NULL, qd},
                 {l_k, w->t[P_WK] + (size_t)l * kd * D, bias ? p->t[P_BK] + (size_t)l * kd : NULL, kd},
                 {l_v, w->t[P_WV] + (size_t)l * kd * D, bias ? p->t[P_BV] + (size_t)l * kd : NULL, kd}};
  project(qkv, 3, x16, D, 0, nt);
  rope_forward(s->q, &pos, m->rope_cos, m->rope_sin, 1, H, hd);
  rope_forward(l_k, &pos, m->rope_cos, m->rope_sin, 1, KV, hd);
  float scale = 1.0f / sqrtf((float)hd);
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int hh = 0; hh < H; hh++)
    kv_attend(s->y + hh * hd, s->q + hh * hd, K0 + (hh / G) * hd, V0 + (hh / G) * hd,
              s->scores + (size_t)omp_get_thread_num() * kv->max_len, pos + 1, kd, hd, scale);
  memcpy(s->x2, s->x, (size_t)D * sizeof(float));
  bf16_from_f32(x16, s->y, (size_t)qd);
  proj o = {s->x2, w->t[P_WO] + (size_t)l * D * qd, NULL, D};
  project(&o, 1, x16, qd, 1, nt);
  rmsnorm_forward(s->ln, &s->rstd, s->x2, p->t[P_MLP_NORM] + (size_t)l * D, 1, D, c->norm_eps);
  bf16_from_f32(x16, s->ln, (size_t)D);
  proj gu[2] = {{s->gate, w->t[P_WGATE] + (size_t)l * F * D, NULL, F}, {s->up, w->t[P_WUP] + (size_t)l * F * D, NULL, F}};
  project(gu, 2, x16, D, 0, nt);
  swiglu_forward(s->h, s->gate, s->up, (size_t)F);
  bf16_from_f32(x16, s->h, (size_t)F);
  memcpy(s->x, s->x2, (size_t)D * sizeof(float));
  proj down = {s->x, w->t[P_WDOWN] + (size_t)l * D * F, NULL, D};
  project(&down, 1, x16, F, 1, nt);
}

void model_kv_step_bf16(const model *m, model_kv *kv, int32_t token, float *logits) {
  const model_config *c = &m->cfg;
  int D = c->dim, V = c->vocab_size, nt = model_threads();
  if (m->precision != MODEL_BF16) error("model_kv_step_bf16: the model is %s", model_precision_name(m->precision));
  if (kv->len + 1 > kv->max_len) error("model_kv_step_bf16: token after %d exceeds the cache of %d", kv->len, kv->max_len);
  if (token < 0 || token >= V) error("model_kv_step_bf16: token %d outside vocabulary %d", token, V);
  decode_work s = decode_work_get(c, kv, nt);
  // the operand row of a projection group, rounded once: the calling thread's, read by the team
  bf16 *x16 = bf16_scratch(0, c->ffn_dim > D ? (size_t)c->ffn_dim : (size_t)D);
  model_embed(m, s.x, &token, 1);
  for (int l = 0; l < c->n_layers; l++) layer16(m, kv, l, kv->len, &s, x16, nt);
  rmsnorm_forward(s.ln, &s.rstd, s.x, m->params.t[P_FINAL_NORM], 1, D, c->norm_eps);
  bf16_from_f32(x16, s.ln, (size_t)D);
  proj head = {logits, m->params16.t[P_LM_HEAD], NULL, V};   // tied: the embedding, one copy
  project(&head, 1, x16, D, 0, nt);
  kv->len += 1;
}
