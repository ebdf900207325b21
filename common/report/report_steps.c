// The "run" section: each step of the pipeline (jobs/pipeline.sh's order) with when it
// finished and how long it took (its stamp and log), the digest of the config sections its
// stage reads, the provenance of its output, and whether that output is stale: made with
// another config than the current one, or from an input that has changed since.
#include "report/report_page.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/sha256.h"
#include "base/util.h"
#include "formats/h5io.h"
#include "formats/provenance.h"
#include "report/report_svg.h"

typedef struct {
  char name[64];
  const char *stage;     // "train" for a training run
  const char *output;    // a file of the step that carries its provenance (relative), or NULL
} step_def;

static int list_steps(const config *c, step_def *v, int cap) {
  int n = 0, runs = cfg_list_len(c, "pipeline.train_runs");
  const char *ref = cfg_str(c, "effect.reference_run");
  v[n++] = (step_def){"synth", "synth", "data/synth.jsonl"};
  v[n++] = (step_def){"shard", "shard", "shards/shard-00000.h5"};
  for (int i = 0; i < runs && n + 4 < cap; i++) {
    const char *r = cfg_list_str(c, "pipeline.train_runs", i);
    v[n] = (step_def){"", "train", NULL};
    snprintf(v[n++].name, sizeof v->name, "%s", r);
    if (!strcmp(r, ref)) {
      v[n++] = (step_def){"effect", "effect", "effects/shard-00000.h5"};
      v[n++] = (step_def){"annotate", "annotate", "annotations/shard-00000.h5"};
    }
  }
  v[n++] = (step_def){"eval", "eval", NULL};
  return n;
}

