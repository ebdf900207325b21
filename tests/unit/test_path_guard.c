// path_guard: no write or deletion through a symbolic link or '..' below the guarded root
// (run_dir); the root itself may be a link, paths outside it are not checked.
#include "nqtest.h"

#include <unistd.h>

#include "base/path_guard.h"
#include "base/util.h"

static char *root, *elsewhere, *linked_root;

static int setup(void **st) {
  (void)st;
  nqtest_dir_setup(st);
  root = path_join(nqtest_dir, "run");
  elsewhere = path_join(nqtest_dir, "elsewhere");
  linked_root = path_join(nqtest_dir, "run-link");
  char *real = path_join(root, "real"), *lnk = path_join(root, "lnk"), *flink = path_join(root, "real/file-link");
  make_dirs(real);
  make_dirs(elsewhere);
  if (symlink(elsewhere, lnk) != 0 || symlink("/etc/hostname", flink) != 0 || symlink(root, linked_root) != 0)
    fail_msg("symlink failed");
  free(real), free(lnk), free(flink);
  return 0;
}

static int teardown(void **st) {
  path_guard_set(NULL);
  free(root), free(elsewhere), free(linked_root);
  return nqtest_dir_teardown(st);
}

static void check(void *arg) { path_guard_check(arg); }

static void test_real_paths_pass(void **st) {
  (void)st;
  path_guard_set(root);
  char *p = path_join(root, "real/new/deeper/x.h5");   // parts that do not exist yet: fine
  path_guard_check(p);
  free(p);
  p = path_join(root, "real");
  path_guard_check(p);
  free(p);
  path_guard_check(root);                    // the root itself
  path_guard_check("/tmp/outside/x.h5");     // not under the root
}

static void test_links_below_root_refused(void **st) {
  (void)st;
  path_guard_set(root);
  char *p = path_join(root, "lnk/x.h5"), *q = path_join(root, "lnk"), *f = path_join(root, "real/file-link");
  expect_fatal(check, p, "lnk: is a symbolic link inside run_dir");
  expect_fatal(check, q, "lnk: is a symbolic link inside run_dir");
  expect_fatal(check, f, "file-link: is a symbolic link inside run_dir");
  free(p), free(q), free(f);
}

static void test_dotdot_refused(void **st) {
  (void)st;
  path_guard_set(root);
  char *p = path_join(root, "real/../../escape");
  expect_fatal(check, p, "leaves run_dir");
  free(p);
}

// run_dir itself a link (to scratch): allowed; links below it still refused
static void test_root_may_be_a_link(void **st) {
  (void)st;
  char *slash = path_join(linked_root, "");   // "run-link/": a trailing slash is the same root
  path_guard_set(slash);
  char *p = path_join(linked_root, "real/x.h5"), *q = path_join(linked_root, "lnk/x.h5");
  path_guard_check(p);
  expect_fatal(check, q, "is a symbolic link inside run_dir");
  free(p), free(q), free(slash);
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_real_paths_pass),
      cmocka_unit_test(test_links_below_root_refused),
      cmocka_unit_test(test_dotdot_refused),
      cmocka_unit_test(test_root_may_be_a_link),
  };
  return cmocka_run_group_tests_name("path_guard", tests, setup, teardown);
}
