// See stage_lock.h.
#include "pipeline/stage_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/path_guard.h"
#include "base/util.h"
#include "pipeline/run_layout.h"

// The lock of this stage: nq-train's runs may share a run_dir, so each run (train.name) has
// its own.
static char *lock_path(const settings *set, const stage_args *a, const char *dir) {
  const char *name = a->info->name, *sub = !strcmp(name, "train") ? set->train.name : NULL;
  char file[512];
  snprintf(file, sizeof file, "%s%s%s", name, sub ? "." : "", sub ? sub : "");
  return run_file_in(dir, RUN_LOCK, file);
}

// "pid 123 on host h since 2026-12-01 10:00:00" (what the holder wrote), or a fallback.
static void read_holder(int fd, char *buf, size_t n) {
  ssize_t got = pread(fd, buf, n - 1, 0);
  if (got <= 0) {
    snprintf(buf, n, "a process that has not written its name yet");
    return;
  }
  buf[got] = 0;
  buf[strcspn(buf, "\n")] = 0;
}

static void write_holder(int fd, const char *path) {
  char host[256] = "?", when[32] = "?", text[512];
  gethostname(host, sizeof host - 1);
  time_t now = time(NULL);
  struct tm tm;
  if (localtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
  int len = snprintf(text, sizeof text, "pid %ld on host %s since %s\n", (long)getpid(), host, when);
  if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len)
    error("%s: cannot write the lock holder: %s", path, strerror(errno));
}

void stage_lock(const settings *set, const stage_args *a) {
  if (!*set->run_dir)
    fatal("run_dir is empty: set run_dir (in the config or with --set run_dir=DIR) to the run's directory");
  if (a->rank != 0) return;
  const char *out_dir = NULL;
  for (int i = 0; a->options && a->options[i].name; i++) {
    if (!a->option_value[i]) continue;
    if (a->options[i].kind == OPT_WRITES_NONE) return;
    if (a->options[i].kind == OPT_OUT_DIR) out_dir = a->option_value[i];
  }
  char *path;
  if (out_dir) {   // a page written elsewhere (a read-only run): locked where it is written
    make_dirs(out_dir);
    char file[256];
    snprintf(file, sizeof file, ".nq-%s.lock", a->info->name);
    path = path_join(out_dir, file);
  } else {
    char *dir = run_path(set, RUN_LOCKS);
    make_dirs(dir);
    path = lock_path(set, a, dir);
    free(dir);
    path_guard_check(path);   // a link there would have us truncate and write its target
  }
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
  if (fd < 0) fatal("%s: cannot open the lock file: %s", path, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {   // e.g. a parallel file system mounted without flock
      warning("%s: cannot lock (%s); nothing stops a second nq-%s on this run_dir", path, strerror(errno),
              a->info->name);
      close(fd);
      free(path);
      return;
    }
    char holder[512];
    read_holder(fd, holder, sizeof holder);
    fatal("%s: another nq-%s is running on this run_dir (%s); wait for it to end or stop it", path,
          a->info->name, holder);
  }
  write_holder(fd, path);   // fd stays open: the lock lasts as long as the process
  free(path);
}
