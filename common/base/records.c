// Records of a JSONL or JSON array file (see records.h).
#include "base/records.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"

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

int rec_next(rec_reader *r, json_t **obj, char *err, size_t errlen) {
  return r->format == REC_JSON ? json_array_next(&r->ja, obj, err, errlen) : jsonl_next(&r->jl, obj, err, errlen);
}

long rec_number(const rec_reader *r) { return r->format == REC_JSON ? r->ja.index : r->jl.line; }

void rec_where(const rec_reader *r, char *buf, size_t n) {
  if (r->format == REC_JSON) snprintf(buf, n, "%s[%ld]", r->ja.path, r->ja.index);
  else snprintf(buf, n, "%s:%ld", r->jl.path, r->jl.line);
}

void rec_close(rec_reader *r) {
  if (r->format == REC_JSON) json_array_close(&r->ja);
  else jsonl_close(&r->jl);
}
