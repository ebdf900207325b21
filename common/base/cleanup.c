// See cleanup.h. A small fixed table: a process writes a handful of temp paths at a time, or
// the files of one publish set.
#include "base/cleanup.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ENTRIES 512   // a publish set (base/publish.h) registers every file of an evaluation

typedef struct {
  char *path;   // NULL: free slot
  int is_dir;
} entry;

static entry g_entries[MAX_ENTRIES];

static void add(const char *path, int is_dir) {
  for (int i = 0; i < MAX_ENTRIES; i++)
    if (g_entries[i].path && !strcmp(g_entries[i].path, path)) return;
  for (int i = 0; i < MAX_ENTRIES; i++)
    if (!g_entries[i].path) {
      g_entries[i].path = strdup(path);   // plain strdup: xstrdup would stop through log.c
      g_entries[i].is_dir = is_dir;
      return;
    }
  // full table: nothing is lost but the cleanup of this one path
}

void cleanup_file(const char *path) { add(path, 0); }
void cleanup_dir(const char *path) { add(path, 1); }

void cleanup_forget(const char *path) {
  for (int i = 0; i < MAX_ENTRIES; i++)
    if (g_entries[i].path && !strcmp(g_entries[i].path, path)) {
      free(g_entries[i].path);
      g_entries[i].path = NULL;
    }
}

static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char p[4096];
      snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
      if (unlink(p) != 0) remove_tree(p);   // a subfolder
    }
    closedir(d);
  }
  rmdir(dir);
}

void cleanup_run(void) {
  for (int i = 0; i < MAX_ENTRIES; i++) {
    if (!g_entries[i].path) continue;
    if (g_entries[i].is_dir) remove_tree(g_entries[i].path);
    else unlink(g_entries[i].path);
    free(g_entries[i].path);
    g_entries[i].path = NULL;
  }
}
