// run_layout: the run directory's paths from the settings (default names, the config keys
// that rename a directory, absolute values), file names, listing numbered files, resolving
// user paths, round names and stamp record paths.
#include "nqtest.h"

#include <sys/stat.h>

#include "base/util.h"
#include "pipeline/run_layout.h"
#include "settings/settings.h"


static settings *load(const char *extra, const char *const *sets, int n) {
  char path[512], text[2048];
  snprintf(path, sizeof path, "%s/t.cfg", nqtest_dir);
  snprintf(text, sizeof text, "name = \"t\";\nrun_dir = \"/runs/r1\";\n%s", extra);
  nqtest_write(path, text);
  return settings_load(path, sets, n);
}

static void assert_path(const settings *s, run_dir_item d, const char *want) {
  char *got = run_path(s, d);
  if (strcmp(got, want)) fail_msg("run_path(%d) = '%s', want '%s'", (int)d, got, want);
  free(got);
}

static void assert_name(const settings *s, run_dir_item d, const char *want) {
  char *got = run_dir_name(s, d);
  if (!want && got) fail_msg("run_dir_name(%d) = '%s', want NULL", (int)d, got);
  if (want && (!got || strcmp(got, want))) fail_msg("run_dir_name(%d) = '%s', want '%s'", (int)d, got ? got : "NULL", want);
  free(got);
}

static void touch(const char *d, const char *name) {
  char *p = path_join(d, name);
  nqtest_write(p, "x");
  free(p);
}

// ---- run_path / run_dir_name ------------------------------------------------------------------

static void test_run_path_defaults(void **st) {
  (void)st;
  settings *s = load("", NULL, 0);
  assert_path(s, RUN_CORPUS, "/runs/r1/data/synth.jsonl");
  assert_path(s, RUN_SHARDS, "/runs/r1/shards");
  assert_path(s, RUN_SHARDS_NEXT, "/runs/r1/shards.tmp");
  assert_path(s, RUN_TOKENIZER, "/runs/r1/tokenizer.json");
  assert_path(s, RUN_TOKENIZER_NEXT, "/runs/r1/tokenizer.next.json");
  assert_path(s, RUN_EFFECTS, "/runs/r1/effects");
  assert_path(s, RUN_EFFECTS_READ, "/runs/r1/effects");
  assert_path(s, RUN_ANNOTATIONS, "/runs/r1/annotations");
  assert_path(s, RUN_WEIGHTS, "/runs/r1/annotations");
  assert_path(s, RUN_TRAIN, "/runs/r1/train");   // train.name's default
  assert_path(s, RUN_EVAL, "/runs/r1/eval");
  assert_path(s, RUN_REPORT, "/runs/r1/report");
  assert_path(s, RUN_LOCKS, "/runs/r1/locks");
  assert_path(s, RUN_STAMPS, "/runs/r1/stamps");
  assert_path(s, RUN_LOGS, "/runs/r1/logs");
  assert_path(s, RUN_SEEDS, "/runs/r1/seeds");
  assert_path(s, RUN_SWEEP, "/runs/r1/sweep");
  settings_free(s);
}

static void test_run_path_trailing_slash_in_run_dir(void **st) {
  (void)st;
  const char *sets[] = {"run_dir=/runs/r1/"};
  settings *s = load("", sets, 1);
  assert_path(s, RUN_SHARDS, "/runs/r1/shards");
  assert_path(s, RUN_EFFECTS, "/runs/r1/effects");
  settings_free(s);
}

// Each key that renames a directory, from the file.
static void test_run_path_keys_rename_directories(void **st) {
  (void)st;
  settings *s = load("effect: { output = \"eff\"; };\n"
                     "annotate: { effects = \"eff_in\"; output = \"ann\"; };\n"
                     "train: { name = \"nextquill\"; annotations = \"weights_a\"; };\n"
                     "eval: { output = \"eval_out\"; };\n",
                     NULL, 0);
  assert_path(s, RUN_EFFECTS, "/runs/r1/eff");
  assert_path(s, RUN_EFFECTS_READ, "/runs/r1/eff_in");
  assert_path(s, RUN_ANNOTATIONS, "/runs/r1/ann");
  assert_path(s, RUN_WEIGHTS, "/runs/r1/weights_a");
  assert_path(s, RUN_TRAIN, "/runs/r1/nextquill");
  assert_path(s, RUN_EVAL, "/runs/r1/eval_out");
  assert_path(s, RUN_SHARDS, "/runs/r1/shards");   // no key: unchanged
  assert_path(s, RUN_CORPUS, "/runs/r1/data/synth.jsonl");
  settings_free(s);
}

