// Files that are one output together (an evaluation's row files and its summary, a report's
// figures and its page): each is written whole to <path>.tmp first, and only when every one is
// written are they renamed into place, in the order added (the file a reader looks at first,
// the summary or the page, last). A failure on the way (a full disk) leaves the old files or
// none, never a complete-looking part without its summary: the temp files are registered with
// base/cleanup.h and go when error()/fatal() stop the process.
//
// defines: publish_set, publish_init, publish_add, publish_dir, publish_commit
#ifndef NQ_PUBLISH_H
#define NQ_PUBLISH_H

#include <stddef.h>

typedef struct {
  char **path, **tmp;
  int n;
  char **dirs;   // folders made for the set (removed with it on a failure while empty)
  int n_dirs;
} publish_set;

void publish_init(publish_set *p);
// mkdir -p `dir` for files of the set; a folder it makes is removed if the set fails.
void publish_dir(publish_set *p, const char *dir);
// Writes data[len] to <path>.tmp (fsync'd); stops naming the file on an I/O error.
void publish_add(publish_set *p, const char *path, const void *data, size_t len);
// Renames every file into place, in the order added, and frees the set.
void publish_commit(publish_set *p);

#endif
