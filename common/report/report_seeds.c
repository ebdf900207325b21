// See report_seeds.h. Sections: reading summary.csv, the two figures, the page.
#include "report/report_seeds.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "files/eval_outputs.h"
#include "h5/provenance.h"
#include "report/report_svg.h"

// ---- summary.csv (common/seeds/eval_seeds.c writes it) ------------------------------------
enum { COL_MODEL, COL_METRIC, COL_MEAN, COL_SD, COL_DELTA, COL_LO, COL_HI, COL_P, COL_WINS, COL_SEEDS, N_COLS };

typedef struct {
  double v[N_COLS];        // COL_MEAN.. (COL_MODEL, COL_METRIC unused)
  double *seed;            // n_seeds per-seed values
} cell;

typedef struct {
  char *name, *path;       // eval directory name ("eval", "eval_out"; "." for the top one)
  char **labels;           // the seeds' labels ("seed 1234")
  int n_seeds;
  char **rows;             // models in file order
  int n_rows;
  cell *c;                 // c[row * EM_COUNT + metric]; metric = EM_* (NaN when absent)
} summary;

static int split_csv(char *line, char **f, int max) {
  int n = 0;
  for (char *p = line; n < max;) {
    f[n++] = p;
    char *c = strchr(p, ',');
    if (!c) break;
    *c = 0, p = c + 1;
  }
  return n;
}

static int metric_of(const char *key) {
  for (int k = 0; k < EM_COUNT; k++)
    if (!strcmp(eval_metric_key[k], key)) return k;
  return -1;
}

static int row_of(summary *s, const char *model) {
  for (int i = 0; i < s->n_rows; i++)
    if (!strcmp(s->rows[i], model)) return i;
  s->rows = xrealloc(s->rows, (size_t)(s->n_rows + 1) * sizeof *s->rows);
  s->c = xrealloc(s->c, (size_t)(s->n_rows + 1) * EM_COUNT * sizeof *s->c);
  for (int k = 0; k < EM_COUNT; k++) {
    cell *c = &s->c[s->n_rows * EM_COUNT + k];
    for (int j = 0; j < N_COLS; j++) c->v[j] = NAN;
    c->seed = xmalloc((size_t)(s->n_seeds + 1) * sizeof(double));
    for (int d = 0; d < s->n_seeds; d++) c->seed[d] = NAN;
  }
  s->rows[s->n_rows] = xstrdup(model);
  return s->n_rows++;
}

static void summary_read(summary *s, const char *path) {
  char *text = read_file(path, NULL);
  if (!text) fatal("%s: cannot read", path);
  char *save = NULL, *line = strtok_r(text, "\n", &save), *f[256];
  int nf = line ? split_csv(line, f, 256) : 0;
  if (nf < N_COLS + 1 || strcmp(f[0], "model") || strcmp(f[COL_SEEDS], "seeds"))
    fatal("%s: line 1: not an nq-seeds summary.csv header (model,metric,mean,sd,...,seeds,<seed labels>)", path);
  s->n_seeds = nf - N_COLS;
  s->labels = xmalloc((size_t)s->n_seeds * sizeof *s->labels);
  for (int d = 0; d < s->n_seeds; d++) s->labels[d] = xstrdup(f[N_COLS + d]);
  for (int ln = 2; (line = strtok_r(NULL, "\n", &save)); ln++) {
    if (split_csv(line, f, 256) != nf) fatal("%s: line %d: %d columns expected", path, ln, nf);
    int k = metric_of(f[COL_METRIC]);
    if (k < 0) fatal("%s: line %d: unknown metric '%s'", path, ln, f[COL_METRIC]);
    int r = row_of(s, f[COL_MODEL]);   // may move s->c
    cell *c = &s->c[r * EM_COUNT + k];
    for (int j = COL_MEAN; j < N_COLS; j++) c->v[j] = strtod(f[j], NULL);
    for (int d = 0; d < s->n_seeds; d++) c->seed[d] = strtod(f[N_COLS + d], NULL);
  }
  if (!s->n_rows) fatal("%s: no rows", path);
  free(text);
}

