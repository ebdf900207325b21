// nq-report: look at a run: <run_dir>/report/index.html (results, training curves, effects,
// users' tokens coloured by effect beside each model's prediction, sweeps) and its .svg
// figures, or a terminal view (--user ID, --top K); docs/report.md.
#include "pipeline/stage.h"
#include "report/report.h"

int main(int argc, char **argv) {
  stage_ctx s;
  stage_begin_with(&s, "report", argc, argv, report_options);
  return stage_end(&s, report_run(s.set, &s.a));
}
