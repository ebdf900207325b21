// The pipeline's steps and what each reads and writes (see steps.h). To add a step, add a row
// to step_kinds and its io function: its dependencies and stamp follow from the paths.
#include "pipeline/steps.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"
#include "config/config.h"
#include "pipeline/run_paths.h"
#include "pipeline/stages.h"

// ---- paths ----------------------------------------------------------------------------------

// Collapses "//", "/./" and a leading "./", drops a trailing "/": one spelling per path, so
// a reader's path and a writer's compare as strings.
static char *path_clean(char *p) {
  char *w = p;
  for (const char *r = p; *r;) {
    if (r[0] == '.' && r[1] == '/' && (r == p || r[-1] == '/')) { r += 2; continue; }
    if (r[0] == '/' && w > p && w[-1] == '/') { r++; continue; }
    *w++ = *r++;
  }
  while (w > p + 1 && w[-1] == '/') w--;
  *w = 0;
  return p;
}

// `p` as the stages resolve it: "" is no path, absolute stays, relative is under run_dir.
static char *in_run(const config *c, const char *p) {
  if (!p[0]) return NULL;
  return p[0] == '/' ? xstrdup(p) : path_join(cfg_str(c, "run_dir"), p);
}

static void add_path(char ***v, int *n, char *p) {
  if (!p) return;
  *v = xrealloc(*v, (size_t)(*n + 1) * sizeof **v);
  (*v)[(*n)++] = path_clean(p);
}
#define READS(s, p) add_path(&(s)->reads, &(s)->n_reads, (p))
#define WRITES(s, p) add_path(&(s)->writes, &(s)->n_writes, (p))

// A path equal to `b` or inside it (b a directory).
static int path_within(const char *a, const char *b) {
  size_t n = strlen(b);
  return !strncmp(a, b, n) && (a[n] == 0 || a[n] == '/');
}

// ---- what each kind of step reads and writes ------------------------------------------------

static void synth_io(const config *c, pipeline_step *s) {
  const char *o = cfg_str(c, "synth.output");   // synth_run.c: cwd-relative when given
  WRITES(s, o[0] ? xstrdup(o) : in_run(c, "data/synth.jsonl"));
}

static void shard_io(const config *c, pipeline_step *s) {
  static const char *const lists[] = {"data.split_files.train", "data.split_files.valid",
                                      "data.split_files.test", "data.targets.files"};
  for (int i = 0; i < cfg_list_len(c, "data.files"); i++) READS(s, data_file_path(c, i));
  for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)   // globs stay as written
    for (int i = 0; i < cfg_list_len(c, lists[l]); i++)
      READS(s, run_path_expand(c, cfg_list_str(c, lists[l], i)));
  const char *t = cfg_str(c, "tokenizer.path");
  if (t[0]) READS(s, xstrdup(t));
  WRITES(s, in_run(c, "shards"));
  WRITES(s, in_run(c, "tokenizer.json"));
}

static void train_io(const config *c, pipeline_step *s) {
  READS(s, in_run(c, "shards"));
  READS(s, in_run(c, cfg_str(c, "train.init")));
  READS(s, in_run(c, cfg_str(c, "train.reference")));
  if (!strcmp(cfg_str(c, "train.objective"), "nextquill") &&
      !strcmp(cfg_str(c, "train.weights"), "annotations"))
    READS(s, in_run(c, cfg_str(c, "train.annotations")));
  WRITES(s, in_run(c, cfg_str(c, "train.name")));
}

static void effect_io(const config *c, pipeline_step *s) {
  READS(s, in_run(c, "shards"));
  const char *m = cfg_str(c, "effect.model");   // effect_files.c: cwd-relative when given
  READS(s, m[0] ? xstrdup(m) : in_run(c, cfg_str(c, "effect.reference_run")));
  WRITES(s, in_run(c, cfg_str(c, "effect.output")));
}

