// nq-effect's file decisions: reference checkpoint lookup and the "is this output current"
// check that lets an interrupted run recompute only missing or stale shards.
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
  touch("context_sft/ckpt-9.h5");
  touch("context_sft/ckpt-10.h5");
  touch("context_sft/ckpt-10.h5.tmp");
  touch("context_sft/notes.txt");
  char *c = effect_find_checkpoint("", dir, "context_sft");
  assert_true(strstr(c, "context_sft/ckpt-10.h5") && !strstr(c, ".tmp"));  // numeric, not lexical
  free(c);
  touch("context_sft/ckpt-final.h5");
  c = effect_find_checkpoint(NULL, dir, "context_sft");
  assert_non_null(strstr(c, "ckpt-final.h5"));
  free(c);
  char *explicit_path = path_join(dir, "context_sft/ckpt-9.h5");
  c = effect_find_checkpoint(explicit_path, dir, "ignored");
  assert_string_equal(c, explicit_path);
  free(c), free(explicit_path), free(run);
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

static void test_output_current(void **st) {
  (void)st;
  char *p = path_join(dir, "train-00000.h5");
  const char *why;
  assert_false(effect_output_current(p, "s1", "c1", 0.05, &why));
  assert_string_equal(why, "missing");
  effect_file e;
  effect_file_alloc(&e, 1, 1, 0, 0);
  e.offsets[1] = 1;
  e.sample_id[0] = xstrdup("a"), e.sample_user[0] = xstrdup("u");
  e.shard = xstrdup("shard.h5"), e.shard_digest = xstrdup("s1");
  e.checkpoint = xstrdup("ck.h5"), e.checkpoint_digest = xstrdup("c1");
  e.sample_computed[0] = 1, e.threshold = 0.05;
  h5_out o;
  h5_out_create(&o, p);
  effect_file_write(o.file, &e);
  h5_provenance pv = {"effect", "x = 1;", 1, 0, NULL, NULL};
  h5_write_provenance(o.file, &pv);
  h5_out_commit(&o);
  effect_file_free(&e);
  assert_true(effect_output_current(p, "s1", "c1", 0.05, &why));
  assert_null(why);
  assert_false(effect_output_current(p, "s2", "c1", 0.05, &why));
  assert_string_equal(why, "shard changed");
  assert_false(effect_output_current(p, "s1", "c2", 0.05, &why));
  assert_string_equal(why, "reference checkpoint changed");
  assert_false(effect_output_current(p, "s1", "c1", 0.1, &why));
  assert_string_equal(why, "effect.threshold changed");
  free(p);
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_find_checkpoint), cmocka_unit_test(test_checkpoint_errors),
      cmocka_unit_test(test_output_current),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
