// nq-annotate end to end on hand-made effect files: outputs aligned with the shard, rule
// recorded, summary scores against truth, and stale / foreign inputs refused.
#include "nqtest.h"

#include <jansson.h>
#include <math.h>

#include "annotate/annotate_run.h"
#include "files/effects_file.h"
#include "h5/h5io.h"
#include "base/util.h"
#include "effect/effect_summary.h"
#include "h5/provenance.h"

static char *dir, *shard, *effects, *annots;

// 2 samples (users "u1", "u2"), 6 tokens, truth on tokens 0, 3, 4 (4 rare)
static int second_computed = 1;

static void write_effects(const char *name) {
  effect_file e;
  effect_file_alloc(&e, 6, 2, 1, 1);
  const float eff[6] = {0.3f, 0.0f, -0.1f, 0.2f, 0.01f, 0.04f};
  for (int t = 0; t < 6; t++) {
    e.effect[t] = eff[t];
    e.logp_with[t] = -1.f;
    e.logp_without[t] = -1.f - eff[t];
    e.js[t] = fabsf(eff[t]);
    e.rank_with[t] = e.rank_without[t] = 1;
  }
  e.truth[0] = e.truth[3] = e.truth[4] = 1;
  e.truth_rare[4] = 1;
  e.truth_decisive = xcalloc(6, 1);   // decisive: tokens 0 and 4
  e.truth_decisive[0] = e.truth_decisive[4] = 1;
  e.offsets[1] = 2, e.offsets[2] = 6;
  e.sample_id[0] = xstrdup("s0"), e.sample_id[1] = xstrdup("s1");
  e.sample_user[0] = xstrdup("u1"), e.sample_user[1] = xstrdup("u2");
  e.shard = xstrdup(shard);
  e.shard_digest = xstrdup(file_digest(shard));
  e.checkpoint = xstrdup("ckpt.h5");
  e.checkpoint_digest = xstrdup("abc");
  e.sample_computed[0] = 1, e.sample_computed[1] = (uint8_t)second_computed;
  effect_summarize(&e, 0.05);
  char *p = path_join(effects, name);
  const char *in[1] = {shard};
  h5_provenance pv = {"effect", "x = 1;", 1, 1, in, NULL, NULL};
  file_write(&effects_kind, p, &e, &pv);
  free(p);
  file_free(&effects_kind, &e);
}

static annotate_opts opts(void) {
  annotate_opts o = {0};
  o.effects_dir = effects;
  o.shards_dir = dir;
  o.out_dir = annots;
  o.rule = (annot_rule){AR_THRESHOLD, 0.05, 0.5, 0.1, 0.05, 0.9, 0.1};
  o.hist_bins = 4;
  o.config_text = "annotate = {};";
  o.mpi_size = 1;
  return o;
}

static int setup(void **st) {
  (void)st;
  dir = nqtest_tmpdir();
  shard = path_join(dir, "shard-00000.h5");
  effects = path_join(dir, "effects");
  annots = path_join(dir, "annotations");
  nqtest_write(shard, "pretend shard bytes");
  make_dirs(effects);
  write_effects("shard-00000.h5");
  return 0;
}

static int teardown(void **st) {
  (void)st;
  nqtest_rmrf(dir);
  free(dir), free(shard), free(effects), free(annots);
  return 0;
}

static void test_effect_file_roundtrip(void **st) {
  (void)st;
  char *p = path_join(effects, "shard-00000.h5");
  effect_file e;
  file_read(&effects_kind, p, &e);
  hid_t f = h5_open_read(p);
  assert_int_equal(e.n_tokens, 6);
  assert_int_equal(e.n_samples, 2);
  assert_true(e.effect[3] == 0.2f && e.truth[3] == 1 && e.truth_rare[4] == 1);
  assert_string_equal(e.sample_user[1], "u2");
  assert_null(e.sample_mean_effect);   // summaries are for h5py readers: not read back
  size_t nu, ns;
  float *mean = h5_read_f32(f, "samples/mean_effect", &ns);
  float *sshare = h5_read_f32(f, "samples/share_above", &ns);
  assert_true(fabsf(mean[0] - 0.15f) < 1e-6f);
  assert_true(fabsf(sshare[1] - 0.25f) < 1e-6f);
  free(mean), free(sshare);
  char **users = h5_read_strings(f, "users/user", &nu);
  float *share = h5_read_f32(f, "users/share_above", &nu);
  assert_int_equal(nu, 2);
  assert_string_equal(users[0], "u1");
  assert_true(fabsf(share[0] - 0.5f) < 1e-6f);
  h5_free_strings(users, nu);
  free(share);
  h5_close(f);
  file_free(&effects_kind, &e);
  free(p);
}

