// See eval_seeds.h. Sections: reading one seed's rows, the statistics, the tables.
#include "seeds/eval_seeds.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonl.h"
#include "base/log.h"
#include "base/util.h"
#include "files/eval_outputs.h"
#include "metrics/metrics.h"

// Per-sample score keys of predictions.jsonl, in EM_* order (BLEU: sentence BLEU, so the
// pooled difference of BLEU is of sentence BLEU while the per-seed value is corpus BLEU).
static const char *const sample_key[EM_COUNT] = {"rouge1", "rouge2", "rougeL", "meteor",
                                                 "sentence_bleu", "nll", "nll_pref",
                                                 "nll_other", "phrase_recall"};

typedef struct {
  double value[EM_COUNT];   // the row's table value (metrics.json mean)
  double *score[EM_COUNT];  // per-sample scores (NaN: no denominator)
  char **ids;
  size_t n;
} seed_row;

typedef struct {
  const char *out_dir, *baseline;
  int bootstrap, n_seeds;
  char **dirs, **labels;
  char **rows;              // row names, from the first seed's summary.csv
  int n_rows;
  seed_row *r;              // r[row * n_seeds + seed]
} seeds_run;

// ---- one seed's rows ------------------------------------------------------------------------

// Row names: the first column of <dir>/summary.csv after its header.
static void read_rows(seeds_run *s) {
  char *path = path_join(s->dirs[0], "summary.csv");
  char *text = read_file(path, NULL);
  if (!text) fatal("%s: cannot read (run nq-eval first)", path);
  char *line = strtok(text, "\n");
  while ((line = strtok(NULL, "\n"))) {
    char *comma = strchr(line, ',');
    if (!comma) fatal("%s: a line without a comma: '%s'", path, line);
    *comma = 0;
    s->rows = xrealloc(s->rows, (size_t)(s->n_rows + 1) * sizeof *s->rows);
    s->rows[s->n_rows++] = xstrdup(line);
  }
  if (!s->n_rows) fatal("%s: no rows", path);
  free(text), free(path);
}

static double num_or_nan(const json_t *v) { return json_is_number(v) ? json_number_value(v) : NAN; }

static void read_metrics(const char *rdir, seed_row *r) {
  char *path = path_join(rdir, "metrics.json");
  json_error_t e;
  json_t *j = json_load_file(path, 0, &e);
  if (!j) fatal("%s:%d: %s", path, e.line, e.text);
  json_t *m = json_object_get(j, "metrics");
  for (int k = 0; k < EM_COUNT; k++) {
    json_t *o = json_object_get(m, eval_metric_key[k]);
    if (!o) fatal("%s: metrics.%s missing", path, eval_metric_key[k]);
    r->value[k] = num_or_nan(json_object_get(o, "mean"));
  }
  json_decref(j);
  free(path);
}

static void read_predictions(const char *rdir, seed_row *r) {
  char *path = path_join(rdir, "predictions.jsonl");
  jsonl_reader rd;
  jsonl_open(&rd, path, 0, jsonl_file_size(path));
  json_t *o;
  char err[256];
  size_t cap = 0;
  int rc;
  while ((rc = jsonl_next(&rd, &o, err, sizeof err)) > 0) {
    if (r->n == cap) {
      cap = cap ? 2 * cap : 512;
      r->ids = xrealloc(r->ids, cap * sizeof *r->ids);
      for (int k = 0; k < EM_COUNT; k++) r->score[k] = xrealloc(r->score[k], cap * sizeof(double));
    }
    const char *id = json_string_value(json_object_get(o, "id"));
    if (!id) fatal("%s: line %zu: no id", path, r->n + 1);
    r->ids[r->n] = xstrdup(id);
    for (int k = 0; k < EM_COUNT; k++) r->score[k][r->n] = num_or_nan(json_object_get(o, sample_key[k]));
    r->n++;
    json_decref(o);
  }
  if (rc < 0) fatal("%s: %s", path, err);
  jsonl_close(&rd);
  free(path);
}

static void read_all(seeds_run *s) {
  read_rows(s);
  s->r = xcalloc((size_t)s->n_rows * (size_t)s->n_seeds, sizeof *s->r);
  for (int i = 0; i < s->n_rows; i++)
    for (int d = 0; d < s->n_seeds; d++) {
      char *rdir = path_join(s->dirs[d], s->rows[i]);
      seed_row *r = &s->r[i * s->n_seeds + d];
      read_metrics(rdir, r);
      read_predictions(rdir, r);
      free(rdir);
    }
}

// ---- statistics -----------------------------------------------------------------------------

