// The "run" section: every step of the pipeline graph (pipeline/steps.h: rounds and further
// evaluations included) with when its stamp record was written, how long its log ran, the
// digest of the config sections its stage reads, who wrote its output, and its state as the
// freshness rule (pipeline/freshness.h) gives it: current, not run, or why it is stale.
#include "report/report_page.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/util.h"
#include "h5/h5io.h"
#include "h5/provenance.h"
#include "pipeline/run_layout.h"
#include "report/report_svg.h"

// When the step's record was written, and how long its log ran (birth to last write).
static void step_times(const settings *set, const pipeline_graph *g, const pipeline_step *s, char *when,
                       char *took, size_t cap) {
  struct stat st;
  when[0] = took[0] = 0;
  char *record = run_record_path(g->run_dir, s->writes[0]);
  if (stat(record, &st) == 0) {
    struct tm tm;
    localtime_r(&st.st_mtime, &tm);
    strftime(when, cap, "%Y-%m-%d %H:%M:%S", &tm);
  }
  free(record);
  char *logs = run_path(set, RUN_LOGS), *log = run_file_in(logs, RUN_LOG, s->name);
  struct statx sx;
  if (statx(AT_FDCWD, log, 0, STATX_BTIME | STATX_MTIME, &sx) == 0 && (sx.stx_mask & STATX_BTIME))
    snprintf(took, cap, "%lld s", (long long)(sx.stx_mtime.tv_sec - sx.stx_btime.tv_sec));
  free(logs), free(log);
}

// "nq-<stage> <version>, <created>" from the provenance of an HDF5 file of the step's output
// (a model's final model, a shard-named file), or "" when it has none.
static void written_by(const pipeline_step *s, char *by, size_t cap) {
  by[0] = 0;
  const char *out = s->writes[0];
  char *cand[3] = {xstrdup(out), run_file(out, RUN_MODEL, 0), run_file(out, RUN_SHARD_FILE, 0)};
  for (int i = 0; i < 3 && !by[0]; i++) {
    struct stat st;
    if (stat(cand[i], &st) != 0 || S_ISDIR(st.st_mode) || !strstr(cand[i], ".h5")) continue;
    hid_t f = h5_try_open_read(cand[i]);
    if (f < 0) continue;
    h5_provenance_info p;
    if (h5_provenance_read(f, &p))
      snprintf(by, cap, "nq-%s %s, %s", p.stage, p.version ? p.version : "?", p.created ? p.created : "?");
    h5_provenance_info_free(&p);
    h5_close(f);
  }
  for (int i = 0; i < 3; i++) free(cand[i]);
}

static void cell(strbuf *b, const char *text) {
  sb_puts(b, "<td>");
  svg_escape(b, text);
  sb_puts(b, "</td>");
}

void report_steps_html(strbuf *b, const report *r) {
  const pipeline_graph *g = r->graph;
  static const char *const names[] = {"not run", "stale", "current"}, *const classes[] = {"notrun", "stale", "ok"};
  sb_puts(b, "<table class=\"steps\"><tr><th>step</th><th>finished</th><th>took</th>"
             "<th>config digest</th><th>written by</th><th>state</th></tr>");
  for (int i = 0; i < g->n; i++) {
    const pipeline_step *s = &g->s[i];
    char when[64], took[64], by[256], state[600], hex[13];
    step_times(r->set, g, s, when, took, sizeof when);
    written_by(s, by, sizeof by);
    snprintf(hex, sizeof hex, "%.12s", s->config_digest);
    snprintf(state, sizeof state, "%s%s%s", names[s->state], s->state == FRESH_STALE ? ": " : "", s->why);
    sb_printf(b, "<tr class=\"%s\">", classes[s->state]);
    cell(b, s->name);
    cell(b, when[0] ? when : "-");
    cell(b, took[0] ? took : "-");
    sb_printf(b, "<td><code>%s</code></td>", hex);
    cell(b, by[0] ? by : "-");
    cell(b, state);
    sb_puts(b, "</tr>");
  }
  sb_puts(b, "</table>");
}
