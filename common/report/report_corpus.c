// The corpus side of a report, one shard at a time (memory stays one shard plus a few bytes
// per target token for the ROC): the tokenizer, every shard with its effect and annotation
// file (read through formats/), the effect histogram and shares, the ROC inputs, per-token
// sums for --top, and the shown users' samples as display units.
#include "report/report_load.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonl.h"
#include "base/log.h"
#include "base/util.h"
#include "files/annotations_file.h"
#include "files/effects_file.h"
#include "files/shards_file.h"
#include "pipeline/run_layout.h"

typedef struct {
  const shard_data *d;
  const effect_file *e;           // NULL without effects
  const annotations_file *a;      // NULL without annotations
} shard_view;

static int user_shown(const report *r, const char *user) {
  for (int i = 0; i < r->n_users; i++)
    if (!strcmp(r->users[i], user)) return 1;
  return 0;
}

// Appends a unit made of `text` (n bytes; invalid UTF-8 becomes U+FFFD).
static void push_unit(report_sample *s, size_t *cap, const char *text, size_t n, float eff,
                      float w, int mask, int truth) {
  if (s->n_units == *cap) {
    *cap = *cap ? 2 * *cap : 64;
    s->units = xrealloc(s->units, *cap * sizeof *s->units);
  }
  strbuf b;
  sb_init(&b);
  size_t at = 0, bad;
  while (at < n && !utf8_valid(text + at, n - at, &bad)) {
    sb_append(&b, text + at, bad);
    sb_puts(&b, "\xEF\xBF\xBD");
    at += bad + 1;
  }
  sb_append(&b, text + at, n - at);
  report_unit *u = &s->units[s->n_units++];
  u->text = b.data ? sb_detach(&b) : xstrdup("");
  u->effect = eff;
  u->weight = w;
  u->mask = (uint8_t)mask;
  u->truth = (uint8_t)truth;
}

// Sample i of the shard as display units: tokens are joined until they end on a whole
// UTF-8 character; a unit shows the effect of its token with the largest |effect|.
static void build_sample(report *r, const shard_view *v, size_t i) {
  const shard_data *d = v->d;
  r->samples = xrealloc(r->samples, (r->n_samples + 1) * sizeof *r->samples);
  report_sample *s = &r->samples[r->n_samples++];
  memset(s, 0, sizeof *s);
  s->id = xstrdup(d->id[i]);
  s->user = xstrdup(d->users[d->user[i]]);
  s->split = d->split[i];
  size_t n, cap = 0;
  const int32_t *ids = shard_target(d, i, &n);
  int64_t eo = v->e ? v->e->offsets[i] : 0, ao = v->a ? v->a->sample_offset[i] : 0;
  char buf[64];
  size_t blen = 0, bad;
  float eff = NAN, w = NAN;
  int mask = 0, truth = 0;
  if (n > 0 && ids[n - 1] == d->eos_id) n--;   // the end-of-text token is not shown
  for (size_t t = 0; t < n; t++) {
    int k = tok_token_bytes(r->tok, ids[t], buf + blen, (int)(sizeof buf - blen));
    if (k > 0) blen += (size_t)k;
    float et = v->e ? v->e->effect[eo + (int64_t)t] : NAN;
    if (!isnan(et) && (isnan(eff) || fabsf(et) > fabsf(eff))) eff = et;
    if (v->a) {
      float wt = v->a->weight[ao + (int64_t)t];
      if (isnan(w) || wt > w) w = wt;
      mask |= v->a->mask[ao + (int64_t)t];
    }
    if (d->truth) truth |= d->truth[d->target_offset[i] + (int64_t)t];
    if (utf8_valid(buf, blen, &bad) || blen + 8 > sizeof buf || t + 1 == n) {
      push_unit(s, &cap, buf, blen, eff, w, mask, truth);
      blen = 0;
      eff = w = NAN;
      mask = truth = 0;
    }
  }
}

// Histogram, shares, ROC inputs and per-type sums over the computed target tokens of sample i.
static void count_sample(report *r, const shard_view *v, size_t i, size_t *roc_cap) {
  const shard_data *d = v->d;
  size_t n;
  const int32_t *ids = shard_target(d, i, &n);
  int64_t eo = v->e->offsets[i];
  for (size_t t = 0; t < n; t++) {
    float e = v->e->effect[eo + (int64_t)t];
    if (isnan(e)) continue;
    r->n_computed++;
    int b = (int)floor((e + 1.0) / 2.0 * REPORT_HIST_BINS);
    b = b < 0 ? 0 : b >= REPORT_HIST_BINS ? REPORT_HIST_BINS - 1 : b;
    r->hist[b]++;
    if (e > r->threshold) r->n_above++;
    if (v->a && v->a->mask[v->a->sample_offset[i] + (int64_t)t]) r->n_masked++;
    if (ids[t] >= 0 && ids[t] < r->vocab) r->tok_sum[ids[t]] += e, r->tok_count[ids[t]]++;
    if (!d->truth) continue;
    if (r->n_roc == *roc_cap) {
      *roc_cap = *roc_cap ? 2 * *roc_cap : 1 << 16;
      r->roc_score = xrealloc(r->roc_score, *roc_cap * sizeof *r->roc_score);
      r->roc_truth = xrealloc(r->roc_truth, *roc_cap);
      r->roc_start = xrealloc(r->roc_start, *roc_cap);
    }
    const uint8_t *tr = d->truth + d->target_offset[i];
    r->roc_score[r->n_roc] = e;
    r->roc_truth[r->n_roc] = tr[t];
    r->roc_start[r->n_roc] = tr[t] && (t == 0 || !tr[t - 1]);
    r->n_roc++;
  }
}