static void summary_free(summary *s) {
  for (int i = 0; i < s->n_rows * EM_COUNT; i++) free(s->c[i].seed);
  for (int i = 0; i < s->n_rows; i++) free(s->rows[i]);
  for (int d = 0; d < s->n_seeds; d++) free(s->labels[d]);
  free(s->c), free(s->rows), free(s->labels), free(s->name), free(s->path);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// dir/summary.csv and dir/<sub>/summary.csv, subdirectories in name order.
static summary *find_summaries(const char *dir, int *n) {
  summary *s = NULL;
  *n = 0;
  char *top = path_join(dir, "summary.csv");
  if (file_exists(top)) {
    s = xcalloc(1, sizeof *s);
    s[(*n)++] = (summary){.name = xstrdup("."), .path = top};
  } else free(top);
  DIR *d = opendir(dir);
  if (!d) fatal("%s: cannot open the seeds directory", dir);
  char **subs = NULL;
  int ns = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char *sub = path_join(dir, e->d_name), *p = path_join(sub, "summary.csv");
    if (file_exists(p)) subs = xrealloc(subs, (size_t)(ns + 1) * sizeof *subs), subs[ns++] = xstrdup(e->d_name);
    free(sub), free(p);
  }
  closedir(d);
  qsort(subs, (size_t)ns, sizeof *subs, cmp_str);
  for (int i = 0; i < ns; i++) {
    char *sub = path_join(dir, subs[i]);
    s = xrealloc(s, (size_t)(*n + 1) * sizeof *s);
    s[(*n)++] = (summary){.name = subs[i], .path = path_join(sub, "summary.csv")};
    free(sub);
  }
  free(subs);
  if (!*n) fatal("%s: no summary.csv in it or its subdirectories (jobs/run-local.sh CONFIG --seeds N writes them)", dir);
  for (int i = 0; i < *n; i++) summary_read(&s[i], s[i].path);
  return s;
}

// ---- figures: one line per row, a value axis across --------------------------------------------
// Row i: a segment lo[i]..hi[i], a mark at mid[i], and (pts, may be NULL) the seeds' values as
// dots; `zero`: a dashed line at 0 (the differences).
static void forest(strbuf *b, const char *title, char **labels, int n, const double *mid, const double *lo,
                   const double *hi, const double *pts, int n_pts, int zero) {
  const int L = 150, R = 16, T = 28, H = 22, W = 520;
  double x0 = zero ? 0 : INFINITY, x1 = zero ? 0 : -INFINITY;
  for (int i = 0; i < n; i++) {
    double v[3] = {mid[i], lo[i], hi[i]};
    for (int j = 0; j < 3; j++) if (isfinite(v[j])) x0 = fmin(x0, v[j]), x1 = fmax(x1, v[j]);
    for (int j = 0; pts && j < n_pts; j++) if (isfinite(pts[i * n_pts + j])) x0 = fmin(x0, pts[i * n_pts + j]), x1 = fmax(x1, pts[i * n_pts + j]);
  }
  if (!isfinite(x0)) x0 = 0, x1 = 1;
  if (x1 - x0 < 1e-9) x0 -= 0.5, x1 += 0.5;
  double pad = 0.06 * (x1 - x0);
  x0 -= pad, x1 += pad;
  int h = T + H * n + 30;
#define X(v) (L + ((v) - x0) / (x1 - x0) * (W - L - R))
  sb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"sans-serif\" font-size=\"11\"><text x=\"8\" y=\"16\" font-size=\"13\" fill=\"#222\">",
            W, h, W, h);
  svg_escape(b, title);
  sb_puts(b, "</text>");
  for (int t = 0; t <= 4; t++) {
    double v = x0 + (x1 - x0) * t / 4;
    sb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#eee\"/><text x=\"%.1f\" y=\"%d\" "
                 "text-anchor=\"middle\" fill=\"#555\">%.3f</text>", X(v), X(v), T, T + H * n, X(v), T + H * n + 14, v);
  }
  if (zero) sb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#222\" stroke-dasharray=\"4 3\"/>",
                      X(0.0), X(0.0), T, T + H * n);
  for (int i = 0; i < n; i++) {
    double y = T + H * i + H / 2.0;
    sb_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#333\">", L - 6, y + 4);
    svg_escape(b, labels[i]);
    sb_puts(b, "</text>");
    if (isfinite(lo[i]) && isfinite(hi[i]))
      sb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>",
                X(lo[i]), X(hi[i]), y, y, svg_color(i));
    if (isfinite(mid[i]))
      sb_printf(b, "<rect class=\"mid\" x=\"%.1f\" y=\"%.1f\" width=\"3\" height=\"12\" fill=\"#222\"/>", X(mid[i]) - 1.5, y - 6);
    for (int j = 0; pts && j < n_pts; j++)
      if (isfinite(pts[i * n_pts + j]))
        sb_printf(b, "<circle class=\"seed\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\" fill-opacity=\"0.8\"/>",
                  X(pts[i * n_pts + j]), y, svg_color(j + 4));
  }
