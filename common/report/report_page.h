// The report page, <out>/index.html: one self-contained file (inline CSS and SVG, no script,
// no network), its sections in report_page.c (results, training, effects), report_steps.c
// (the run), report_users_html.c (users) and report_sweep.c (sweeps); each figure is also
// written beside it as a standalone <name>.svg.
//
// defines: report_figs, report_fig_add, report_page_write, report_steps_html,
//          report_users_html, report_sweep_html
#ifndef NQ_REPORT_PAGE_H
#define NQ_REPORT_PAGE_H

#include "base/util.h"
#include "pipeline/stage.h"
#include "report/report_data.h"

typedef struct {
  char **name, **svg;     // file stem and SVG text of each figure
  int n;
} report_figs;

// Adds the figure drawn in `svg` (taken over) as <name>.svg and appends it, in a <figure>,
// to the page.
void report_fig_add(report_figs *f, strbuf *page, const char *name, strbuf *svg);
// Writes index.html and every figure into `out_dir` (created; files written atomically).
// Returns the path of index.html (caller frees).
char *report_page_write(const stage_ctx *s, const report *r, const char *out_dir);
// The run section's table.
void report_steps_html(strbuf *b, const stage_ctx *s, const report *r);
// The users section: each shown user's test targets beside each model's prediction.
void report_users_html(strbuf *b, const report *r);
// The sweeps section (nothing when <run_dir>/sweep/points.tsv does not exist).
void report_sweep_html(strbuf *b, report_figs *figs, const report *r);

#endif
