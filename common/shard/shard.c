// nq-shard's logic without MPI (see shard.h): options, sample serialization, balancing.
#include "shard/shard.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "text/template.h"

// ---- options -------------------------------------------------------------------------
void shard_opts_from_settings(shard_opts *o, const data_settings *d) {
  *o = (shard_opts){.f_id = d->fields.id, .f_user = d->fields.user, .f_history = d->fields.history,
                    .f_target = d->fields.target, .f_order = d->fields.history_order, .f_split = d->fields.split,
                    .f_truth = d->fields.truth_spans, .f_truth_rare = d->fields.truth_rare,
                    .f_truth_decisive = d->fields.truth_decisive, .f_gold_target = d->targets.target,
                    .prompt_tpl = d->prompt_template, .item_tpl = d->history_item_template,
                    .empty_history = d->empty_history, .max_history_items = (int)d->max_history_items,
                    .max_prompt_tokens = (int)d->max_prompt_tokens, .max_target_tokens = (int)d->max_target_tokens,
                    .valid_fraction = d->split_fallback.valid_fraction,
                    .test_fraction = d->split_fallback.test_fraction, .skip_bad = d->on_bad_record == DATA_BAD_SKIP,
                    .cut_start = d->truncate == DATA_TRUNCATE_START, .f_query = d->fields.query,
                    .select_bm25 = d->history_select == DATA_SELECT_BM25, .bm25_k1 = d->bm25_k1,
                    .bm25_b = d->bm25_b};
  tpl_check(o->prompt_tpl, "data.prompt_template");
  tpl_check(o->item_tpl, "data.history_item_template");
}

// ---- serialization -------------------------------------------------------------------
static void put(strbuf *b, const void *p, size_t n) { sb_append(b, (const char *)p, n); }
static void put_str(strbuf *b, const char *s) {
  uint32_t n = (uint32_t)strlen(s);
  put(b, &n, sizeof n);
  put(b, s, n);
}

void shard_sample_pack(const shard_sample *s, strbuf *b) {
  put(b, &s->order, sizeof s->order);
  put_str(b, s->id);
  put_str(b, s->user);
  put(b, &s->split, 1);
  uint8_t flags = (s->truth ? 1 : 0) | (s->truth_rare ? 2 : 0) | (s->truth_decisive ? 4 : 0);
  put(b, &flags, 1);
  put(b, &s->n_hist, 4), put(b, &s->hist_len, 4), put(b, &s->nohist_len, 4), put(b, &s->target_len, 4);
  put(b, s->hist, (size_t)s->hist_len * 4);
  put(b, s->nohist, (size_t)s->nohist_len * 4);
  if (s->truth) put(b, s->truth, (size_t)s->target_len);
  if (s->truth_rare) put(b, s->truth_rare, (size_t)s->target_len);
  if (s->truth_decisive) put(b, s->truth_decisive, (size_t)s->target_len);
}

typedef struct { const char *p; size_t n, at; } reader;
static void get(reader *r, void *dst, size_t n) {
  if (r->at + n > r->n) error("corrupt sample record while unpacking (%zu + %zu > %zu)", r->at, n, r->n);
  memcpy(dst, r->p + r->at, n);
  r->at += n;
}
static char *get_str(reader *r) {
  uint32_t n;
  get(r, &n, sizeof n);
  char *s = xmalloc((size_t)n + 1);
  get(r, s, n);
  s[n] = 0;
  return s;
}

size_t shard_sample_unpack(const char *p, size_t n, shard_sample *s) {
  reader r = {p, n, 0};
  memset(s, 0, sizeof *s);
  get(&r, &s->order, sizeof s->order);
  s->id = get_str(&r);
  s->user = get_str(&r);
  uint8_t flags;
  get(&r, &s->split, 1);
  get(&r, &flags, 1);
  get(&r, &s->n_hist, 4), get(&r, &s->hist_len, 4), get(&r, &s->nohist_len, 4), get(&r, &s->target_len, 4);
  if (s->hist_len < 0 || s->nohist_len < 0 || s->target_len < 0) error("corrupt sample record (negative length)");
  s->hist = xmalloc((size_t)s->hist_len * 4 + 4);
  get(&r, s->hist, (size_t)s->hist_len * 4);
  s->nohist = xmalloc((size_t)s->nohist_len * 4 + 4);
  get(&r, s->nohist, (size_t)s->nohist_len * 4);
  if (flags & 1) s->truth = xmalloc((size_t)s->target_len + 1), get(&r, s->truth, (size_t)s->target_len);
  if (flags & 2) s->truth_rare = xmalloc((size_t)s->target_len + 1), get(&r, s->truth_rare, (size_t)s->target_len);
  if (flags & 4)
    s->truth_decisive = xmalloc((size_t)s->target_len + 1), get(&r, s->truth_decisive, (size_t)s->target_len);
  return r.at;
}

// ---- balancing -----------------------------------------------------------------------
static const int64_t *g_cost;
static int cmp_cost(const void *a, const void *b) {
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  if (g_cost[i] != g_cost[j]) return g_cost[i] > g_cost[j] ? -1 : 1;
  return (i > j) - (i < j);
}

void shard_assign(const int64_t *cost, size_t n, int n_shards, int32_t *shard_of) {
  size_t *idx = xmalloc((n ? n : 1) * sizeof *idx);
  for (size_t i = 0; i < n; i++) idx[i] = i;
  g_cost = cost;
  qsort(idx, n, sizeof *idx, cmp_cost);
  int64_t *load = xcalloc((size_t)n_shards, sizeof *load);
  for (size_t k = 0; k < n; k++) {
    int best = 0;
    for (int s = 1; s < n_shards; s++)
      if (load[s] < load[best]) best = s;
    shard_of[idx[k]] = best;
    load[best] += cost[idx[k]];
  }
  free(load);
  free(idx);
}
