// Random weights for the benches' big models, filled tensor by tensor through
// model_tensor_store, so a forward-only bf16 model (model_create_prec) never holds fp32 matrices.
// Header-only: each bench is one .c file (Makefile: tests/bench/bench_*.c).
#ifndef NQ_BENCH_RANDOM_WEIGHTS_H
#define NQ_BENCH_RANDOM_WEIGHTS_H

#include <stdint.h>
#include <stdlib.h>

#include "base/util.h"
#include "model/model.h"

// Uniform weights with std 0.02 (norm weights 1) from a xorshift stream seeded by `seed`:
// speed does not depend on the values, and the same seed gives the same model.
static void random_weights_fill(model *m, uint64_t seed) {
  uint64_t s = seed ? seed : 0x9e3779b97f4a7c15ULL;
  const float a = 0.02f * 1.7320508f;
  enum { CHUNK = 1 << 20 };
  float *p = xmalloc(CHUNK * sizeof *p);
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *t = &m->tensors[i];
    int norm = t->kind == P_ATTN_NORM || t->kind == P_MLP_NORM || t->kind == P_FINAL_NORM;
    for (size_t j0 = 0; j0 < t->numel; j0 += CHUNK) {
      size_t n = t->numel - j0 < CHUNK ? t->numel - j0 : CHUNK;
      for (size_t j = 0; j < n; j++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        p[j] = norm ? 1.0f : a * (2.0f * (float)(s >> 40) / 16777216.0f - 1.0f);
      }
      model_tensor_store(m, t, j0, n, p);
    }
  }
  free(p);
}

#endif
