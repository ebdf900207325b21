// A set of files published together (see publish.h).
#include "base/publish.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"

void publish_init(publish_set *p) { memset(p, 0, sizeof *p); }

void publish_dir(publish_set *p, const char *dir) {
  if (dir_exists(dir)) return;
  make_dirs(dir);
  cleanup_dir(dir);   // only this set's files are in it before the commit
  p->dirs = xrealloc(p->dirs, (size_t)(p->n_dirs + 1) * sizeof *p->dirs);
  p->dirs[p->n_dirs++] = xstrdup(dir);
}

void publish_add(publish_set *p, const char *path, const void *data, size_t len) {
  char *tmp = write_tmp_file(path, data, len);
  p->path = xrealloc(p->path, (size_t)(p->n + 1) * sizeof *p->path);
  p->tmp = xrealloc(p->tmp, (size_t)(p->n + 1) * sizeof *p->tmp);
  p->path[p->n] = xstrdup(path);
  p->tmp[p->n++] = tmp;
}

void publish_commit(publish_set *p) {
  for (int i = 0; i < p->n; i++) {
    rename_atomic(p->tmp[i], p->path[i]);
    cleanup_forget(p->tmp[i]);
    free(p->tmp[i]), free(p->path[i]);
  }
  for (int i = 0; i < p->n_dirs; i++) cleanup_forget(p->dirs[i]), free(p->dirs[i]);
  free(p->tmp), free(p->path), free(p->dirs);
  memset(p, 0, sizeof *p);
}
