// The corpus of the `data` section (see corpus.h).
#include "pipeline/corpus.h"

#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "pipeline/run_layout.h"

// ---- input files -------------------------------------------------------------------------
static void add_file(corpus_file **f, int *n, const settings *set, char *path, int split) {
  for (int i = 0; i < *n; i++)
    if (!strcmp((*f)[i].path, path))
      fatal("%s: data: input file %s is named twice (data.files / data.split_files)", settings_file(set), path);
  *f = xrealloc(*f, (size_t)(*n + 1) * sizeof **f);
  (*f)[(*n)++] = (corpus_file){path, split};
}

static void add_glob(corpus_file **f, int *n, const settings *set, const char *key, const string_list *l, int i,
                     int split) {
  char *pattern = run_data_path(set, l->v[i]);
  glob_t g;
  int rc = glob(pattern, GLOB_ERR, NULL, &g);
  if (rc == GLOB_NOMATCH) fatal("%s: %s[%d]: no file matches '%s'", settings_file(set), key, i, pattern);
  if (rc != 0) fatal("%s: %s[%d]: cannot expand '%s'", settings_file(set), key, i, pattern);
  for (size_t k = 0; k < g.gl_pathc; k++) add_file(f, n, set, xstrdup(g.gl_pathv[k]), split);   // glob sorts
  globfree(&g);
  free(pattern);
}

corpus_file *corpus_files(const settings *set, int *n) {
  static const char *const keys[3] = {"data.split_files.train", "data.split_files.valid", "data.split_files.test"};
  static const int splits[3] = {SPLIT_TRAIN, SPLIT_VALID, SPLIT_TEST};
  const data_settings *d = &set->data;
  const string_list *lists[3] = {&d->split_files.train, &d->split_files.valid, &d->split_files.test};
  corpus_file *f = NULL;
  *n = 0;
  for (int i = 0; i < d->files.n; i++) add_file(&f, n, set, run_data_path(set, d->files.v[i]), -1);
  for (int s = 0; s < 3; s++)
    for (int i = 0; i < lists[s]->n; i++) add_glob(&f, n, set, keys[s], lists[s], i, splits[s]);
  if (*n == 0) fatal("%s: no input files: data.files and data.split_files are empty", settings_file(set));
  return f;
}

void corpus_files_free(corpus_file *f, int n) {
  for (int i = 0; i < n; i++) free(f[i].path);
  free(f);
}

int corpus_open(rec_reader *r, const data_settings *d, const char *path, int rank, int size, char *err, size_t errlen) {
  return rec_open(r, path, (rec_format)d->format, d->records, rank, size, err, errlen);
}

// ---- keys ----------------------------------------------------------------------------------
void corpus_auto_id(const rec_reader *r, char *buf, size_t n) {
  const char *path = r->format == REC_JSON ? r->ja.path : r->jl.path, *base = strrchr(path, '/');
  snprintf(buf, n, r->format == REC_JSON ? "%s[%ld]" : "%s:%ld", base ? base + 1 : path, rec_number(r));
}

int corpus_key_text(const json_t *rec, const char *field, char **out, char *err, size_t errlen) {
  const json_t *v = json_path_get(rec, field);
  char num[32];
  if (!v) return err_set(err, errlen, "field '%s': missing", field);
  if (json_is_string(v)) {
    *out = xstrdup(json_string_value(v));
    return 0;
  }
  if (json_is_integer(v)) {
    snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
    *out = xstrdup(num);
    return 0;
  }
  return err_set(err, errlen, "field '%s': expected a string or integer", field);
}

// ---- the targets table -----------------------------------------------------------------------
// "file[number]" (JSON) or "file:number" (JSONL) of a stored target.
static void target_where(const corpus_targets *t, const json_t *entry, char *buf, size_t n) {
  int fi = (int)json_integer_value(json_array_get(entry, 1));
  long num = (long)json_integer_value(json_array_get(entry, 2));
  int json = json_is_true(json_array_get(entry, 3));
  snprintf(buf, n, json ? "%s[%ld]" : "%s:%ld", t->files[fi], num);
}

static void load_file(corpus_targets *t, const data_settings *d, int fi) {
  const char *fid = d->targets.id;
  rec_reader r;
  char err[1024], where[600], other[600];
  if (rec_open(&r, t->files[fi], REC_AUTO, d->targets.records, 0, 1, err, sizeof err)) fatal("%s", err);
  json_t *rec;
  int rc;
  while ((rc = rec_next(&r, &rec, err, sizeof err)) != 0) {
    if (rc < 0) fatal("%s", err);
    rec_where(&r, where, sizeof where);
    char *id;
    if (corpus_key_text(rec, fid, &id, err, sizeof err)) fatal("%s: %s (data.targets.id)", where, err);
    const json_t *seen = json_object_get(t->by_id, id);
    if (seen) {
      target_where(t, seen, other, sizeof other);
      fatal("%s: id '%s' is a duplicate: also at %s (data.targets)", where, id, other);
    }
    json_object_set_new(t->by_id, id, json_pack("[o, i, I, b]", rec, fi, (json_int_t)rec_number(&r), r.format == REC_JSON));
    free(id);
  }
  rec_close(&r);
}

void corpus_targets_load(corpus_targets *t, const settings *set) {
  const string_list *files = &set->data.targets.files;
  memset(t, 0, sizeof *t);
  t->n_files = files->n;
  if (t->n_files == 0) return;
  t->by_id = json_object();
  t->files = xcalloc((size_t)t->n_files, sizeof *t->files);
  strbuf names;
  sb_init(&names);
  for (int i = 0; i < t->n_files; i++) {
    t->files[i] = run_data_path(set, files->v[i]);
    sb_printf(&names, "%s%s", i ? ", " : "", t->files[i]);
  }
  t->names = sb_detach(&names);
  for (int i = 0; i < t->n_files; i++) load_file(t, &set->data, i);
}

const json_t *corpus_target(const corpus_targets *t, const char *id, char *err, size_t errlen) {
  const json_t *e = json_object_get(t->by_id, id);
  if (e) return json_array_get(e, 0);
  err_set(err, errlen, "id '%s' has no target: not in the targets file%s %s (data.targets)", id,
          t->n_files > 1 ? "s" : "", t->names);
  return NULL;
}

void corpus_targets_free(corpus_targets *t) {
  if (t->by_id) json_decref(t->by_id);
  for (int i = 0; i < t->n_files; i++) free(t->files[i]);
  free(t->files);
  free(t->names);
  memset(t, 0, sizeof *t);
}