#undef X
  sb_puts(b, "</svg>");
}

// ---- the page ----------------------------------------------------------------------------------
static const int fig_metrics[] = {EM_ROUGE1, EM_ROUGEL, EM_METEOR, EM_BLEU};

static void num(strbuf *b, double v, int digits, int sign) {
  if (isnan(v)) sb_puts(b, "&ndash;");
  else sb_printf(b, sign ? "%+.*f" : "%.*f", digits, v);
}

static void section(strbuf *b, const summary *s) {
  sb_puts(b, "<section><h2>");
  svg_escape(b, strcmp(s->name, ".") ? s->name : "summary");
  sb_printf(b, "</h2><p class=\"note\">%d seeds (", s->n_seeds);
  for (int d = 0; d < s->n_seeds; d++) sb_puts(b, d ? ", " : ""), svg_escape(b, s->labels[d]);
  sb_puts(b, "). Each cell: mean &plusmn; sd over the seeds of each seed's table value, the seeds' values "
             "below; &Delta;: paired difference with the baseline pooled over the samples of every seed, "
             "[95% bootstrap interval], * p &lt; 0.05, (seeds better / seeds).</p><table><tr><th>model</th>");
  for (int k = 0; k < EM_COUNT; k++) sb_printf(b, "<th>%s</th>", eval_metric_title[k]);
  sb_puts(b, "</tr>");
  for (int i = 0; i < s->n_rows; i++) {
    sb_puts(b, "<tr class=\"row\"><td>");
    svg_escape(b, s->rows[i]);
    sb_puts(b, "</td>");
    for (int k = 0; k < EM_COUNT; k++) {
      const cell *c = &s->c[i * EM_COUNT + k];
      int dg = k == EM_BLEU ? 2 : 3;
      sb_puts(b, "<td>"), num(b, c->v[COL_MEAN], dg, 0), sb_puts(b, " &plusmn; "), num(b, c->v[COL_SD], dg, 0);
      sb_puts(b, "<br><small class=\"seeds\">");
      for (int d = 0; d < s->n_seeds; d++) sb_puts(b, d ? " " : ""), num(b, c->seed[d], dg, 0);
      sb_puts(b, "</small>");
      if (!isnan(c->v[COL_DELTA])) {
        sb_puts(b, "<br><small>&Delta; "), num(b, c->v[COL_DELTA], dg, 1), sb_puts(b, " ["), num(b, c->v[COL_LO], dg, 1);
        sb_puts(b, ", "), num(b, c->v[COL_HI], dg, 1);
        sb_printf(b, "]%s (%.0f/%.0f)</small>", c->v[COL_P] < 0.05 ? "*" : "", c->v[COL_WINS], c->v[COL_SEEDS]);
      }
      sb_puts(b, "</td>");
    }
    sb_puts(b, "</tr>");
  }
  sb_puts(b, "</table><div class=\"figs\">");
  int n = s->n_rows, np = s->n_seeds;
  double *mid = xmalloc((size_t)n * sizeof *mid), *lo = xmalloc((size_t)n * sizeof *lo);
  double *hi = xmalloc((size_t)n * sizeof *hi), *pts = xmalloc((size_t)(n * np + 1) * sizeof *pts);
  for (size_t f = 0; f < sizeof fig_metrics / sizeof *fig_metrics; f++) {
    int k = fig_metrics[f];
    char title[128];
    for (int i = 0; i < n; i++) {
      const cell *c = &s->c[i * EM_COUNT + k];
      mid[i] = c->v[COL_MEAN], lo[i] = mid[i] - c->v[COL_SD], hi[i] = mid[i] + c->v[COL_SD];
      for (int d = 0; d < np; d++) pts[i * np + d] = c->seed[d];
    }
    snprintf(title, sizeof title, "%s: each seed (dots), mean ± sd", eval_metric_title[k]);
    sb_puts(b, "<figure>"), forest(b, title, s->rows, n, mid, lo, hi, pts, np, 0), sb_puts(b, "</figure>");
    for (int i = 0; i < n; i++) {
      const cell *c = &s->c[i * EM_COUNT + k];
      mid[i] = c->v[COL_DELTA], lo[i] = c->v[COL_LO], hi[i] = c->v[COL_HI];
    }
    snprintf(title, sizeof title, "%s: paired difference with the baseline, 95%% interval", eval_metric_title[k]);
    sb_puts(b, "<figure>"), forest(b, title, s->rows, n, mid, lo, hi, NULL, 0, 1), sb_puts(b, "</figure>");
  }
  free(mid), free(lo), free(hi), free(pts);
  sb_puts(b, "</div></section>");
}

