// Reads the corpus once (pipeline/corpus.h: its files in any format, the targets joined by
// id), looking each record's id up among the evaluated samples (sorted by id).
#include "eval/eval_corpus.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/records.h"
#include "base/log.h"
#include "base/util.h"
#include "pipeline/corpus.h"

static const eval_samples *find_d;   // bsearch has no context argument
static int cmp_key_id(const void *key, const void *elem) {
  size_t k = *(const size_t *)elem;
  return strcmp((const char *)key, eval_sample_shard(find_d, k)->id[eval_sample_index(find_d, k)]);
}

// The evaluated sample whose id is `id`, or -1.
static long record_sample(const char *id, const size_t *ord, const eval_samples *d) {
  find_d = d;
  size_t *hit = id ? bsearch(id, ord, d->n, sizeof *ord, cmp_key_id) : NULL;
  return hit ? (long)*hit : -1;
}

// The record's planted phrases (and their kinds, to skip some) into e; 1 when it has the field.
static int record_phrases(const json_t *rec, const eval_opts *o, eval_corpus_entry *e,
                          const char *where) {
  const json_t *ph = o->phrases_field[0] ? json_path_get(rec, o->phrases_field) : NULL;
  if (!ph) return 0;
  if (!json_is_array(ph)) fatal("%s: field '%s': expected a list of strings", where, o->phrases_field);
  const json_t *kinds = o->kinds_field[0] ? json_path_get(rec, o->kinds_field) : NULL;
  if (kinds && (!json_is_array(kinds) || json_array_size(kinds) != json_array_size(ph)))
    fatal("%s: field '%s': expected a list as long as '%s'", where, o->kinds_field, o->phrases_field);
  for (size_t j = 0; j < json_array_size(ph); j++) {
    const json_t *p = json_array_get(ph, j);
    if (!json_is_string(p)) fatal("%s: field '%s': expected a list of strings", where, o->phrases_field);
    const json_t *kind = kinds ? json_array_get(kinds, j) : NULL;
    if (string_list_has(&o->set->eval.skip_kinds, json_is_string(kind) ? json_string_value(kind) : "")) continue;
    e->phrases = xrealloc(e->phrases, (size_t)(e->n_phrases + 1) * sizeof *e->phrases);
    e->phrases[e->n_phrases++] = xstrdup(json_string_value(p));
  }
  return 1;
}

// One input file: reference text (the record's target, or its joined targets record's) and
// phrases of every record that is an evaluated sample.
static void read_corpus_file(eval_corpus *cp, const char *path, const eval_opts *o, const eval_samples *d,
                             const size_t *ord, const corpus_targets *tg) {
  const data_settings *ds = &o->set->data;
  const char *fid = ds->fields.id;
  const char *ftarget = tg->by_id ? ds->targets.target : ds->fields.target;
  rec_reader r;
  json_t *rec;
  char err[1024], where[600];
  int st;
  if (corpus_open(&r, ds, path, 0, 1, err, sizeof err)) fatal("%s", err);
  while ((st = rec_next(&r, &rec, err, sizeof err)) != 0) {
    if (st == -2 || (st < 0 && ds->on_bad_record != DATA_BAD_SKIP)) fatal("%s", err);
    if (st < 0) continue;   // skip mode: nq-shard left this record out, so it is no sample
    char *id = NULL;
    if (*fid) (void)corpus_key_text(rec, fid, &id, err, sizeof err);
    else corpus_auto_id(&r, where, sizeof where), id = xstrdup(where);
    long k = record_sample(id, ord, d);
    if (k >= 0) {
      eval_corpus_entry *e = &cp->e[k];
      const json_t *src = tg->by_id ? corpus_target(tg, id, err, sizeof err) : rec;
      const json_t *text = src ? json_path_get(src, ftarget) : NULL;
      if (json_is_string(text) && !e->reference) e->reference = xstrdup(json_string_value(text));
      rec_where(&r, where, sizeof where);
      cp->any_phrases |= record_phrases(rec, o, e, where);
    }
    free(id);
    json_decref(rec);
  }
  rec_close(&r);
}

void eval_corpus_load(eval_corpus *cp, const eval_opts *o, const eval_samples *d) {
  cp->n = d->n;
  cp->e = xcalloc(d->n, sizeof *cp->e);
  cp->any_phrases = 0;
  size_t *ord = xmalloc(d->n * sizeof *ord);  // evaluated samples are sorted by id already
  for (size_t k = 0; k < d->n; k++) ord[k] = k;
  int n_files;
  corpus_file *files = corpus_files(o->set, &n_files);
  corpus_targets tg;
  corpus_targets_load(&tg, o->set);
  for (int fi = 0; fi < n_files; fi++) read_corpus_file(cp, files[fi].path, o, d, ord, &tg);
  corpus_targets_free(&tg);
  corpus_files_free(files, n_files);
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
