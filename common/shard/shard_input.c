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

// Prompt texts and targets (2 a record) of the first `want` train records; the first bad
// record's message in first_bad (for when there is no text at all).
static char **training_texts(const shard_input *in, long want, size_t *n, char *first_bad, size_t fb_len) {
  size_t cap = 0;
  char **texts = NULL;
  char err[1024], id[600], where[600];
  *n = 0;
  for (int f = 0; f < in->n_files && (long)*n < 2 * want; f++) {
    if (in->files[f].split >= 0 && in->files[f].split != SPLIT_TRAIN) continue;
    rec_reader r;
    if (corpus_open(&r, &in->set->data, in->files[f].path, 0, 1, err, sizeof err)) fatal("%s", err);
    json_t *rec;
    int rc;
    while ((long)*n < 2 * want && (rc = rec_next(&r, &rec, err, sizeof err)) != 0) {
      if (rc < 0) break;   // reported by the main pass
      shard_src src;
      char *p, *t;
      int split = shard_input_src(in, f, &r, rec, &src, id, sizeof id, err, sizeof err) == 0
                      ? shard_sample_split(&in->o, rec, &src, err, sizeof err) : -1;
      if (split == SPLIT_TRAIN && shard_sample_texts(&in->o, rec, &src, &p, &t, err, sizeof err) == 0) {
        if (*n + 2 > cap) texts = xrealloc(texts, (cap = cap ? 2 * cap : 1024) * sizeof *texts);
        texts[(*n)++] = p;
        texts[(*n)++] = t;
      } else if (split != SPLIT_VALID && split != SPLIT_TEST && !*first_bad) {
        rec_where(&r, where, sizeof where);
        snprintf(first_bad, fb_len, "%s: %s", where, err);
      }
      json_decref(rec);
    }
    rec_close(&r);
  }
  return texts;
}

tokenizer *shard_input_train_tokenizer(const shard_input *in, size_t *n_texts) {
  char first_bad[1700] = "";
  const tokenizer_settings *ts = &in->set->tokenizer;
  char **texts = training_texts(in, ts->train_samples, n_texts, first_bad, sizeof first_bad);
  if (*n_texts == 0 && *first_bad) fatal("%s", first_bad);   // what the main pass would report first
  if (*n_texts == 0) fatal("no train-split records to train a tokenizer on (set tokenizer.path, or give train records)");
  tokenizer *t = tok_train((const char *const *)texts, *n_texts, (int)ts->vocab_size, ts->specials.v, ts->specials.n);
  if (!t) error("tokenizer training failed");
  for (size_t i = 0; i < *n_texts; i++) free(texts[i]);
  free(texts);
  return t;
}
