// Reads data.files once, looking each record's id up among the evaluated samples (sorted by id).
#include "eval/eval_corpus.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonl.h"
#include "base/log.h"
#include "base/util.h"
#include "pipeline/run_paths.h"

static const eval_samples *find_d;   // bsearch has no context argument
static int cmp_key_id(const void *key, const void *elem) {
  size_t k = *(const size_t *)elem;
  return strcmp((const char *)key, eval_sample_shard(find_d, k)->id[eval_sample_index(find_d, k)]);
}

// The evaluated sample whose id is the record's (string or integer id field), or -1.
static long record_sample(const json_t *rec, const char *fid, const size_t *ord, const eval_samples *d) {
  const json_t *v = json_path_get(rec, fid);
  char num[32];
  const char *id = NULL;
  if (json_is_string(v)) id = json_string_value(v);
  else if (json_is_integer(v)) {
    snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
    id = num;
  }
  find_d = d;
  size_t *hit = id ? bsearch(id, ord, d->n, sizeof *ord, cmp_key_id) : NULL;
  return hit ? (long)*hit : -1;
}

// The record's planted phrases (and their kinds, to skip some) into e; 1 when it has the field.
static int record_phrases(const json_t *rec, const config *c, const eval_opts *o, eval_corpus_entry *e,
                          const char *path, long line) {
  const json_t *ph = o->phrases_field[0] ? json_path_get(rec, o->phrases_field) : NULL;
  if (!ph) return 0;
  if (!json_is_array(ph)) fatal("%s:%ld: field '%s': expected a list of strings", path, line, o->phrases_field);
  const json_t *kinds = o->kinds_field[0] ? json_path_get(rec, o->kinds_field) : NULL;
  if (kinds && (!json_is_array(kinds) || json_array_size(kinds) != json_array_size(ph)))
    fatal("%s:%ld: field '%s': expected a list as long as '%s'", path, line, o->kinds_field, o->phrases_field);
  for (size_t j = 0; j < json_array_size(ph); j++) {
    const json_t *p = json_array_get(ph, j);
    if (!json_is_string(p)) fatal("%s:%ld: field '%s': expected a list of strings", path, line, o->phrases_field);
    const json_t *kind = kinds ? json_array_get(kinds, j) : NULL;
    if (eval_in_list(c, "eval.skip_kinds", json_is_string(kind) ? json_string_value(kind) : "")) continue;
    e->phrases = xrealloc(e->phrases, (size_t)(e->n_phrases + 1) * sizeof *e->phrases);
    e->phrases[e->n_phrases++] = xstrdup(json_string_value(p));
  }
  return 1;
}

// One JSONL file: reference text and phrases of every record that is an evaluated sample.
static void file_read(eval_corpus *cp, const char *path, const config *c, const eval_opts *o,
                      const eval_samples *d, const size_t *ord) {
  const char *fid = cfg_str(c, "data.fields.id"), *ftarget = cfg_str(c, "data.fields.target");
  jsonl_reader r;
  jsonl_open(&r, path, 0, jsonl_file_size(path));
  json_t *rec;
  char err[512];
  int st;
  while ((st = jsonl_next(&r, &rec, err, sizeof err)) != 0) {
    if (st < 0) fatal("%s", err);
    long k = record_sample(rec, fid, ord, d);
    if (k >= 0) {
      eval_corpus_entry *e = &cp->e[k];
      const json_t *tg = json_path_get(rec, ftarget);
      if (tg && json_is_string(tg) && !e->reference) e->reference = xstrdup(json_string_value(tg));
      cp->any_phrases |= record_phrases(rec, c, o, e, path, r.line);
    }
    json_decref(rec);
  }
  jsonl_close(&r);
}

void eval_corpus_load(eval_corpus *cp, const config *c, const eval_opts *o, const eval_samples *d) {
  cp->n = d->n;
  cp->e = xcalloc(d->n, sizeof *cp->e);
  cp->any_phrases = 0;
  size_t *ord = xmalloc(d->n * sizeof *ord);  // evaluated samples are sorted by id already
  for (size_t k = 0; k < d->n; k++) ord[k] = k;
  for (int fi = 0; fi < cfg_list_len(c, "data.files"); fi++) {
    char *path = data_file_path(c, fi);
    file_read(cp, path, c, o, d, ord);
    free(path);
  }
  free(ord);
}

void eval_corpus_free(eval_corpus *cp) {
  for (size_t k = 0; k < cp->n; k++) {
    for (int j = 0; j < cp->e[k].n_phrases; j++) free(cp->e[k].phrases[j]);
    free(cp->e[k].phrases);
    free(cp->e[k].reference);
  }
  free(cp->e);
}