// The path of the file called `name` in the run's directory `d`; whether it exists.
static int path_beside(const report *r, run_dir_item d, const char *name, char **path) {
  char *dir = run_path(r->set, d);
  *path = path_join(dir, name);
  free(dir);
  return file_exists(*path);
}

static void load_shard(report *r, const char *spath, const char *name, size_t *roc_cap,
                       int fallback_users) {
  shard_data d;
  file_read(&shard_kind, spath, &d);
  r->n_targets += d.n_targets;
  if (d.truth) r->have_truth = 1;
  if (r->n_users == 0)
    for (size_t u = 0; u < d.n_users && u < (size_t)fallback_users; u++) {
      r->users = xrealloc(r->users, (size_t)(r->n_users + 1) * sizeof *r->users);
      r->users[r->n_users++] = xstrdup(d.users[u]);
    }
  effect_file e;
  annotations_file a;
  memset(&e, 0, sizeof e);
  memset(&a, 0, sizeof a);
  shard_view v = {&d, NULL, NULL};
  char *epath, *apath;
  int ef = path_beside(r, RUN_EFFECTS, name, &epath), af = path_beside(r, RUN_ANNOTATIONS, name, &apath);
  if (ef) {
    file_read(&effects_kind, epath, &e);
    if (e.n_tokens == d.n_targets && e.n_samples == d.n_samples) v.e = &e, r->have_effects = 1;
    else report_note_missing(r, "%s: %zu tokens, its shard %zu: stale, rerun nq-effect", epath, e.n_tokens, d.n_targets);
  }
  if (af) {
    file_read(&annotations_kind, apath, &a);
    if (a.n_tokens == d.n_targets && a.n_samples == d.n_samples) v.a = &a, r->have_annotations = 1;
    else report_note_missing(r, "%s: %zu tokens, its shard %zu: stale, rerun nq-annotate", apath, a.n_tokens, d.n_targets);
  }
  for (size_t i = 0; i < d.n_samples; i++) {
    if (v.e && (!v.e->sample_computed || v.e->sample_computed[i])) count_sample(r, &v, i, roc_cap);
    if (user_shown(r, d.users[d.user[i]])) build_sample(r, &v, i);
  }
  if (ef) file_free(&effects_kind, &e);
  if (af) file_free(&annotations_kind, &a);
  free(epath);
  free(apath);
  file_free(&shard_kind, &d);
}

void report_load_corpus(report *r, double threshold, int fallback_users) {
  r->threshold = threshold;
  char *sdir = run_path(r->set, RUN_SHARDS), *tpath = run_path(r->set, RUN_TOKENIZER);
  int n = 0;
  char **files = run_shard_files(sdir, &n, 0);
  char err[512];
  if (n > 0 && !(r->tok = tok_load_json(tpath, err, sizeof err))) fatal("%s", err);
  if (n == 0) report_note_missing(r, "no shards in %s: the shard step has not run (nq-shard)", sdir);
  if (r->tok) {
    r->vocab = tok_vocab_size(r->tok);
    r->tok_sum = xcalloc((size_t)r->vocab, sizeof *r->tok_sum);
    r->tok_count = xcalloc((size_t)r->vocab, sizeof *r->tok_count);
  }
  size_t roc_cap = 0;
  for (int i = 0; i < n; i++) {
    const char *base = strrchr(files[i], '/');
    load_shard(r, files[i], base ? base + 1 : files[i], &roc_cap, fallback_users);
    free(files[i]);
  }
  free(files);
  r->have_shards = n > 0;
  char *edir = run_path(r->set, RUN_EFFECTS), *adir = run_path(r->set, RUN_ANNOTATIONS);
  if (n > 0 && !r->have_effects)
    report_note_missing(r, "no effects in %s: the effect step has not run (nq-effect)", edir);
  if (r->have_effects && !r->have_annotations)
    report_note_missing(r, "no annotations in %s: the annotate step has not run (nq-annotate)", adir);
  free(edir), free(adir);
  free(sdir);
  free(tpath);
}