static const char *const seeds_css =
    "body{font:15px/1.45 system-ui,sans-serif;color:#1d1d1f;background:#f4f5f7;margin:0}"
    "header{background:#1f2a44;color:#fff;padding:18px 24px}header h1{margin:0;font-size:22px}"
    "main{max-width:1280px;margin:0 auto;padding:8px 24px 48px}section{background:#fff;border-radius:8px;"
    "padding:12px 18px;margin:16px 0}table{border-collapse:collapse;font-size:13px}td,th{padding:4px 8px;"
    "border-bottom:1px solid #e4e4e8;text-align:right;vertical-align:top}td:first-child{text-align:left}"
    ".note{color:#555;font-size:13px}.seeds{color:#777}.figs{display:flex;flex-wrap:wrap;gap:8px}figure{margin:6px}";

int report_seeds_main(int argc, char **argv) {
  const char *dir = argv[1], *out = dir;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
    else fatal("usage: nq-report SEEDS_DIR [--out DIR] (a seeds directory: <run_dir>/seeds); got '%s'", argv[i]);
  }
  int n;
  summary *s = find_summaries(dir, &n);
  strbuf b;
  sb_init(&b);
  sb_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>nextquill: across seeds"
                "</title><style>%s</style></head><body><header><h1>nextquill: the experiment across seeds</h1><p>",
            seeds_css);
  svg_escape(&b, dir);
  sb_printf(&b, " &middot; nq-report %s</p></header><main>", nq_version());
  for (int i = 0; i < n; i++) section(&b, &s[i]);
  sb_puts(&b, "</main></body></html>\n");
  make_dirs(out);
  char *page = path_join(out, "index.html");
  write_file_atomic(page, b.data, b.len);
  printf("report: %s\n", page);
  free(page), sb_free(&b);
  for (int i = 0; i < n; i++) summary_free(&s[i]);
  free(s);
  return 0;
}