static void test_annotate_outputs(void **st) {
  (void)st;
  annotate_opts o = opts();
  annotate_effects(&o);
  char *p = path_join(annots, "shard-00000.h5");
  hid_t f = h5_open_read(p);
  size_t n;
  float *w = h5_read_f32(f, "weight", &n);
  assert_int_equal(n, 6);
  uint8_t *m = h5_read_u8(f, "mask", &n);
  const uint8_t em[6] = {1, 0, 0, 1, 0, 0};
  for (int i = 0; i < 6; i++) {
    assert_int_equal(m[i], em[i]);
    assert_true(w[i] == (em[i] ? 0.9f : 0.1f));
  }
  char *rule = h5_attr_get_str(f, "rule");
  assert_string_equal(rule, "threshold");
  assert_true(h5_attr_get_f64(f, "threshold") == 0.05);
  char *sd = h5_attr_get_str(f, "shard_digest");
  assert_string_equal(sd, file_digest(shard));
  free(w), free(m), free(rule), free(sd);
  h5_close(f);
  free(p);

  // summary: share, truth scores (tp = 2 of 3 truth, no false positives), histogram
  char *sp = path_join(annots, "summary.json");
  json_error_t err;
  json_t *js = json_load_file(sp, 0, &err);
  assert_non_null(js);
  assert_int_equal(json_integer_value(json_object_get(js, "tokens")), 6);
  assert_int_equal(json_integer_value(json_object_get(js, "preference_tokens")), 2);
  json_t *ov = json_object_get(json_object_get(js, "truth"), "overall");
  assert_true(fabs(json_real_value(json_object_get(ov, "precision")) - 1.0) < 1e-7);
  assert_true(fabs(json_real_value(json_object_get(ov, "recall")) - 2.0 / 3.0) < 1e-7);
  // AUROC: positives {0.3, 0.2, 0.01} vs negatives {0, -0.1, 0.04}: 8 of 9 pairs
  assert_true(fabs(json_real_value(json_object_get(ov, "auroc_effect")) - 8.0 / 9.0) < 1e-6);
  json_t *rare = json_object_get(json_object_get(js, "truth"), "rare");
  assert_true(fabs(json_real_value(json_object_get(rare, "auroc_effect")) - 2.0 / 3.0) < 1e-6);
  assert_true(fabs(json_real_value(json_object_get(rare, "recall"))) < 1e-9);
  // decisive {0, 4} against the mask {0, 3}: tp 1, fp 1, fn 1; AUROC: {0.3, 0.01} vs
  // {0, -0.1, 0.2, 0.04}: 0.3 beats 4, 0.01 beats 2, of 8 pairs
  json_t *dec = json_object_get(json_object_get(js, "truth"), "decisive");
  assert_non_null(dec);
  assert_true(fabs(json_real_value(json_object_get(dec, "precision")) - 0.5) < 1e-7);
  assert_true(fabs(json_real_value(json_object_get(dec, "recall")) - 0.5) < 1e-7);
  assert_true(fabs(json_real_value(json_object_get(dec, "auroc_effect")) - 6.0 / 8.0) < 1e-6);
  json_t *u1 = json_object_get(json_object_get(js, "per_user"), "u1");
  assert_true(fabs(json_real_value(json_object_get(u1, "share")) - 0.5) < 1e-7);
  json_t *counts = json_object_get(json_object_get(js, "effect_histogram"), "counts");
  assert_int_equal(json_array_size(counts), 4);
  assert_int_equal(json_integer_value(json_array_get(counts, 1)), 1);  // [-0.5, 0): -0.1
  assert_int_equal(json_integer_value(json_array_get(counts, 2)), 5);
  json_decref(js);
  free(sp);

  // another rule, same effects: recorded in the output
  o.rule.kind = AR_TOP_FRACTION;
  o.rule.top_fraction = 0.5;
  annotate_effects(&o);
  p = path_join(annots, "shard-00000.h5");
  f = h5_open_read(p);
  rule = h5_attr_get_str(f, "rule");
  assert_string_equal(rule, "top_fraction");
  m = h5_read_u8(f, "mask", &n);
  const uint8_t em2[6] = {1, 0, 0, 1, 0, 1};
  for (int i = 0; i < 6; i++) assert_int_equal(m[i], em2[i]);
  free(rule), free(m);
  h5_close(f);
  free(p);
}