typedef struct {
  double mean, sd;          // over the seeds' table values
  double delta, lo, hi, p;  // pooled paired difference with the baseline (NaN for it)
  int wins, seeds;          // seeds where the row's value beats the baseline's (NLL: lower)
} seeds_stat;

static int row_index(const seeds_run *s, const char *name) {
  for (int i = 0; i < s->n_rows; i++)
    if (!strcmp(s->rows[i], name)) return i;
  return -1;
}

static void mean_sd(const seeds_run *s, int row, int k, seeds_stat *st) {
  double sum = 0, ss = 0;
  for (int d = 0; d < s->n_seeds; d++) sum += s->r[row * s->n_seeds + d].value[k];
  st->mean = sum / s->n_seeds;
  for (int d = 0; d < s->n_seeds; d++) {
    double x = s->r[row * s->n_seeds + d].value[k] - st->mean;
    ss += x * x;
  }
  st->sd = s->n_seeds > 1 ? sqrt(ss / (s->n_seeds - 1)) : NAN;
}

// Pairs (row, baseline) of every seed's samples where both scores exist; samples must match.
static void pooled_delta(const seeds_run *s, int row, int base, int k, seeds_stat *st) {
  size_t cap = 0, n = 0;
  for (int d = 0; d < s->n_seeds; d++) cap += s->r[row * s->n_seeds + d].n;
  double *a = xmalloc((cap + 1) * sizeof *a), *b = xmalloc((cap + 1) * sizeof *b);
  double *diff = xmalloc((cap + 1) * sizeof *diff);
  int lower_better = k == EM_NLL || k == EM_NLL_PREF || k == EM_NLL_OTHER;
  st->wins = 0, st->seeds = s->n_seeds;
  for (int d = 0; d < s->n_seeds; d++) {
    const seed_row *x = &s->r[row * s->n_seeds + d], *y = &s->r[base * s->n_seeds + d];
    if (x->n != y->n) fatal("%s: rows %s and %s have %zu and %zu samples", s->dirs[d], s->rows[row], s->rows[base], x->n, y->n);
    for (size_t i = 0; i < x->n; i++) {
      if (strcmp(x->ids[i], y->ids[i])) fatal("%s: rows %s and %s differ at sample %zu", s->dirs[d], s->rows[row], s->rows[base], i);
      if (isnan(x->score[k][i]) || isnan(y->score[k][i])) continue;
      a[n] = x->score[k][i], b[n] = y->score[k][i], diff[n] = a[n] - b[n], n++;
    }
    double dv = x->value[k] - y->value[k];
    st->wins += lower_better ? dv < 0 : dv > 0;
  }
  boot_ci ci = {NAN, NAN, NAN};
  st->p = NAN;
  if (n) {
    bootstrap_ci(diff, n, s->bootstrap, 1234, &ci);
    st->p = bootstrap_paired_p(a, b, n, s->bootstrap, 1234);
  }
  st->delta = ci.mean, st->lo = ci.lo, st->hi = ci.hi;
  free(a), free(b), free(diff);
}

// ---- the tables -----------------------------------------------------------------------------

static int digits(int k) { return k == EM_BLEU ? 2 : 3; }

// The paper's ablation and the weight sources, each a table of named rows of default.cfg's
// runs (a row the experiment lacks is left out): what the docs' results tables are made from.
typedef struct { const char *label, *row; } named_row;
static const named_row ablation_rows[] = {
    {"SFT", "sft"}, {"ContextSFT", "context_sft"}, {"model-side only (w = 1)", "nextquill_uniform"},
    {"data-side only (alpha = 0)", "nextquill_data_only"}, {"full (reference weights)", "nextquill"},
    {"full (round 2)", "nextquill_r2"}, {NULL, NULL}};
static const named_row weight_rows[] = {
    {"uniform (w = 1)", "nextquill_uniform"}, {"reference, thresholded", "nextquill"},
    {"online, thresholded", "nextquill_online"}, {"iterated, thresholded (round 2)", "nextquill_r2"},
    {"reference, ratio p_h/p_0 clipped", "nextquill_ratio"}, {NULL, NULL}};
static const int table_metrics[] = {EM_ROUGE1, EM_ROUGEL, EM_METEOR, EM_BLEU};
#define N_TABLE_METRICS (int)(sizeof table_metrics / sizeof *table_metrics)

