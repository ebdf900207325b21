// nq-effect's output files: reference checkpoint lookup, and the check that lets an
// interrupted run recompute only the files not written under its stamp.
#include "nqtest.h"

#include "effect/effect_files.h"
#include "files/effects_file.h"
#include "h5/h5io.h"
#include "base/util.h"
#include "h5/provenance.h"
#include "settings/settings.h"

static char *dir;

static int setup(void **st) { (void)st; dir = nqtest_tmpdir(); return 0; }
static int teardown(void **st) { (void)st; nqtest_rmrf(dir); free(dir); return 0; }

// The effect section pointing at dir: reference run `run`, or the checkpoint `model`.
static settings at(const char *model, const char *run) {
  settings s;
  memset(&s, 0, sizeof s);
  s.run_dir = dir;
  s.effect.model = model ? model : "";
  s.effect.reference_run = run;
  return s;
}

static char *find(const char *model, const char *run) {
  settings s = at(model, run);
  return effect_find_checkpoint(&s);
}

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
  touch("context_sft/ckpt-999999.h5");
  touch("context_sft/ckpt-1000000.h5");
  touch("context_sft/ckpt-1000000.h5.tmp");
  touch("context_sft/ckpt-2000000x.h5");  // not names nq-train writes (the run layout's): ignored
  touch("context_sft/ckpt-10000000.h5.tmp");
  touch("context_sft/ckpt-final.h5");
  touch("context_sft/ckpt-12.h5");
  touch("context_sft/notes.txt");
  // a run still going (or stopped): its newest step, numeric, not lexical
  char *c = find("", "context_sft");
  assert_true(strstr(c, "context_sft/ckpt-1000000.h5") && !strstr(c, ".tmp"));
  free(c);
  // a finished run: the final model nq-train writes (train/train.c), before any step
  touch("context_sft/model.h5");
  c = find(NULL, "context_sft");
  assert_non_null(strstr(c, "context_sft/model.h5"));
  free(c);
  char *explicit_path = path_join(dir, "context_sft/ckpt-000009.h5");
  c = find(explicit_path, "ignored");
  assert_string_equal(c, explicit_path);
  free(c), free(explicit_path), free(run);
}

static void test_find_final_model_only(void **st) {
  (void)st;
  char *run = path_join(dir, "lm_only");
  make_dirs(run);
  touch("lm_only/model.h5");   // checkpoints pruned or never kept: the final model alone
  char *c = find("", "lm_only");
  assert_non_null(strstr(c, "lm_only/model.h5"));
  free(c), free(run);
}

static void no_run(void *arg) { (void)arg; free(find("", "context_sft_nope")); }
static void no_file(void *arg) { (void)arg; free(find("/nonexistent/ckpt.h5", "x")); }

static void test_checkpoint_errors(void **st) {
  (void)st;
  expect_fatal(no_run, dir, "run nq-train");
  char *empty = path_join(dir, "context_sft_nope");
  make_dirs(empty);
  expect_fatal(no_run, dir, "has no checkpoint");
  expect_fatal(no_file, NULL, "does not exist");
  free(empty);
}

// A one-shard effect file: 2 samples of users "u" and "v", effects {0.1, 0.3 | 0.2}, written
// under `stamp`.
static void write_effects(const char *p, const char *stamp) {
  effect_file e;
  effect_file_alloc(&e, 3, 2, 0, 0);
  e.offsets[1] = 2, e.offsets[2] = 3;
  e.effect[0] = 0.1f, e.effect[1] = 0.3f, e.effect[2] = 0.2f;
  e.sample_id[0] = xstrdup("a"), e.sample_user[0] = xstrdup("u");
  e.sample_id[1] = xstrdup("b"), e.sample_user[1] = xstrdup("v");
  e.shard = xstrdup("shard.h5"), e.shard_digest = xstrdup("s1");
  e.checkpoint = xstrdup("ck.h5"), e.checkpoint_digest = xstrdup("c1");
  e.sample_computed[0] = e.sample_computed[1] = 1;
  h5_provenance pv = {"effect", "x = 1;", 1, 0, NULL, NULL, stamp};
  effect_output_write(p, &e, 0.05, &pv);
  file_free(&effects_kind, &e);
}

// A file is kept only when it carries the invocation's stamp.
static void test_output_stale(void **st) {
  (void)st;
  char *p = path_join(dir, "train-00000.h5"), *q = path_join(dir, "nostamp.h5"), *g = path_join(dir, "garbage.h5");
  assert_string_equal(effect_output_stale(p, "abc"), "missing");
  write_effects(p, "abc");
  assert_null(effect_output_stale(p, "abc"));
  assert_string_equal(effect_output_stale(p, "abd"), "made with another config or input");
  assert_string_equal(effect_output_stale(p, ""), "made with another config or input");
  write_effects(q, NULL);   // written without a stamp (by hand, or before stamps): not current
  assert_string_equal(effect_output_stale(q, "abc"), "made with another config or input");
  nqtest_write(g, "not hdf5");
  assert_string_equal(effect_output_stale(g, "abc"), "unreadable: truncated or not HDF5");
  free(p), free(q), free(g);
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_find_checkpoint), cmocka_unit_test(test_find_final_model_only),
      cmocka_unit_test(test_checkpoint_errors), cmocka_unit_test(test_output_stale),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
