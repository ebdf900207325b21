// Effect-estimation speed: tokens/s of effect_compute (both passes counted: every token of
// the with-history and the without-history sequences) against the model's forward-only
// tokens/s on the same packed batches, for the default pipeline's small model (random
// weights; speed does not depend on them). Prints one "key value" line per figure.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "effect/effect_model.h"
#include "base/log.h"
#include "base/util.h"

//   bench_effect [reps [dim layers heads kv_heads ffn vocab]]   (default: 3, d192 L6 ... V2048)
int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 3;
  int v[6] = {192, 6, 6, 2, 512, 2048};
  if (argc == 8)
    for (int i = 0; i < 6; i++) v[i] = atoi(argv[i + 2]);
  else if (argc > 2) {
    fprintf(stderr, "usage: %s [reps [dim layers heads kv_heads ffn vocab]]\n", argv[0]);
    return 2;
  }
  model_config mc = {.vocab_size = v[5], .dim = v[0], .n_layers = v[1], .n_heads = v[2],
                     .n_kv_heads = v[3], .ffn_dim = v[4], .max_seq_len = 512, .qkv_bias = 0,
                     .tie_embeddings = 1, .rope_theta = 10000.f, .norm_eps = 1e-5f, .init_std = 0.02f};
  model *m = model_create(&mc, 0);
  model_init(m, 1);
  enum { N = 16, HIST = 224, BASE = 32, TGT = 64 };
  int32_t *with = xmalloc((size_t)N * (HIST + TGT) * sizeof *with);
  int32_t *without = xmalloc((size_t)N * (BASE + TGT) * sizeof *without);
  effect_sample s[N];
  unsigned r = 3;
  for (int i = 0; i < N; i++) {
    int32_t *w = with + (size_t)i * (HIST + TGT), *o = without + (size_t)i * (BASE + TGT);
    for (int j = 0; j < HIST + TGT; j++) w[j] = (int32_t)(((r = r * 1103515245u + 12345u) >> 16) % (unsigned)mc.vocab_size);
    for (int j = 0; j < BASE; j++) o[j] = w[j];
    for (int j = 0; j < TGT; j++) o[BASE + j] = w[HIST + j];
    s[i] = (effect_sample){w, HIST + TGT, o, BASE + TGT, TGT, 0};
  }
  effect_model em;
  effect_model_init(&em, m);
  effect_engine g = {.model = &em, .forward = effect_model_forward, .vocab = mc.vocab_size, .micro_batch = 8};
  effect_file e;
  effect_file_alloc(&e, (size_t)N * TGT, N, 0, 0);
  // alternate one effect repetition and one forward-only repetition (the same packed batches:
  // 8 samples, then their without-history twins), so load on a shared machine hits both alike;
  // the ratio printed is the median of the per-repetition ratios
  double best_eff = 0, best_fwd = 0, *ratio = xmalloc((size_t)reps * sizeof *ratio);
  int lens[8];
  for (int k = -1; k < reps; k++) {  // k = -1: warm-up (allocates and touches the activations)
    long before = em.forward_tokens;
    double t = wall_seconds();
    effect_compute(&g, s, N, &e, NULL, NULL);
    double eff = (double)(em.forward_tokens - before) / (wall_seconds() - t);
    long toks = 0;
    t = wall_seconds();
    for (int pass = 0; pass < 2; pass++)
      for (int a = 0; a < N; a += 8) {
        int32_t *base = pass ? without + (size_t)a * (BASE + TGT) : with + (size_t)a * (HIST + TGT);
        for (int b = 0; b < 8; b++) lens[b] = pass ? BASE + TGT : HIST + TGT, toks += lens[b];
        model_forward(m, em.acts, base, lens, 8);
      }
    double fwd = (double)toks / (wall_seconds() - t);
    if (k < 0) continue;
    best_eff = fmax(best_eff, eff), best_fwd = fmax(best_fwd, fwd);
    ratio[k] = eff / fwd;
  }
  for (int i = 1; i < reps; i++)  // insertion sort: reps is small
    for (int j = i; j > 0 && ratio[j - 1] > ratio[j]; j--) {
      double x = ratio[j];
      ratio[j] = ratio[j - 1], ratio[j - 1] = x;
    }
  double median = reps % 2 ? ratio[reps / 2] : 0.5 * (ratio[reps / 2 - 1] + ratio[reps / 2]);
  free(ratio);
  printf("effect_tokens_per_s %.0f\n", best_eff);
  printf("forward_tokens_per_s %.0f\n", best_fwd);
  printf("effect_over_forward %.3f\n", median);
  file_free(&effects_kind, &e);
  effect_engine_free(&g);
  effect_model_free(&em);
  model_free(m);
  free(with), free(without);
  return 0;
}
