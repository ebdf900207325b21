// nq-report: look at a run: <run_dir>/report/index.html (results, training curves, effects,
// users' tokens coloured by effect beside each model's prediction, sweeps) and its .svg
// figures, or a terminal view (--user ID, --top K); `nq-report SEEDS_DIR`: the across-seed page
// of <run_dir>/seeds (report/report_seeds.h); docs/report.md.
#include "base/util.h"
#include "pipeline/stage.h"
#include "report/report.h"
#include "report/report_seeds.h"

int main(int argc, char **argv) {
  if (argc > 1 && dir_exists(argv[1])) return report_seeds_main(argc, argv);   // a seeds directory
  stage_ctx s;
  stage_begin_with(&s, "report", argc, argv, report_options);
  return stage_end(&s, report_run(s.set, &s.a));
}
