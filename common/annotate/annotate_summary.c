// See annotate_summary.h. Sections: tallies, the truth pool, the totals, the summary.
#include "annotate/annotate_summary.h"

#include <gsl/gsl_histogram.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonl.h"
#include "base/log.h"
#include "base/util.h"

// ---- tallies: tokens and preference tokens of one key (a user, a split, everything) ------
typedef struct { char *key; int64_t tokens, marked, samples; double effect_sum; } tally;
typedef struct { tally *v; size_t n, cap; } tally_list;

static tally *tally_get(tally_list *l, const char *key) {
  for (size_t i = l->n; i-- > 0;)  // recent keys first: samples of a user are adjacent
    if (!strcmp(l->v[i].key, key)) return &l->v[i];
  if (l->n == l->cap) l->v = xrealloc(l->v, (l->cap = l->cap ? 2 * l->cap : 64) * sizeof *l->v);
  l->v[l->n] = (tally){xstrdup(key), 0, 0, 0, 0};
  return &l->v[l->n++];
}

static void tally_list_free(tally_list *l) {
  for (size_t i = 0; i < l->n; i++) free(l->v[i].key);
  free(l->v);
}

static int cmp_tally(const void *a, const void *b) {
  return strcmp(((const tally *)a)->key, ((const tally *)b)->key);
}

static json_t *tally_fields(const tally *t) {
  return json_pack("{s:I, s:I, s:I, s:f, s:f}", "samples", (json_int_t)t->samples, "tokens",
                   (json_int_t)t->tokens, "preference_tokens", (json_int_t)t->marked, "share",
                   t->tokens ? (double)t->marked / (double)t->tokens : 0.0, "mean_effect",
                   t->tokens ? t->effect_sum / (double)t->tokens : 0.0);
}

// {key: fields} sorted by key (sorts the list in place).
static json_t *tally_json(tally_list *l) {
  qsort(l->v, l->n, sizeof *l->v, cmp_tally);
  json_t *o = json_object();
  for (size_t i = 0; i < l->n; i++) json_object_set_new(o, l->v[i].key, tally_fields(&l->v[i]));
  return o;
}

// ---- the truth pool: concatenated arrays of every shard, for truth scores ----------------
// `start`: the first token of a planted span (truth here, not on the previous target token).
// Given y<t, only a span's first tokens can depend on the history: the rest of a planted
// phrase follows from its own beginning, so the effect concentrates on span starts.
// `decisive`: nq-synth's history-decisive tokens (the first word of each planted span), a
// truth of its own: the mask and the effect are scored against it as against `truth`.
typedef struct {
  float *effect;
  uint8_t *mask, *truth, *rare, *start, *decisive;
  size_t n, cap;
  int have_truth, have_rare, have_decisive;
} pool;

// Appends the tokens of computed samples only.
static void pool_add(pool *p, const effect_file *e, const uint8_t *mask) {
  if (e->truth) p->have_truth = 1;
  if (e->truth_rare) p->have_rare = 1;
  if (e->truth_decisive) p->have_decisive = 1;
  if (p->n + e->n_tokens > p->cap) {
    p->cap = 2 * (p->n + e->n_tokens) + 1024;
    p->effect = xrealloc(p->effect, p->cap * sizeof(float));
    p->mask = xrealloc(p->mask, p->cap);
    p->truth = xrealloc(p->truth, p->cap);
    p->rare = xrealloc(p->rare, p->cap);
    p->start = xrealloc(p->start, p->cap);
    p->decisive = xrealloc(p->decisive, p->cap);
  }
  for (size_t i = 0; i < e->n_samples; i++) {
    if (!e->sample_computed[i]) continue;
    for (int64_t t = e->offsets[i]; t < e->offsets[i + 1]; t++, p->n++) {
      p->effect[p->n] = e->effect[t];
      p->mask[p->n] = mask[t];
      p->truth[p->n] = e->truth ? e->truth[t] : 0;
      p->rare[p->n] = e->truth_rare ? e->truth_rare[t] : 0;
      p->start[p->n] = p->truth[p->n] && (t == e->offsets[i] || !e->truth[t - 1]);
      p->decisive[p->n] = e->truth_decisive ? e->truth_decisive[t] : 0;
    }
  }
}

