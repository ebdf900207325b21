// What a failing process must not leave behind: temp files and temp folders it is writing.
// Writers register a path when they create it and drop it once it is renamed into place;
// error()/fatal() (base/log.c) remove whatever is still registered before the process stops,
// so a full disk or a bad record never leaves a *.tmp that keeps the disk full. kill -9
// cannot be caught: the next run's writers truncate or replace what it left.
#ifndef NQ_CLEANUP_H
#define NQ_CLEANUP_H

// Remove `path` (a file) if the process stops with an error before cleanup_forget(path).
void cleanup_file(const char *path);
// The same for a folder: its files (one level) and the folder itself.
void cleanup_dir(const char *path);
// `path` was committed (renamed or published): no longer removed.
void cleanup_forget(const char *path);
// Remove everything registered (called by error()/fatal() on the way out).
void cleanup_run(void);

#endif
