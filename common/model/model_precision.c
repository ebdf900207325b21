// model.precision: the bf16 arena, the forward-only bf16-only storage, and the one linear-layer
// entry that picks the fp32 or bf16 matmul (docs/model.md, "Precision"). What model_forward
// itself needs (model_sync_bf16, model_embed) is in model.c, so model.c calls nothing here.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "model/kernels.h"
#include "model/kernels_bf16.h"
#include "model/model.h"

const char *model_precision_name(int precision) { return precision == MODEL_BF16 ? "bf16" : "fp32"; }

const char *model_precision_describe(const model *m) {
  static char line[256];
  if (m->precision != MODEL_BF16)
    snprintf(line, sizeof line, "precision fp32 (fp32 weights, OpenBLAS sgemm)");
  else
    snprintf(line, sizeof line, "precision bf16 (%s; %s)",
             m->grads_mem ? "fp32 master weights + bf16 copy" : "weights in bf16 only", gemm_bf16_describe());
  return line;
}

// Matrices (what the matmuls read); norms and biases stay fp32 in every precision.
static int is_matrix(int kind) {
  return kind == P_EMBED || kind == P_WQ || kind == P_WK || kind == P_WV || kind == P_WO ||
         kind == P_WGATE || kind == P_WUP || kind == P_WDOWN || kind == P_LM_HEAD;
}

double model_weight_bytes(const model_config *mc, int precision) {
  size_t sz[P_COUNT];
  model_param_sizes(mc, sz);
  double matrices = 0, small = 0;
  for (int k = 0; k < P_COUNT; k++) *(is_matrix(k) ? &matrices : &small) += (double)sz[k];
  return (double)model_precision_bytes(precision) * matrices + sizeof(float) * small;
}

// Forward only: keep the norms and biases in a small fp32 arena, free the fp32 matrices.
static void drop_fp32_matrices(model *m) {
  size_t small = 0;
  for (int k = 0; k < P_COUNT; k++)
    if (!is_matrix(k)) small += m->sizes[k];
  m->small_mem = xmalloc((small ? small : 1) * sizeof(float));
  float *at = m->small_mem;
  for (int k = 0; k < P_COUNT; k++) {
    if (is_matrix(k) || !m->sizes[k]) continue;
    memcpy(at, m->params.t[k], m->sizes[k] * sizeof(float));
    m->params.t[k] = at;
    at += m->sizes[k];
  }
  for (int k = 0; k < P_COUNT; k++)
    if (is_matrix(k)) m->params.t[k] = NULL;
  free(m->params_mem);
  m->params_mem = NULL;
}

static void alloc_bf16(model *m) {
  m->precision = MODEL_BF16;
  m->w16_mem = xmalloc(m->n_params * sizeof(bf16));
  bf16 *at = m->w16_mem;
  for (int k = 0; k < P_COUNT; k++) {
    m->params16.t[k] = m->sizes[k] ? at : NULL;
    at += m->sizes[k];
  }
  if (m->cfg.tie_embeddings) m->params16.t[P_LM_HEAD] = m->params16.t[P_EMBED];
}

void model_set_precision(model *m, int precision) {
  if (precision == m->precision) return;
  if (precision != MODEL_BF16 || !m->params_mem)
    error("model_set_precision: only fp32 -> bf16, once (asked %s)", model_precision_name(precision));
  alloc_bf16(m);
  model_sync_bf16(m);
  if (!m->grads_mem) drop_fp32_matrices(m);
}

model *model_create_prec(const model_config *mc, int for_training, int precision) {
  model *m = model_create(mc, for_training);
  if (for_training || precision != MODEL_BF16) {
    model_set_precision(m, precision);
    return m;
  }
  alloc_bf16(m);           // forward only: weights to be stored tensor by tensor
  drop_fp32_matrices(m);   // the fp32 arena was never written: its pages never resident
  return m;
}

void model_linear(const model *m, float *out, const float *inp, int kind, size_t off, const float *bias, int N,
                  int C, int OC, int accumulate) {
  if (m->precision != MODEL_BF16) {
    matmul_forward(out, inp, m->params.t[kind] + off, bias, N, C, OC, accumulate);
    return;
  }
  bf16 *in16 = bf16_scratch(0, (size_t)N * C);
  bf16_from_f32(in16, inp, (size_t)N * C);
  matmul_forward_bf16(out, in16, m->params16.t[kind] + off, bias, N, C, OC, accumulate);
}

// float offset of kind's first element in the full arena layout
static size_t kind_base(const model *m, int kind) {
  size_t off = 0;
  for (int k = 0; k < kind; k++) off += m->sizes[k];
  return off;
}

void model_tensor_store(model *m, const model_tensor *t, size_t first, size_t n, const float *src) {
  if (first + n > t->numel) error("model_tensor_store: %s: elements %zu..%zu of %zu", t->name, first, first + n, t->numel);
  size_t at = t->offset - kind_base(m, t->kind) + first;
  if (m->params.t[t->kind]) memcpy(m->params.t[t->kind] + at, src, n * sizeof(float));
  if (m->precision == MODEL_BF16) bf16_from_f32(m->params16.t[t->kind] + at, src, n);
}

const float *model_tensor_f32(const model *m, const model_tensor *t) {
  const float *base = m->params.t[t->kind];
  return base ? base + (t->offset - kind_base(m, t->kind)) : NULL;
}

const bf16 *model_tensor_bf16(const model *m, const model_tensor *t) {
  const bf16 *base = m->precision == MODEL_BF16 ? m->params16.t[t->kind] : NULL;
  return base ? base + (t->offset - kind_base(m, t->kind)) : NULL;
}
