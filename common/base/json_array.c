// Streaming JSON array reader (see json_array.h).
#include "base/json_array.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "base/log.h"

// ---- bytes -------------------------------------------------------------------------------
static int next_byte(json_array_reader *r) {
  int c;
  if (r->back >= 0) {
    c = r->back;
    r->back = -1;
    return c;
  }
  c = getc_unlocked(r->f);
  if (c == '\n') r->line++;
  if (c == EOF && ferror(r->f)) fatal("%s: read error: %s", r->path, strerror(errno));
  return c;
}

static void push_back(json_array_reader *r, int c) { r->back = c; }

static int next_non_space(json_array_reader *r) {
  int c;
  do c = next_byte(r);
  while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
  return c;
}

// "file:line: " errors outside the elements.
static int at_line(json_array_reader *r, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int at_line(json_array_reader *r, char *err, size_t errlen, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  r->state = 2;   // the array's structure is lost: nothing more can be read
  err_set(err, errlen, "%s:%ld: %s", r->path, r->line, msg);
  return -2;
}

// ---- values ------------------------------------------------------------------------------
// Rest of a string after its opening quote (appended to `out` when not NULL, quotes included
// by the caller). Returns 0 or -1 at the end of the file.
static int scan_string(json_array_reader *r, strbuf *out) {
  for (;;) {
    int c = next_byte(r);
    if (c == EOF) return -1;
    char ch = (char)c;
    if (out) sb_append(out, &ch, 1);
    if (c == '"') return 0;
    if (c == '\\') {
      c = next_byte(r);
      if (c == EOF) return -1;
      ch = (char)c;
      if (out) sb_append(out, &ch, 1);
    }
  }
}

// One value starting with byte `c`, appended to `out` (NULL: skipped). Objects and arrays by
// nesting depth, strings by quotes, scalars up to the next delimiter. Returns 0 or -1 with err.
static int scan_value(json_array_reader *r, int c, strbuf *out, char *err, size_t errlen) {
  int depth = 0;
  for (;;) {
    if (c == EOF) return at_line(r, err, errlen, "unexpected end of file inside a value");
    char ch = (char)c;
    if (c == '"') {
      if (out) sb_append(out, &ch, 1);
      if (scan_string(r, out)) return at_line(r, err, errlen, "unexpected end of file inside a string");
    } else if (depth == 0 && (c == ',' || c == ']' || c == '}' || c == ' ' || c == '\n' || c == '\t' || c == '\r')) {
      push_back(r, c);   // the end of a scalar
      return 0;
    } else {
      if (out) sb_append(out, &ch, 1);
      if (c == '{' || c == '[') depth++;
      if (c == '}' || c == ']') {
        if (--depth < 0) return at_line(r, err, errlen, "unbalanced '%c'", c);
      }
    }
    if (depth == 0 && (c == '"' || c == '}' || c == ']')) return 0;
    c = next_byte(r);
  }
}

// ---- opening: walk the list path -----------------------------------------------------------
// Inside a top-level object: move to the value of key `name` (its first byte is next).
static int enter_key(json_array_reader *r, const char *name, size_t n, char *err, size_t errlen) {
  if (next_non_space(r) != '{') return at_line(r, err, errlen, "expected an object holding '%.*s'", (int)n, name);
  strbuf key;
  sb_init(&key);
  for (;;) {
    int c = next_non_space(r);
    if (c == '}') break;
    if (c != '"') break;
    key.len = 0;
    if (scan_string(r, &key)) break;
    if (next_non_space(r) != ':') break;
    if (key.len == n + 1 && !memcmp(key.data, name, n)) {   // key.data holds the name and its closing quote
      sb_free(&key);
      return 0;
    }
    int rc = scan_value(r, next_non_space(r), NULL, err, errlen);
    if (rc) { sb_free(&key); return rc; }
    c = next_non_space(r);
    if (c != ',') break;
  }
  sb_free(&key);
  return at_line(r, err, errlen, "no list '%.*s' in the object (check the records path in the config)", (int)n, name);
}

int json_array_open(json_array_reader *r, const char *path, const char *list_path, int stride, int phase,
                    char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  r->path = path;
  r->line = 1;
  r->index = -1;
  r->back = -1;
  r->stride = stride > 0 ? stride : 1;
  r->phase = phase;
  sb_init(&r->buf);
  r->f = fopen(path, "rb");
  if (!r->f) fatal("%s: cannot open: %s", path, strerror(errno));
  skip_utf8_bom(r->f);
  for (const char *p = list_path; *p;) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (enter_key(r, p, n, err, errlen)) return -2;
    r->depth++;
    p += n + (dot ? 1 : 0);
  }
  int c = next_non_space(r);
  if (c == EOF && r->line == 1 && ftell(r->f) <= 3) {
    err_set(err, errlen, "%s: empty file (no records)", path);
    return -2;
  }
  if (c != '[')
    return at_line(r, err, errlen, "expected a JSON array of records%s%s", *list_path ? " at " : "", list_path);
  return 0;
}