static void named_table(strbuf *md, const seeds_run *s, const seeds_stat *st, const char *title,
                        const named_row *rows) {
  int found = 0;
  for (const named_row *r = rows; r->label; r++) found += row_index(s, r->row) >= 0;
  if (found < 2) return;
  sb_printf(md, "\n### %s\n\nMean ± sd over %d seeds; paired difference with %s pooled over the samples "
            "of all seeds [95%% bootstrap interval], * p < 0.05, (seeds better / seeds).\n\n| row | run |",
            title, s->n_seeds, s->baseline);
  for (int m = 0; m < N_TABLE_METRICS; m++) sb_printf(md, " %s | Δ %s |", eval_metric_title[table_metrics[m]],
                                                     eval_metric_title[table_metrics[m]]);
  sb_puts(md, "\n|---|---|");
  for (int m = 0; m < N_TABLE_METRICS; m++) sb_puts(md, "---|---|");
  for (const named_row *r = rows; r->label; r++) {
    int i = row_index(s, r->row);
    if (i < 0) continue;
    sb_printf(md, "\n| %s | %s |", r->label, r->row);
    for (int m = 0; m < N_TABLE_METRICS; m++) {
      const seeds_stat *x = &st[i * EM_COUNT + table_metrics[m]];
      int dg = digits(table_metrics[m]);
      sb_printf(md, " %.*f ± %.*f |", dg, x->mean, dg, x->sd);
      if (isnan(x->delta)) sb_puts(md, " - |");
      else sb_printf(md, " %+.*f [%+.*f, %+.*f]%s (%d/%d) |", dg, x->delta, dg, x->lo, dg, x->hi,
                     x->p < 0.05 ? "*" : "", x->wins, x->seeds);
    }
  }
  // the rows ordered by mean ROUGE-1, lowest first (the paper's ablation reads upwards)
  sb_puts(md, "\n\nBy mean ROUGE-1, lowest first:");
  int n = 0, order[16];
  for (const named_row *r = rows; r->label && n < 16; r++)
    if (row_index(s, r->row) >= 0) order[n++] = row_index(s, r->row);
  for (int a = 1; a < n; a++)
    for (int b = a; b > 0 && st[order[b - 1] * EM_COUNT].mean > st[order[b] * EM_COUNT].mean; b--) {
      int t = order[b];
      order[b] = order[b - 1], order[b - 1] = t;
    }
  for (int a = 0; a < n; a++) sb_printf(md, "%s %s", a ? " <" : "", s->rows[order[a]]);
  sb_puts(md, ".\n");
}

static void write_tables(const seeds_run *s, const seeds_stat *st) {
  strbuf md, csv;
  sb_init(&md), sb_init(&csv);
  sb_printf(&md, "%d seeds (%s", s->n_seeds, s->labels[0]);
  for (int d = 1; d < s->n_seeds; d++) sb_printf(&md, ", %s", s->labels[d]);
  sb_printf(&md, "). Mean ± sd over seeds of each seed's table value:\n\n| model |");
  for (int k = 0; k < EM_COUNT; k++) sb_printf(&md, " %s |", eval_metric_title[k]);
  sb_puts(&md, "\n|---|");
  for (int k = 0; k < EM_COUNT; k++) sb_puts(&md, "---|");
  for (int i = 0; i < s->n_rows; i++) {
    sb_printf(&md, "\n| %s |", s->rows[i]);
    for (int k = 0; k < EM_COUNT; k++) {
      const seeds_stat *x = &st[i * EM_COUNT + k];
      sb_printf(&md, " %.*f ± %.*f |", digits(k), x->mean, digits(k), x->sd);
    }
  }
  sb_printf(&md, "\n\nPaired difference with %s, pooled over the samples of all seeds: mean "
            "[95%% bootstrap interval], * = paired-bootstrap p < 0.05, (seeds where the row's "
            "value is better / seeds; NLL: lower is better). BLEU's difference is of sentence BLEU.\n\n| model |", s->baseline);
  for (int k = 0; k < EM_COUNT; k++) sb_printf(&md, " %s |", eval_metric_title[k]);
  sb_puts(&md, "\n|---|");
  for (int k = 0; k < EM_COUNT; k++) sb_puts(&md, "---|");
  sb_puts(&csv, "model,metric,mean,sd,delta,delta_lo,delta_hi,p,wins,seeds");
  for (int d = 0; d < s->n_seeds; d++) sb_printf(&csv, ",%s", s->labels[d]);
  for (int i = 0; i < s->n_rows; i++) {
    int is_base = !strcmp(s->rows[i], s->baseline);
    if (!is_base) sb_printf(&md, "\n| %s |", s->rows[i]);
    for (int k = 0; k < EM_COUNT; k++) {
      const seeds_stat *x = &st[i * EM_COUNT + k];
      int dg = digits(k);
      if (!is_base)
        sb_printf(&md, " %+.*f [%+.*f, %+.*f]%s (%d/%d) |", dg, x->delta, dg, x->lo, dg, x->hi,
                  x->p < 0.05 ? "*" : "", x->wins, x->seeds);
      sb_printf(&csv, "\n%s,%s,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%d,%d", s->rows[i], eval_metric_key[k], x->mean,
                x->sd, x->delta, x->lo, x->hi, x->p, x->wins, x->seeds);
      for (int d = 0; d < s->n_seeds; d++) sb_printf(&csv, ",%.6f", s->r[i * s->n_seeds + d].value[k]);
    }
  }
  sb_puts(&md, "\n\nPer-seed values (model: metric seed values):\n\n");
  for (int i = 0; i < s->n_rows; i++) {
    sb_printf(&md, "- %s:", s->rows[i]);
    for (int k = 0; k < EM_COUNT; k++) {
      sb_printf(&md, "%s %s", k ? ";" : "", eval_metric_key[k]);
      for (int d = 0; d < s->n_seeds; d++) sb_printf(&md, " %.*f", digits(k), s->r[i * s->n_seeds + d].value[k]);
    }
    sb_puts(&md, "\n");
  }
  named_table(&md, s, st, "Ablation (NextQuill's Table: SFT, model-side only, data-side only, full)", ablation_rows);
  named_table(&md, s, st, "Weight sources", weight_rows);
  sb_puts(&csv, "\n");
  make_dirs(s->out_dir);
  char *p1 = path_join(s->out_dir, "summary.md"), *p2 = path_join(s->out_dir, "summary.csv");
  write_file_atomic(p1, md.data, md.len);
  write_file_atomic(p2, csv.data, csv.len);
  printf("%s\n", md.data);
  message("seeds: wrote %s and %s", p1, p2);
  free(p1), free(p2), sb_free(&md), sb_free(&csv);
}