// The config of step `st`: the run's overrides (pipeline.runs) after the user's --set.
static config *step_config(const stage_ctx *s, const step_def *st) {
  if (strcmp(st->stage, "train")) return NULL;
  const char *ov = "";
  for (int i = 0; i < cfg_map_len(s->cfg, "pipeline.runs"); i++)
    if (!strcmp(cfg_map_name(s->cfg, "pipeline.runs", i), st->name)) ov = cfg_map_value(s->cfg, "pipeline.runs", i);
  char *words = xstrdup(ov), *save = NULL, name_set[96];
  const char **sets = xcalloc((size_t)s->n_sets + strlen(ov) + 2, sizeof *sets);
  int n = 0;
  for (int i = 0; i < s->n_sets; i++) sets[n++] = s->sets[i];
  snprintf(name_set, sizeof name_set, "train.name=%.60s", st->name);
  sets[n++] = name_set;
  for (char *w = strtok_r(words, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) sets[n++] = w;
  config *c = config_load(config_path(s->cfg), sets, n);
  free(sets);
  free(words);
  return c;
}

// Where an input recorded as `in` is now: as recorded, or, for a path written relative to
// where the run was started ("results/default/shards/x.h5"), its tail under `run_dir`
// ("<run_dir>/shards/x.h5"). NULL when neither exists; caller frees.
static char *resolve_input(const char *run_dir, const char *in) {
  if (file_exists(in)) return xstrdup(in);
  for (const char *p = strchr(in, '/'); p && in[0] != '/'; p = strchr(p + 1, '/')) {
    char *at = path_join(run_dir, p + 1);
    if (file_exists(at)) return at;
    free(at);
  }
  return NULL;
}

// Why the output at `path` is stale ("" when it is current): its stored config of `sections`
// differs from `want`, or an input listed in its provenance has changed since or is gone.
static void staleness(const char *run_dir, const char *path, const char *sections, const char *want,
                      char *why, size_t cap, h5_provenance_info *p) {
  why[0] = 0;
  hid_t f = h5_open_read(path);
  int ok = h5_provenance_read(f, p);
  h5_close(f);
  if (!ok) return (void)snprintf(why, cap, "no provenance");
  char *have = p->config ? config_text_sections(p->config, sections) : NULL;
  if (!have || strcmp(have, want)) snprintf(why, cap, "made with another '%s' config", sections);
  free(have);
  char *lines = xstrdup(p->inputs ? p->inputs : ""), *save = NULL;
  for (char *l = strtok_r(lines, "\n", &save); l && !why[0]; l = strtok_r(NULL, "\n", &save)) {
    char *in = strstr(l, "  ");
    if (!in || in - l != 64) continue;
    char *at = resolve_input(run_dir, in + 2);
    if (!at) snprintf(why, cap, "input %s not found", in + 2);
    else if (strncmp(file_digest(at), l, 64)) snprintf(why, cap, "input %s changed since", in + 2);
    free(at);
  }
  free(lines);
}

// Finish time and duration of a step from its stamp and its log (birth to last write).
static void step_times(const char *run_dir, const char *step, char *when, char *took, size_t cap) {
  char p[4096];
  struct stat st;
  when[0] = took[0] = 0;
  snprintf(p, sizeof p, "%.2000s/stamps/%.200s", run_dir, step);
  if (stat(p, &st) == 0) {
    struct tm tm;
    localtime_r(&st.st_mtime, &tm);
    strftime(when, cap, "%Y-%m-%d %H:%M:%S", &tm);
  }
  snprintf(p, sizeof p, "%.2000s/logs/%.200s.log", run_dir, step);
  struct statx sx;
  if (statx(AT_FDCWD, p, 0, STATX_BTIME | STATX_MTIME, &sx) == 0 && (sx.stx_mask & STATX_BTIME))
    snprintf(took, cap, "%lld s", (long long)(sx.stx_mtime.tv_sec - sx.stx_btime.tv_sec));
}

static void cell(strbuf *b, const char *text) {
  sb_puts(b, "<td>");
  svg_escape(b, text);
  sb_puts(b, "</td>");
}

void report_steps_html(strbuf *b, const stage_ctx *s, const report *r) {
  step_def steps[64];
  int n = list_steps(s->cfg, steps, 64);
  sb_puts(b, "<table class=\"steps\"><tr><th>step</th><th>finished</th><th>took</th>"
             "<th>config digest</th><th>written by</th><th>state</th></tr>");
  for (int i = 0; i < n; i++) {
    const step_def *st = &steps[i];
    const char *reads = stage_find(st->stage)->reads;
    config *own = step_config(s, st);
    char *text = config_text(own ? own : s->cfg, reads), hex[65], when[64], took[64], why[512] = "";
    sha256_hex(text, strlen(text), hex);
    hex[12] = 0;
    step_times(r->run_dir, st->name, when, took, sizeof when);
    char out[4096], by[256] = "";
    snprintf(out, sizeof out, "%.2000s/%.1000s%s", r->run_dir, st->output ? st->output : st->name,
             st->output ? "" : (strcmp(st->stage, "train") ? "" : "/model.h5"));
    int has = (st->output || !strcmp(st->stage, "train")) && file_exists(out) && strstr(out, ".h5");
    if (has) {
      h5_provenance_info p;
      staleness(r->run_dir, out, reads, text, why, sizeof why, &p);
      snprintf(by, sizeof by, "nq-%s %s, %s", p.stage ? p.stage : "?", p.version ? p.version : "?",
               p.created ? p.created : "?");
      h5_provenance_info_free(&p);
    }
    const char *state = !when[0] ? "not run" : why[0] ? why : "current";
    sb_printf(b, "<tr class=\"%s\">", !when[0] ? "notrun" : why[0] ? "stale" : "ok");
    cell(b, st->name);
    cell(b, when[0] ? when : "-");
    cell(b, took[0] ? took : "-");
    sb_printf(b, "<td><code>%s</code></td>", hex);
    cell(b, by[0] ? by : "-");
    cell(b, state);
    sb_puts(b, "</tr>");
    free(text);
    if (own) config_free(own);
  }
  sb_puts(b, "</table>");
}
