// Shared helpers for the cmocka unit tests.
// expect_fatal(): run a callback in a forked child and check it stops with a message
// containing `needle` (fatal()/error() exit through the log exit hook). Forking keeps the
// parent's heap clean, so error-path tests stay leak-free under ASan.
#ifndef NQ_TEST_H
#define NQ_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"

static int nqtest_pipe_fd = -1;

static void nqtest_exit_hook(int code, const char *msg) {
  if (nqtest_pipe_fd >= 0) {
    ssize_t w = write(nqtest_pipe_fd, msg, strlen(msg));
    (void)w;
  }
  _exit(code == 0 ? 99 : code);
}

// Runs fn(arg) in a forked child. Returns NULL when it returned normally, else what it
// stopped with: its fatal()/error() message, or a line naming a crash (static buffer).
static inline const char *nqtest_fatal_message(void (*fn)(void *), void *arg) {
  static char buf[4096];
  int fds[2];
  if (pipe(fds) != 0) fail_msg("pipe failed");
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) fail_msg("fork failed");
  if (pid == 0) {
    close(fds[0]);
    nqtest_pipe_fd = fds[1];
    log_set_exit_hook(nqtest_exit_hook);
    // the message also goes to stderr; keep test output tidy
    if (!freopen("/dev/null", "w", stderr)) _exit(98);
    fn(arg);
    _exit(0);  // returned normally
  }
  close(fds[1]);
  size_t got = 0;
  ssize_t r;
  while ((r = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)r;
  buf[got] = 0;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return NULL;
  static char crash[4200];
  if (WIFEXITED(status)) return buf;
  snprintf(crash, sizeof crash, "(crashed: status %d) %s", status, buf);
  return crash;
}

// Returns the child's message (static buffer); fails the test if the child did not stop
// with an error or the message lacks `needle`.
static inline const char *expect_fatal_at(void (*fn)(void *), void *arg, const char *needle,
                                          const char *file, int line) {
  const char *msg = nqtest_fatal_message(fn, arg);
  if (!msg || !strncmp(msg, "(crashed", 8))
    fail_msg("%s:%d: expected a fatal error containing '%s', but the call %s", file, line, needle,
             msg ? msg : "returned");
  if (needle && !strstr(msg, needle)) fail_msg("%s:%d: error message '%s' lacks '%s'", file, line, msg, needle);
  return msg;
}
#define expect_fatal(fn, arg, needle) expect_fatal_at((fn), (arg), (needle), __FILE__, __LINE__)

// A scratch directory under build/ removed by the caller with `rm -rf` semantics.
static inline char *nqtest_tmpdir(void) {
  char tmpl[] = "/tmp/nqtest-XXXXXX";
  char *d = mkdtemp(tmpl);
  if (!d) fail_msg("mkdtemp failed");
  return strdup(d);
}

static inline void nqtest_rmrf(const char *dir);

// One scratch directory for a whole test program, as cmocka group fixtures:
//   cmocka_run_group_tests(tests, nqtest_dir_setup, nqtest_dir_teardown);  -> nqtest_dir
static char *nqtest_dir __attribute__((unused));
static inline int nqtest_dir_setup(void **st) {
  (void)st;
  nqtest_dir = nqtest_tmpdir();
  return 0;
}
static inline int nqtest_dir_teardown(void **st) {
  (void)st;
  nqtest_rmrf(nqtest_dir);
  free(nqtest_dir);
  nqtest_dir = NULL;
  return 0;
}

static inline void nqtest_write(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) fail_msg("cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

static inline void nqtest_rmrf(const char *dir) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fail_msg("cannot remove %s", dir);
}

#endif
