// annotation rules on hand-made effect arrays; AUROC against a brute-force pairwise count;
// precision / recall / F1 by hand.
#include "nqtest.h"

#include <math.h>

#include "annotate/annotate.h"

static annot_rule rule(annot_rule_kind k) {
  annot_rule r = {.kind = k, .threshold = 0.05, .log_ratio = 0.5, .top_fraction = 0.25,
                  .js_threshold = 0.1, .hi = 0.9, .lo = 0.1};
  return r;
}

static void test_threshold(void **st) {
  (void)st;
  float eff[6] = {0.06f, 0.05f, -0.2f, 0.5f, 0.0f, 0.051f};
  int64_t off[3] = {0, 4, 6};
  float w[6];
  uint8_t m[6];
  annot_rule r = rule(AR_THRESHOLD);
  annotate_apply(&r, NULL, NULL, eff, NULL, off, 2, w, m);
  const uint8_t em[6] = {1, 0, 0, 1, 0, 1};
  for (int i = 0; i < 6; i++) {
    assert_int_equal(m[i], em[i]);
    assert_true(w[i] == (em[i] ? 0.9f : 0.1f));
  }
  r.threshold = 0.1, r.hi = 1, r.lo = 0;  // configurable
  annotate_apply(&r, NULL, NULL, eff, NULL, off, 2, w, m);
  assert_true(m[3] == 1 && w[3] == 1.f && m[0] == 0 && w[0] == 0.f);
}

static void test_log_ratio(void **st) {
  (void)st;
  float lw[4] = {-1.0f, -2.0f, -0.1f, -5.f}, l0[4] = {-2.0f, -2.2f, -0.7f, -4.f};
  int64_t off[2] = {0, 4};
  float w[4];
  uint8_t m[4];
  annot_rule r = rule(AR_LOG_RATIO);
  annotate_apply(&r, lw, l0, NULL, NULL, off, 1, w, m);
  const uint8_t em[4] = {1, 0, 1, 0};
  for (int i = 0; i < 4; i++) assert_int_equal(m[i], em[i]);
  assert_true(w[0] == 0.9f && w[1] == 0.1f);
}

static void test_top_fraction(void **st) {
  (void)st;
  // sample 0: 8 tokens, 25% -> top 2 (tie at 0.3 broken by position)
  // sample 1: 3 tokens -> ceil(0.75) = 1; sample 2 empty
  float eff[11] = {0.1f, 0.3f, -0.1f, 0.3f, 0.3f, 0.0f, 0.2f, 0.f, 0.5f, 0.7f, 0.6f};
  int64_t off[4] = {0, 8, 11, 11};
  float w[11];
  uint8_t m[11];
  annot_rule r = rule(AR_TOP_FRACTION);
  annotate_apply(&r, NULL, NULL, eff, NULL, off, 3, w, m);
  const uint8_t em[11] = {0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0};
  for (int i = 0; i < 11; i++) {
    assert_int_equal(m[i], em[i]);
    assert_true(w[i] == (em[i] ? 0.9f : 0.1f));
  }
  r.top_fraction = 1.0;
  annotate_apply(&r, NULL, NULL, eff, NULL, off, 3, w, m);
  for (int i = 0; i < 11; i++) assert_int_equal(m[i], 1);
  r.top_fraction = 0.0;
  annotate_apply(&r, NULL, NULL, eff, NULL, off, 3, w, m);
  for (int i = 0; i < 11; i++) assert_int_equal(m[i], 0);
}

static void test_js(void **st) {
  (void)st;
  float js[5] = {0.2f, 0.0f, 0.6f, 0.0f, 0.0f};
  int64_t off[3] = {0, 3, 5};
  float w[5];
  uint8_t m[5];
  annot_rule r = rule(AR_JS);
  annotate_apply(&r, NULL, NULL, NULL, js, off, 2, w, m);
  // proportional to JS, mean 1 per sample
  assert_true(fabsf(w[0] - 0.75f) < 1e-6f && w[1] == 0.f && fabsf(w[2] - 2.25f) < 1e-6f);
  assert_true(w[3] == 1.f && w[4] == 1.f);  // all-zero sample: uniform
  const uint8_t em[5] = {1, 0, 1, 0, 0};
  for (int i = 0; i < 5; i++) assert_int_equal(m[i], em[i]);
}

