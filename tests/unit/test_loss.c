// NextQuill loss tests: every gradient against central finite differences of its forward
// (double losses, eps 1e-3), known values, and the alpha = 0, w = 1 reduction to plain CE.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nqtest.h"
#include "model/kernels.h"
#include "model/loss.h"

enum { T = 4, V = 7 };
static uint64_t rng_s = 7;
static float frand(void) {
  rng_s = rng_s * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((rng_s >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}
static void fill(float *x, size_t n, float s) {
  for (size_t i = 0; i < n; i++) x[i] = frand() * s;
}

typedef struct {
  float zh[T * V], z0[T * V], rh[T * V], r0[T * V], w[T];
  int32_t y[T];
  nq_loss_opts o;
} fx;

static void setup(fx *f) {
  fill(f->zh, T * V, 2.f);
  fill(f->z0, T * V, 2.f);
  fill(f->rh, T * V, 2.f);
  fill(f->r0, T * V, 2.f);
  for (int t = 0; t < T; t++) {
    f->w[t] = t % 2 ? 2.0f : 0.5f;
    f->y[t] = (t * 3 + 1) % V;
  }
}

static double L_of(fx *f) {
  return loss_nextquill(NULL, NULL, f->zh, f->z0, f->rh, f->r0, f->y, f->w, T, V, &f->o, 1.f).L;
}

static void fd_check(fx *f) {
  float dzh[T * V] = {0}, dz0[T * V] = {0};
  loss_nextquill(dzh, dz0, f->zh, f->z0, f->rh, f->r0, f->y, f->w, T, V, &f->o, 1.f);
  const float eps = 1e-3f;
  for (int which = 0; which < 2; which++) {
    float *x = which ? f->z0 : f->zh, *g = which ? dz0 : dzh;
    for (int i = 0; i < T * V; i++) {
      float s = x[i];
      x[i] = s + eps;
      double lp = L_of(f);
      x[i] = s - eps;
      double lm = L_of(f);
      x[i] = s;
      double fd = (lp - lm) / (2.0 * eps);
      if (fabs(fd - g[i]) > 2e-4 + 1e-2 * fabs(fd))
        fail_msg("%s[%d]: analytic %g vs finite difference %g", which ? "dz0" : "dzh", i, g[i], fd);
    }
  }
}

static void test_grad_diff_ce(void **st) {
  (void)st;
  fx f;
  setup(&f);
  f.o = (nq_loss_opts){.alpha = 0.7f};
  fd_check(&f);
  f.o.weight_pce = 1;
  fd_check(&f);
}

static void test_grad_effect_kl(void **st) {
  (void)st;
  fx f;
  setup(&f);
  f.o = (nq_loss_opts){.alpha = 1.3f, .effect_alignment = 1};
  fd_check(&f);
}

static void test_known_values(void **st) {
  (void)st;
  float z[T * V] = {0}, z0[T * V] = {0};
  int32_t y[T] = {0, 1, 2, 3};
  // uniform logits: CE = log V for every token
  assert_true(fabs(loss_wce(NULL, z, y, NULL, T, V, 1.f) - log((double)V)) < 1e-9);
  // weights that are all zero contribute nothing and give no NaN
  float w0[T] = {0};
  assert_true(loss_wce(NULL, z, y, w0, T, V, 1.f) == 0.0);
  // KL of an effect to itself is 0 (and its gradient is 0)
  fx f;
  setup(&f);
  float d[T * V] = {0};
  double kl = loss_effect_kl(d, NULL, f.zh, f.z0, f.zh, f.z0, T, V, 1.f);
  assert_true(fabs(kl) < 1e-9);
  for (int i = 0; i < T * V; i++) assert_true(fabs(d[i]) < 1e-6);
  // difference CE with z0 = 0 is the plain CE of zh
  double a = loss_diff_ce(NULL, NULL, f.zh, z0, f.y, NULL, T, V, 1.f);
  double b = loss_wce(NULL, f.zh, f.y, NULL, T, V, 1.f);
  assert_true(fabs(a - b) < 1e-9);
}

// alpha = 0, w = 1: L and dL/dzh equal the mean CE of crossentropy_forward/backward.
static void test_reduces_to_ce(void **st) {
  (void)st;
  fx f;
  setup(&f);
  float w1[T] = {1, 1, 1, 1}, loss[T], dzh[T * V] = {0}, dz0[T * V] = {0}, ref[T * V] = {0};
  f.o = (nq_loss_opts){.alpha = 0.f};
  nq_loss_val r = loss_nextquill(dzh, dz0, f.zh, f.z0, NULL, NULL, f.y, w1, T, V, &f.o, 1.f / T);
  crossentropy_forward(loss, f.zh, f.y, T, V);
  double m = 0;
  for (int t = 0; t < T; t++) m += loss[t];
  assert_true(fabs(r.L - m / T) < 1e-5);
  float wt[T] = {1.f / T / T, 1.f / T / T, 1.f / T / T, 1.f / T / T};
  crossentropy_backward(ref, f.zh, f.y, wt, T, V);
  for (int i = 0; i < T * V; i++) {
    assert_true(fabs(dzh[i] - ref[i]) < 1e-6);
    assert_true(dz0[i] == 0.0f);
  }
}

static void test_online_weights(void **st) {
  (void)st;
  float zh[T * V] = {0}, z0[T * V] = {0}, w[T];
  uint8_t mask[T];
  int32_t y[T] = {0, 1, 2, 3};
  zh[0 * V + 0] = 5.f;   // history raises p(y) a lot: preference token
  z0[1 * V + 1] = 5.f;   // history lowers p(y): not
  zh[2 * V + 2] = 0.05f; // tiny rise, below threshold
  int n = loss_online_weights(w, mask, zh, z0, y, T, V, 0.1f, 2.f, 0.5f);
  assert_int_equal(n, 1);
  assert_true(w[0] == 2.f && w[1] == 0.5f && w[2] == 0.5f && w[3] == 0.5f);
  assert_true(mask[0] == 1 && mask[1] == 0 && mask[2] == 0 && mask[3] == 0);
}

// Ratio weights by hand (V = 2, target y = 0 on every row; clip [0.1, 10]):
//   row 0: zh = (0, 0) -> p_h = 1/2; z0 = (0, ln 3) -> p_0 = 1/4: ratio 2, w = 2, mask 1
//   row 1: zh = (ln 99, 0) -> p_h = 0.99; z0 = (0, ln 99) -> p_0 = 0.01: ratio 99, w = 10 (clip)
//   row 2: zh and z0 of row 1 swapped: ratio 1/99, w = 0.1 (clip), mask 0
// and the weighted CE normalises by their sum: L = (2 ln 2 + 10 (-ln 0.99) + 0.1 ln 100) / 12.1
static void test_ratio_weights(void **st) {
  (void)st;
  const int v = 2, T = 3;
  float zh[6] = {0, 0, logf(99), 0, 0, logf(99)}, z0[6] = {0, logf(3), 0, logf(99), logf(99), 0};
  int32_t y[3] = {0, 0, 0};
  float w[3];
  uint8_t mask[3];
  assert_int_equal(loss_ratio_weights(w, mask, zh, z0, y, T, v, 0.1f, 10.f), 2);
  assert_float_equal(w[0], 2.0, 1e-5);
  assert_float_equal(w[1], 10.0, 0);
  assert_float_equal(w[2], 0.1f, 0);
  assert_true(mask[0] == 1 && mask[1] == 1 && mask[2] == 0);
  double L = loss_wce(NULL, zh, y, w, T, v, 1.f);
  assert_float_equal(L, (2 * log(2.0) - 10 * log(0.99) + 0.1 * log(100.0)) / 12.1, 1e-5);
  // the stored-effects form: log-probabilities in, the same clip; NaN (uncomputed) -> lo
  assert_float_equal(loss_ratio_weight(log(0.5), log(0.25), 0.1, 10), 2.0, 1e-6);
  assert_float_equal(loss_ratio_weight(0.0, -800.0, 0.1, 10), 10.0, 0);   // exp(800) would overflow
  assert_float_equal(loss_ratio_weight(NAN, 0.0, 0.5, 10), 0.5, 0);
}

static void bad_target(void *arg) {
  (void)arg;
  float z[V] = {0};
  int32_t y = V;
  loss_wce(NULL, z, &y, NULL, 1, V, 1.f);
}
static void test_bad_target(void **st) {
  (void)st;
  expect_fatal(bad_target, NULL, "outside vocabulary");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grad_diff_ce),   cmocka_unit_test(test_grad_effect_kl),
      cmocka_unit_test(test_known_values),   cmocka_unit_test(test_reduces_to_ce),
      cmocka_unit_test(test_online_weights), cmocka_unit_test(test_bad_target),
      cmocka_unit_test(test_ratio_weights),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
