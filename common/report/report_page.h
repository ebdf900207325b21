// The report page, <out>/index.html: one self-contained file (inline CSS and SVG, no script,
// no network), its sections in report_page.c (results, training, effects), report_steps.c
// (the run), report_users_html.c (users) and report_sweep.c (sweeps); each figure is also
// written beside it as a standalone <name>.svg (report_figs.c).
//
// defines: report_figs, report_fig_add, report_page_write, report_steps_html,
//          report_users_html, report_sweep_html, report_figs_write
#ifndef NQ_REPORT_PAGE_H
#define NQ_REPORT_PAGE_H

#include "base/util.h"
#include "report/report_data.h"

typedef struct {
  char **name, **svg;     // file stem and SVG text of each figure
  int n;
} report_figs;

// Adds the figure drawn in `svg` (taken over) as <name>.svg and appends it, in a <figure>,
// to the page (report_figs.c).
void report_fig_add(report_figs *f, strbuf *page, const char *name, strbuf *svg);
// Writes every figure and then the page into `out_dir` (created; files written atomically;
// the figures are freed). Returns the path of the page (caller frees).
char *report_figs_write(report_figs *f, const char *out_dir, const strbuf *page);
// Writes the page and its figures into `out_dir`. Returns the path of the page (caller frees).
char *report_page_write(const report *r, const char *out_dir);
// The run section's table: every step of the graph with its state (pipeline/freshness.h).
void report_steps_html(strbuf *b, const report *r);
// The users section: each shown user's test targets beside each model's prediction.
void report_users_html(strbuf *b, const report *r);
// The sweeps section (nothing when <run_dir>/sweep/points.tsv does not exist).
void report_sweep_html(strbuf *b, report_figs *figs, const report *r);

#endif