static void seeds_free(seeds_run *s, int own_labels) {
  for (int i = 0; i < s->n_rows * s->n_seeds; i++) {
    seed_row *r = &s->r[i];
    for (size_t j = 0; j < r->n; j++) free(r->ids[j]);
    free(r->ids);
    for (int k = 0; k < EM_COUNT; k++) free(r->score[k]);
  }
  for (int i = 0; i < s->n_rows; i++) free(s->rows[i]);
  free(s->r), free(s->rows), free(s->dirs);
  if (own_labels) free(s->labels);
}

// ---- main -----------------------------------------------------------------------------------

static void usage(void) {
  fprintf(stderr, "usage: nq-seeds OUT_DIR EVAL_DIR... [--baseline ROW] [--bootstrap N] [--label L]...\n");
  exit(2);
}

int eval_seeds_main(int argc, char **argv) {
  seeds_run s = {.baseline = "context_sft", .bootstrap = 1000};
  int n_labels = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--baseline") && i + 1 < argc) s.baseline = argv[++i];
    else if (!strcmp(argv[i], "--bootstrap") && i + 1 < argc) s.bootstrap = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--label") && i + 1 < argc) {
      s.labels = xrealloc(s.labels, (size_t)(n_labels + 1) * sizeof *s.labels);
      s.labels[n_labels++] = argv[++i];
    } else if (argv[i][0] == '-') usage();
    else if (!s.out_dir) s.out_dir = argv[i];
    else {
      s.dirs = xrealloc(s.dirs, (size_t)(s.n_seeds + 1) * sizeof *s.dirs);
      s.dirs[s.n_seeds++] = argv[i];
    }
  }
  if (!s.out_dir || !s.n_seeds || s.bootstrap < 1) usage();
  if (n_labels && n_labels != s.n_seeds) fatal("nq-seeds: %d --label for %d directories", n_labels, s.n_seeds);
  if (!n_labels) s.labels = s.dirs;
  read_all(&s);
  int base = row_index(&s, s.baseline);
  if (base < 0) fatal("nq-seeds: baseline row '%s' is not in %s/summary.csv", s.baseline, s.dirs[0]);
  seeds_stat *st = xcalloc((size_t)s.n_rows * EM_COUNT, sizeof *st);
  for (int i = 0; i < s.n_rows; i++)
    for (int k = 0; k < EM_COUNT; k++) {
      mean_sd(&s, i, k, &st[i * EM_COUNT + k]);
      if (i == base) st[i * EM_COUNT + k].delta = st[i * EM_COUNT + k].lo = st[i * EM_COUNT + k].hi = st[i * EM_COUNT + k].p = NAN;
      else pooled_delta(&s, i, base, k, &st[i * EM_COUNT + k]);
    }
  write_tables(&s, st);
  free(st);
  seeds_free(&s, n_labels > 0);
  return 0;
}
