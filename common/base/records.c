// Records of a JSONL or JSON array file (see records.h).
#include "base/records.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/utf8.h"
#include "base/util.h"

rec_format rec_detect(const char *path, rec_format want, const char *list_path) {
  (void)jsonl_file_size(path);   // missing or empty: fatal
  if (want != REC_AUTO) return want;
  if (*list_path) return REC_JSON;
  FILE *f = fopen(path, "rb");
  if (!f) fatal("%s: cannot open: %s", path, strerror(errno));
  skip_utf8_bom(f);
  int c;
  do c = getc(f);
  while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
  fclose(f);
  return c == '[' ? REC_JSON : REC_JSONL;
}

int rec_open(rec_reader *r, const char *path, rec_format format, const char *list_path, int rank, int size,
             char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  r->format = rec_detect(path, format, list_path);
  if (r->format == REC_JSON) return json_array_open(&r->ja, path, list_path, size, rank, err, errlen);
  long long a, b;
  jsonl_range(path, rank, size, &a, &b);
  jsonl_open(&r->jl, path, a, b);
  return 0;
}

// ---- the strings of a record -------------------------------------------------------------
// `field` holds the path so far (its length `at`); each level appends to it.
static int check_value(const json_t *v, char *field, size_t fieldlen, size_t at, char *why, size_t whylen) {
  if (json_is_string(v)) return text_check(json_string_value(v), json_string_length(v), why, whylen);
  if (json_is_array(v)) {
    for (size_t i = 0; i < json_array_size(v); i++) {
      snprintf(field + at, fieldlen - at, "[%zu]", i);
      size_t next = strlen(field);
      if (check_value(json_array_get(v, i), field, fieldlen, next, why, whylen)) return -1;
    }
  } else if (json_is_object(v)) {
    const char *key;
    size_t klen;
    json_t *x;
    json_object_keylen_foreach((json_t *)v, key, klen, x) {
      snprintf(field + at, fieldlen - at, "%s%.*s", at ? "." : "", (int)klen, key);
      size_t next = strlen(field);
      if (text_check(key, klen, why, whylen)) {
        size_t w = strlen(why);
        snprintf(why + w, whylen - w, " (in the key)");
        return -1;
      }
      if (check_value(x, field, fieldlen, next, why, whylen)) return -1;
    }
  }
  field[at] = 0;
  return 0;
}

int json_text_check(const json_t *v, char *field, size_t fieldlen, char *why, size_t whylen) {
  field[0] = 0;
  return check_value(v, field, fieldlen, 0, why, whylen);
}

int rec_next(rec_reader *r, json_t **obj, char *err, size_t errlen) {
  int rc = r->format == REC_JSON ? json_array_next(&r->ja, obj, err, errlen) : jsonl_next(&r->jl, obj, err, errlen);
  if (rc != 1) return rc;
  char field[256], why[160], where[600];
  if (json_text_check(*obj, field, sizeof field, why, sizeof why) == 0) return 1;
  json_decref(*obj);
  *obj = NULL;
  if (r->format == REC_JSON)   // as the array reader names its bad elements
    snprintf(where, sizeof where, "%s[%ld] (line %ld)", r->ja.path, r->ja.index, r->ja.rec_line);
  else rec_where(r, where, sizeof where);
  return err_set(err, errlen, "%s: field '%s': %s", where, field, why);
}

long rec_number(const rec_reader *r) { return r->format == REC_JSON ? r->ja.index : r->jl.line; }

void rec_where(const rec_reader *r, char *buf, size_t n) {
  if (r->format == REC_JSON) snprintf(buf, n, "%s[%ld]", r->ja.path, r->ja.index);
  else snprintf(buf, n, "%s:%ld", r->jl.path, r->jl.line);
}

void rec_place(const char *path, rec_format format, const char *list_path, long number, char *buf, size_t n) {
  if (format != REC_JSON) {
    snprintf(buf, n, "%s:%ld", path, number);
    return;
  }
  json_array_reader r;   // keeps (parses) element `number` only
  char err[600];
  json_t *o = NULL;
  if (number < 0 || number >= INT_MAX) {
    snprintf(buf, n, "%s[%ld]", path, number);
    return;
  }
  int rc = json_array_open(&r, path, list_path, (int)number + 1, (int)number, err, sizeof err);
  if (rc == 0) rc = json_array_next(&r, &o, err, sizeof err);
  if (rc == 1 || rc == -1) snprintf(buf, n, "%s[%ld] (line %ld)", path, number, r.rec_line);
  else snprintf(buf, n, "%s[%ld]", path, number);
  if (o) json_decref(o);
  json_array_close(&r);
}

void rec_close(rec_reader *r) {
  if (r->format == REC_JSON) json_array_close(&r->ja);
  else jsonl_close(&r->jl);
}
