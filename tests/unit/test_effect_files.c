// nq-effect's output files: reference checkpoint lookup, the "is this output current" check
// that lets an interrupted run recompute only missing or stale shards, and the cheap
// rewrite of the summaries when only effect.threshold changed.
#include "nqtest.h"

#include "effect/effect_files.h"
#include "formats/effects_file.h"
#include "formats/h5io.h"
#include "base/util.h"
#include "formats/provenance.h"

static char *dir;

static int setup(void **st) { (void)st; dir = nqtest_tmpdir(); return 0; }
static int teardown(void **st) { (void)st; nqtest_rmrf(dir); free(dir); return 0; }

static void touch(const char *sub) {
  char *p = path_join(dir, sub);
  nqtest_write(p, "x");
  free(p);
}

static void test_find_checkpoint(void **st) {
  (void)st;
  char *run = path_join(dir, "context_sft");
  make_dirs(run);
  touch("context_sft/ckpt-000009.h5");
  touch("context_sft/ckpt-10.h5");
  touch("context_sft/ckpt-10.h5.tmp");
  touch("context_sft/ckpt-final.h5");   // not a name nq-train writes: ignored
  touch("context_sft/notes.txt");
  // a run still going (or stopped): its newest step, numeric, not lexical
  char *c = effect_find_checkpoint("", dir, "context_sft");
  assert_true(strstr(c, "context_sft/ckpt-10.h5") && !strstr(c, ".tmp"));
  free(c);
  // a finished run: the final model nq-train writes (train/train.c), before any step
  touch("context_sft/model.h5");
  c = effect_find_checkpoint(NULL, dir, "context_sft");
  assert_non_null(strstr(c, "context_sft/model.h5"));
  free(c);
  char *explicit_path = path_join(dir, "context_sft/ckpt-000009.h5");
  c = effect_find_checkpoint(explicit_path, dir, "ignored");
  assert_string_equal(c, explicit_path);
  free(c), free(explicit_path), free(run);
}

static void test_find_final_model_only(void **st) {
  (void)st;
  char *run = path_join(dir, "lm_only");
  make_dirs(run);
  touch("lm_only/model.h5");   // checkpoints pruned or never kept: the final model alone
  char *c = effect_find_checkpoint("", dir, "lm_only");
  assert_non_null(strstr(c, "lm_only/model.h5"));
  free(c), free(run);
}

static void no_run(void *arg) { effect_find_checkpoint("", (const char *)arg, "context_sft_nope"); }
static void no_file(void *arg) { (void)arg; effect_find_checkpoint("/nonexistent/ckpt.h5", "/", "x"); }

static void test_checkpoint_errors(void **st) {
  (void)st;
  expect_fatal(no_run, dir, "run nq-train");
  char *empty = path_join(dir, "context_sft_nope");
  make_dirs(empty);
  expect_fatal(no_run, dir, "has no checkpoint");
  expect_fatal(no_file, NULL, "does not exist");
  free(empty);
}

// A one-shard effect file: 2 samples of users "u" and "v", effects {0.1, 0.3 | 0.2}.
static void write_effects(const char *p, double threshold) {
  effect_file e;
  effect_file_alloc(&e, 3, 2, 0, 0);
  e.offsets[1] = 2, e.offsets[2] = 3;
  e.effect[0] = 0.1f, e.effect[1] = 0.3f, e.effect[2] = 0.2f;
  e.sample_id[0] = xstrdup("a"), e.sample_user[0] = xstrdup("u");
  e.sample_id[1] = xstrdup("b"), e.sample_user[1] = xstrdup("v");
  e.shard = xstrdup("shard.h5"), e.shard_digest = xstrdup("s1");
  e.checkpoint = xstrdup("ck.h5"), e.checkpoint_digest = xstrdup("c1");
  e.sample_computed[0] = e.sample_computed[1] = 1;
  h5_provenance pv = {"effect", "x = 1;", 1, 0, NULL, NULL};
  effect_output_write(p, &e, threshold, &pv);
  effect_file_free(&e);
}

static void test_output_state(void **st) {
  (void)st;
  char *p = path_join(dir, "train-00000.h5");
  const char *why;
  assert_int_equal(effect_output_state(p, "s1", "c1", 0.05, &why), EFFECT_OUT_STALE);
  assert_string_equal(why, "missing");
  write_effects(p, 0.05);
  assert_int_equal(effect_output_state(p, "s1", "c1", 0.05, &why), EFFECT_OUT_CURRENT);
  assert_null(why);
  assert_int_equal(effect_output_state(p, "s2", "c1", 0.05, &why), EFFECT_OUT_STALE);
  assert_string_equal(why, "shard changed");
  assert_int_equal(effect_output_state(p, "s1", "c2", 0.05, &why), EFFECT_OUT_STALE);
  assert_string_equal(why, "reference checkpoint changed");
  // another threshold changes only the summaries: no recomputation of the effects
  assert_int_equal(effect_output_state(p, "s1", "c1", 0.1, &why), EFFECT_OUT_SUMMARIES);
  assert_string_equal(why, "effect.threshold changed");
  assert_int_equal(effect_output_state(p, "s2", "c1", 0.1, &why), EFFECT_OUT_STALE);
  free(p);
}

static float *read_f32(const char *p, const char *name, size_t *n) {
  hid_t f = h5_open_read(p);
  float *v = h5_read_f32(f, name, n);
  h5_close(f);
  return v;
}

// A changed threshold rewrites the summaries from the stored effects: the file then is
// current for the new threshold, its effects unchanged, its summaries those of a fresh run.
static void test_resummarize(void **st) {
  (void)st;
  char *p = path_join(dir, "resum.h5"), *q = path_join(dir, "fresh.h5");
  write_effects(p, 0.05);
  write_effects(q, 0.25);
  h5_provenance pv = {"effect", "x = 2;", 1, 0, NULL, NULL};
  effect_output_resummarize(p, 0.25, &pv);
  assert_int_equal(effect_output_state(p, "s1", "c1", 0.25, NULL), EFFECT_OUT_CURRENT);
  const char *names[] = {"effect", "samples/mean_effect", "samples/share_above",
                         "users/mean_effect", "users/share_above"};
  for (int k = 0; k < 5; k++) {
    size_t n1, n2;
    float *a = read_f32(p, names[k], &n1), *b = read_f32(q, names[k], &n2);
    assert_int_equal(n1, n2);
    for (size_t i = 0; i < n1; i++) assert_true(a[i] == b[i]);
    free(a), free(b);
  }
  size_t n;
  float *share = read_f32(p, "samples/share_above", &n);
  assert_true(share[0] == 0.5f && share[1] == 0.f);   // 0.3 of {0.1, 0.3} is above 0.25
  free(share);
  hid_t f = h5_open_read(p);
  effect_file e;
  effect_file_read(f, p, &e);
  assert_true(e.threshold == 0.25 && e.n_users == 2 && e.effect[1] == 0.3f);
  char *cfg = h5_attr_get_str(f, "nq_config");
  assert_string_equal(cfg, "x = 2;");   // the provenance of the run that rewrote it
  free(cfg);
  h5_close(f);
  effect_file_free(&e);
  free(p), free(q);
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_find_checkpoint), cmocka_unit_test(test_find_final_model_only),
      cmocka_unit_test(test_checkpoint_errors), cmocka_unit_test(test_output_state),
      cmocka_unit_test(test_resummarize),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