static void pool_free(pool *p) {
  free(p->effect), free(p->mask), free(p->truth), free(p->rare), free(p->start), free(p->decisive);
}

static json_t *num_or_null(double x) { return isnan(x) ? json_null() : json_real(x); }

// Scores against `truth` of the tokens with inc[i] != 0 (inc NULL: all).
static json_t *scores_vs(const pool *p, const uint8_t *truth, const uint8_t *inc) {
  prf_score s;
  score_prf(p->mask, truth, inc, p->n, &s);
  json_t *o = json_object();
  json_object_set_new(o, "positives", json_integer(s.tp + s.fn));
  json_object_set_new(o, "negatives", json_integer(s.fp + s.tn));
  json_object_set_new(o, "precision", num_or_null(s.precision));
  json_object_set_new(o, "recall", num_or_null(s.recall));
  json_object_set_new(o, "f1", num_or_null(s.f1));
  json_object_set_new(o, "auroc_effect", num_or_null(score_auroc(p->effect, truth, inc, p->n)));
  return o;
}

static json_t *truth_scores(const pool *p, const uint8_t *inc) { return scores_vs(p, p->truth, inc); }

// Against the decisive tokens: every token, positives the decisive ones.
static json_t *decisive_json(const pool *p) {
  json_t *d = scores_vs(p, p->decisive, NULL);
  message("annotate: vs decisive tokens (%lld): precision %.3f recall %.3f F1 %.3f, AUROC(effect) %.4f",
          (long long)json_integer_value(json_object_get(d, "positives")),
          json_number_value(json_object_get(d, "precision")), json_number_value(json_object_get(d, "recall")),
          json_number_value(json_object_get(d, "f1")), json_number_value(json_object_get(d, "auroc_effect")));
  return d;
}

// Scores of every negative and the positives where group[i] == want (group NULL: all).
static json_t *truth_scores_of(const pool *p, uint8_t *inc, const uint8_t *group, int want) {
  for (size_t i = 0; i < p->n; i++) inc[i] = !p->truth[i] || (group[i] != 0) == want;
  return truth_scores(p, inc);
}

// truth: overall, span_start, span_inner and, when rare/common labels exist, rare, common.
static json_t *truth_json(const pool *p) {
  json_t *tr = json_object();
  json_t *ov = truth_scores(p, NULL);
  message("annotate: vs planted truth: precision %.3f recall %.3f F1 %.3f, AUROC(effect) %.4f",
          json_number_value(json_object_get(ov, "precision")),
          json_number_value(json_object_get(ov, "recall")), json_number_value(json_object_get(ov, "f1")),
          json_number_value(json_object_get(ov, "auroc_effect")));
  json_object_set_new(tr, "overall", ov);
  uint8_t *inc = xmalloc(p->n + 1);
  json_t *st = truth_scores_of(p, inc, p->start, 1);
  message("annotate: first tokens of planted spans (%lld) vs other tokens: AUROC(effect) %.4f",
          (long long)json_integer_value(json_object_get(st, "positives")),
          json_number_value(json_object_get(st, "auroc_effect")));
  json_object_set_new(tr, "span_start", st);
  json_object_set_new(tr, "span_inner", truth_scores_of(p, inc, p->start, 0));
  if (p->have_rare) {  // each group: its own positives against all negatives
    json_object_set_new(tr, "rare", truth_scores_of(p, inc, p->rare, 1));
    json_object_set_new(tr, "common", truth_scores_of(p, inc, p->rare, 0));
  }
  if (p->have_decisive) json_object_set_new(tr, "decisive", decisive_json(p));
  free(inc);
  return tr;
}

// ---- the totals --------------------------------------------------------------------------
struct annotate_totals {
  tally_list users, splits;
  tally all;
  gsl_histogram *hist;   // effects over [-1, 1]
  pool truth;
};

annotate_totals *annotate_totals_create(int hist_bins) {
  annotate_totals *t = xcalloc(1, sizeof *t);
  t->hist = gsl_histogram_alloc((size_t)hist_bins);
  if (!t->hist) error("gsl_histogram_alloc(%d) failed", hist_bins);
  gsl_histogram_set_ranges_uniform(t->hist, -1.0, 1.0);
  return t;
}

