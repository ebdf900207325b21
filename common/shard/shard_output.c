// The samples of one shard laid out as the shard file (formats/shards_file.h): sorted by
// corpus order, both sequences of every sample in `tokens`, users indexed.
#include "shard/shard.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

static int cmp_order(const void *a, const void *b) {
  const shard_sample *x = a, *y = b;
  return (x->order > y->order) - (x->order < y->order);
}
static int cmp_strp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Arrays of n samples, ntok tokens and ntgt target tokens (at least one element each, so
// an empty array is still written).
static void alloc_arrays(shard_data *d, size_t n, size_t ntok, size_t ntgt, const shard_write_info *info) {
  size_t ns = n ? n : 1, nt = ntgt ? ntgt : 1;
  d->n_samples = n, d->n_tokens = ntok, d->n_targets = ntgt;
  d->tokens = xmalloc((ntok ? ntok : 1) * sizeof *d->tokens);
  d->id = xcalloc(ns, sizeof *d->id);
  d->user = xmalloc(ns * sizeof *d->user);
  d->split = xmalloc(ns * sizeof *d->split);
  d->hist_offset = xmalloc(ns * sizeof *d->hist_offset);
  d->nohist_offset = xmalloc(ns * sizeof *d->nohist_offset);
  d->target_offset = xmalloc(ns * sizeof *d->target_offset);
  d->hist_length = xmalloc(ns * sizeof *d->hist_length);
  d->nohist_length = xmalloc(ns * sizeof *d->nohist_length);
  d->target_length = xmalloc(ns * sizeof *d->target_length);
  d->history_items = xmalloc(ns * sizeof *d->history_items);
  d->truth = info->has_truth ? xcalloc(nt, 1) : NULL;
  d->truth_rare = info->has_truth_rare ? xcalloc(nt, 1) : NULL;
  d->truth_decisive = info->has_truth_decisive ? xcalloc(nt, 1) : NULL;
}

// The distinct user ids of the samples, sorted.
static void user_table(shard_data *d, const shard_sample *s, size_t n) {
  const char **u = xmalloc((n ? n : 1) * sizeof *u);
  for (size_t i = 0; i < n; i++) u[i] = s[i].user;
  qsort(u, n, sizeof *u, cmp_strp);
  d->users = xcalloc(n ? n : 1, sizeof *d->users);
  for (size_t i = 0; i < n; i++)
    if (d->n_users == 0 || strcmp(d->users[d->n_users - 1], u[i])) d->users[d->n_users++] = xstrdup(u[i]);
  free(u);
}

// Sample i's entries; its sequences go to tokens[*at...] and its targets to truth[*tat...].
static void place_sample(shard_data *d, size_t i, const shard_sample *s, size_t *at, size_t *tat) {
  d->id[i] = xstrdup(s->id);
  char **u = bsearch(&s->user, d->users, d->n_users, sizeof *d->users, cmp_strp);
  d->user[i] = (int32_t)(u - d->users);
  d->split[i] = s->split;
  d->history_items[i] = s->n_hist;
  d->target_length[i] = s->target_len;
  d->hist_offset[i] = (int64_t)*at, d->hist_length[i] = s->hist_len;
  memcpy(d->tokens + *at, s->hist, (size_t)s->hist_len * sizeof *s->hist);
  *at += (size_t)s->hist_len;
  d->nohist_offset[i] = (int64_t)*at, d->nohist_length[i] = s->nohist_len;
  memcpy(d->tokens + *at, s->nohist, (size_t)s->nohist_len * sizeof *s->nohist);
  *at += (size_t)s->nohist_len;
  d->target_offset[i] = (int64_t)*tat;
  if (d->truth) {
    if (!s->truth) error("sample %s has no truth spans but the corpus has", s->id);
    memcpy(d->truth + *tat, s->truth, (size_t)s->target_len);
  }
  if (d->truth_rare) {
    if (!s->truth_rare) error("sample %s has no rare-span flags but the corpus has", s->id);
    memcpy(d->truth_rare + *tat, s->truth_rare, (size_t)s->target_len);
  }
  if (d->truth_decisive) {
    if (!s->truth_decisive) error("sample %s has no decisive-token spans but the corpus has", s->id);
    memcpy(d->truth_decisive + *tat, s->truth_decisive, (size_t)s->target_len);
  }
  *tat += (size_t)s->target_len;
}

void shard_data_from_samples(shard_data *d, shard_sample *s, size_t n, const shard_write_info *info) {
  memset(d, 0, sizeof *d);
  qsort(s, n, sizeof *s, cmp_order);
  size_t ntok = 0, ntgt = 0;
  for (size_t i = 0; i < n; i++) ntok += (size_t)s[i].hist_len + (size_t)s[i].nohist_len, ntgt += (size_t)s[i].target_len;
  alloc_arrays(d, n, ntok, ntgt, info);
  user_table(d, s, n);
  size_t at = 0, tat = 0;
  for (size_t i = 0; i < n; i++) place_sample(d, i, &s[i], &at, &tat);
  d->tokenizer_digest = xstrdup(info->tokenizer_digest);
  d->vocab_size = info->vocab_size;
  d->eos_id = info->eos_id;
  d->bad_records = info->bad_records;
  d->truncated_targets = info->truncated_targets;
  d->truncated_fields = info->truncated_fields;
  d->shard_index = info->index;
  d->shard_count = info->count;
}

void shard_write_samples(const char *path, shard_sample *s, size_t n, const shard_write_info *info) {
  shard_data d;
  shard_data_from_samples(&d, s, n, info);
  file_write(&shard_kind, path, &d, info->prov);
  file_free(&shard_kind, &d);
}
