// The evaluated samples: read every shard (one tokenizer), pick the split, sort by id, keep
// eval.max_samples of them evenly spaced in id order (so users are not taken from one shard).
#include "eval/eval_samples.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "pipeline/run_layout.h"

static void shards_read(eval_samples *d, const eval_opts *o) {
  char *dir = run_path(o->set, RUN_SHARDS);
  d->paths = run_shard_files(dir, &d->n_shards, 1);
  if (d->n_shards == 0) fatal("%s: no shard files; run nq-shard first", dir);
  free(dir);
  d->sh = xcalloc((size_t)d->n_shards, sizeof *d->sh);
  for (int f = 0; f < d->n_shards; f++) {
    file_read(&shard_kind, d->paths[f], &d->sh[f]);
    if (d->sh[f].vocab_size != d->sh[0].vocab_size || strcmp(d->sh[f].tokenizer_digest, d->sh[0].tokenizer_digest))
      fatal("%s: made with another tokenizer than %s; rerun nq-shard", d->paths[f], d->paths[0]);
  }
}

// (shard, index) of every sample of `split` into d->sf / d->si (d->n of them), shard order.
static void split_select(eval_samples *d, int split) {
  size_t total = 0;
  for (int f = 0; f < d->n_shards; f++) total += d->sh[f].n_samples;
  d->sf = xmalloc((total + 1) * sizeof(int));
  d->si = xmalloc((total + 1) * sizeof(int));
  d->n = 0;
  for (int f = 0; f < d->n_shards; f++)
    for (size_t i = 0; i < d->sh[f].n_samples; i++)
      if (d->sh[f].split[i] == split) {
        d->sf[d->n] = f;
        d->si[d->n++] = (int)i;
      }
  if (d->n == 0)
    fatal("%s: no samples of split '%s' in the shards", d->paths[0], split == SPLIT_VALID ? "valid" : "test");
}

static const eval_samples *sort_d;   // qsort has no context argument
static int by_id(const void *a, const void *b) {
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  const eval_samples *d = sort_d;
  int c = strcmp(d->sh[d->sf[i]].id[d->si[i]], d->sh[d->sf[j]].id[d->si[j]]);
  return c ? c : (i < j ? -1 : i > j);
}

// Sorts the selected samples by id and keeps `max_samples` (> 0) of them, evenly spaced.
static void sort_and_thin(eval_samples *d, int max_samples) {
  size_t n = d->n, *ord = xmalloc(n * sizeof *ord);
  for (size_t i = 0; i < n; i++) ord[i] = i;
  sort_d = d;
  qsort(ord, n, sizeof *ord, by_id);
  size_t keep = max_samples > 0 && (size_t)max_samples < n ? (size_t)max_samples : n;
  int *sf = xmalloc(keep * sizeof(int)), *si = xmalloc(keep * sizeof(int));
  for (size_t k = 0; k < keep; k++) {
    size_t j = ord[k * n / keep];  // evenly spaced in id order
    sf[k] = d->sf[j];
    si[k] = d->si[j];
  }
  free(ord);
  free(d->sf);
  free(d->si);
  d->sf = sf;
  d->si = si;
  d->n = keep;
}

void eval_samples_load(eval_samples *d, const eval_opts *o) {
  memset(d, 0, sizeof *d);
  shards_read(d, o);
  split_select(d, o->split);
  sort_and_thin(d, o->max_samples);
}

void eval_samples_free(eval_samples *d) {
  for (int f = 0; f < d->n_shards; f++) {
    file_free(&shard_kind, &d->sh[f]);
    free(d->paths[f]);
  }
  free(d->paths);
  free(d->sh);
  free(d->sf);
  free(d->si);
}

const int32_t *eval_prompt_of(const eval_samples *d, size_t k, int hist, int *np) {
  size_t len, nt;
  const int32_t *seq = shard_seq(eval_sample_shard(d, k), eval_sample_index(d, k), hist, &len);
  shard_target(eval_sample_shard(d, k), eval_sample_index(d, k), &nt);
  *np = (int)(len - nt);
  return seq;
}

const int32_t *eval_target_of(const eval_samples *d, size_t k, size_t *nt) {
  return shard_target(eval_sample_shard(d, k), eval_sample_index(d, k), nt);
}
