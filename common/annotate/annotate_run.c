// nq-annotate: effects -> weights, mask and a summary (see annotate_run.h).
#include "annotate/annotate_run.h"

#include <dirent.h>
#include <gsl/gsl_histogram.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "formats/effects_file.h"
#include "formats/h5io.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"
#include "formats/provenance.h"

annot_rule annotate_rule_from_config(const config *c) {
  annot_rule r;
  const char *name = cfg_str(c, "annotate.rule");
  int k = annot_rule_kind_parse(name);
  if (k < 0) fatal("annotate.rule: unknown rule '%s'", name);  // the schema's choices catch it first
  r.kind = (annot_rule_kind)k;
  r.threshold = cfg_float(c, "annotate.threshold");
  r.log_ratio = cfg_float(c, "annotate.log_ratio");
  r.top_fraction = cfg_float(c, "annotate.top_fraction");
  r.js_threshold = cfg_float(c, "annotate.js_threshold");
  r.hi = cfg_float(c, "annotate.hi");
  r.lo = cfg_float(c, "annotate.lo");
  return r;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

// Sorted names of *.h5 files in dir (no temp files).
static char **list_h5(const char *dir, size_t *n) {
  DIR *d = opendir(dir);
  if (!d) fatal("%s: cannot open the effects directory; run nq-effect first", dir);
  size_t cap = 16;
  char **names = xmalloc(cap * sizeof *names);
  *n = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    size_t len = strlen(de->d_name);
    if (len < 4 || strcmp(de->d_name + len - 3, ".h5")) continue;
    if (*n == cap) names = xrealloc(names, (cap *= 2) * sizeof *names);
    names[(*n)++] = xstrdup(de->d_name);
  }
  closedir(d);
  qsort(names, *n, sizeof *names, cmp_str);
  return names;
}

// ---- running totals for the summary ---------------------------------------------------
typedef struct { char *key; int64_t tokens, marked, samples; double effect_sum; } tally;
typedef struct { tally *v; size_t n, cap; } tally_list;

static tally *tally_get(tally_list *l, const char *key) {
  for (size_t i = l->n; i-- > 0;)  // recent keys first: samples of a user are adjacent
    if (!strcmp(l->v[i].key, key)) return &l->v[i];
  if (l->n == l->cap) l->v = xrealloc(l->v, (l->cap = l->cap ? 2 * l->cap : 64) * sizeof *l->v);
  l->v[l->n] = (tally){xstrdup(key), 0, 0, 0, 0};
  return &l->v[l->n++];
}

static int cmp_tally(const void *a, const void *b) {
  return strcmp(((const tally *)a)->key, ((const tally *)b)->key);
}

static json_t *tally_json(tally_list *l) {
  qsort(l->v, l->n, sizeof *l->v, cmp_tally);
  json_t *o = json_object();
  for (size_t i = 0; i < l->n; i++) {
    tally *t = &l->v[i];
    json_object_set_new(o, t->key,
                        json_pack("{s:I, s:I, s:I, s:f, s:f}", "samples", (json_int_t)t->samples,
                                  "tokens", (json_int_t)t->tokens, "preference_tokens",
                                  (json_int_t)t->marked, "share",
                                  t->tokens ? (double)t->marked / (double)t->tokens : 0.0,
                                  "mean_effect", t->tokens ? t->effect_sum / (double)t->tokens : 0.0));
    free(t->key);
  }
  free(l->v);
  return o;
}

// Concatenated arrays of every shard, for truth scores.
// `start`: the first token of a planted span (truth here, not on the previous target token).
// Given y<t, only a span's first tokens can depend on the history: the rest of a planted
// phrase follows from its own beginning, so the effect concentrates on span starts.
typedef struct { float *effect; uint8_t *mask, *truth, *rare, *start; size_t n, cap; int have_truth, have_rare; } pool;

