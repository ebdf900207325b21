// effect kernels: log-probabilities, ranks (ties), JS divergence against an independent
// entropy formula, and per-sample summaries.
#include "nqtest.h"

#include <math.h>

#include "effect/effect.h"

static double softmax_d(const float *z, int V, double *p) {
  double m = z[0], s = 0;
  for (int v = 1; v < V; v++) m = z[v] > m ? z[v] : m;
  for (int v = 0; v < V; v++) s += p[v] = exp((double)z[v] - m);
  for (int v = 0; v < V; v++) p[v] /= s;
  return s;
}

static double entropy(const double *p, int V) {
  double h = 0;
  for (int v = 0; v < V; v++)
    if (p[v] > 0) h -= p[v] * log(p[v]);
  return h;
}

static void test_logp_rank(void **st) {
  (void)st;
  float z[5] = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f};
  double p[5];
  softmax_d(z, 5, p);
  for (int t = 0; t < 5; t++) assert_true(fabs(effect_logp(z, 5, t) - log(p[t])) < 1e-12);
  // rank = 1 + number strictly larger: ties share the better rank
  assert_int_equal(effect_rank(z, 5, 1), 1);
  assert_int_equal(effect_rank(z, 5, 3), 1);
  assert_int_equal(effect_rank(z, 5, 0), 3);
  assert_int_equal(effect_rank(z, 5, 4), 4);
  assert_int_equal(effect_rank(z, 5, 2), 5);
  // large logits do not overflow
  float big[3] = {1000.f, 999.f, -1000.f};
  assert_true(fabs(effect_logp(big, 3, 0) + log1p(exp(-1.0))) < 1e-9);
}

static void test_js(void **st) {
  (void)st;
  enum { V = 50 };
  float a[V], b[V];
  unsigned s = 7;
  for (int trial = 0; trial < 20; trial++) {
    for (int v = 0; v < V; v++) {
      s = s * 1103515245u + 12345u;
      a[v] = (float)((s >> 8) % 1000) / 100.f - 5.f;
      s = s * 1103515245u + 12345u;
      b[v] = (float)((s >> 8) % 1000) / 100.f * (float)(trial % 4) - 5.f;
    }
    double p[V], q[V], m[V];
    softmax_d(a, V, p);
    softmax_d(b, V, q);
    for (int v = 0; v < V; v++) m[v] = 0.5 * (p[v] + q[v]);
    // JS = H(M) - (H(P) + H(Q)) / 2
    double ref = entropy(m, V) - 0.5 * (entropy(p, V) + entropy(q, V));
    double js = effect_js(a, b, V);
    assert_true(fabs(js - ref) < 1e-10);
    assert_true(js >= 0 && js <= log(2.0) + 1e-12);
    assert_true(fabs(effect_js(b, a, V) - js) < 1e-12);  // symmetric
    assert_true(effect_js(a, a, V) < 1e-15);
  }
  // nearly disjoint one-hot distributions approach ln 2
  float x[2] = {100.f, -100.f}, y[2] = {-100.f, 100.f};
  assert_true(fabs(effect_js(x, y, 2) - log(2.0)) < 1e-6);
}

static void test_token_record(void **st) {
  (void)st;
  float zw[4] = {2.f, 0.f, 0.f, 0.f}, z0[4] = {0.f, 0.f, 0.f, 0.f};
  effect_tok e;
  effect_token(zw, z0, 4, 0, &e);
  double pw = exp(2.0) / (exp(2.0) + 3), p0 = 0.25;
  assert_true(fabs(e.logp_with - log(pw)) < 1e-6);
  assert_true(fabs(e.logp_without - log(p0)) < 1e-6);
  assert_true(fabs(e.effect - (pw - p0)) < 1e-6);
  assert_int_equal(e.rank_with, 1);
  assert_int_equal(e.rank_without, 1);
  effect_token(zw, z0, 4, 2, &e);
  assert_int_equal(e.rank_with, 2);
  assert_true(e.effect < 0);
  assert_true(e.js > 0);
}

// the fused record equals the separate kernels on random rows
static void test_token_matches_kernels(void **st) {
  (void)st;
  enum { V = 300 };
  float a[V], b[V];
  unsigned s = 3;
  for (int trial = 0; trial < 10; trial++) {
    for (int v = 0; v < V; v++) {
      s = s * 1103515245u + 12345u;
      a[v] = (float)((s >> 8) % 2000) / 100.f - 10.f;
      s = s * 1103515245u + 12345u;
      b[v] = (float)((s >> 8) % 2000) / 100.f - 10.f;
    }
    int y = (trial * 37) % V;
    effect_tok e;
    effect_token(a, b, V, y, &e);
    assert_true(fabs(e.logp_with - effect_logp(a, V, y)) < 1e-6);
    assert_true(fabs(e.logp_without - effect_logp(b, V, y)) < 1e-6);
    assert_true(fabs(e.js - effect_js(a, b, V)) < 1e-7);
    assert_true(fabs(e.effect - (exp(effect_logp(a, V, y)) - exp(effect_logp(b, V, y)))) < 1e-7);
  }
}

static void test_sample_summary(void **st) {
  (void)st;
  float eff[6] = {0.1f, 0.0f, 0.2f, -0.5f, 0.06f, 0.04f};
  int64_t off[4] = {0, 3, 3, 6};  // middle sample is empty
  float mean[3], share[3];
  effect_sample_summary(eff, off, 3, 0.05, mean, share);
  assert_true(fabs(mean[0] - 0.1f) < 1e-6);
  assert_true(fabs(share[0] - 2.f / 3.f) < 1e-6);
  assert_true(mean[1] == 0.f && share[1] == 0.f);
  assert_true(fabs(mean[2] - (-0.4f / 3.f)) < 1e-6);
  assert_true(fabs(share[2] - 1.f / 3.f) < 1e-6);
}

static void bad_target(void *arg) {
  (void)arg;
  float z[3] = {0, 0, 0};
  effect_logp(z, 3, 3);
}

static void test_bad_target(void **st) {
  (void)st;
  expect_fatal(bad_target, NULL, "outside vocabulary");
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_logp_rank),     cmocka_unit_test(test_js),
      cmocka_unit_test(test_token_record), cmocka_unit_test(test_token_matches_kernels),  cmocka_unit_test(test_sample_summary),
      cmocka_unit_test(test_bad_target),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
