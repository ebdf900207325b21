// Acceptance: effects from packed micro-batches of the real model core equal a naive
// recomputation (one sample per forward, log-softmax in double straight from the logits)
// within 1e-5, on a tiny random model with GQA.
#include "nqtest.h"

#include <math.h>

#include "effect/effect_model.h"
#include "base/util.h"

static double naive_logp(model *m, const int32_t *seq, int len, int t, int *rank) {
  model_acts *a = model_acts_create(m, len, len);
  model_forward(m, a, seq, &len, 1);
  int V = m->cfg.vocab_size;
  const float *z = a->logits + (size_t)(t - 1) * (size_t)V;
  double mx = z[0], s = 0;
  for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
  for (int v = 0; v < V; v++) s += exp(z[v] - mx);
  double lp = z[seq[t]] - mx - log(s);
  *rank = 1;
  for (int v = 0; v < V; v++) *rank += z[v] > z[seq[t]];
  model_acts_free(a);
  return lp;
}

static void test_model_effects_equal_naive(void **st) {
  (void)st;
  model_config mc = {.vocab_size = 97, .dim = 32, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                     .ffn_dim = 48, .max_seq_len = 64, .qkv_bias = 1, .tie_embeddings = 0,
                     .rope_theta = 10000.f, .norm_eps = 1e-5f, .init_std = 0.3f};
  model *m = model_create(&mc, 0);
  model_init(m, 42);
  enum { N = 5 };
  int32_t with[N][64], without[N][64];
  effect_sample s[N];
  size_t nt = 0;
  unsigned r = 11;
  for (int i = 0; i < N; i++) {
    int nh = 6 + 5 * i, n0 = 3, ntg = 2 + i;
    for (int j = 0; j < nh + ntg; j++) with[i][j] = (int32_t)(((r = r * 1103515245u + 12345u) >> 16) % 97);
    for (int j = 0; j < n0; j++) without[i][j] = with[i][j];  // same template head, no history
    for (int j = 0; j < ntg; j++) without[i][n0 + j] = with[i][nh + j];
    s[i] = (effect_sample){with[i], nh + ntg, without[i], n0 + ntg, ntg, 0};
    nt += (size_t)ntg;
  }
  effect_model em;
  effect_model_init(&em, m);
  effect_engine g = {.model = &em, .forward = effect_model_forward, .vocab = mc.vocab_size, .micro_batch = 3};
  effect_file e;
  effect_file_alloc(&e, nt, N, 0, 0);
  effect_compute(&g, s, N, &e, NULL, NULL);
  long all_tokens = 0;  // both passes
  for (int i = 0; i < N; i++) all_tokens += s[i].n_with + s[i].n_without;
  assert_int_equal(em.forward_tokens, all_tokens);
  double worst = 0;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < s[i].n_target; j++) {
      int rw, r0;
      double lw = naive_logp(m, s[i].with, s[i].n_with, s[i].n_with - s[i].n_target + j, &rw);
      double l0 = naive_logp(m, s[i].without, s[i].n_without, s[i].n_without - s[i].n_target + j, &r0);
      size_t t = (size_t)e.offsets[i] + (size_t)j;
      double d = fabs(e.effect[t] - (exp(lw) - exp(l0)));
      d = fmax(d, fabs(e.logp_with[t] - lw));
      d = fmax(d, fabs(e.logp_without[t] - l0));
      worst = fmax(worst, d);
      assert_int_equal(e.rank_with[t], rw);
      assert_int_equal(e.rank_without[t], r0);
    }
  if (worst >= 1e-5) fail_msg("packed effects differ from the naive forward by %g", worst);
  file_free(&effects_kind, &e);
  effect_engine_free(&g);
  effect_model_free(&em);
  model_free(m);
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_model_effects_equal_naive)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