// Appends the tokens of computed samples only.
static void pool_add(pool *p, const effect_file *e, const uint8_t *mask) {
  if (p->n + e->n_tokens > p->cap) {
    p->cap = 2 * (p->n + e->n_tokens) + 1024;
    p->effect = xrealloc(p->effect, p->cap * sizeof(float));
    p->mask = xrealloc(p->mask, p->cap);
    p->truth = xrealloc(p->truth, p->cap);
    p->rare = xrealloc(p->rare, p->cap);
    p->start = xrealloc(p->start, p->cap);
  }
  for (size_t i = 0; i < e->n_samples; i++) {
    if (!e->sample_computed[i]) continue;
    for (int64_t t = e->offsets[i]; t < e->offsets[i + 1]; t++, p->n++) {
      p->effect[p->n] = e->effect[t];
      p->mask[p->n] = mask[t];
      p->truth[p->n] = e->truth ? e->truth[t] : 0;
      p->rare[p->n] = e->truth_rare ? e->truth_rare[t] : 0;
      p->start[p->n] = p->truth[p->n] && (t == e->offsets[i] || !e->truth[t - 1]);
    }
  }
}

static const char *split_name(int8_t s) {
  return s == 0 ? "train" : s == 1 ? "valid" : s == 2 ? "test" : "other";
}

static json_t *num_or_null(double x) { return isnan(x) ? json_null() : json_real(x); }

static json_t *truth_scores(const pool *p, const uint8_t *inc) {
  prf_score s;
  score_prf(p->mask, p->truth, inc, p->n, &s);
  json_t *o = json_object();
  json_object_set_new(o, "positives", json_integer(s.tp + s.fn));
  json_object_set_new(o, "negatives", json_integer(s.fp + s.tn));
  json_object_set_new(o, "precision", num_or_null(s.precision));
  json_object_set_new(o, "recall", num_or_null(s.recall));
  json_object_set_new(o, "f1", num_or_null(s.f1));
  json_object_set_new(o, "auroc_effect", num_or_null(score_auroc(p->effect, p->truth, inc, p->n)));
  return o;
}

static void rule_attrs(hid_t f, const annot_rule *r) {
  h5_attr_set_str(f, "rule", annot_rule_kind_name(r->kind));
  h5_attr_set_f64(f, "threshold", r->threshold);
  h5_attr_set_f64(f, "log_ratio", r->log_ratio);
  h5_attr_set_f64(f, "top_fraction", r->top_fraction);
  h5_attr_set_f64(f, "js_threshold", r->js_threshold);
  h5_attr_set_f64(f, "hi", r->hi);
  h5_attr_set_f64(f, "lo", r->lo);
}

static json_t *rule_json(const annot_rule *r) {
  return json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f}", "rule", annot_rule_kind_name(r->kind),
                   "threshold", r->threshold, "log_ratio", r->log_ratio, "top_fraction",
                   r->top_fraction, "js_threshold", r->js_threshold, "hi", r->hi, "lo", r->lo);
}

