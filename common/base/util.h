// Checked allocation and file helpers: every failure stops with a line naming the call site.
#ifndef NQ_UTIL_H
#define NQ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

void *xmalloc_at(size_t n, const char *file, int line);
void *xcalloc_at(size_t n, size_t size, const char *file, int line);
void *xrealloc_at(void *p, size_t n, const char *file, int line);
char *xstrdup_at(const char *s, const char *file, int line);
#define xmalloc(n) xmalloc_at((n), __FILE__, __LINE__)
#define xcalloc(n, s) xcalloc_at((n), (s), __FILE__, __LINE__)
#define xrealloc(p, n) xrealloc_at((p), (n), __FILE__, __LINE__)
#define xstrdup(s) xstrdup_at((s), __FILE__, __LINE__)

// Growable byte buffer (used for text assembly).
typedef struct { char *data; size_t len, cap; } strbuf;
void sb_init(strbuf *b);
void sb_append(strbuf *b, const char *s, size_t n);
void sb_puts(strbuf *b, const char *s);
void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_free(strbuf *b);
char *sb_detach(strbuf *b);   // NUL-terminated, caller frees

// Whole file into memory (NUL-terminated). Returns NULL and sets errno on failure.
char *read_file(const char *path, size_t *len);
// Moves f past a UTF-8 byte-order mark at its start (Windows editors write one; it is not
// data); f must be at offset 0. Returns 1 if there was one.
int skip_utf8_bom(FILE *f);
// Write all bytes or stop with a message naming the path.
void write_file_atomic(const char *path, const void *data, size_t len);
// Its first half: all bytes to `path`.tmp, flushed to disk and registered with cleanup_file
// (removed if the process stops before the rename); returns that name (caller frees).
char *write_tmp_file(const char *path, const void *data, size_t len);
int file_exists(const char *path);
int dir_exists(const char *path);
// Fault injection for the tests (tests/integration/faults.sh): NQ_FAULT_KILL="NAME:N" makes
// the process kill itself (SIGKILL, as the OOM killer or a node failure would) when it reaches
// fault_point(NAME, N). Unset, it costs one getenv per call.
void fault_point(const char *name, long n);
// Memory trace (make bench, docs/training.md): with NQ_MEM_TRACE=1 in the environment, one
// line "mem: <where>: rss <MB>, peak <MB>" from /proc/self/status (VmRSS, VmHWM). Unset, it
// costs one getenv per call.
void mem_trace(const char *where);
// mkdir -p; stops on failure.
void make_dirs(const char *path);
// path join into a new string
char *path_join(const char *a, const char *b);
// fsync a file and its parent directory after rename (durable atomic outputs)
void fsync_path(const char *path);
void fsync_parent_dir(const char *path);
// rename tmp -> final and fsync the directory; stops on failure.
void rename_atomic(const char *tmp, const char *final_path);

// FNV-1a 64-bit (stable hashing for split fallback etc.)
uint64_t fnv1a64(const void *data, size_t n);

// Formats a one-line error into err[errlen] and returns -1, for functions that report
// failures to their caller instead of stopping: `return err_set(err, n, "%s: bad", path);`
int err_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
