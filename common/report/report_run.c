// nq-report's driver: load what exists, then the page or the terminal view. Rank 0 does the
// work (the report is small); other ranks of an mpirun just return.
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "pipeline/freshness.h"
#include "pipeline/run_layout.h"
#include "report/report_load.h"
#include "report/report_page.h"
#include "report/report_term.h"

enum { BEST_USERS = 3, WORST_USERS = 2, FALLBACK_USERS = 4 };

const stage_option report_options[] = {
    {"--user", "ID", "print that user's samples, tokens coloured by effect (no page)", OPT_WRITES_NONE},
    {"--top", "K", "print the K most preference-bearing tokens of --user ID, or of the corpus", OPT_WRITES_NONE},
    {"--out", "DIR", "write the page into DIR instead of <run_dir>/report (locks there)", OPT_OUT_DIR},
    {NULL, NULL, NULL, OPT_PLAIN},
};

static int terminal_view(const report *r, const char *user, const char *top) {
  int color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
  if (user && !top && report_term_user(stdout, r, user, color) != 0) {
    fprintf(stderr, "nq-report: no samples of user '%s' in %s/shards\n", user, r->run_dir);
    return 1;
  }
  if (top) {
    char *end;
    long k = strtol(top, &end, 10);
    if (*end || k <= 0) fatal("nq-report: --top needs a positive number, got '%s'", top);
    if (!r->have_effects) {
      fprintf(stderr, "nq-report: no effects in %s: nothing to rank (run nq-effect)\n", r->run_dir);
      return 1;
    }
    report_term_top(stdout, r, user, (int)k);
  }
  fflush(stdout);
  return 0;
}

int report_run(const settings *set, const stage_args *a) {
  if (a->rank != 0) return 0;
  const char *user = stage_option_value(a, "--user"), *top = stage_option_value(a, "--top");
  const char *out = stage_option_value(a, "--out");
  int term = user || top;
  report r;
  memset(&r, 0, sizeof r);
  r.set = set;
  r.run_dir = set->run_dir;
  if (term) log_set_quiet(1);   // the terminal view is the output; notes only when asked
  char *eval = run_path(set, RUN_EVAL);
  report_load_eval(&r, eval);
  free(eval);
  pipeline_graph *g = NULL;
  if (!term) {
    g = pipeline_graph_build(a->cfg_path, a->sets, a->n_sets, NULL, 0);
    freshness_graph(g);
    r.graph = g;
    report_load_runs(&r);
  }
  report_pick_users(&r, user, term ? 0 : BEST_USERS, term ? 0 : WORST_USERS);
  report_load_corpus(&r, set->annotate.threshold, term ? 0 : FALLBACK_USERS);
  if (term) log_set_quiet(0);
  int rc = 0;
  if (term) {
    rc = terminal_view(&r, user, top);
  } else {
    char *dir = out ? xstrdup(out) : run_path(set, RUN_REPORT);
    char *index = report_page_write(&r, dir);
    printf("report: %s\n", index);
    free(index);
    free(dir);
  }
  report_free(&r);
  pipeline_graph_free(g);
  return rc;
}
