// See path_guard.h. lstat() of each existing component, root excluded, down to the path.
#include "base/path_guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"

// util.c's file writers call path_guard_check, so this file does not use util.c (no loop).
static char *dup_or_die(const char *s) {
  char *d = strdup(s);
  if (!d) fatal("path_guard: out of memory copying %s", s);
  return d;
}

static char *g_root;   // without trailing slashes; NULL: no guard

void path_guard_set(const char *root) {
  free(g_root);
  g_root = NULL;
  if (!root || !root[0]) return;
  g_root = dup_or_die(root);
  for (size_t n = strlen(g_root); n > 1 && g_root[n - 1] == '/'; n--) g_root[n - 1] = 0;
}

// The part of `path` below the root (no leading slash), or NULL when it is not below it.
static const char *below_root(const char *path) {
  size_t n = strlen(g_root);
  if (strncmp(path, g_root, n)) return NULL;
  if (path[n] != '/' && !(n == 1 && g_root[0] == '/')) return NULL;
  const char *p = path + n;
  while (*p == '/') p++;
  return *p ? p : NULL;
}

void path_guard_check(const char *path) {
  if (!g_root || !path) return;
  const char *rel = below_root(path);
  if (!rel) return;
  char *p = dup_or_die(path), why[64] = "";
  for (char *c = p + (rel - path);;) {
    size_t len = strcspn(c, "/");
    char keep = c[len];
    c[len] = 0;
    struct stat st;
    if (len == 2 && c[0] == '.' && c[1] == '.') {
      snprintf(why, sizeof why, "leaves");
      break;
    }
    if (lstat(p, &st) != 0) break;   // nothing below exists yet (made as real folders), or the write says why
    if (S_ISLNK(st.st_mode)) {   // p ends at the link: the message names it
      snprintf(why, sizeof why, "link");
      break;
    }
    c[len] = keep;
    if (!keep) break;
    c += len;
    while (*c == '/') c++;
    if (!*c) break;
  }
  if (!why[0]) {
    free(p);
    return;
  }
  char msg[4096];   // p is freed first: unit tests catch the stop and must not leak
  if (!strcmp(why, "leaves"))
    snprintf(msg, sizeof msg, "%s: leaves run_dir %s through '..'; a stage writes only inside run_dir", path, g_root);
  else
    snprintf(msg, sizeof msg, "%s: is a symbolic link inside run_dir %s; stages do not write or delete "
             "through links below run_dir (make it a real folder or file, or point run_dir itself elsewhere)",
             p, g_root);
  free(p);
  fatal("%s", msg);
}
