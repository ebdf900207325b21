// The sweeps section: <run_dir>/sweep/points.tsv (jobs/submit.sh --sweep: index, then the
// point's run_dir=... and key=value overrides, tab-separated) and each point's eval table;
// one figure per metric, the metric against the first swept value, one line per model.
#include "pipeline/run_layout.h"
#include "report/report_page.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_load.h"
#include "report/report_svg.h"

enum { MAX_POINTS = 256 };

typedef struct {
  double x;
  report rep;
} sweep_point;

// Swept value and run directory of one points.tsv line; 0 when the line has neither.
static int parse_point(char *line, double *x, char **dir, char *key, size_t cap) {
  char *save = NULL;
  int have_x = 0;
  *dir = NULL;
  strtok_r(line, "\t", &save);   // index
  for (char *w = strtok_r(NULL, "\t", &save); w; w = strtok_r(NULL, "\t", &save)) {
    char *eq = strchr(w, '=');
    if (!eq) continue;
    *eq = 0;
    if (!strcmp(w, "run_dir")) *dir = eq + 1;
    else if (!have_x) snprintf(key, cap, "%s", w), *x = strtod(eq + 1, NULL), have_x = 1;
  }
  return have_x && *dir;
}

static void sweep_figures(strbuf *b, report_figs *figs, sweep_point *pt, int n, const char *key) {
  static const int shown[] = {EM_ROUGE1, EM_ROUGEL, EM_METEOR, EM_BLEU, EM_RECALL};
  const report *r0 = &pt[0].rep;
  sb_puts(b, "<div class=\"figs\">");
  for (size_t k = 0; k < sizeof shown / sizeof *shown; k++) {
    int m = shown[k], nr = r0->n_rows < 8 ? r0->n_rows : 8;
    svg_series s[8];
    double xs[8][MAX_POINTS], ys[8][MAX_POINTS];
    for (int i = 0; i < nr; i++) {
      size_t c = 0;
      for (int p = 0; p < n; p++)
        for (int j = 0; j < pt[p].rep.n_rows; j++)
          if (!strcmp(pt[p].rep.rows[j].name, r0->rows[i].name)) xs[i][c] = pt[p].x, ys[i][c++] = pt[p].rep.rows[j].mean[m];
      s[i] = (svg_series){r0->rows[i].name, xs[i], ys[i], c, 0};
    }
    char title[96], name[96];
    snprintf(title, sizeof title, "%s against %s", eval_metric_title[m], key);
    svg_axes ax = {title, key, eval_metric_title[m], 420, 250, 0, 0, 0};
    strbuf svg;
    sb_init(&svg);
    svg_lines(&svg, &ax, s, nr);
    snprintf(name, sizeof name, "sweep-%s", eval_metric_key[m]);
    report_fig_add(figs, b, name, &svg);
  }
  sb_puts(b, "</div>");
}

static int cmp_point(const void *a, const void *b) {
  double x = ((const sweep_point *)a)->x, y = ((const sweep_point *)b)->x;
  return (x > y) - (x < y);
}

void report_sweep_html(strbuf *b, report_figs *figs, const report *r) {
  char *dir = run_path(r->set, RUN_SWEEP), *tsv = run_file(dir, RUN_POINTS, 0), *eval_name = run_dir_name(r->set, RUN_EVAL);
  size_t len;
  char *text = file_exists(tsv) ? read_file(tsv, &len) : NULL;
  sb_puts(b, "<section id=\"sweeps\"><h2>Sweeps</h2>");
  sweep_point *pt = xcalloc(MAX_POINTS, sizeof *pt);
  int n = 0;
  char key[128] = "";
  char *save = NULL;
  for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l && n < MAX_POINTS; l = strtok_r(NULL, "\n", &save)) {
    char *pdir;
    if (!parse_point(l, &pt[n].x, &pdir, key, sizeof key)) continue;
    char *eval = path_join(pdir, eval_name ? eval_name : "."), *csv = run_file(eval, RUN_SUMMARY_CSV, 0);
    pt[n].rep.run_dir = pdir;
    if (file_exists(csv)) report_load_eval(&pt[n].rep, eval), n++;
    else report_free(&pt[n].rep);
    free(eval);
    free(csv);
  }
  if (!text) sb_puts(b, "<p class=\"note\">No sweep in this run (jobs/submit.sh --sweep writes sweep/points.tsv).</p>");
  else if (!n) sb_puts(b, "<p class=\"note\">The sweep's points have no eval results yet.</p>");
  else {
    qsort(pt, (size_t)n, sizeof *pt, cmp_point);
    sb_printf(b, "<p class=\"note\">%d points with eval results (sweep/summary.md has every key).</p>", n);
    sweep_figures(b, figs, pt, n, key);
  }
  sb_puts(b, "</section>");
  for (int i = 0; i < n; i++) report_free(&pt[i].rep);
  free(pt);
  free(text);
  free(tsv);
  free(dir);
  free(eval_name);
}