static void test_parse(void **st) {
  (void)st;
  assert_int_equal(annot_rule_kind_parse("threshold"), AR_THRESHOLD);
  assert_int_equal(annot_rule_kind_parse("js"), AR_JS);
  assert_int_equal(annot_rule_kind_parse("top_fraction"), AR_TOP_FRACTION);
  assert_int_equal(annot_rule_kind_parse("log_ratio"), AR_LOG_RATIO);
  assert_int_equal(annot_rule_kind_parse("nope"), -1);
  assert_string_equal(annot_rule_kind_name(AR_LOG_RATIO), "log_ratio");
}

// P(score_pos > score_neg) + 0.5 P(tie), over all pairs
static double auroc_brute(const float *s, const uint8_t *y, const uint8_t *inc, size_t n) {
  double num = 0, pairs = 0;
  for (size_t i = 0; i < n; i++) {
    if ((inc && !inc[i]) || !y[i]) continue;
    for (size_t j = 0; j < n; j++) {
      if ((inc && !inc[j]) || y[j]) continue;
      pairs++;
      num += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
    }
  }
  return pairs ? num / pairs : NAN;
}

static void test_auroc(void **st) {
  (void)st;
  enum { N = 400 };
  float s[N];
  uint8_t y[N], inc[N];
  unsigned r = 99;
  for (int trial = 0; trial < 10; trial++) {
    for (int i = 0; i < N; i++) {
      r = r * 1664525u + 1013904223u;
      y[i] = (r >> 20) % 4 == 0;
      r = r * 1664525u + 1013904223u;
      // coarse values -> many ties; positives shifted up by a trial-dependent amount
      s[i] = (float)((r >> 16) % (trial + 3)) + (y[i] ? 0.5f * (float)(trial % 3) : 0.f);
      r = r * 1664525u + 1013904223u;
      inc[i] = (r >> 12) % 5 != 0;
    }
    double a = score_auroc(s, y, NULL, N), b = auroc_brute(s, y, NULL, N);
    assert_true(fabs(a - b) < 1e-12);
    a = score_auroc(s, y, inc, N), b = auroc_brute(s, y, inc, N);
    assert_true(fabs(a - b) < 1e-12);
  }
  // perfect, inverted, all-tied, undefined
  float s2[4] = {0.9f, 0.8f, 0.1f, 0.2f};
  uint8_t y2[4] = {1, 1, 0, 0}, y3[4] = {0, 0, 1, 1}, y4[4] = {1, 1, 1, 1};
  assert_true(score_auroc(s2, y2, NULL, 4) == 1.0);
  assert_true(score_auroc(s2, y3, NULL, 4) == 0.0);
  float s3[4] = {1, 1, 1, 1};
  assert_true(score_auroc(s3, y2, NULL, 4) == 0.5);
  assert_true(isnan(score_auroc(s2, y4, NULL, 4)));
}

static void test_prf(void **st) {
  (void)st;
  uint8_t pred[8] = {1, 1, 0, 0, 1, 0, 1, 0}, truth[8] = {1, 0, 1, 0, 1, 0, 0, 2};
  prf_score p;
  score_prf(pred, truth, NULL, 8, &p);
  assert_int_equal(p.tp, 2);
  assert_int_equal(p.fp, 2);
  assert_int_equal(p.fn, 2);  // truth value 2 counts as positive
  assert_int_equal(p.tn, 2);
  assert_true(fabs(p.precision - 0.5) < 1e-12 && fabs(p.recall - 0.5) < 1e-12);
  assert_true(fabs(p.f1 - 0.5) < 1e-12);
  uint8_t inc[8] = {1, 0, 1, 1, 1, 1, 0, 0};  // drop both false positives and one fn
  score_prf(pred, truth, inc, 8, &p);
  assert_true(p.precision == 1.0 && fabs(p.recall - 2.0 / 3.0) < 1e-12);
  assert_true(fabs(p.f1 - 0.8) < 1e-12);
  uint8_t none[8] = {0};
  score_prf(none, truth, NULL, 8, &p);
  assert_true(isnan(p.precision) && p.recall == 0.0 && p.f1 == 0.0);
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threshold), cmocka_unit_test(test_log_ratio),
      cmocka_unit_test(test_top_fraction), cmocka_unit_test(test_js),
      cmocka_unit_test(test_parse), cmocka_unit_test(test_auroc), cmocka_unit_test(test_prf),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
