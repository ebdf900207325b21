// nq-report: look at a run. Reads what exists under run_dir (through the formats/ modules)
// and writes <run_dir>/report/index.html with its figures as .svg files (report_page.h), or
// with --user / --top prints a terminal view (report_term.h). docs/report.md.
//
// defines: report_options, report_run
#ifndef NQ_REPORT_H
#define NQ_REPORT_H

#include "pipeline/stage.h"

// The stage's own options (--user ID, --top K, --out DIR).
extern const stage_option report_options[];
// The stage: 0 on success, 1 when an asked-for user has no samples.
int report_run(const settings *set, const stage_args *a);

#endif
