// effect passes over packed micro-batches equal a naive one-sample-at-a-time computation
// (a toy causal "model" stands in for the model core: logits depend only on the prefix
// of the sample's own sequence, so any cross-sample leak or off-by-one changes them).
#include "nqtest.h"

#include <math.h>

#include "effect/effect.h"
#include "effect/effect_engine.h"
#include "base/util.h"

enum { V = 11 };
static int calls;

static void toy_forward(void *model, const int32_t *tok, const int *lens, int B, const int64_t *pos,
                        int n_pos, float *logits) {
  (void)model;
  calls++;
  for (int i = 0; i < n_pos; i++) {
    // find the sequence holding pos[i]
    int64_t start = 0;
    int b = 0;
    while (b < B && pos[i] >= start + lens[b]) start += lens[b++];
    assert_true(b < B);
    double h = 0;
    for (int64_t p = start; p <= pos[i]; p++) h = h * 0.7 + tok[p] * 0.31;
    for (int v = 0; v < V; v++)
      logits[(size_t)i * V + v] = (float)(3.0 * sin(v * 0.37 + h + 0.05 * (double)(pos[i] - start)));
  }
}

// logits predicting the token after position p of one sequence, computed directly
static void toy_row(const int32_t *seq, int p, float *z) {
  double h = 0;
  for (int q = 0; q <= p; q++) h = h * 0.7 + seq[q] * 0.31;
  for (int v = 0; v < V; v++) z[v] = (float)(3.0 * sin(v * 0.37 + h + 0.05 * p));
}

static void test_batched_equals_naive(void **st) {
  (void)st;
  enum { N = 7 };
  int32_t with[N][40], without[N][40];
  effect_sample s[N];
  size_t nt = 0;
  unsigned r = 5;
  for (int i = 0; i < N; i++) {
    int nh = 3 + i * 2, n0 = 2 + (i % 3), ntg = 1 + (i * 5) % 7;
    for (int j = 0; j < nh + ntg; j++) with[i][j] = (int32_t)((r = r * 1103515245u + 12345u) >> 16) % V;
    for (int j = 0; j < n0; j++) without[i][j] = (int32_t)((r = r * 1103515245u + 12345u) >> 16) % V;
    for (int j = 0; j < ntg; j++) without[i][n0 + j] = with[i][nh + j];
    s[i] = (effect_sample){with[i], nh + ntg, without[i], n0 + ntg, ntg, 0};
    nt += (size_t)ntg;
  }
  effect_file a, b;
  effect_file_alloc(&a, nt, N, 0, 0);
  effect_file_alloc(&b, nt, N, 0, 0);
  effect_engine g = {.model = NULL, .forward = toy_forward, .vocab = V, .micro_batch = 3};
  calls = 0;
  effect_compute(&g, s, N, &a, NULL, NULL);
  assert_int_equal(calls, 2 * 3);  // ceil(7 / 3) micro-batches, two passes each
  g.micro_batch = 1;
  effect_compute(&g, s, N, &b, NULL, NULL);
  g.micro_batch = 100, g.max_tokens = 30;  // token cap splits batches too
  effect_file c;
  effect_file_alloc(&c, nt, N, 0, 0);
  effect_compute(&g, s, N, &c, NULL, NULL);
  for (size_t t = 0; t < nt; t++) {
    assert_true(a.effect[t] == b.effect[t] && a.js[t] == b.js[t] && c.effect[t] == b.effect[t]);
    assert_true(a.logp_with[t] == b.logp_with[t] && a.rank_without[t] == b.rank_without[t]);
  }
  // and both equal the record computed directly from the rows
  for (int i = 0; i < N; i++)
    for (int j = 0; j < s[i].n_target; j++) {
      float zw[V], z0[V];
      toy_row(s[i].with, s[i].n_with - s[i].n_target + j - 1, zw);
      toy_row(s[i].without, s[i].n_without - s[i].n_target + j - 1, z0);
      effect_tok e;
      effect_token(zw, z0, V, s[i].with[s[i].n_with - s[i].n_target + j], &e);
      size_t t = (size_t)a.offsets[i] + (size_t)j;
      assert_true(fabsf(e.effect - a.effect[t]) < 1e-6f);
      assert_true(fabsf(e.logp_without - a.logp_without[t]) < 1e-6f);
      assert_int_equal(e.rank_with, a.rank_with[t]);
    }
  assert_int_equal(a.offsets[N], (int64_t)nt);
  // a skipped sample (split not chosen): NaN tokens, not forwarded, the others unchanged
  s[2].skip = 1;
  g.micro_batch = 3, g.max_tokens = 0;
  effect_compute(&g, s, N, &c, NULL, NULL);
  assert_int_equal(c.sample_computed[2], 0);
  assert_int_equal(c.sample_computed[3], 1);
  for (size_t t = 0; t < nt; t++) {
    int in2 = (int64_t)t >= c.offsets[2] && (int64_t)t < c.offsets[3];
    if (in2) assert_true(isnan(c.effect[t]) && c.rank_with[t] == 0);
    else assert_true(c.effect[t] == a.effect[t] && c.js[t] == a.js[t]);
  }
  file_free(&effects_kind, &a), file_free(&effects_kind, &b), file_free(&effects_kind, &c);
  effect_engine_free(&g);
}

static void mismatched_targets(void *arg) {
  (void)arg;
  int32_t w[4] = {1, 2, 3, 4}, o[3] = {1, 3, 5};
  effect_sample s = {w, 4, o, 3, 2, 0};
  effect_file e;
  effect_file_alloc(&e, 2, 1, 0, 0);
  effect_engine g = {.model = NULL, .forward = toy_forward, .vocab = V, .micro_batch = 4};
  effect_compute(&g, &s, 1, &e, NULL, NULL);
}

static void test_mismatched_targets(void **st) {
  (void)st;
  expect_fatal(mismatched_targets, NULL, "differs between the two prompts");
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batched_equals_naive),
      cmocka_unit_test(test_mismatched_targets),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
