// nq-effect's engine (effect_compute, both passes) on a Qwen2.5-3B-shaped model (hidden 2048,
// 36 layers, 16 heads, 2 KV heads, intermediate 11008, vocab 151936, tied, q/k/v biases;
// 3.09B random weights) in bf16: weights stored in bf16 only and filled tensor by tensor (as
// checkpoint_load_prec does), so the fp32 matrices never exist (~6.2 GB instead of 12.3 GB).
// A few short samples only: a 3B forward is ~6 GFLOP per token on a 2-core machine.
//   bench_effect_big [samples] [threads]      (default 2 samples, 2 threads)
// prints: params=<n> effect_tok_s=<both passes' tokens / s> init_s=<create + fill>
//         rss_mb=<peak RSS (getrusage)>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "base/log.h"
#include "base/util.h"
#include "effect/effect_model.h"
#include "random_weights.h"

int main(int argc, char **argv) {
  int N = argc > 1 ? atoi(argv[1]) : 2, threads = argc > 2 ? atoi(argv[2]) : 2;
  if (N < 1 || N > 64 || threads < 1) {
    fprintf(stderr, "usage: bench_effect_big [samples 1..64] [threads]\n");
    return 2;
  }
  enum { HIST = 96, BASE = 32, TGT = 32 };
  model_config mc = {.vocab_size = 151936, .dim = 2048, .n_layers = 36, .n_heads = 16, .n_kv_heads = 2,
                     .ffn_dim = 11008, .max_seq_len = HIST + TGT, .qkv_bias = 1, .tie_embeddings = 1,
                     .rope_theta = 1e6f, .norm_eps = 1e-6f, .init_std = 0.02f};
  model_set_threads(threads);
  double t0 = wall_seconds();
  model *m = model_create_prec(&mc, 0, MODEL_BF16);
  random_weights_fill(m, 0);
  double init_s = wall_seconds() - t0;
  int32_t *with = xmalloc((size_t)N * (HIST + TGT) * sizeof *with);
  int32_t *without = xmalloc((size_t)N * (BASE + TGT) * sizeof *without);
  effect_sample *smp = xmalloc((size_t)N * sizeof *smp);
  unsigned r = 3;
  for (int i = 0; i < N; i++) {
    int32_t *w = with + (size_t)i * (HIST + TGT), *o = without + (size_t)i * (BASE + TGT);
    for (int j = 0; j < HIST + TGT; j++) w[j] = (int32_t)(((r = r * 1103515245u + 12345u) >> 8) % (unsigned)mc.vocab_size);
    for (int j = 0; j < BASE; j++) o[j] = w[j];
    for (int j = 0; j < TGT; j++) o[BASE + j] = w[HIST + j];
    smp[i] = (effect_sample){w, HIST + TGT, o, BASE + TGT, TGT, 0};
  }
  effect_model em;
  effect_model_init(&em, m);
  effect_engine g = {.model = &em, .forward = effect_model_forward, .vocab = mc.vocab_size, .micro_batch = N};
  effect_file e;
  effect_file_alloc(&e, (size_t)N * TGT, N, 0, 0);
  t0 = wall_seconds();
  effect_compute(&g, smp, N, &e, NULL, NULL);   // one pass (includes allocating the activations)
  double rate = (double)em.forward_tokens / (wall_seconds() - t0);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("params=%zu effect_tok_s=%.1f init_s=%.1f rss_mb=%.0f\n", m->n_params, rate, init_s, ru.ru_maxrss / 1024.0);
  file_free(&effects_kind, &e);
  effect_engine_free(&g);
  effect_model_free(&em);
  model_free(m);
  free(with), free(without), free(smp);
  return 0;
}
