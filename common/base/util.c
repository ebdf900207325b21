#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/path_guard.h"

void *xmalloc_at(size_t n, const char *file, int line) {
  void *p = malloc(n ? n : 1);
  if (!p) log_error(file, "xmalloc", line, "out of memory allocating %zu bytes", n);
  return p;
}

void *xcalloc_at(size_t n, size_t size, const char *file, int line) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) log_error(file, "xcalloc", line, "out of memory allocating %zu x %zu bytes", n, size);
  return p;
}

void *xrealloc_at(void *p, size_t n, const char *file, int line) {
  void *q = realloc(p, n ? n : 1);
  if (!q) log_error(file, "xrealloc", line, "out of memory reallocating to %zu bytes", n);
  return q;
}

char *xstrdup_at(const char *s, const char *file, int line) {
  size_t n = strlen(s) + 1;
  char *d = xmalloc_at(n, file, line);
  memcpy(d, s, n);
  return d;
}

void sb_init(strbuf *b) { b->data = NULL; b->len = b->cap = 0; }

static void sb_reserve(strbuf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra + 1) cap *= 2;
  b->data = xrealloc(b->data, cap);
  b->cap = cap;
}

void sb_append(strbuf *b, const char *s, size_t n) {
  sb_reserve(b, n);
  if (n) memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = 0;
}

void sb_puts(strbuf *b, const char *s) { sb_append(b, s, strlen(s)); }

void sb_printf(strbuf *b, const char *fmt, ...) {
  if (!fmt) error("sb_printf: NULL format");  // also silences a GCC -O1+UBSan false positive
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  char probe[256];
  int n = vsnprintf(probe, sizeof probe, fmt, ap);
  va_end(ap);
  if (n < 0) error("vsnprintf failed for format '%s'", fmt);
  sb_reserve(b, (size_t)n);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  b->len += (size_t)n;
}

void sb_free(strbuf *b) { free(b->data); sb_init(b); }

char *sb_detach(strbuf *b) {
  if (!b->data) sb_reserve(b, 0), b->data[0] = 0;
  char *d = b->data;
  sb_init(b);
  return d;
}

char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  strbuf b;
  sb_init(&b);
  char chunk[65536];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) sb_append(&b, chunk, got);
  int bad = ferror(f);
  int saved = errno;
  fclose(f);
  if (bad) {
    sb_free(&b);
    errno = saved ? saved : EIO;
    return NULL;
  }
  if (len) *len = b.len;
  return sb_detach(&b);
}

void fsync_path(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) error("cannot open %s to fsync: %s", path, strerror(errno));
  if (fsync(fd) != 0 && errno != EINVAL) error("fsync %s: %s", path, strerror(errno));
  close(fd);
}

void fsync_parent_dir(const char *path) {
  char *copy = xstrdup(path);
  const char *dir = dirname(copy);
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    (void)fsync(fd);  // best effort: some file systems refuse fsync on directories
    close(fd);
  }
  free(copy);
}

void rename_atomic(const char *tmp, const char *final_path) {
  path_guard_check(tmp);
  path_guard_check(final_path);
  if (rename(tmp, final_path) != 0)
    error("cannot rename %s to %s: %s", tmp, final_path, strerror(errno));
  fsync_parent_dir(final_path);
}

char *write_tmp_file(const char *path, const void *data, size_t len) {
  char *tmp = xmalloc(strlen(path) + 5);
  sprintf(tmp, "%s.tmp", path);
  path_guard_check(tmp);   // a link on the way (or tmp itself) would write outside run_dir
  FILE *f = fopen(tmp, "wb");
  if (!f) error("cannot create %s: %s", tmp, strerror(errno));
  cleanup_file(tmp);
  if (len && fwrite(data, 1, len, f) != len) error("writing %s: %s", tmp, strerror(errno));
  if (fflush(f) != 0 || fsync(fileno(f)) != 0) error("flushing %s: %s", tmp, strerror(errno));
  if (fclose(f) != 0) error("closing %s: %s", tmp, strerror(errno));
  return tmp;
}

void write_file_atomic(const char *path, const void *data, size_t len) {
  char *tmp = write_tmp_file(path, data, len);
  rename_atomic(tmp, path);
  cleanup_forget(tmp);
  free(tmp);
}

int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

int dir_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void make_dirs(const char *path) {
  path_guard_check(path);   // mkdir -p would go through a link below run_dir without a word
  char *p = xstrdup(path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(p, 0777) != 0 && errno != EEXIST) error("cannot create directory %s: %s", p, strerror(errno));
    *s = '/';
  }
  if (mkdir(p, 0777) != 0 && errno != EEXIST) error("cannot create directory %s: %s", p, strerror(errno));
  free(p);
}

char *path_join(const char *a, const char *b) {
  size_t la = strlen(a);
  int slash = la > 0 && a[la - 1] != '/';
  char *r = xmalloc(la + strlen(b) + 2);
  sprintf(r, "%s%s%s", a, slash ? "/" : "", b);
  return r;
}

uint64_t fnv1a64(const void *data, size_t n) {
  const unsigned char *p = data;
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

int err_set(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err && errlen) vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

int skip_utf8_bom(FILE *f) {
  unsigned char b[3];
  size_t n = fread(b, 1, 3, f);
  if (n == 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) return 1;
  if (fseek(f, 0, SEEK_SET)) fatal("cannot rewind a file after reading its first bytes: %s", strerror(errno));
  return 0;
}

void fault_point(const char *name, long n) {
  const char *f = getenv("NQ_FAULT_KILL");
  if (!f || !*f) return;
  size_t len = strlen(name);
  if (strncmp(f, name, len) || f[len] != ':' || strtol(f + len + 1, NULL, 10) != n) return;
  fprintf(stderr, "NQ_FAULT_KILL: killing this process at %s %ld\n", name, n);
  fflush(stderr);
  raise(SIGKILL);
}

// kB of the /proc/self/status line starting with `key` ("VmRSS:"), or -1.
static long status_kb(const char *status, const char *key) {
  const char *at = strstr(status, key);
  return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

void mem_trace(const char *where) {
  const char *e = getenv("NQ_MEM_TRACE");
  if (!e || strcmp(e, "1")) return;
  char buf[4096];
  FILE *f = fopen("/proc/self/status", "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  log_message("mem: %s: rss %.0f MB, peak %.0f MB", where, status_kb(buf, "VmRSS:") / 1024.0,
              status_kb(buf, "VmHWM:") / 1024.0);
}