// ---- the end -------------------------------------------------------------------------------
// After the array's ']': the other members of each object around it, then only whitespace to
// the end of the file. Text there (a second array appended to the first, a stray bracket)
// would otherwise be dropped without a word. 0, or -2 with err.
static int check_end(json_array_reader *r, char *err, size_t errlen) {
  for (int d = 0; d < r->depth; d++) {
    for (int c = next_non_space(r); c != '}'; c = next_non_space(r)) {
      if (c != ',') return at_line(r, err, errlen, "expected ',' or '}' after the list of records");
      if (next_non_space(r) != '"') return at_line(r, err, errlen, "expected a key after ','");
      if (scan_string(r, NULL)) return at_line(r, err, errlen, "unexpected end of file inside a string");
      if (next_non_space(r) != ':') return at_line(r, err, errlen, "expected ':' after a key");
      if (scan_value(r, next_non_space(r), NULL, err, errlen)) return -2;
    }
  }
  int c = next_non_space(r);
  if (c == EOF) return 0;
  if (c > ' ' && c < 0x7F)
    return at_line(r, err, errlen, "text after the end of the JSON %s ('%c'): only whitespace may follow it",
                   r->depth ? "object" : "array", c);
  return at_line(r, err, errlen, "text after the end of the JSON %s (byte 0x%02x): only whitespace may follow it",
                 r->depth ? "object" : "array", c);
}

// ---- elements ------------------------------------------------------------------------------
// Moves past the separator before the next element: 1 when there is one, 0 at ']' (the end
// checked), -2 with err.
static int next_element(json_array_reader *r, char *err, size_t errlen) {
  int c = next_non_space(r);
  if (c == ']') {
    r->state = 2;
    return check_end(r, err, errlen);
  }
  if (c == EOF) return at_line(r, err, errlen, "unexpected end of file: the array is not closed");
  if (r->state == 1) {
    if (c != ',') return at_line(r, err, errlen, "expected ',' or ']' after record %ld", r->index);
    c = next_non_space(r);
  }
  if (c == EOF) return at_line(r, err, errlen, "unexpected end of file: the array is not closed");
  r->state = 1;
  push_back(r, c);
  return 1;
}

int json_array_next(json_array_reader *r, json_t **obj, char *err, size_t errlen) {
  while (r->state != 2) {
    int rc = next_element(r, err, errlen);
    if (rc != 1) return rc;
    r->index++;
    int keep = r->index % r->stride == r->phase;
    r->buf.len = 0;
    int c = next_byte(r);
    r->rec_line = r->line;
    if (scan_value(r, c, keep ? &r->buf : NULL, err, errlen)) return -2;
    if (!keep) continue;
    json_error_t je;
    json_t *v = json_loadb(r->buf.data, r->buf.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!v)
      return err_set(err, errlen, "%s[%ld] (line %ld): malformed JSON: %s", r->path, r->index,
                     r->rec_line + je.line - 1, je.text);
    if (!json_is_object(v)) {
      json_decref(v);
      return err_set(err, errlen, "%s[%ld] (line %ld): expected an object", r->path, r->index, r->rec_line);
    }
    *obj = v;
    return 1;
  }
  return 0;
}

void json_array_close(json_array_reader *r) {
  if (r->f) fclose(r->f);
  sb_free(&r->buf);
  memset(r, 0, sizeof *r);
}