// The renaming keys given with --set: names under run_dir (synth.output: a path relative to
// the working directory, or absolute).
static void test_run_path_keys_from_overrides(void **st) {
  (void)st;
  static const run_dir_item items[] = {RUN_EFFECTS, RUN_EFFECTS_READ, RUN_ANNOTATIONS, RUN_WEIGHTS,
                                       RUN_TRAIN, RUN_EVAL, RUN_CORPUS};
  static const struct {
    const char *sets[7];
    const char *want[7];   // the path of items[i]
  } cases[] = {
      {{"effect.output=effects_r2", "annotate.effects=effects_r2", "annotate.output=annotations_r2",
        "train.annotations=annotations_r2", "train.name=nextquill_r2", "eval.output=e2", "synth.output=corpus/mine.jsonl"},
       {"/runs/r1/effects_r2", "/runs/r1/effects_r2", "/runs/r1/annotations_r2", "/runs/r1/annotations_r2",
        "/runs/r1/nextquill_r2", "/runs/r1/e2", "corpus/mine.jsonl"}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    settings *s = load("", cases[c].sets, 7);
    for (size_t i = 0; i < 7; i++) assert_path(s, items[i], cases[c].want[i]);
    settings_free(s);
  }
}

// A key that names a directory of the run is one plain name: a path out of run_dir (absolute,
// '..', a '/'), a hidden name or a control character stops with the key and the value named.
static const settings *bad_set;
static run_dir_item bad_item;
static void run_path_of_bad(void *arg) {
  (void)arg;
  free(run_path(bad_set, bad_item));
}
static void layout_check_of_bad(void *arg) {
  (void)arg;
  run_layout_check(bad_set);
}

static void test_run_path_refuses_names_out_of_run_dir(void **st) {
  (void)st;
  static const struct {
    const char *set, *key;
    run_dir_item item;
  } cases[] = {
      {"train.name=../../x", "train.name", RUN_TRAIN},
      {"train.name=/scratch/run", "train.name", RUN_TRAIN},
      {"train.name=a/b", "train.name", RUN_TRAIN},
      {"train.name=..", "train.name", RUN_TRAIN},
      {"train.name=.hidden", "train.name", RUN_TRAIN},
      {"effect.output=../e", "effect.output", RUN_EFFECTS},
      {"effect.output=/scratch/eff", "effect.output", RUN_EFFECTS},
      {"annotate.effects=../e", "annotate.effects", RUN_EFFECTS_READ},
      {"annotate.output=x/../../y", "annotate.output", RUN_ANNOTATIONS},
      {"train.annotations=/scratch/ann", "train.annotations", RUN_WEIGHTS},
      {"eval.output=../ev", "eval.output", RUN_EVAL},
      {"eval.output=.", "eval.output", RUN_EVAL},
      {"train.name=shards", "train.name", RUN_TRAIN},       // the layout's own folders
      {"eval.output=stamps", "eval.output", RUN_EVAL},
      {"effect.output=data", "effect.output", RUN_EFFECTS},
      {"annotate.output=tokenizer.json", "annotate.output", RUN_ANNOTATIONS},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const char *sets[] = {cases[c].set};
    settings *s = load("", sets, 1);
    bad_set = s, bad_item = cases[c].item;
    char want[128];
    snprintf(want, sizeof want, "%s = \"%s\": ", cases[c].key, strchr(cases[c].set, '=') + 1);
    expect_fatal(run_path_of_bad, NULL, want);
    expect_fatal(layout_check_of_bad, NULL, want);
    settings_free(s);
  }
  const char *sets[] = {"synth.output=/data/c.jsonl"};   // the corpus: an input, anywhere
  settings *s = load("", sets, 1);
  assert_path(s, RUN_CORPUS, "/data/c.jsonl");
  run_layout_check(s);
  settings_free(s);
}

static void test_run_file_number(void **st) {
  (void)st;
  assert_int_equal(run_file_number(RUN_CKPT, "ckpt-000012.h5"), 12);
  assert_int_equal(run_file_number(RUN_CKPT, "ckpt-12.h5"), -1);   // a name run_file never makes
  assert_int_equal(run_file_number(RUN_SHARD_FILE, "shard-00003.h5"), 3);
  assert_int_equal(run_file_number(RUN_SHARD_FILE, "junk.h5"), -1);
  assert_int_equal(run_file_number(RUN_SHARD_FILE, "shard-00003.h5.tmp"), -1);
}

static void run_path_of_train(void *arg) {
  settings *s = arg;
  free(run_path(s, RUN_TRAIN));
}

static void test_run_path_empty_train_name_is_an_error(void **st) {
  (void)st;
  const char *sets[] = {"train.name="};
  settings *s = load("", sets, 1);
  assert_string_equal(s->train.name, "");
  expect_fatal(run_path_of_train, s, "train.name is empty");
  settings_free(s);
}

static void test_run_dir_name(void **st) {
  (void)st;
  settings *s = load("", NULL, 0);
  assert_name(s, RUN_SHARDS, "shards");
  assert_name(s, RUN_EFFECTS, "effects");
  assert_name(s, RUN_ANNOTATIONS, "annotations");
  assert_name(s, RUN_TRAIN, "train");
  assert_name(s, RUN_EVAL, "eval");
  assert_name(s, RUN_CORPUS, "data/synth.jsonl");
  assert_name(s, RUN_STAMPS, "stamps");
  settings_free(s);
  const char *sets[] = {"effect.output=effects_r2", "train.name=nextquill", "eval.output=ev",
                        "synth.output=corpus.jsonl", "annotate.output=ann"};
  s = load("", sets, 5);
  assert_name(s, RUN_EFFECTS, "effects_r2");
  assert_name(s, RUN_TRAIN, "nextquill");
  assert_name(s, RUN_ANNOTATIONS, "ann");
  assert_name(s, RUN_EVAL, "ev");
  assert_name(s, RUN_CORPUS, NULL);   // synth.output given: cwd-relative
  assert_name(s, RUN_EFFECTS_READ, "effects");
  settings_free(s);
}

// ---- run_file / run_file_in -------------------------------------------------------------------

static void assert_file(const char *d, run_file_item f, long n, const char *want) {
  char *got = run_file(d, f, n);
  if (strcmp(got, want)) fail_msg("run_file(%d, %ld) = '%s', want '%s'", (int)f, n, got, want);
  free(got);
}

static void test_run_file_numbered_and_fixed_names(void **st) {
  (void)st;
  assert_file("/r/nq", RUN_CKPT, 12, "/r/nq/ckpt-000012.h5");
  assert_file("/r/nq", RUN_CKPT, 0, "/r/nq/ckpt-000000.h5");
  assert_file("/r/nq", RUN_CKPT, 1000000, "/r/nq/ckpt-1000000.h5");   // wider than 6 digits
  assert_file("/r/shards", RUN_SHARD_FILE, 3, "/r/shards/shard-00003.h5");
  assert_file("/r/shards/", RUN_SHARD_FILE, 12345, "/r/shards/shard-12345.h5");
  assert_file("/r/nq", RUN_USER_GROUP, 7, "/r/nq/users/group-0007.h5");
  assert_file("/r", RUN_SEED_DIR, 3, "/r/seed-3");
  assert_file("/r/nq", RUN_MODEL, 0, "/r/nq/model.h5");
  assert_file("/r/nq", RUN_METRICS, 0, "/r/nq/metrics.h5");
  assert_file("/r/nq", RUN_ADAPTER, 0, "/r/nq/adapter.h5");
  assert_file("/r/effects", RUN_SUMMARY_JSON, 0, "/r/effects/summary.json");
  assert_file("/r/eval", RUN_PREDICTIONS, 0, "/r/eval/predictions.jsonl");
  assert_file("/r/eval", RUN_EVAL_METRICS, 0, "/r/eval/metrics.json");
  assert_file("/r/eval", RUN_SUMMARY_MD, 0, "/r/eval/summary.md");
  assert_file("/r/eval", RUN_SUMMARY_CSV, 0, "/r/eval/summary.csv");
  assert_file("/r/report", RUN_PAGE, 0, "/r/report/index.html");
  assert_file("/r/sweep", RUN_POINTS, 0, "/r/sweep/points.tsv");
  assert_file("/r/stamps", RUN_DIGESTS, 0, "/r/stamps/.digests");
}

static void test_run_file_in_named_items(void **st) {
  (void)st;
  static const struct { run_file_item f; const char *name, *want; } cases[] = {
      {RUN_FIGURE, "roc", "/r/report/roc.svg"},
      {RUN_LOG, "shard", "/r/report/shard.log"},
      {RUN_LOCK, "train.nextquill", "/r/report/train.nextquill.lock"},
      {RUN_STAMP, "data/synth.jsonl", "/r/report/data/synth.jsonl"},
      {RUN_FIGURE, "100%", "/r/report/100%.svg"},   // the name is not a format
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *got = run_file_in("/r/report", cases[i].f, cases[i].name);
    if (strcmp(got, cases[i].want)) fail_msg("run_file_in(%s) = '%s', want '%s'", cases[i].name, got, cases[i].want);
    free(got);
  }
}

static void named_via_run_file(void *arg) {
  (void)arg;
  free(run_file("/r", RUN_FIGURE, 1));
}
static void numbered_via_run_file_in(void *arg) {
  (void)arg;
  free(run_file_in("/r", RUN_CKPT, "x"));
}
static void list_unnumbered(void *arg) {
  long *nums;
  (void)run_list(arg, RUN_MODEL, &nums);
}

static void test_run_file_kind_mismatch_is_an_error(void **st) {
  (void)st;
  expect_fatal(named_via_run_file, NULL, "takes a name");
  expect_fatal(numbered_via_run_file_in, NULL, "takes no name");
  expect_fatal(list_unnumbered, nqtest_dir, "is not numbered");
}

// ---- run_list / run_shard_files ---------------------------------------------------------------

static void test_run_list_only_run_file_names_numerically(void **st) {
  (void)st;
  char *d = path_join(nqtest_dir, "list_ckpt");
  make_dirs(d);
  const char *names[] = {"ckpt-000009.h5", "ckpt-1000000.h5", "ckpt-000010.h5", "ckpt-000100.h5",
                         // strays: not a name run_file makes
                         "ckpt-10.h5", "ckpt-0000011.h5", "ckpt-000012.h5.tmp", "ckpt-000013.tmp", "ckpt-.h5",
                         "ckpt-00001a.h5", "ckpt--00001.h5", "xckpt-000014.h5", "ckpt-000015.h5x", "model.h5",
                         "shard-00001.h5", "notes.txt"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) touch(d, names[i]);
  long *nums = NULL;
  int n = run_list(d, RUN_CKPT, &nums);
  assert_int_equal(n, 4);
  assert_int_equal(nums[0], 9);
  assert_int_equal(nums[1], 10);
  assert_int_equal(nums[2], 100);
  assert_int_equal(nums[3], 1000000);
  free(nums);
  // each listed number's run_file is a file that exists
  n = run_list(d, RUN_SHARD_FILE, &nums);
  assert_int_equal(n, 1);
  assert_int_equal(nums[0], 1);
  char *p = run_file(d, RUN_SHARD_FILE, nums[0]);
  assert_true(file_exists(p));
  free(p), free(nums);
  free(d);
}

static void test_run_list_many_files_sorted(void **st) {
  (void)st;
  char *d = path_join(nqtest_dir, "list_many");
  make_dirs(d);
  for (long i = 40; i >= 0; i--) {   // more than the first allocation, created in reverse
    char *p = run_file(d, RUN_SHARD_FILE, i * 7);
    nqtest_write(p, "x");
    free(p);
  }
  long *nums = NULL;
  int n = run_list(d, RUN_SHARD_FILE, &nums);
  assert_int_equal(n, 41);
  for (int i = 0; i < n; i++) assert_int_equal(nums[i], 7L * i);
  free(nums);
  free(d);
}

static void test_run_list_user_groups_in_subfolder(void **st) {
  (void)st;
  char *d = path_join(nqtest_dir, "list_users");
  char *users = path_join(d, "users");
  make_dirs(users);
  touch(users, "group-0003.h5");
  touch(users, "group-0001.h5");
  touch(users, "group-1.h5");
  touch(d, "group-0002.h5");   // not in users/
  long *nums = NULL;
  int n = run_list(d, RUN_USER_GROUP, &nums);
  assert_int_equal(n, 2);
  assert_int_equal(nums[0], 1);
  assert_int_equal(nums[1], 3);
  free(nums), free(users), free(d);
}

static void test_run_list_missing_directory(void **st) {
  (void)st;
  char *d = path_join(nqtest_dir, "no_such_dir");
  long *nums = (long *)&nums;   // overwritten
  assert_int_equal(run_list(d, RUN_CKPT, &nums), 0);
  assert_null(nums);
  int n = -1;
  char **paths = run_shard_files(d, &n, 0);
  assert_int_equal(n, 0);
  assert_non_null(paths);
  assert_null(paths[0]);
  free(paths), free(d);
}

static void test_run_shard_files_in_index_order(void **st) {
  (void)st;
  char *d = path_join(nqtest_dir, "shards");
  make_dirs(d);
  const char *names[] = {"shard-00010.h5", "shard-00002.h5", "shard-00000.h5", "shard-00001.h5",
                         "shard-1.h5", "shard-00003.h5.tmp", "summary.json", "tokenizer.json"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) touch(d, names[i]);
  int n = 0;
  char **paths = run_shard_files(d, &n, 0);
  assert_int_equal(n, 4);
  const char *want[] = {"shard-00000.h5", "shard-00001.h5", "shard-00002.h5", "shard-00010.h5"};
  for (int i = 0; i < n; i++) {
    char *w = path_join(d, want[i]);
    assert_string_equal(paths[i], w);
    free(w);
    free(paths[i]);
  }
  assert_null(paths[n]);
  free(paths), free(d);
}

// ---- run_resolve / run_data_path ----------------------------------------------------------------

static void test_run_resolve(void **st) {
  (void)st;
  settings *s = load("", NULL, 0);
  assert_null(run_resolve(s, ""));
  assert_null(run_resolve(s, NULL));
  char *p = run_resolve(s, "/models/base.h5");
  assert_string_equal(p, "/models/base.h5");
  free(p);
  p = run_resolve(s, "lm/model.h5");
  assert_string_equal(p, "/runs/r1/lm/model.h5");
  free(p);
  p = run_resolve(s, "context_sft");
  assert_string_equal(p, "/runs/r1/context_sft");
  free(p);
  settings_free(s);
}

static void test_run_data_path(void **st) {
  (void)st;
  settings *s = load("", NULL, 0);
  static const struct { const char *in, *want; } cases[] = {
      {"{run_dir}/data/synth.jsonl", "/runs/r1/data/synth.jsonl"},
      {"/mnt/{run_dir}.jsonl", "/mnt//runs/r1.jsonl"},
      {"data/plain.jsonl", "data/plain.jsonl"},
      {"{run_dir}", "/runs/r1"},
      {"{run_dir", "{run_dir"},
      {"", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *got = run_data_path(s, cases[i].in);
    if (strcmp(got, cases[i].want)) fail_msg("run_data_path('%s') = '%s', want '%s'", cases[i].in, got, cases[i].want);
    free(got);
  }
  settings_free(s);
}

// ---- rounds, stamps -----------------------------------------------------------------------------

static void assert_round(run_dir_item d, const char *run, int k, const char *want) {
  char *got = run_round_name(d, run, k);
  if (strcmp(got, want)) fail_msg("run_round_name(%d, %s, %d) = '%s', want '%s'", (int)d, run ? run : "NULL", k, got, want);
  free(got);
}

static void round_of_unnamed_train(void *arg) {
  (void)arg;
  free(run_round_name(RUN_TRAIN, NULL, 2));
}

static void test_run_round_name(void **st) {
  (void)st;
  assert_round(RUN_EFFECTS, NULL, 1, "effects");
  assert_round(RUN_EFFECTS, NULL, 2, "effects_r2");
  assert_round(RUN_ANNOTATIONS, NULL, 1, "annotations");
  assert_round(RUN_ANNOTATIONS, NULL, 3, "annotations_r3");
  assert_round(RUN_TRAIN, "nextquill", 1, "nextquill");
  assert_round(RUN_TRAIN, "nextquill", 2, "nextquill_r2");
  assert_round(RUN_TRAIN, "nq", 10, "nq_r10");
  expect_fatal(round_of_unnamed_train, NULL, "run_round_name");
}

static void assert_record(const char *run_dir, const char *path, const char *want) {
  char *got = run_record_path(run_dir, path);
  if (strcmp(got, want)) fail_msg("run_record_path(%s, %s) = '%s', want '%s'", run_dir, path, got, want);
  free(got);
}

static void test_run_record_path(void **st) {
  (void)st;
  assert_record("/runs/r1", "/runs/r1/shards", "/runs/r1/stamps/shards");
  assert_record("/runs/r1", "/runs/r1/nextquill", "/runs/r1/stamps/nextquill");
  assert_record("/runs/r1", "/runs/r1/data/synth.jsonl", "/runs/r1/stamps/data/synth.jsonl");
  assert_record("/runs/r1", "/scratch/eff", "/scratch/eff.stamp");   // outside: beside it
  assert_record("/runs/r1", "/runs/r10/shards", "/runs/r10/shards.stamp");   // a prefix is not inside
  assert_record("/runs/r1", "corpus.jsonl", "corpus.jsonl.stamp");
  assert_record("results/d", "results/d/eval", "results/d/stamps/eval");   // a relative run_dir
  char *sd = run_stamps_dir("/runs/r1");
  assert_string_equal(sd, "/runs/r1/stamps");
  free(sd);
}

// The layout's own directories agree with each other: stamps of run_path, records in it.
static void test_record_of_run_path_is_in_stamps_dir(void **st) {
  (void)st;
  settings *s = load("", NULL, 0);
  char *shards = run_path(s, RUN_SHARDS), *stamps = run_path(s, RUN_STAMPS), *sd = run_stamps_dir(s->run_dir);
  char *rec = run_record_path(s->run_dir, shards), *want = run_file_in(stamps, RUN_STAMP, "shards");
  assert_string_equal(stamps, sd);
  assert_string_equal(rec, want);
  free(shards), free(stamps), free(sd), free(rec), free(want);
  settings_free(s);
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_path_defaults),
      cmocka_unit_test(test_run_path_trailing_slash_in_run_dir),
      cmocka_unit_test(test_run_path_keys_rename_directories),
      cmocka_unit_test(test_run_path_keys_from_overrides),
      cmocka_unit_test(test_run_path_refuses_names_out_of_run_dir),
      cmocka_unit_test(test_run_file_number),
      cmocka_unit_test(test_run_path_empty_train_name_is_an_error),
      cmocka_unit_test(test_run_dir_name),
      cmocka_unit_test(test_run_file_numbered_and_fixed_names),
      cmocka_unit_test(test_run_file_in_named_items),
      cmocka_unit_test(test_run_file_kind_mismatch_is_an_error),
      cmocka_unit_test(test_run_list_only_run_file_names_numerically),
      cmocka_unit_test(test_run_list_many_files_sorted),
      cmocka_unit_test(test_run_list_user_groups_in_subfolder),
      cmocka_unit_test(test_run_list_missing_directory),
      cmocka_unit_test(test_run_shard_files_in_index_order),
      cmocka_unit_test(test_run_resolve),
      cmocka_unit_test(test_run_data_path),
      cmocka_unit_test(test_run_round_name),
      cmocka_unit_test(test_run_record_path),
      cmocka_unit_test(test_record_of_run_path_is_in_stamps_dir),
  };
  return cmocka_run_group_tests_name("run_layout", tests, nqtest_dir_setup, nqtest_dir_teardown);
}