static void annotate_io(const config *c, pipeline_step *s) {
  READS(s, in_run(c, cfg_str(c, "annotate.effects")));
  WRITES(s, in_run(c, cfg_str(c, "annotate.output")));
}

static void eval_io(const config *c, pipeline_step *s) {
  READS(s, in_run(c, "shards"));
  for (int i = 0; i < cfg_map_len(c, "eval.models"); i++)
    READS(s, in_run(c, cfg_map_value(c, "eval.models", i)));
  for (int i = 0; i < cfg_map_len(c, "eval.user_adapters"); i++)   // per-user adapter runs
    READS(s, in_run(c, cfg_map_value(c, "eval.user_adapters", i)));
  WRITES(s, in_run(c, cfg_str(c, "eval.output")));
}

// The steps in their listed order (the order among steps that do not wait for each other).
// step NULL: one step per entry of pipeline.train_runs, named after it.
static const struct {
  const char *step, *stage;
  void (*io)(const config *c, pipeline_step *s);
} step_kinds[] = {
    {"synth", "synth", synth_io},
    {"shard", "shard", shard_io},
    {NULL, "train", train_io},
    {"effect", "effect", effect_io},
    {"annotate", "annotate", annotate_io},
    {"eval", "eval", eval_io},
};
#define N_KINDS (sizeof step_kinds / sizeof step_kinds[0])

// ---- building the graph ---------------------------------------------------------------------

