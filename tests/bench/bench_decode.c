// KV-cache decoding speed, one token per call: model_kv_forward with n = 1 (every projection
// and the LM head a one-row sgemm: what nq-eval ran before) against model_kv_step
// (matrix-vector products, what it runs now), alternated in the same process (paired).
//   bench_decode DIM LAYERS HEADS KV_HEADS FFN VOCAB [PROMPT] [THREADS] [TOKENS] [REPS] [BIAS TIED]
// prints: sgemm_tok_s=<median> gemv_tok_s=<median> speedup=<ratio of medians>
//         max_abs_diff=<largest |logit| difference of the two paths> argmax_agree=<k>/<n>
// Random uniform weights (std 0.02, norms 1): the timings do not depend on the values.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "model/model.h"

static void fill_random(model *m) {
  uint64_t s = 0x9e3779b97f4a7c15ULL;
  const float a = 0.02f * 1.7320508f;
  for (int k = 0; k < P_COUNT; k++) {
    float *p = m->params.t[k];
    int norm = k == P_ATTN_NORM || k == P_MLP_NORM || k == P_FINAL_NORM;
    for (size_t i = 0; i < m->sizes[k]; i++) {
      s ^= s << 13; s ^= s >> 7; s ^= s << 17;
      p[i] = norm ? 1.0f : a * (2.0f * (float)(s >> 40) / 16777216.0f - 1.0f);
    }
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

// Decodes n tokens after the cached prompt of T (greedy feed of the given ids), logits of
// each step to z (n, V); returns tokens per second.
static double decode(const model *m, model_kv *kv, int T, const int32_t *ids, int n, int step, float *z) {
  int V = m->cfg.vocab_size;
  kv->len = T;
  double t0 = wall_seconds();
  for (int i = 0; i < n; i++) {
    float *out = z + (size_t)i * V;
    if (step) model_kv_step(m, kv, ids[i], out);
    else model_kv_forward(m, kv, ids + i, 1, out, NULL);
  }
  return n / (wall_seconds() - t0);
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: bench_decode DIM LAYERS HEADS KV_HEADS FFN VOCAB [PROMPT] [THREADS] [TOKENS] [REPS] [BIAS TIED]\n");
    return 2;
  }
  int T = argc > 7 ? atoi(argv[7]) : 64, threads = argc > 8 ? atoi(argv[8]) : 1;
  int n = argc > 9 ? atoi(argv[9]) : 32, reps = argc > 10 ? atoi(argv[10]) : 5;
  model_config mc = {.dim = atoi(argv[1]), .n_layers = atoi(argv[2]), .n_heads = atoi(argv[3]),
                     .n_kv_heads = atoi(argv[4]), .ffn_dim = atoi(argv[5]), .vocab_size = atoi(argv[6]),
                     .qkv_bias = argc > 11 ? atoi(argv[11]) : 0, .tie_embeddings = argc > 12 ? atoi(argv[12]) : 0,
                     .rope_theta = 1e6f, .norm_eps = 1e-6f, .init_std = 0.02f};
  mc.max_seq_len = T + n;
  if (T < 1 || threads < 1 || n < 1 || reps < 1 || reps > 64) {
    fprintf(stderr, "bench_decode: bad PROMPT/THREADS/TOKENS/REPS\n");
    return 2;
  }
  model_set_threads(threads);
  model *m = model_create(&mc, 0);
  fill_random(m);
  size_t V = (size_t)mc.vocab_size;
  int32_t *tok = xmalloc((size_t)(T + n) * sizeof *tok);
  uint64_t s = 12345;
  for (int i = 0; i < T + n; i++) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    tok[i] = (int32_t)((s >> 33) % (uint64_t)mc.vocab_size);
  }
  model_kv *kv = model_kv_create(m, T + n);
  float *za = xmalloc((size_t)n * V * sizeof *za), *zb = xmalloc((size_t)n * V * sizeof *zb);
  model_kv_forward(m, kv, tok, T, za, NULL);
  double ra[64], rb[64];
  for (int r = 0; r < reps; r++) {   // alternate the two paths (the machine may be shared)
    ra[r] = decode(m, kv, T, tok + T, n, 0, za);
    rb[r] = decode(m, kv, T, tok + T, n, 1, zb);
  }
  qsort(ra, (size_t)reps, sizeof *ra, cmp_double);
  qsort(rb, (size_t)reps, sizeof *rb, cmp_double);
  double worst = 0;
  int agree = 0;
  for (int i = 0; i < n; i++) {
    for (size_t j = 0; j < V; j++) {
      double d = fabs((double)za[i * V + j] - zb[i * V + j]);
      worst = d > worst ? d : worst;
    }
    agree += argmax_f32(za + i * V, (int)V) == argmax_f32(zb + i * V, (int)V);
  }
  printf("sgemm_tok_s=%.1f gemv_tok_s=%.1f speedup=%.2f max_abs_diff=%.2g argmax_agree=%d/%d\n",
         ra[reps / 2], rb[reps / 2], rb[reps / 2] / ra[reps / 2], worst, agree, n);
  free(za), free(zb), free(tok);
  model_kv_free(kv);
  model_free(m);
  return 0;
}
