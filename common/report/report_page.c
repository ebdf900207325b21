// The page: head and style, then the sections in reading order: what is missing, the run,
// results, training, effects and annotations, users, sweeps.
#include "report/report_page.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "h5/provenance.h"
#include "report/report_roc.h"
#include "report/report_svg.h"

enum { CURVE_POINTS = 200 };   // per training curve, whatever the number of steps

static const char *const page_css =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1d1d1f;"
    "background:#f4f5f7;margin:0}main{max-width:1280px;margin:0 auto;padding:8px 24px 48px}"
    "header{background:#1f2a44;color:#fff;padding:18px 24px}header h1{margin:0;font-size:22px}"
    "header p{margin:4px 0 0;color:#c9d1e4;font-size:13px}nav a{color:#9cc3ff;margin-right:14px}"
    "section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:6px 22px 18px;"
    "margin:18px 0}h2{font-size:19px;border-bottom:2px solid #e4e7ee;padding-bottom:6px}"
    "h3{font-size:16px;margin:18px 0 6px}table{border-collapse:collapse;font-size:13px;margin:8px 0}"
    "th,td{padding:4px 9px;border-bottom:1px solid #e8e8ee;text-align:left;vertical-align:top}"
    "th{background:#f0f2f6}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "tr.stale td{background:#fff1e6}tr.notrun td{color:#999}.figs{display:flex;flex-wrap:wrap;gap:10px}"
    "figure{margin:0}.note{color:#555;font-size:13px}.missing{background:#fff8e1;border-left:4px solid #f0b400}"
    ".sample{display:grid;grid-template-columns:1fr 1fr;gap:14px;border-top:1px solid #eee;padding:10px 0}"
    ".target{white-space:pre-wrap;line-height:1.9;font-size:14px}.tk{border-radius:3px;padding:1px 0}"
    ".tk.hi{outline:1px solid rgba(213,94,0,.55)}.tk.st{font-weight:600}"
    ".tk.pl{border-bottom:2px solid rgba(0,158,115,.7)}.preds div{margin-bottom:6px;font-size:13.5px}"
    ".preds{overflow-wrap:anywhere}.preds b{display:inline-block;min-width:110px;color:#333}mark{background:#d8ecff;border-radius:2px}"
    ".scroll{overflow-x:auto}td small{color:#666}.legend span{margin-right:4px}.sig{color:#D55E00;font-weight:bold}";

static void fmt_ci(strbuf *b, double m, double lo, double hi, double p, int bleu) {
  const char *f = bleu ? "%.2f" : "%.3f";
  if (isnan(m)) return sb_puts(b, "<td class=\"num\">-</td>");
  sb_puts(b, "<td class=\"num\">");
  sb_printf(b, f, m);
  if (!isnan(lo)) {
    sb_puts(b, "<br><small>[");
    sb_printf(b, f, lo);
    sb_puts(b, ", ");
    sb_printf(b, f, hi);
    sb_puts(b, "]</small>");
  }
  if (!isnan(p) && p < 0.05) sb_puts(b, "<span class=\"sig\">*</span>");
  sb_puts(b, "</td>");
}

// One table and one bar chart per metric for the rows decoded the same way.
static void results_group(strbuf *b, report_figs *figs, const report *r, const char *decoding, int g) {
  const report_row *rows[64];
  int n = 0;
  for (int i = 0; i < r->n_rows && n < 64; i++)
    if (!strcmp(r->rows[i].decoding, decoding)) rows[n++] = &r->rows[i];
  sb_puts(b, "<h3>Decoding: ");
  svg_escape(b, decoding);
  sb_puts(b, "</h3><div class=\"scroll\"><table class=\"results\"><tr><th>model</th><th>prompt</th><th>n</th>");
  for (int k = 0; k < EM_COUNT; k++) sb_printf(b, "<th>%s</th>", eval_metric_title[k]);
  sb_puts(b, "</tr>");
  for (int i = 0; i < n; i++) {
    sb_puts(b, "<tr class=\"row\"><td>");
    svg_escape(b, rows[i]->name);
    sb_puts(b, "</td><td>");
    svg_escape(b, rows[i]->prompt);
    sb_printf(b, "</td><td class=\"num\">%lld</td>", rows[i]->n_samples);
    for (int k = 0; k < EM_COUNT; k++)
      fmt_ci(b, rows[i]->mean[k], rows[i]->lo[k], rows[i]->hi[k], rows[i]->p[k], k == EM_BLEU);
    sb_puts(b, "</tr>");
  }
  sb_printf(b, "</table></div><p class=\"note\">mean [95%% bootstrap interval]; <span class=\"sig\">*</span> = "
               "paired-bootstrap p &lt; 0.05 vs %s (grey bar). ROUGE, METEOR and recall 0-1, BLEU 0-100, NLL "
               "nats/token (lower is better).</p><div class=\"figs\">", n ? rows[0]->baseline : "the baseline");
  for (int k = 0; k < EM_COUNT; k++) {
    const char *labels[64];
    double m[64], lo[64], hi[64];
    int star[64], base = -1;
    for (int i = 0; i < n; i++) {
      labels[i] = rows[i]->name, m[i] = rows[i]->mean[k], lo[i] = rows[i]->lo[k], hi[i] = rows[i]->hi[k];
      star[i] = !isnan(rows[i]->p[k]) && rows[i]->p[k] < 0.05;
      if (!strcmp(rows[i]->name, rows[i]->baseline)) base = i;
    }
    strbuf svg;
    sb_init(&svg);
    svg_bars(&svg, eval_metric_title[k], labels, m, lo, hi, star, n, base);
    char name[96];
    snprintf(name, sizeof name, "results-%d-%s", g, eval_metric_key[k]);
    report_fig_add(figs, b, name, &svg);
  }
  sb_puts(b, "</div>");
}

static void section_results(strbuf *b, report_figs *figs, const report *r) {
  sb_puts(b, "<section id=\"results\"><h2>Results</h2>");
  if (!r->n_rows) sb_puts(b, "<p class=\"note\">No eval results in this run (nq-eval has not run).</p>");
  for (int i = 0, g = 0; i < r->n_rows; i++) {
    int seen = 0;
    for (int j = 0; j < i; j++) seen |= !strcmp(r->rows[j].decoding, r->rows[i].decoding);
    if (!seen) results_group(b, figs, r, r->rows[i].decoding, g++);
  }
  sb_puts(b, "</section>");
}

// Mean of each bucket of consecutive points (at most CURVE_POINTS buckets): bounded and smoothed.
static size_t bucket(const int64_t *step, const double *y, size_t n, double *bx, double *by) {
  size_t k = (n + CURVE_POINTS - 1) / CURVE_POINTS, m = 0;
  for (size_t a = 0; a < n; a += k) {
    double sx = 0, sy = 0;
    size_t c = 0;
    for (size_t i = a; i < n && i < a + k; i++)
      if (!isnan(y[i])) sx += (double)step[i], sy += y[i], c++;
    if (c) bx[m] = sx / c, by[m] = sy / c, m++;
  }
  return m;
}

static void section_training(strbuf *b, report_figs *figs, const report *r) {
  static const struct { const char *key, *title; size_t member; int valid, log; } M[] = {
      {"loss", "training loss", offsetof(train_metrics, loss), 0, 0},
      {"L_n", "L_n (weighted NLL)", offsetof(train_metrics, L_n), 0, 0},
      {"L_p", "L_p (effect alignment)", offsetof(train_metrics, L_p), 0, 0},
      {"valid_loss", "validation loss", offsetof(train_metrics, valid_loss), 1, 0},
      {"lr", "learning rate", offsetof(train_metrics, lr), 0, 0},
      {"grad_norm", "gradient norm", offsetof(train_metrics, grad_norm), 0, 1},
      {"tokens_per_s", "tokens per second", offsetof(train_metrics, tokens_per_s), 0, 0},
  };
  sb_puts(b, "<section id=\"training\"><h2>Training</h2>");
  if (!r->n_runs) sb_puts(b, "<p class=\"note\">No training metrics in this run (no metrics.h5).</p>");
  else sb_puts(b, "<p class=\"note\">Every run against its optimizer step, overlaid; each line is the mean "
                  "of consecutive steps (at most 200 points).</p><div class=\"figs\">");
  for (size_t k = 0; k < sizeof M / sizeof *M && r->n_runs; k++) {
    svg_series s[16];
    double *buf[16][2];
    int n = 0;
    for (int i = 0; i < r->n_runs && n < 16; i++) {
      const train_metrics *t = &r->runs[i].m;
      size_t cnt = t->count[M[k].valid ? TRAIN_METRICS_VALIDATIONS : TRAIN_METRICS_STEPS];
      const double *y = *(double *const *)((const char *)t + M[k].member);
      buf[n][0] = xcalloc(cnt + 1, sizeof(double));
      buf[n][1] = xcalloc(cnt + 1, sizeof(double));
      size_t m = cnt ? bucket(M[k].valid ? t->valid_step : t->step, y, cnt, buf[n][0], buf[n][1]) : 0;
      s[n] = (svg_series){r->runs[i].name, buf[n][0], buf[n][1], m, 0};
      n++;
    }
    svg_axes ax = {M[k].title, "step", M[k].key, 580, 260, 0, M[k].log, 0};
    strbuf svg;
    sb_init(&svg);
    svg_lines(&svg, &ax, s, n);
    char name[64];
    snprintf(name, sizeof name, "training-%s", M[k].key);
    report_fig_add(figs, b, name, &svg);
    for (int i = 0; i < n; i++) free(buf[i][0]), free(buf[i][1]);
  }
  if (r->n_runs) sb_puts(b, "</div>");
  sb_puts(b, "</section>");
}

static void roc_figure(strbuf *b, report_figs *figs, const report *r) {
  uint8_t *use = xmalloc(r->n_roc + 1);
  for (size_t i = 0; i < r->n_roc; i++) use[i] = r->roc_start[i] || !r->roc_truth[i];
  report_roc all, start;
  report_roc_compute(r->roc_score, r->roc_truth, NULL, r->n_roc, &all);
  report_roc_compute(r->roc_score, r->roc_start, use, r->n_roc, &start);
  free(use);
  char n1[96], n2[96];
  snprintf(n1, sizeof n1, "all planted tokens, AUROC %.3f", all.auroc);
  snprintf(n2, sizeof n2, "span starts, AUROC %.3f", start.auroc);
  svg_series s[2] = {{n1, all.fpr, all.tpr, (size_t)all.n, 0}, {n2, start.fpr, start.tpr, (size_t)start.n, 0}};
  svg_axes ax = {"ROC of the effect vs the planted truth", "false positive rate", "true positive rate",
                 540, 300, 1, 0, 220};
  strbuf svg;
  sb_init(&svg);
  svg_lines(&svg, &ax, s, 2);
  report_fig_add(figs, b, "effect-roc", &svg);
  sb_printf(b, "</div><p class=\"note\">%zu planted tokens (%zu span starts) against %zu other tokens. "
               "Only a span's first tokens can carry a history effect (docs/effects-layout.md).</p>",
            all.positives, start.positives, all.negatives);
}

static void section_effects(strbuf *b, report_figs *figs, const report *r) {
  sb_puts(b, "<section id=\"effect\"><h2>Effects and annotations</h2>");
  if (!r->have_effects) {
    sb_puts(b, "<p class=\"note\">No effects in this run (nq-effect has not run).</p></section>");
    return;
  }
  char note[160];
  double share = r->n_computed ? (double)r->n_above / (double)r->n_computed : 0;
  snprintf(note, sizeof note, "%.1f%% of %zu tokens above %.3g", 100 * share, r->n_computed, r->threshold);
  strbuf svg;
  sb_init(&svg);
  svg_hist(&svg, "Causal preference effect per target token", "effect  p(y|h,x) - p(y|x)", r->hist,
           REPORT_HIST_BINS, -1, 1, r->threshold, note);
  sb_puts(b, "<div class=\"figs\">");
  report_fig_add(figs, b, "effect-histogram", &svg);
  if (r->have_truth && r->n_roc) roc_figure(b, figs, r);
  else sb_puts(b, "</div><p class=\"note\">The shards carry no planted truth: no ROC.</p>");
  if (r->have_annotations)
    sb_printf(b, "<p class=\"note\">Annotation mask: %zu of %zu tokens (%.1f%%) are preference tokens.</p>",
              r->n_masked, r->n_computed, r->n_computed ? 100.0 * r->n_masked / r->n_computed : 0);
  sb_puts(b, "</section>");
}

static void page_head(strbuf *b, const report *r) {
  time_t now = time(NULL);
  struct tm tm;
  char when[64];
  localtime_r(&now, &tm);
  strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
  const char *name = r->set->name;
  sb_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
             "content=\"width=device-width,initial-scale=1\"><title>nextquill report: ");
  svg_escape(b, name);
  sb_printf(b, "</title><style>%s</style></head><body><header><h1>nextquill report: ", page_css);
  svg_escape(b, name);
  sb_puts(b, "</h1><p>");
  svg_escape(b, r->run_dir);
  sb_printf(b, " &middot; written %s by nq-report %s &middot; config ", when, nq_version());
  svg_escape(b, settings_file(r->set));
  sb_puts(b, "</p><nav><a href=\"#run\">run</a><a href=\"#results\">results</a><a href=\"#training\">training</a>"
             "<a href=\"#effect\">effects</a><a href=\"#users\">users</a><a href=\"#sweeps\">sweeps</a></nav>"
             "</header><main>");
  if (r->n_missing) {
    sb_puts(b, "<section id=\"missing\" class=\"missing\"><h2>Not in this run</h2><ul>");
    for (int i = 0; i < r->n_missing; i++) {
      sb_puts(b, "<li>");
      svg_escape(b, r->missing[i]);
      sb_puts(b, "</li>");
    }
    sb_puts(b, "</ul></section>");
  }
}

char *report_page_write(const report *r, const char *out_dir) {
  strbuf b;
  sb_init(&b);
  report_figs figs = {0};
  page_head(&b, r);
  sb_puts(&b, "<section id=\"run\"><h2>The run</h2>");
  report_steps_html(&b, r);
  sb_puts(&b, "<p class=\"note\">Every step of the pipeline graph (nq-config --steps). finished: when its stamp "
              "record was written; took: its log, first to last write; config digest: SHA-256 of the config "
              "sections its stage reads (nq-config --reads); state: current, or why its output no longer matches "
              "its config and inputs (the stamps, docs/pipeline.md).</p></section>");
  section_results(&b, &figs, r);
  section_training(&b, &figs, r);
  section_effects(&b, &figs, r);
  report_users_html(&b, r);
  report_sweep_html(&b, &figs, r);
  sb_puts(&b, "</main></body></html>\n");
  char *index = report_figs_write(&figs, out_dir, &b);
  sb_free(&b);
  return index;
}