void annotate_run(const annotate_opts *o) {
  size_t nf;
  char **names = list_h5(o->effects_dir, &nf);
  if (!nf) fatal("%s: no effect files; run nq-effect first", o->effects_dir);
  make_dirs(o->out_dir);
  tally_list users = {0}, splits = {0};
  tally all = {0};
  pool p = {0};
  gsl_histogram *h = gsl_histogram_alloc((size_t)o->hist_bins);
  if (!h) error("gsl_histogram_alloc(%d) failed", o->hist_bins);
  gsl_histogram_set_ranges_uniform(h, -1.0, 1.0);
  double t0 = wall_seconds();
  for (size_t f = 0; f < nf; f++) {
    char *epath = path_join(o->effects_dir, names[f]);
    hid_t ef = h5_open_read(epath);
    h5_require_provenance(ef, epath, "effect", NULL, NULL);
    effect_file e;
    effect_file_read(ef, epath, &e);
    h5_close(ef);
    // stale inputs: the shard must be the one the effects were computed from
    if (!file_exists(e.shard))
      fatal("%s: its shard %s no longer exists; rerun nq-shard then nq-effect", epath, e.shard);
    char now[65];  // not file_digest(): its per-process cache would hide a rewrite
    if (sha256_file_hex(e.shard, now) != 0) fatal("%s: cannot read shard %s", epath, e.shard);
    if (strcmp(now, e.shard_digest) != 0)
      fatal("%s: computed from another version of %s (digest differs); rerun nq-effect", epath,
            e.shard);
    float *w = xmalloc((e.n_tokens + 1) * sizeof *w);
    uint8_t *m = xmalloc(e.n_tokens + 1);
    annotate_apply(&o->rule, e.logp_with, e.logp_without, e.effect, e.js, e.offsets, e.n_samples,
                   w, m);
    // samples of splits nq-effect skipped: neutral weight, never a preference token
    for (size_t i = 0; i < e.n_samples; i++)
      if (!e.sample_computed[i])
        for (int64_t t = e.offsets[i]; t < e.offsets[i + 1]; t++) w[t] = 1.f, m[t] = 0;

    char *apath = path_join(o->out_dir, names[f]);
    h5_out out;
    h5_out_create(&out, apath);
    rule_attrs(out.file, &o->rule);
    h5_attr_set_str(out.file, "shard", e.shard);
    h5_attr_set_str(out.file, "shard_digest", e.shard_digest);
    h5_attr_set_str(out.file, "effects", epath);
    h5_attr_set_str(out.file, "effects_digest", file_digest(epath));
    h5_attr_set_str(out.file, "checkpoint_digest", e.checkpoint_digest);
    h5_attr_set_i64(out.file, "n_tokens", (int64_t)e.n_tokens);
    h5_attr_set_i64(out.file, "n_samples", (int64_t)e.n_samples);
    h5_write_f32(out.file, "weight", w, e.n_tokens);
    h5_write_u8(out.file, "mask", m, e.n_tokens);
    h5_write_i64(out.file, "sample_offset", e.offsets, e.n_samples + 1);
    h5_write_u8(out.file, "sample_computed", e.sample_computed, e.n_samples);
    const char *inputs[2] = {epath, e.shard};
    h5_provenance pv = {"annotate", o->config_text, o->mpi_size, 2, inputs, NULL};
    h5_write_provenance(out.file, &pv);
    h5_out_commit(&out);

    for (size_t i = 0; i < e.n_samples; i++) {
      if (!e.sample_computed[i]) continue;
      tally *sp = tally_get(&splits, split_name(e.sample_split[i]));
      tally *u = tally_get(&users, e.sample_user[i]);
      u->samples++, sp->samples++, all.samples++;
      for (int64_t t = e.offsets[i]; t < e.offsets[i + 1]; t++) {
        u->tokens++, sp->tokens++, all.tokens++;
        u->marked += m[t], sp->marked += m[t], all.marked += m[t];
        u->effect_sum += e.effect[t], sp->effect_sum += e.effect[t], all.effect_sum += e.effect[t];
        double x = e.effect[t] >= 1.0 ? nextafter(1.0, 0.0) : e.effect[t];  // range is [-1, 1)
        gsl_histogram_increment(h, x);
      }
    }
    if (e.truth) p.have_truth = 1;
    if (e.truth_rare) p.have_rare = 1;
    pool_add(&p, &e, m);
    free(w), free(m), free(apath), free(epath);
    effect_file_free(&e);
  }

  // ---- summary ----
  json_t *js = json_object();
  json_object_set_new(js, "rule", rule_json(&o->rule));
  json_object_set_new(js, "shards", json_integer((json_int_t)nf));
  json_object_set_new(js, "tokens", json_integer(all.tokens));
  json_object_set_new(js, "preference_tokens", json_integer(all.marked));
  double share = all.tokens ? (double)all.marked / (double)all.tokens : 0;
  json_object_set_new(js, "share", json_real(share));
  json_object_set_new(js, "mean_effect", json_real(all.tokens ? all.effect_sum / (double)all.tokens : 0));
  json_object_set_new(js, "per_split", tally_json(&splits));
  json_object_set_new(js, "per_user", tally_json(&users));
  json_t *hist = json_object(), *edges = json_array(), *counts = json_array();
  for (size_t b = 0; b <= gsl_histogram_bins(h); b++) {
    double lo, hi;
    gsl_histogram_get_range(h, b < gsl_histogram_bins(h) ? b : b - 1, &lo, &hi);
    json_array_append_new(edges, json_real(b < gsl_histogram_bins(h) ? lo : hi));
  }
  for (size_t b = 0; b < gsl_histogram_bins(h); b++)
    json_array_append_new(counts, json_integer((json_int_t)gsl_histogram_get(h, b)));
  json_object_set_new(hist, "edges", edges);
  json_object_set_new(hist, "counts", counts);
  json_object_set_new(js, "effect_histogram", hist);
  message("annotate: rule %s, %lld of %lld tokens marked (%.2f%%), %zu shards, %.2fs",
          annot_rule_kind_name(o->rule.kind), (long long)all.marked, (long long)all.tokens,
          100 * share, nf, wall_seconds() - t0);
  if (p.have_truth) {
    json_t *tr = json_object();
    json_t *ov = truth_scores(&p, NULL);
    message("annotate: vs planted truth: precision %.3f recall %.3f F1 %.3f, AUROC(effect) %.4f",
            json_number_value(json_object_get(ov, "precision")),
            json_number_value(json_object_get(ov, "recall")),
            json_number_value(json_object_get(ov, "f1")),
            json_number_value(json_object_get(ov, "auroc_effect")));
    json_object_set_new(tr, "overall", ov);
    uint8_t *inc = xmalloc(p.n + 1);
    for (size_t i = 0; i < p.n; i++) inc[i] = !p.truth[i] || p.start[i];
    json_t *st = truth_scores(&p, inc);
    message("annotate: first tokens of planted spans (%lld) vs other tokens: AUROC(effect) %.4f",
            (long long)json_integer_value(json_object_get(st, "positives")),
            json_number_value(json_object_get(st, "auroc_effect")));
    json_object_set_new(tr, "span_start", st);
    for (size_t i = 0; i < p.n; i++) inc[i] = !p.truth[i] || !p.start[i];
    json_object_set_new(tr, "span_inner", truth_scores(&p, inc));
    free(inc);
    if (p.have_rare) {
      // each group: its own positives against all negatives
      uint8_t *inc = xmalloc(p.n + 1);
      for (size_t i = 0; i < p.n; i++) inc[i] = !p.truth[i] || p.rare[i];
      json_object_set_new(tr, "rare", truth_scores(&p, inc));
      for (size_t i = 0; i < p.n; i++) inc[i] = !p.truth[i] || !p.rare[i];
      json_object_set_new(tr, "common", truth_scores(&p, inc));
      free(inc);
    }
    json_object_set_new(js, "truth", tr);
  }
  char *text = json_dumps(js, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(8));
  if (!text) error("json_dumps of the annotation summary failed");
  char *spath = path_join(o->out_dir, "summary.json");
  strbuf sb;
  sb_init(&sb);
  sb_puts(&sb, text);
  sb_puts(&sb, "\n");
  write_file_atomic(spath, sb.data, sb.len);
  message("annotate: wrote %s/ (%zu files) and %s", o->out_dir, nf, spath);
  sb_free(&sb);
  free(spath);
  free(text);
  json_decref(js);
  gsl_histogram_free(h);
  free(p.effect), free(p.mask), free(p.truth), free(p.rare), free(p.start);
  for (size_t f = 0; f < nf; f++) free(names[f]);
  free(names);
}
