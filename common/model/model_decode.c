// One decoding step (model_kv_step in model.h): model_kv_forward's equations for a single new
// token, with every projection and the LM head as a matrix-vector product. A one-row sgemm
// packs the whole weight matrix before multiplying (OpenBLAS 0.3.21 does not forward M = 1 to
// gemv), which made the LM head of one token cost as much as of dozens; sgemv reads each
// weight once. sgemv sums a dot product in another order than sgemm, so logits agree with
// model_kv_forward to float rounding, not bitwise (docs/model.md "Decoding").
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "base/log.h"
#include "base/util.h"
#include "model/decode_work.h"
#include "model/kernels.h"
#include "model/model.h"

// out (OC) = w (OC, C) x (+ bias) (+ out when accumulate). The output rows are cut into
// blocks (aligned to 16), each one single-threaded sgemv; with several threads 4 blocks per
// thread handed out dynamically, so a thread whose partner was descheduled by another job
// takes its blocks. The cut depends on the thread count only: bitwise repeatable for a fixed
// thread count.
static void matvec(float *out, const float *x, const float *w, const float *bias, int C, int OC,
                   int accumulate, int nt) {
  int nc = nt > 1 ? 4 * nt : 1, per = ((OC + nc - 1) / nc + 15) / 16 * 16;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (int t = 0; t < nc; t++) {
    int a = t * per < OC ? t * per : OC, b = (t + 1) * per < OC ? (t + 1) * per : OC;
    if (b <= a) continue;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, b - a, C, 1.0f, w + (size_t)a * C, C, x, 1,
                accumulate ? 1.0f : 0.0f, out + a, 1);
    if (bias)
      for (int o = a; o < b; o++) out[o] += bias[o];
  }
}

// Attention of the one query q (at position T - 1) over the T cached keys/values of layer
// K0/V0, the same loops as model_kv_forward's (one task per head).
static void step_attention(float *y, const float *q, const float *K0, const float *V0, float *scores,
                           int T, int H, int G, int hd, int kd, float scale, int nt) {
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int hh = 0; hh < H; hh++) {
    int g = hh / G;
    kv_attend(y + hh * hd, q + hh * hd, K0 + g * hd, V0 + g * hd,
              scores + (size_t)omp_get_thread_num() * T, T, kd, hd, scale);
  }
}

// One layer for the token at position `pos`; s->x holds its residual stream in and out.
static void step_layer(const model *m, model_kv *kv, int l, int pos, decode_work *s, int nt) {
  const model_config *c = &m->cfg;
  const model_params *p = &m->params;
  int D = c->dim, F = c->ffn_dim, H = c->n_heads, KV = c->n_kv_heads, hd = D / H;
  int qd = H * hd, kd = KV * hd;
  float *l_k = kv->k + ((size_t)l * kv->max_len + pos) * kd;
  float *l_v = kv->v + ((size_t)l * kv->max_len + pos) * kd;
  const float *K0 = kv->k + (size_t)l * kv->max_len * kd, *V0 = kv->v + (size_t)l * kv->max_len * kd;
  rmsnorm_forward(s->ln, &s->rstd, s->x, p->t[P_ATTN_NORM] + (size_t)l * D, 1, D, c->norm_eps);
  matvec(s->q, s->ln, p->t[P_WQ] + (size_t)l * qd * D, c->qkv_bias ? p->t[P_BQ] + (size_t)l * qd : NULL,
         D, qd, 0, nt);
  matvec(l_k, s->ln, p->t[P_WK] + (size_t)l * kd * D, c->qkv_bias ? p->t[P_BK] + (size_t)l * kd : NULL,
         D, kd, 0, nt);
  matvec(l_v, s->ln, p->t[P_WV] + (size_t)l * kd * D, c->qkv_bias ? p->t[P_BV] + (size_t)l * kd : NULL,
         D, kd, 0, nt);
  rope_forward(s->q, &pos, m->rope_cos, m->rope_sin, 1, H, hd);
  rope_forward(l_k, &pos, m->rope_cos, m->rope_sin, 1, KV, hd);
  step_attention(s->y, s->q, K0, V0, s->scores, pos + 1, H, H / KV, hd, kd, 1.0f / sqrtf((float)hd), nt);
  memcpy(s->x2, s->x, (size_t)D * sizeof(float));
  matvec(s->x2, s->y, p->t[P_WO] + (size_t)l * D * qd, NULL, qd, D, 1, nt);
  rmsnorm_forward(s->ln, &s->rstd, s->x2, p->t[P_MLP_NORM] + (size_t)l * D, 1, D, c->norm_eps);
  matvec(s->gate, s->ln, p->t[P_WGATE] + (size_t)l * F * D, NULL, D, F, 0, nt);
  matvec(s->up, s->ln, p->t[P_WUP] + (size_t)l * F * D, NULL, D, F, 0, nt);
  swiglu_forward(s->h, s->gate, s->up, (size_t)F);
  memcpy(s->x, s->x2, (size_t)D * sizeof(float));
  matvec(s->x, s->h, p->t[P_WDOWN] + (size_t)l * D * F, NULL, F, D, 1, nt);
}

void model_kv_step(const model *m, model_kv *kv, int32_t token, float *logits) {
  if (m->precision == MODEL_BF16) {   // the sgemv path below is fp32 only
    model_kv_step_bf16(m, kv, token, logits);
    return;
  }
  const model_config *c = &m->cfg;
  int D = c->dim, V = c->vocab_size, nt = model_threads();
  if (kv->len + 1 > kv->max_len) error("model_kv_step: token after %d exceeds the cache of %d", kv->len, kv->max_len);
  if (token < 0 || token >= V) error("model_kv_step: token %d outside vocabulary %d", token, V);
  decode_work s = decode_work_get(c, kv, nt);
  embedding_forward(s.x, &token, m->params.t[P_EMBED], 1, D);
  for (int l = 0; l < c->n_layers; l++) step_layer(m, kv, l, kv->len, &s, nt);
  rmsnorm_forward(s.ln, &s.rstd, s.x, m->params.t[P_FINAL_NORM], 1, D, c->norm_eps);
  matvec(logits, s.ln, m->params.t[P_LM_HEAD], NULL, D, V, 0, nt);
  kv->len += 1;
}
