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

// An @include'd file: its name, relative to the experiment file's directory.
static void write_inc(const char *name, const char *text) {
  char p[600];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  nqtest_write(p, text);
}

// Values in an included file get the main file's checks (libconfig 1.5 read this one modulo
// 2^32, as 6), and the message names the included file, its line and the key.
static void test_include_int_wrap(void **st) {
  (void)st;
  write_inc("inc.cfg", "\nseed = 4294967302;\n");
  write_cfg("name = \"t\";\nrun_dir = \"/tmp/x\";\n@include \"inc.cfg\"\n");
  const char *msg = expect_fatal(load_only, NULL, "key 'seed' = 4.29497e+09 is out of range");
  assert_non_null(strstr(msg, "inc.cfg:2:"));
  write_inc("inc.cfg", "seed = 99999999999999999999;\n");
  expect_fatal(load_only, NULL, "inc.cfg:1: integer 99999999999999999999 is out of the 64-bit range");
  // an included value in range is read, and keys after the include keep their own lines
  write_inc("inc.cfg", "seed = 9;");
  write_cfg("name = \"t\";\n@include \"inc.cfg\"  # rest of the line\nrun_dir = \"/tmp/x\";\nbogus = 1;\n");
  msg = expect_fatal(load_only, NULL, "unknown key 'bogus'");
  assert_non_null(strstr(msg, "t.cfg:4:"));
  write_cfg("name = \"t\";\n@include \"inc.cfg\"\nrun_dir = \"/tmp/x\";\n");
  config *c = config_load(path, NULL, 0);
  assert_int_equal(cfg_int(c, "seed"), 9);
  config_free(c);
}

// A loop names its chain (libconfig 1.5 said "duplicate setting name"); "." names the file
// (libconfig: "input in flex scanner failed"); an @include inside a comment or string is text.
static void test_include_errors(void **st) {
  (void)st;
  write_inc("a.cfg", "seed = 1;\n@include \"b.cfg\"\n");
  write_inc("b.cfg", "\n@include \"a.cfg\"\n");
  write_cfg("name = \"t\";\nrun_dir = \"/tmp/x\";\n@include \"a.cfg\"\n");
  const char *msg = expect_fatal(load_only, NULL, "b.cfg:2: include loop: ");
  assert_non_null(strstr(msg, "t.cfg -> "));
  assert_non_null(strstr(msg, "a.cfg -> "));
  assert_non_null(strstr(msg, "b.cfg -> "));
  write_cfg("name = \"t\";\n@include \"t.cfg\"\n");
  expect_fatal(load_only, NULL, "t.cfg:2: include loop: ");
  write_cfg("name = \"t\";\n\n@include \".\"\n");
  msg = expect_fatal(load_only, NULL, "a directory, not a file");
  assert_non_null(strstr(msg, "t.cfg:3: @include"));
  write_cfg("@include \"missing.cfg\"\n");
  expect_fatal(load_only, NULL, "missing.cfg\": cannot read config file (No such file");
  write_inc("inc.cfg", "seed = 1;\nrun_dir = ;\n");   // a syntax error in an included file
  write_cfg("name = \"t\";\n@include \"inc.cfg\"\n");
  expect_fatal(load_only, NULL, "inc.cfg:2:");
  write_cfg("name = \"t\"; /*\n@include \"missing.cfg\" */ run_dir = \"/tmp/x\n@include \\\"missing\\\"\";\n");
  config *c = config_load(path, NULL, 0);
  assert_string_equal(cfg_str(c, "run_dir"), "/tmp/x\n@include \"missing\"");
  config_free(c);
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
      cmocka_unit_test(test_include_int_wrap),
      cmocka_unit_test(test_include_errors),
  };
  return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
