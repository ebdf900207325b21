// Streaming JSONL reader over a byte range (see jsonl.h).
#include "base/jsonl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "base/log.h"
#include "base/util.h"

long long jsonl_file_size(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) fatal("%s: cannot open: %s", path, strerror(errno));
  if (fseeko(f, 0, SEEK_END) != 0) fatal("%s: cannot seek: %s", path, strerror(errno));
  off_t n = ftello(f);
  fclose(f);
  if (n < 0) fatal("%s: cannot tell size: %s", path, strerror(errno));
  if (n == 0) fatal("%s: empty file (no records)", path);
  return (long long)n;
}

// First line start at or after byte b: b itself when b == 0 or byte b-1 is a newline.
static long long align_line(FILE *f, const char *path, long long b, long long size) {
  if (b <= 0) return 0;
  if (b >= size) return size;
  if (fseeko(f, (off_t)(b - 1), SEEK_SET) != 0) fatal("%s: cannot seek: %s", path, strerror(errno));
  long long p = b - 1;
  int c;
  while ((c = getc(f)) != EOF) {
    p++;
    if (c == '\n') return p;
  }
  if (ferror(f)) fatal("%s: read error: %s", path, strerror(errno));
  return size;
}

void jsonl_range(const char *path, int rank, int size, long long *start, long long *end) {
  long long n = jsonl_file_size(path);
  FILE *f = fopen(path, "rb");
  if (!f) fatal("%s: cannot open: %s", path, strerror(errno));
  long long b0 = (long long)((__int128)n * rank / size), b1 = (long long)((__int128)n * (rank + 1) / size);
  *start = align_line(f, path, b0, n);
  *end = align_line(f, path, b1, n);
  fclose(f);
}

void jsonl_open(jsonl_reader *r, const char *path, long long start, long long end) {
  memset(r, 0, sizeof *r);
  r->path = path;
  r->f = fopen(path, "rb");
  if (!r->f) fatal("%s: cannot open: %s", path, strerror(errno));
  // line numbers: count the newlines before our range
  char chunk[65536];
  long long left = start;
  while (left > 0) {
    size_t want = left < (long long)sizeof chunk ? (size_t)left : sizeof chunk;
    size_t got = fread(chunk, 1, want, r->f);
    if (got == 0) fatal("%s: read error while counting lines", path);
    for (size_t i = 0; i < got; i++) r->line += chunk[i] == '\n';
    left -= (long long)got;
  }
  r->pos = start;
  r->end = end;
}

int jsonl_next(jsonl_reader *r, json_t **obj, char *err, size_t errlen) {
  for (;;) {
    if (r->pos >= r->end) return 0;
    ssize_t n = getline(&r->buf, &r->cap, r->f);
    if (n < 0) {
      if (ferror(r->f)) fatal("%s: read error: %s", r->path, strerror(errno));
      return 0;
    }
    r->pos += n;
    r->line++;
    size_t len = (size_t)n;
    if (len && r->buf[len - 1] == '\n') len--;
    if (len && r->buf[len - 1] == '\r') len--;
    if (r->line == 1 && len >= 3 && !memcmp(r->buf, "\xEF\xBB\xBF", 3)) {
      memmove(r->buf, r->buf + 3, len - 3);   // a UTF-8 byte-order mark (Windows editors): not data
      len -= 3;
    }
    if (len == 0) continue;
    size_t bad;
    if (!utf8_valid(r->buf, len, &bad)) {
      snprintf(err, errlen, "%s:%ld: not valid UTF-8 (byte 0x%02x at column %zu)", r->path, r->line,
               (unsigned char)r->buf[bad], bad + 1);
      return -1;
    }
    json_error_t je;
    json_t *v = json_loadb(r->buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!v) {
      snprintf(err, errlen, "%s:%ld: malformed JSON at column %d: %s", r->path, r->line, je.column, je.text);
      return -1;
    }
    if (!json_is_object(v)) {
      json_decref(v);
      snprintf(err, errlen, "%s:%ld: expected a JSON object per line", r->path, r->line);
      return -1;
    }
    *obj = v;
    return 1;
  }
}

void jsonl_close(jsonl_reader *r) {
  if (r->f) fclose(r->f);
  free(r->buf);
  memset(r, 0, sizeof *r);
}

json_t *json_path_get(const json_t *obj, const char *dotted) {
  const json_t *cur = obj;
  const char *p = dotted;
  char key[256];
  while (cur) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (n >= sizeof key || !json_is_object(cur)) return NULL;
    memcpy(key, p, n);
    key[n] = 0;
    cur = json_object_get(cur, key);
    if (!dot) return (json_t *)cur;
    p = dot + 1;
  }
  return NULL;
}

void json_write_file(const char *path, const json_t *j, size_t flags, int newline) {
  char *text = json_dumps(j, flags);
  if (!text) error("%s: cannot serialize the JSON to write", path);
  size_t n = strlen(text);
  if (newline) {
    text = xrealloc(text, n + 2);
    text[n++] = '\n';
    text[n] = 0;
  }
  write_file_atomic(path, text, n);
  free(text);
}
