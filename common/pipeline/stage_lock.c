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
#include "base/util.h"

// Stages of which several runs may share a run_dir, and the key that tells them apart.
static const struct { const char *stage, *key; } lock_by[] = {
    {"train", "train.name"},
};

static char *lock_path(const stage_ctx *s, const char *run_dir) {
  const char *name = s->info->name, *sub = NULL;
  for (size_t i = 0; i < sizeof lock_by / sizeof *lock_by; i++)
    if (!strcmp(lock_by[i].stage, name)) sub = cfg_str(s->cfg, lock_by[i].key);
  char file[512];
  snprintf(file, sizeof file, "locks/%s%s%s.lock", name, sub ? "." : "", sub ? sub : "");
  for (char *p = file + 6; *p; p++)
    if (*p == '/') *p = '_';   // a run name with a slash stays one file
  return path_join(run_dir, file);
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

void stage_lock(const stage_ctx *s) {
  const char *run_dir = cfg_str(s->cfg, "run_dir");
  if (!*run_dir)
    fatal("run_dir is empty: set run_dir (in the config or with --set run_dir=DIR) to the run's directory");
  if (s->rank != 0) return;
  char *dir = path_join(run_dir, "locks");
  make_dirs(dir);
  free(dir);
  char *path = lock_path(s, run_dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) fatal("%s: cannot open the lock file: %s", path, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {   // e.g. a parallel file system mounted without flock
      warning("%s: cannot lock (%s); nothing stops a second nq-%s on this run_dir", path, strerror(errno),
              s->info->name);
      close(fd);
      free(path);
      return;
    }
    char holder[512];
    read_holder(fd, holder, sizeof holder);
    fatal("%s: another nq-%s is running on this run_dir (%s); wait for it to end or stop it", path,
          s->info->name, holder);
  }
  write_holder(fd, path);   // fd stays open: the lock lasts as long as the process
  free(path);
}
