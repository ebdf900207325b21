// config: schema validation, overrides, defaults, canonical text, error messages.
#include "nqtest.h"

#include "config/config.h"
#include "base/util.h"
#include "settings/settings.h"

static char *dir;
static char path[512];

static void write_cfg(const char *text) {
  snprintf(path, sizeof path, "%s/t.cfg", dir);
  nqtest_write(path, text);
}

static const char *base_cfg = "name = \"t\";\nrun_dir = \"/tmp/x\";\nseed = 7;\n";

static void test_load_defaults_and_access(void **st) {
  (void)st;
  write_cfg(base_cfg);
  config *c = config_load(path, NULL, 0);
  assert_string_equal(cfg_str(c, "name"), "t");
  assert_int_equal(cfg_int(c, "seed"), 7);
  config_free(c);
}

static void load_only(void *arg) {
  const char **sets = arg;
  int n = 0;
  while (sets && sets[n]) n++;
  config *c = config_load(path, sets, n);
  config_free(c);
}

static void test_unknown_key_names_file_line(void **st) {
  (void)st;
  write_cfg("name = \"t\";\nrun_dir = \"/tmp/x\";\n\nbogus = 3;\n");
  const char *msg = expect_fatal(load_only, NULL, "unknown key 'bogus'");
  char want[600];
  snprintf(want, sizeof want, "%s:4:", path);
  assert_non_null(strstr(msg, want));
}

static void test_unknown_section(void **st) {
  (void)st;
  write_cfg("name = \"t\";\nrun_dir = \"/tmp/x\";\nnosuch: { a = 1; };\n");
  expect_fatal(load_only, NULL, "unknown key 'nosuch'");
}

static void test_wrong_type(void **st) {
  (void)st;
  write_cfg("name = \"t\";\nrun_dir = \"/tmp/x\";\nseed = \"abc\";\n");
  const char *msg = expect_fatal(load_only, NULL, "key 'seed' must be an integer");
  assert_non_null(strstr(msg, ":3:"));
}

static void test_out_of_range(void **st) {
  (void)st;
  write_cfg("name = \"t\";\nrun_dir = \"/tmp/x\";\nseed = -5;\n");
  expect_fatal(load_only, NULL, "out of range");
}

static void test_syntax_error(void **st) {
  (void)st;
  write_cfg("name = \"t\"\nrun_dir = ;\n");
  expect_fatal(load_only, NULL, "t.cfg:2:");
}

static void test_missing_file(void **st) {
  (void)st;
  snprintf(path, sizeof path, "%s/does-not-exist.cfg", dir);
  expect_fatal(load_only, NULL, "does-not-exist.cfg: cannot read config file");
}

static void test_override_validated(void **st) {
  (void)st;
  write_cfg(base_cfg);
  const char *sets1[] = {"seed=11", "run_dir=/scratch/y", NULL};
  config *c = config_load(path, sets1, 2);
  assert_int_equal(cfg_int(c, "seed"), 11);
  assert_string_equal(cfg_str(c, "run_dir"), "/scratch/y");
  config_free(c);
  const char *sets2[] = {"nosuch.key=1", NULL};
  expect_fatal(load_only, sets2, "--set nosuch.key=1: unknown key 'nosuch.key'");
  const char *sets3[] = {"seed=abc", NULL};
  expect_fatal(load_only, sets3, "--set seed=abc");
  const char *sets4[] = {"seed=-1", NULL};
  expect_fatal(load_only, sets4, "--set seed=-1: key 'seed' = -1 is out of range");
  const char *sets5[] = {"seed", NULL};
  expect_fatal(load_only, sets5, "expected key=value");
}

static void test_canonical_text_stable(void **st) {
  (void)st;
  // same settings in another order and spacing -> same canonical text
  write_cfg("seed = 7;\nrun_dir = \"/tmp/x\";\nname = \"t\";\n");
  config *a = config_load(path, NULL, 0);
  char *ta = config_text(a, NULL);
  write_cfg("name=\"t\"; run_dir=\"/tmp/x\"; seed=7;");
  config *b = config_load(path, NULL, 0);
  char *tb = config_text(b, NULL);
  assert_string_equal(ta, tb);
  // restricted text and re-parsing the stored text give the same restriction
  char *ra = config_text(a, "seed");
  char *rb = config_text_sections(ta, "seed");
  assert_string_equal(ra, rb);
  assert_string_equal(ra, "seed = 7;\n");
  free(ta); free(tb); free(ra); free(rb);
  config_free(a);
  config_free(b);
}

static void access_run_dir(void *arg) {
  (void)arg;
  config *c = config_load(path, NULL, 0);
  (void)cfg_str(c, "run_dir");
  config_free(c);
}

static void test_required_key(void **st) {
  (void)st;
  write_cfg("name = \"t\";\n");
  expect_fatal(access_run_dir, NULL, "missing required key 'run_dir'");
}

static int setup(void **st) { (void)st; dir = nqtest_tmpdir(); return 0; }
static int teardown(void **st) { (void)st; nqtest_rmrf(dir); free(dir); return 0; }

int main(void) {
  settings_schema_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_load_defaults_and_access),
      cmocka_unit_test(test_unknown_key_names_file_line),
      cmocka_unit_test(test_unknown_section),
      cmocka_unit_test(test_wrong_type),
      cmocka_unit_test(test_out_of_range),
      cmocka_unit_test(test_syntax_error),
      cmocka_unit_test(test_missing_file),
      cmocka_unit_test(test_override_validated),
      cmocka_unit_test(test_canonical_text_stable),
      cmocka_unit_test(test_required_key),
  };
  return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