// Appends the space-separated overrides of `words` to s->sets.
static void add_sets(pipeline_step *s, const char *words) {
  char *all = xstrdup(words);
  for (char *tok = strtok(all, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
    s->sets = xrealloc(s->sets, (size_t)(s->n_sets + 1) * sizeof *s->sets);
    s->sets[s->n_sets++] = xstrdup(tok);
  }
  free(all);
}

// The value of `name` in map `key`, or "".
static const char *map_get(const config *c, const char *key, const char *name) {
  for (int i = 0; i < cfg_map_len(c, key); i++)
    if (!strcmp(cfg_map_name(c, key, i), name)) return cfg_map_value(c, key, i);
  return "";
}

// The overrides of training run `name`: train.name, then the words of pipeline.runs.<name>.
static void run_sets(const config *c, const char *name, pipeline_step *s) {
  strbuf b;
  sb_init(&b);
  sb_printf(&b, "train.name=%s %s", name, map_get(c, "pipeline.runs", name));
  char *all = sb_detach(&b);
  add_sets(s, all);
  free(all);
}

typedef struct {
  const char *cfg_path;
  const char **args;   // user's overrides, room for a run's, then the `last` ones
  int n_user, n_last;
  const char *const *last;
} graph_args;

// Fills step `s` (name and stage set): its overrides, paths, and the canonical text of the
// config sections its stage reads (returned; the stamp digests it).
static char *step_fill(const graph_args *a, pipeline_step *s) {
  const char **args = xcalloc((size_t)(a->n_user + s->n_sets + a->n_last) + 1, sizeof *args);
  int n = 0;
  for (int i = 0; i < a->n_user; i++) args[n++] = a->args[i];
  for (int i = 0; i < s->n_sets; i++) args[n++] = s->sets[i];
  for (int i = 0; i < a->n_last; i++) args[n++] = a->last[i];
  config *c = config_load(a->cfg_path, args, n);
  for (size_t k = 0; k < N_KINDS; k++)   // one kind per stage: effect_r2 is an effect step
    if (!strcmp(step_kinds[k].stage, s->stage)) step_kinds[k].io(c, s);
  const stage_info *st = stage_find(s->stage);
  if (!st) fatal("pipeline steps: step '%s' names no stage '%s'", s->name, s->stage);
  char *text = config_text(c, st->reads);
  config_free(c);
  free(args);
  return text;
}

// b waits for a: b reads a path a writes, or a directory holding one.
static int reads_output_of(const pipeline_step *b, const pipeline_step *a) {
  for (int i = 0; i < b->n_reads; i++)
    for (int j = 0; j < a->n_writes; j++)
      if (path_within(b->reads[i], a->writes[j]) || path_within(a->writes[j], b->reads[i]))
        return 1;
  return 0;
}

static int cmp_int(const void *a, const void *b) {
  return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

// Reorders g->s (and `texts` alike) so that each step follows the steps it waits for, keeping
// the listed order among the others; sets every `after`. fatal() on a cycle.
static void order_steps(pipeline_graph *g, char **texts) {
  int n = g->n, *done = xcalloc((size_t)n, sizeof *done), *pos = xcalloc((size_t)n, sizeof *pos);
  pipeline_step *out = xcalloc((size_t)n, sizeof *out);
  char **out_t = xcalloc((size_t)n, sizeof *out_t);
  for (int k = 0; k < n; k++) {
    int pick = -1;
    for (int b = 0; b < n && pick < 0; b++) {
      if (done[b]) continue;
      int ready = 1;
      for (int a = 0; a < n && ready; a++)
        if (a != b && !done[a] && reads_output_of(&g->s[b], &g->s[a])) ready = 0;
      if (ready) pick = b;
    }
    if (pick < 0) {
      for (int b = 0; b < n; b++)
        if (!done[b]) fatal("pipeline steps: step '%s' waits for itself through a cycle of inputs "
                            "(check train.init, effect.reference_run, eval.models)", g->s[b].name);
    }
    done[pick] = 1, pos[pick] = k, out[k] = g->s[pick], out_t[k] = texts[pick];
  }
  for (int b = 0; b < n; b++) {
    pipeline_step *s = &out[pos[b]];
    s->after = xcalloc((size_t)n, sizeof *s->after);
    for (int a = 0; a < n; a++)
      if (a != b && reads_output_of(&g->s[b], &g->s[a])) s->after[s->n_after++] = pos[a];
    qsort(s->after, (size_t)s->n_after, sizeof *s->after, cmp_int);
  }
  memcpy(g->s, out, (size_t)n * sizeof *out);
  memcpy(texts, out_t, (size_t)n * sizeof *texts);
  free(out), free(out_t), free(done), free(pos);
}

// Keeps in each `after` only the steps not already reached through another one (sft reads
// the shards and lm's model, but lm waits for shard: sft waits for lm only). Reachability,
// hence every stamp's upstream and every Slurm dependency chain, is unchanged.
static void reduce_after(pipeline_graph *g) {
  int n = g->n;
  char *reach = xcalloc((size_t)n * (size_t)n, 1);   // reach[b*n+a]: b waits for a, maybe via others
  for (int b = 0; b < n; b++)   // steps are ordered: the ones b waits for are done
    for (int i = 0; i < g->s[b].n_after; i++) {
      int a = g->s[b].after[i];
      reach[(size_t)b * n + a] = 1;
      for (int x = 0; x < n; x++) reach[(size_t)b * n + x] |= reach[(size_t)a * n + x];
    }
  for (int b = 0; b < n; b++) {
    pipeline_step *s = &g->s[b];
    int kept = 0;
    for (int i = 0; i < s->n_after; i++) {
      int a = s->after[i], via = 0;
      for (int j = 0; j < s->n_after && !via; j++)
        via = j != i && reach[(size_t)s->after[j] * n + a];
      if (!via) s->after[kept++] = a;
    }
    s->n_after = kept;
  }
  free(reach);
}

static void step_free(pipeline_step *s) {
  for (int i = 0; i < s->n_sets; i++) free(s->sets[i]);
  for (int i = 0; i < s->n_reads; i++) free(s->reads[i]);
  for (int i = 0; i < s->n_writes; i++) free(s->writes[i]);
  free(s->sets), free(s->reads), free(s->writes), free(s->after), free(s->name);
}

// pipeline.synth: "always" keeps the synth step, "never" drops it, "auto" keeps it only when
// another step reads what it writes (the corpus is nq-synth's output): a config for one's own
// data never generates the synthetic benchmark.
static void drop_unread_synth(pipeline_graph *g, char **texts, const config *base) {
  const char *mode = cfg_str(base, "pipeline.synth");
  int k = 0;
  while (k < g->n && strcmp(g->s[k].name, "synth")) k++;
  if (k == g->n || !strcmp(mode, "always")) return;
  int read = 0;
  for (int b = 0; b < g->n && !read; b++) read = b != k && reads_output_of(&g->s[b], &g->s[k]);
  if (read && strcmp(mode, "never")) return;
  step_free(&g->s[k]);
  free(texts[k]);
  memmove(&g->s[k], &g->s[k + 1], (size_t)(g->n - k - 1) * sizeof *g->s);
  memmove(&texts[k], &texts[k + 1], (size_t)(g->n - k - 1) * sizeof *texts);
  g->n--;
}

// Stamp of step k (those it waits for have theirs): its name, stage, config text and the
// stamps of its inputs' steps.
static void step_stamp(pipeline_graph *g, int k, const char *text) {
  pipeline_step *s = &g->s[k];
  sha256_ctx h;
  sha256_init(&h);
  strbuf b;
  sb_init(&b);
  sb_printf(&b, "step %s stage %s\n", s->name, s->stage);
  for (int i = 0; i < s->n_after; i++)
    sb_printf(&b, "after %s %s\n", g->s[s->after[i]].name, g->s[s->after[i]].stamp);
  sb_puts(&b, text);
  char *all = sb_detach(&b);
  sha256_hex(all, strlen(all), s->stamp);
  free(all);
}

// A new step `name` of `stage` with the overrides `words` (NULL: none).
static pipeline_step *step_add(pipeline_graph *g, const char *name, const char *stage, const char *words) {
  pipeline_step *s = &g->s[g->n++];
  s->name = xstrdup(name);
  s->stage = stage;
  if (words) add_sets(s, words);
  return s;
}

// pipeline.rounds = K: for k = 2..K, effect_r<k> with the model of round k-1, annotate_r<k>,
// and the run <R>_r<k> (R = pipeline.rounds_run, its own overrides) trained on annotations_r<k>.
// Every round keeps its own directories, so any round can be rerun or compared.
static void add_rounds(pipeline_graph *g, const config *c, const char *cfg_path) {
  int rounds = (int)cfg_int(c, "pipeline.rounds");
  const char *run = cfg_str(c, "pipeline.rounds_run");
  if (rounds < 2) return;
  int found = 0;
  for (int i = 0; i < cfg_list_len(c, "pipeline.train_runs"); i++)
    found |= !strcmp(cfg_list_str(c, "pipeline.train_runs", i), run);
  if (!found) fatal("%s: pipeline.rounds_run: '%s' is not in pipeline.train_runs", cfg_path, run);
  char name[256], words[1024];
  for (int k = 2; k <= rounds; k++) {
    char prev[200];
    if (k == 2) snprintf(prev, sizeof prev, "%s", run);
    else snprintf(prev, sizeof prev, "%s_r%d", run, k - 1);
    snprintf(name, sizeof name, "effect_r%d", k);
    snprintf(words, sizeof words, "effect.model= effect.reference_run=%s effect.output=effects_r%d", prev, k);
    step_add(g, name, "effect", words);
    snprintf(name, sizeof name, "annotate_r%d", k);
    snprintf(words, sizeof words, "annotate.effects=effects_r%d annotate.output=annotations_r%d", k, k);
    step_add(g, name, "annotate", words);
    snprintf(name, sizeof name, "%s_r%d", run, k);
    snprintf(words, sizeof words, "train.name=%s %s train.annotations=annotations_r%d", name,
             map_get(c, "pipeline.runs", run), k);
    step_add(g, name, "train", words);
  }
}

pipeline_graph *pipeline_graph_build(const char *cfg_path, const char *const *sets, int n_sets,
                                     const char *const *last, int n_last) {
  graph_args a = {cfg_path, xcalloc((size_t)(n_sets + n_last) + 1, sizeof(char *)), n_sets, n_last,
                  last};
  for (int i = 0; i < n_sets; i++) a.args[i] = sets[i];
  for (int i = 0; i < n_last; i++) a.args[n_sets + i] = last[i];
  config *base = config_load(cfg_path, a.args, n_sets + n_last);
  pipeline_graph *g = xcalloc(1, sizeof *g);
  g->run_dir = path_clean(xstrdup(cfg_str(base, "run_dir")));
  int n_runs = cfg_list_len(base, "pipeline.train_runs"), n_evals = cfg_map_len(base, "pipeline.evals");
  g->s = xcalloc(N_KINDS + (size_t)n_runs + 3 * (size_t)cfg_int(base, "pipeline.rounds") + (size_t)n_evals,
                 sizeof *g->s);
  for (size_t k = 0; k < N_KINDS; k++) {
    for (int r = 0; r < (step_kinds[k].step ? 1 : n_runs); r++) {
      pipeline_step *s = &g->s[g->n++];
      s->stage = step_kinds[k].stage;
      if (step_kinds[k].step) {
        s->name = xstrdup(step_kinds[k].step);
      } else {
        s->name = xstrdup(cfg_list_str(base, "pipeline.train_runs", r));
        run_sets(base, s->name, s);
      }
    }
  }
  add_rounds(g, base, cfg_path);
  for (int i = 0; i < n_evals; i++)   // further evaluations (another decoding, other rows)
    step_add(g, cfg_map_name(base, "pipeline.evals", i), "eval", cfg_map_value(base, "pipeline.evals", i));
  for (int k = 1; k < g->n; k++)
    for (int i = 0; i < k; i++)
      if (!strcmp(g->s[i].name, g->s[k].name))
        fatal("%s: step '%s' is named twice (pipeline.train_runs, pipeline.evals, pipeline.rounds)",
              cfg_path, g->s[k].name);
  char **texts = xcalloc((size_t)g->n, sizeof *texts);
  for (int i = 0; i < g->n; i++) texts[i] = step_fill(&a, &g->s[i]);
  drop_unread_synth(g, texts, base);
  order_steps(g, texts);
  reduce_after(g);
  for (int i = 0; i < g->n; i++) step_stamp(g, i, texts[i]), free(texts[i]);
  free(texts);
  config_free(base);
  free(a.args);
  return g;
}

static void print_list(FILE *out, char *const *v, int n, const char *sep, const char *drop) {
  int printed = 0;
  size_t nd = drop ? strlen(drop) : 0;
  for (int i = 0; i < n; i++) {
    const char *p = v[i];
    if (drop) {
      if (strncmp(p, drop, nd) || p[nd] != '/') continue;   // outside run_dir
      p += nd + 1;
    }
    fprintf(out, "%s%s", printed++ ? sep : "", p);
  }
  if (!printed) fputc('-', out);
}

void pipeline_graph_print(const pipeline_graph *g, FILE *out) {
  for (int k = 0; k < g->n; k++) {
    const pipeline_step *s = &g->s[k];
    fprintf(out, "%s\t%s\t", s->name, s->stage);
    for (int i = 0; i < s->n_after; i++) fprintf(out, "%s%s", i ? "," : "", g->s[s->after[i]].name);
    fprintf(out, "%s\t%s\t", s->n_after ? "" : "-", s->stamp);
    print_list(out, s->sets, s->n_sets, " ", NULL);
    fputc('\t', out);
    print_list(out, s->writes, s->n_writes, " ", g->run_dir);
    fputc('\n', out);
  }
}

void pipeline_graph_free(pipeline_graph *g) {
  if (!g) return;
  for (int k = 0; k < g->n; k++) step_free(&g->s[k]);
  free(g->s), free(g->run_dir), free(g);
}
