// The corpus as nq-shard reads it (see shard_input.h).
#include "shard/shard_input.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"

void shard_input_open(shard_input *in, const settings *set) {
  memset(in, 0, sizeof *in);
  in->set = set;
  shard_opts_from_settings(&in->o, &set->data);
  in->files = corpus_files(set, &in->n_files);
  for (int f = 0; f < in->n_files; f++) (void)rec_detect(in->files[f].path, REC_AUTO, "");   // missing / empty: fatal
  corpus_targets_load(&in->targets, set);
}

void shard_input_close(shard_input *in) {
  corpus_files_free(in->files, in->n_files);
  corpus_targets_free(&in->targets);
  memset(in, 0, sizeof *in);
}

int shard_input_src(const shard_input *in, int f, const rec_reader *r, const json_t *rec, shard_src *src,
                    char *id_buf, size_t id_len, char *err, size_t errlen) {
  *src = (shard_src){.gold = NULL, .split = in->files[f].split, .auto_id = NULL};
  if (!*in->o.f_id) {
    corpus_auto_id(r, id_buf, id_len);
    src->auto_id = id_buf;
  }
  if (!in->targets.by_id) return 0;
  char *id;
  if (corpus_key_text(rec, in->o.f_id, &id, err, errlen)) return -1;
  src->gold = corpus_target(&in->targets, id, err, errlen);
  free(id);
  return src->gold ? 0 : -1;
}

// ---- the tokenizer's texts ---------------------------------------------------------------
// The records are read as the shards read them: in fail mode the first bad record stops here,
// named (the shards would stop at it); in skip mode bad records, and a later record repeating
// an id, are left out as the shards leave them out, so the tokenizer is the one the corpus
// without them gives. (Records bad only once tokenized, a prompt over max_prompt_tokens,
// cannot be known before there is a tokenizer: their texts count.)
typedef struct {
  char **v;                 // prompt, target, prompt, target, ...
  size_t n, cap;
  long records, bad;        // records read; bad ones left out (skip mode)
  char first_bad[1700];
  int skip;                 // skip mode (data.on_bad_record, or --preview)
  json_t *ids;              // skip mode: ids of the records taken so far
  strbuf files;             // the files read, for a message
} train_texts;

static void bad_record(train_texts *tt, const char *msg) {
  if (!tt->skip) fatal("%s", msg);
  if (tt->bad++ == 0) snprintf(tt->first_bad, sizeof tt->first_bad, "%s", msg);
}

// 1 when the record's id was not taken before (skip mode; fail mode: the shards report it).
static int first_with_id(const shard_input *in, train_texts *tt, const json_t *rec, const shard_src *src) {
  if (!tt->skip) return 1;
  char *id = NULL, err[256];
  if (src->auto_id) id = xstrdup(src->auto_id);
  else if (corpus_key_text(rec, in->o.f_id, &id, err, sizeof err)) return 1;   // checked by the split already
  size_t n = strlen(id);   // an auto id holds a file name: maybe not UTF-8, so no key check
  int first = json_object_getn(tt->ids, id, n) == NULL;
  if (first && json_object_setn_new_nocheck(tt->ids, id, n, json_true())) error("out of memory for ids");
  free(id);
  return first;
}

// One record: its two texts when it is a train record; other splits only claim their id.
static void add_record(const shard_input *in, int f, const rec_reader *r, const json_t *rec, train_texts *tt) {
  char err[1024], id[600], where[600], msg[1700];
  shard_src src;
  char *p, *t;
  int split = shard_input_src(in, f, r, rec, &src, id, sizeof id, err, sizeof err) == 0
                  ? shard_sample_split(&in->o, rec, &src, err, sizeof err) : -1;
  if (split >= 0 && shard_sample_texts(&in->o, rec, &src, &p, &t, err, sizeof err) == 0) {
    if (split == SPLIT_TRAIN && first_with_id(in, tt, rec, &src)) {
      if (tt->n + 2 > tt->cap) tt->v = xrealloc(tt->v, (tt->cap = tt->cap ? 2 * tt->cap : 1024) * sizeof *tt->v);
      tt->v[tt->n++] = p;
      tt->v[tt->n++] = t;
    } else {
      if (split != SPLIT_TRAIN) (void)first_with_id(in, tt, rec, &src);
      free(p), free(t);
    }
    return;
  }
  rec_where(r, where, sizeof where);
  snprintf(msg, sizeof msg, "%s: %s", where, err);
  bad_record(tt, msg);
}

// The texts of the first `want` train records.
static void training_texts(const shard_input *in, long want, train_texts *tt) {
  char err[1024];
  for (int f = 0; f < in->n_files && (long)tt->n < 2 * want; f++) {
    if (in->files[f].split >= 0 && in->files[f].split != SPLIT_TRAIN) continue;
    sb_printf(&tt->files, "%s%s", tt->files.len ? ", " : "", in->files[f].path);
    rec_reader r;
    if (corpus_open(&r, &in->set->data, in->files[f].path, 0, 1, err, sizeof err)) fatal("%s", err);
    json_t *rec;
    int rc;
    while ((long)tt->n < 2 * want && (rc = rec_next(&r, &rec, err, sizeof err)) != 0) {
      tt->records++;
      if (rc == -2) fatal("%s", err);   // the rest of the file is unreadable: the shards stop too
      if (rc < 0) {
        bad_record(tt, err);
        continue;
      }
      add_record(in, f, &r, rec, tt);
      json_decref(rec);
    }
    rec_close(&r);
  }
}

// No text at all: say why, and where.
static _Noreturn void no_texts(const train_texts *tt) {
  const char *files = tt->files.data ? tt->files.data : "(no train-split file)";
  if (tt->bad)
    fatal("no train-split records to train a tokenizer on: %ld bad record%s skipped (data.on_bad_record = \"skip\"), "
          "the first: %s", tt->bad, tt->bad == 1 ? "" : "s", tt->first_bad);
  if (tt->records == 0)
    fatal("%s: no records (an empty file, blank lines or an empty array): no train-split records to train a "
          "tokenizer on", files);
  fatal("%s: no train-split records among %ld records to train a tokenizer on (set tokenizer.path, or give train "
        "records)", files, tt->records);
}

tokenizer *shard_input_train_tokenizer(const shard_input *in, int skip_bad, size_t *n_texts) {
  const tokenizer_settings *ts = &in->set->tokenizer;
  train_texts tt;
  memset(&tt, 0, sizeof tt);
  tt.skip = skip_bad || in->o.skip_bad;
  tt.ids = json_object();
  sb_init(&tt.files);
  training_texts(in, ts->train_samples, &tt);
  if (tt.n == 0) no_texts(&tt);
  *n_texts = tt.n;
  tokenizer *t = tok_train((const char *const *)tt.v, tt.n, (int)ts->vocab_size, ts->specials.v, ts->specials.n);
  if (!t) error("tokenizer training failed");
  for (size_t i = 0; i < tt.n; i++) free(tt.v[i]);
  free(tt.v);
  json_decref(tt.ids);
  sb_free(&tt.files);
  return t;
}