void annotate_totals_free(annotate_totals *t) {
  if (!t) return;
  tally_list_free(&t->users), tally_list_free(&t->splits);
  gsl_histogram_free(t->hist);
  pool_free(&t->truth);
  free(t);
}

static const char *split_name(int8_t s) {
  return s == 0 ? "train" : s == 1 ? "valid" : s == 2 ? "test" : "other";
}

void annotate_totals_add(annotate_totals *t, const effect_file *e, const uint8_t *m) {
  for (size_t i = 0; i < e->n_samples; i++) {
    if (!e->sample_computed[i]) continue;
    tally *sp = tally_get(&t->splits, split_name(e->sample_split[i]));
    tally *u = tally_get(&t->users, e->sample_user[i]), *all = &t->all;
    u->samples++, sp->samples++, all->samples++;
    for (int64_t k = e->offsets[i]; k < e->offsets[i + 1]; k++) {
      u->tokens++, sp->tokens++, all->tokens++;
      u->marked += m[k], sp->marked += m[k], all->marked += m[k];
      u->effect_sum += e->effect[k], sp->effect_sum += e->effect[k], all->effect_sum += e->effect[k];
      double x = e->effect[k] >= 1.0 ? nextafter(1.0, 0.0) : e->effect[k];  // range is [-1, 1)
      gsl_histogram_increment(t->hist, x);
    }
  }
  pool_add(&t->truth, e, m);
}

// ---- the summary -------------------------------------------------------------------------
static json_t *histogram_json(const gsl_histogram *h) {
  json_t *hist = json_object(), *edges = json_array(), *counts = json_array();
  size_t nb = gsl_histogram_bins(h);
  for (size_t b = 0; b <= nb; b++) {
    double lo, hi;
    gsl_histogram_get_range(h, b < nb ? b : b - 1, &lo, &hi);
    json_array_append_new(edges, json_real(b < nb ? lo : hi));
  }
  for (size_t b = 0; b < nb; b++) json_array_append_new(counts, json_integer((json_int_t)gsl_histogram_get(h, b)));
  json_object_set_new(hist, "edges", edges);
  json_object_set_new(hist, "counts", counts);
  return hist;
}

static json_t *rule_json(const annot_rule *r) {
  return json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f}", "rule", annot_rule_kind_name(r->kind),
                   "threshold", r->threshold, "log_ratio", r->log_ratio, "top_fraction",
                   r->top_fraction, "js_threshold", r->js_threshold, "hi", r->hi, "lo", r->lo);
}

static json_t *summary_json(annotate_totals *t, const annot_rule *r, size_t n_files, double seconds) {
  const tally *all = &t->all;
  json_t *js = json_object();
  json_object_set_new(js, "rule", rule_json(r));
  json_object_set_new(js, "shard_files", json_integer((json_int_t)n_files));
  json_object_set_new(js, "tokens", json_integer(all->tokens));
  json_object_set_new(js, "preference_tokens", json_integer(all->marked));
  double share = all->tokens ? (double)all->marked / (double)all->tokens : 0;
  json_object_set_new(js, "share", json_real(share));
  json_object_set_new(js, "mean_effect", json_real(all->tokens ? all->effect_sum / (double)all->tokens : 0));
  json_object_set_new(js, "per_split", tally_json(&t->splits));
  json_object_set_new(js, "per_user", tally_json(&t->users));
  json_object_set_new(js, "effect_histogram", histogram_json(t->hist));
  message("annotate: rule %s, %lld of %lld tokens marked (%.2f%%), %zu shards, %.2fs",
          annot_rule_kind_name(r->kind), (long long)all->marked, (long long)all->tokens, 100 * share,
          n_files, seconds);
  if (t->truth.have_truth) json_object_set_new(js, "truth", truth_json(&t->truth));
  return js;
}

void annotate_totals_write(annotate_totals *t, const annot_rule *r, size_t n_files,
                           double seconds, const char *path) {
  json_t *js = summary_json(t, r, n_files, seconds);
  json_write_file(path, js, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(8), 1);
  json_decref(js);
}