static void run_default(void *arg) {
  (void)arg;
  annotate_opts o = opts();
  annotate_effects(&o);
}

static void test_stale_shard_refused(void **st) {
  (void)st;
  nqtest_write(shard, "the shard was rewritten since nq-effect ran");
  expect_fatal(run_default, NULL, "rerun nq-effect");
  nqtest_write(shard, "pretend shard bytes");  // the digest cache is per process (the child's)
}

static void test_not_effect_file_refused(void **st) {
  (void)st;
  char *p = path_join(effects, "shard-00009.h5");
  h5_out o;
  h5_out_create(&o, p);
  h5_provenance pv = {"shard", "x = 1;", 1, 0, NULL, NULL, NULL};
  h5_write_provenance(o.file, &pv);
  h5_out_commit(&o);
  expect_fatal(run_default, NULL, "written by nq-shard, not nq-effect");
  remove(p);
  free(p);
}

// samples of splits nq-effect skipped: weight 1, mask 0, left out of shares and scores
static void test_uncomputed_samples(void **st) {
  (void)st;
  char *se = effects, *sa = annots;
  effects = path_join(dir, "effects-partial");
  annots = path_join(dir, "annotations-partial");
  make_dirs(effects);
  second_computed = 0;
  write_effects("shard-00000.h5");
  second_computed = 1;
  annotate_opts o = opts();
  annotate_effects(&o);
  char *p = path_join(annots, "shard-00000.h5");
  hid_t f = h5_open_read(p);
  size_t n;
  float *w = h5_read_f32(f, "weight", &n);
  uint8_t *m = h5_read_u8(f, "mask", &n);
  assert_true(w[0] == 0.9f && m[0] == 1);
  for (int i = 2; i < 6; i++) assert_true(w[i] == 1.f && m[i] == 0);
  free(w), free(m), free(p);
  h5_close(f);
  char *sp = path_join(annots, "summary.json");
  json_error_t err;
  json_t *js = json_load_file(sp, 0, &err);
  assert_non_null(js);
  assert_int_equal(json_integer_value(json_object_get(js, "tokens")), 2);
  assert_null(json_object_get(json_object_get(js, "per_user"), "u2"));
  json_t *ov = json_object_get(json_object_get(js, "truth"), "overall");
  assert_int_equal(json_integer_value(json_object_get(ov, "positives")), 1);
  json_decref(js);
  free(sp), free(effects), free(annots);
  effects = se, annots = sa;
}

static void test_missing_dir(void **st) {
  (void)st;
  char *saved = effects;
  effects = path_join(dir, "nothing-here");
  expect_fatal(run_default, NULL, "run nq-effect first");
  free(effects);
  effects = saved;
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_effect_file_roundtrip), cmocka_unit_test(test_annotate_outputs),
      cmocka_unit_test(test_stale_shard_refused), cmocka_unit_test(test_not_effect_file_refused),
      cmocka_unit_test(test_missing_dir), cmocka_unit_test(test_uncomputed_samples),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
