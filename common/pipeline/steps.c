// The pipeline's steps and what each reads and writes (see steps.h). To add a kind of step,
// add a row to step_kinds and its io function: its dependencies, stamp and state follow from
// the paths.
#include "pipeline/steps.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"
#include "pipeline/run_layout.h"

// ---- paths ----------------------------------------------------------------------------------

// Collapses "//", "/./" and a leading "./", drops a trailing "/": one spelling per path, so
// a reader's path and a writer's compare as strings.
char *path_clean(char *p) {
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

typedef struct {
  char **reads, **writes;
  int n_reads, n_writes;
} step_io;

static void add_path(char ***v, int *n, char *p) {
  if (!p) return;
  *v = xrealloc(*v, (size_t)(*n + 1) * sizeof **v);
  (*v)[(*n)++] = path_clean(p);
}
#define READS(io, p) add_path(&(io)->reads, &(io)->n_reads, (p))
#define WRITES(io, p) add_path(&(io)->writes, &(io)->n_writes, (p))

int path_within(const char *a, const char *b) {
  size_t n = strlen(b);
  return !strncmp(a, b, n) && (a[n] == 0 || a[n] == '/');
}

// ---- what each kind of step reads and writes ------------------------------------------------

static void synth_io(const settings *s, step_io *io) { WRITES(io, run_path(s, RUN_CORPUS)); }

static void shard_io(const settings *s, step_io *io) {
  const data_settings *d = &s->data;
  const string_list *lists[] = {&d->files, &d->split_files.train, &d->split_files.valid, &d->split_files.test,
                             &d->targets.files};
  for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)   // globs stay as written
    for (int i = 0; i < lists[l]->n; i++) READS(io, run_data_path(s, lists[l]->v[i]));
  if (s->tokenizer.path[0]) READS(io, xstrdup(s->tokenizer.path));
  WRITES(io, run_path(s, RUN_SHARDS));
  WRITES(io, run_path(s, RUN_TOKENIZER));
}

static void train_io(const settings *s, step_io *io) {
  const train_settings *t = &s->train;
  READS(io, run_path(s, RUN_SHARDS));
  READS(io, run_resolve(s, t->init));
  if (!t->init[0] && s->model.path[0]) READS(io, xstrdup(s->model.path));   // an HF model to start from
  READS(io, run_resolve(s, t->reference));
  if (t->objective == OBJ_NEXTQUILL && t->weights == W_ANNOTATIONS) READS(io, run_path(s, RUN_WEIGHTS));
  if (t->objective == OBJ_NEXTQUILL && t->weights == W_RATIO) READS(io, run_path(s, RUN_EFFECTS));
  WRITES(io, run_path(s, RUN_TRAIN));
}

static void effect_io(const settings *s, step_io *io) {
  const effect_settings *e = &s->effect;
  READS(io, run_path(s, RUN_SHARDS));
  READS(io, e->model[0] ? xstrdup(e->model) : run_resolve(s, e->reference_run));   // effect.model: cwd-relative
  WRITES(io, run_path(s, RUN_EFFECTS));
}

static void annotate_io(const settings *s, step_io *io) {
  READS(io, run_path(s, RUN_EFFECTS_READ));
  READS(io, run_path(s, RUN_SHARDS));   // each effect file is checked against its shard
  WRITES(io, run_path(s, RUN_ANNOTATIONS));
}

static void eval_io(const settings *s, step_io *io) {
  const eval_settings *e = &s->eval;
  READS(io, run_path(s, RUN_SHARDS));
  for (int i = 0; i < e->models.n; i++) READS(io, run_resolve(s, e->models.value[i]));
  for (int i = 0; i < e->user_adapters.n; i++) READS(io, run_resolve(s, e->user_adapters.value[i]));
  WRITES(io, run_path(s, RUN_EVAL));
}

// The kinds in their listed order (the order among steps that do not wait for each other).
// step NULL: one step per entry of pipeline.train_runs, named after it.
static const struct {
  const char *step, *stage;
  void (*io)(const settings *s, step_io *io);
} step_kinds[] = {
    {"synth", "synth", synth_io},
    {"shard", "shard", shard_io},
    {NULL, "train", train_io},
    {"effect", "effect", effect_io},
    {"annotate", "annotate", annotate_io},
    {"eval", "eval", eval_io},
};
#define N_KINDS (sizeof step_kinds / sizeof step_kinds[0])

char *step_config_lines(const settings *set, const stage_info *stage) {
  strbuf b;
  sb_init(&b);
  for (const char *p = stage->reads; *p;) {
    size_t len = strcspn(p, ",");
    char section[64], hex[65];
    snprintf(section, sizeof section, "%.*s", (int)len, p);
    char *text = settings_text(set, section);
    sha256_hex(text, strlen(text), hex);
    free(text);
    sb_printf(&b, "config %s %s\n", section, hex);
    p += len + (p[len] == ',');
  }
  return sb_detach(&b);
}

int stage_is_step(const stage_info *stage) {
  for (size_t k = 0; k < N_KINDS; k++)
    if (!strcmp(step_kinds[k].stage, stage->name)) return 1;
  return 0;
}

void step_paths(const settings *set, const stage_info *stage, char ***reads, int *n_reads, char ***writes,
                int *n_writes) {
  step_io io = {0};
  for (size_t k = 0; k < N_KINDS; k++)   // one kind per stage: effect_r2 is an effect step
    if (!strcmp(step_kinds[k].stage, stage->name)) step_kinds[k].io(set, &io);
  *reads = io.reads, *n_reads = io.n_reads, *writes = io.writes, *n_writes = io.n_writes;
}

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

// The value of `name` in the map, or "".
static const char *map_get(const string_map *m, const char *name) {
  const char *v = string_map_get(m, name);
  return v ? v : "";
}

typedef struct {
  const char *cfg_path;
  const char *const *user, *const *last;   // the user's overrides, a sweep point's
  int n_user, n_last;
} graph_args;

// Fills step `s` (name and stage set): its paths and the digest of the config sections its
// stage reads, from its effective settings.
static void step_fill(const graph_args *a, pipeline_step *s) {
  const char **args = xcalloc((size_t)(a->n_user + s->n_sets + a->n_last) + 1, sizeof *args);
  int n = 0;
  for (int i = 0; i < a->n_user; i++) args[n++] = a->user[i];
  for (int i = 0; i < s->n_sets; i++) args[n++] = s->sets[i];
  for (int i = 0; i < a->n_last; i++) args[n++] = a->last[i];
  settings *set = settings_load(a->cfg_path, args, n);
  step_paths(set, s->stage, &s->reads, &s->n_reads, &s->writes, &s->n_writes);
  if (!s->n_writes) error("pipeline steps: step '%s' writes nothing", s->name);
  char *text = settings_text(set, s->stage->reads);
  sha256_hex(text, strlen(text), s->config_digest);
  free(text);
  s->config_lines = step_config_lines(set, s->stage);
  settings_free(set);
  free(args);
}

// b reads a path a writes, or a directory holding one.
static int reads_output_of(const pipeline_step *b, const pipeline_step *a) {
  for (int i = 0; i < b->n_reads; i++)
    for (int j = 0; j < a->n_writes; j++)
      if (path_within(b->reads[i], a->writes[j]) || path_within(a->writes[j], b->reads[i])) return 1;
  return 0;
}

// Reorders g->s so that each step follows the steps it waits for, keeping the listed order
// among the others; sets every `inputs`. fatal() on a cycle.
static void order_steps(pipeline_graph *g) {
  int n = g->n, *done = xcalloc((size_t)n, sizeof *done), *pos = xcalloc((size_t)n, sizeof *pos);
  pipeline_step *out = xcalloc((size_t)n, sizeof *out);
  for (int k = 0; k < n; k++) {
    int pick = -1;
    for (int b = 0; b < n && pick < 0; b++) {
      if (done[b]) continue;
      int ready = 1;
      for (int a = 0; a < n && ready; a++)
        if (a != b && !done[a] && reads_output_of(&g->s[b], &g->s[a])) ready = 0;
      if (ready) pick = b;
    }
    if (pick < 0)
      for (int b = 0; b < n; b++)
        if (!done[b]) fatal("pipeline steps: step '%s' waits for itself through a cycle of inputs "
                            "(check train.init, effect.reference_run, eval.models)", g->s[b].name);
    done[pick] = 1, pos[pick] = k, out[k] = g->s[pick];
  }
  for (int b = 0; b < n; b++) {
    pipeline_step *s = &out[pos[b]];
    s->inputs = xcalloc((size_t)n, sizeof *s->inputs);
    for (int a = 0; a < n; a++)
      if (a != b && reads_output_of(&g->s[b], &g->s[a])) s->inputs[s->n_inputs++] = pos[a];
    for (int i = 1; i < s->n_inputs; i++)   // ascending (insertion sort: a handful)
      for (int j = i; j > 0 && s->inputs[j - 1] > s->inputs[j]; j--) {
        int t = s->inputs[j];
        s->inputs[j] = s->inputs[j - 1], s->inputs[j - 1] = t;
      }
  }
  memcpy(g->s, out, (size_t)n * sizeof *out);
  free(out), free(done), free(pos);
}

// `after`: the inputs not already reached through another one (sft reads the shards and lm's
// model, but lm waits for shard: sft waits for lm only). Reachability, hence every Slurm
// dependency chain, is that of the inputs.
static void reduce_after(pipeline_graph *g) {
  int n = g->n;
  char *reach = xcalloc((size_t)n * (size_t)n, 1);   // reach[b*n+a]: b waits for a, maybe via others
  for (int b = 0; b < n; b++)   // steps are ordered: the ones b waits for are done
    for (int i = 0; i < g->s[b].n_inputs; i++) {
      int a = g->s[b].inputs[i];
      reach[(size_t)b * n + a] = 1;
      for (int x = 0; x < n; x++) reach[(size_t)b * n + x] |= reach[(size_t)a * n + x];
    }
  for (int b = 0; b < n; b++) {
    pipeline_step *s = &g->s[b];
    s->after = xcalloc((size_t)s->n_inputs + 1, sizeof *s->after);
    for (int i = 0; i < s->n_inputs; i++) {
      int a = s->inputs[i], via = 0;
      for (int j = 0; j < s->n_inputs && !via; j++) via = j != i && reach[(size_t)s->inputs[j] * n + a];
      if (!via) s->after[s->n_after++] = a;
    }
  }
  free(reach);
}

// What each step reads that no step writes.
static void find_outside(pipeline_graph *g) {
  for (int b = 0; b < g->n; b++) {
    pipeline_step *s = &g->s[b];
    for (int i = 0; i < s->n_reads; i++) {
      int made = 0;
      for (int a = 0; a < g->n && !made; a++)
        for (int j = 0; j < g->s[a].n_writes && !made; j++)
          made = path_within(s->reads[i], g->s[a].writes[j]) || path_within(g->s[a].writes[j], s->reads[i]);
      if (!made) add_path(&s->outside, &s->n_outside, xstrdup(s->reads[i]));
    }
  }
}

static void step_free(pipeline_step *s) {
  for (int i = 0; i < s->n_sets; i++) free(s->sets[i]);
  for (int i = 0; i < s->n_reads; i++) free(s->reads[i]);
  for (int i = 0; i < s->n_writes; i++) free(s->writes[i]);
  for (int i = 0; i < s->n_outside; i++) free(s->outside[i]);
  free(s->sets), free(s->reads), free(s->writes), free(s->outside), free(s->after), free(s->inputs), free(s->name);
  free(s->config_lines);
}

// pipeline.synth: "always" keeps the synth step, "never" drops it, "auto" keeps it only when
// another step reads what it writes (the corpus is nq-synth's output): a config for one's own
// data never generates the synthetic benchmark.
static void drop_unread_synth(pipeline_graph *g, int mode) {
  int k = pipeline_graph_find(g, "synth");
  if (k < 0 || mode == SYNTH_STEP_ALWAYS) return;
  int read = 0;
  for (int b = 0; b < g->n && !read; b++) read = b != k && reads_output_of(&g->s[b], &g->s[k]);
  if (read && mode != SYNTH_STEP_NEVER) return;
  step_free(&g->s[k]);
  memmove(&g->s[k], &g->s[k + 1], (size_t)(g->n - k - 1) * sizeof *g->s);
  g->n--;
}

// A new step `name` of `stage` with the overrides `words` (NULL: none).
static pipeline_step *step_add(pipeline_graph *g, const char *name, const char *stage, const char *words) {
  pipeline_step *s = &g->s[g->n++];
  s->name = xstrdup(name);
  s->stage = stage_find(stage);
  if (!s->stage) error("pipeline steps: no stage '%s'", stage);
  if (words) add_sets(s, words);
  return s;
}

// pipeline.rounds = K: for k = 2..K, effect_r<k> with the model of round k-1, annotate_r<k>,
// and the run <R>_r<k> (R = pipeline.rounds_run, its own overrides) trained on round k's
// annotations. Every round keeps its own directories (the run layout names them), so any
// round can be rerun or compared.
static void add_rounds(pipeline_graph *g, const pipeline_settings *p) {
  const char *run = p->rounds_run;
  strbuf w;
  sb_init(&w);
  for (int k = 2; k <= p->rounds; k++) {
    char *prev = run_round_name(RUN_TRAIN, run, k - 1), *eff = run_round_name(RUN_EFFECTS, NULL, k),
         *ann = run_round_name(RUN_ANNOTATIONS, NULL, k), *name = run_round_name(RUN_TRAIN, run, k);
    char step[256];
    snprintf(step, sizeof step, "effect_r%d", k);
    sb_printf(&w, "effect.model= effect.reference_run=%s effect.output=%s", prev, eff);
    step_add(g, step, "effect", w.data);
    w.len = 0;
    snprintf(step, sizeof step, "annotate_r%d", k);
    sb_printf(&w, "annotate.effects=%s annotate.output=%s", eff, ann);
    step_add(g, step, "annotate", w.data);
    w.len = 0;
    sb_printf(&w, "train.name=%s %s train.annotations=%s", name, map_get(&p->runs, run), ann);
    step_add(g, name, "train", w.data);
    w.len = 0;
    free(prev), free(eff), free(ann), free(name);
  }
  sb_free(&w);
}

// Every step, in the listed order: one per kind, a training run per pipeline.train_runs
// entry (its pipeline.runs overrides), the rounds, the further evaluations.
static void add_steps(pipeline_graph *g, const pipeline_settings *p) {
  for (size_t k = 0; k < N_KINDS; k++) {
    if (step_kinds[k].step) {
      step_add(g, step_kinds[k].step, step_kinds[k].stage, NULL);
      continue;
    }
    for (int r = 0; r < p->train_runs.n; r++) {
      const char *name = p->train_runs.v[r];
      strbuf w;
      sb_init(&w);
      sb_printf(&w, "train.name=%s %s", name, map_get(&p->runs, name));
      step_add(g, name, step_kinds[k].stage, w.data);
      sb_free(&w);
    }
  }
  add_rounds(g, p);
  for (int i = 0; i < p->evals.n; i++)   // further evaluations (another decoding, other rows)
    step_add(g, p->evals.name[i], "eval", p->evals.value[i]);
}

pipeline_graph *pipeline_graph_build(const char *cfg_path, const char *const *sets, int n_sets,
                                     const char *const *last, int n_last) {
  graph_args a = {cfg_path, sets, last, n_sets, n_last};
  const char **both = xcalloc((size_t)(n_sets + n_last) + 1, sizeof *both);
  for (int i = 0; i < n_sets; i++) both[i] = sets[i];
  for (int i = 0; i < n_last; i++) both[n_sets + i] = last[i];
  settings *base = settings_load(cfg_path, both, n_sets + n_last);
  free(both);
  const pipeline_settings *p = &base->pipeline;
  pipeline_settings_check(p, cfg_path);
  pipeline_graph *g = xcalloc(1, sizeof *g);
  g->run_dir = path_clean(xstrdup(base->run_dir));
  g->s = xcalloc(N_KINDS + (size_t)p->train_runs.n + 3 * (size_t)p->rounds + (size_t)p->evals.n, sizeof *g->s);
  add_steps(g, p);
  for (int k = 1; k < g->n; k++)
    for (int i = 0; i < k; i++)
      if (!strcmp(g->s[i].name, g->s[k].name))
        fatal("%s: step '%s' is named twice (pipeline.train_runs, pipeline.evals, pipeline.rounds)",
              cfg_path, g->s[k].name);
  for (int i = 0; i < g->n; i++) step_fill(&a, &g->s[i]);
  drop_unread_synth(g, p->synth);
  order_steps(g);
  reduce_after(g);
  find_outside(g);
  settings_free(base);
  return g;
}

int pipeline_graph_find(const pipeline_graph *g, const char *name) {
  for (int k = 0; k < g->n; k++)
    if (!strcmp(g->s[k].name, name)) return k;
  return -1;
}

static void print_list(FILE *out, char *const *v, int n, const char *sep, const char *drop) {
  int printed = 0;
  for (int i = 0; i < n; i++) {
    const char *p = drop ? run_relative(drop, v[i]) : v[i];
    if (!p) continue;   // outside run_dir
    fprintf(out, "%s%s", printed++ ? sep : "", p);
  }
  if (!printed) fputc('-', out);
}

void pipeline_graph_print(const pipeline_graph *g, FILE *out) {
  static const char *const state_names[] = {"not run", "stale", "current"};
  for (int k = 0; k < g->n; k++) {
    const pipeline_step *s = &g->s[k];
    fprintf(out, "%s\t%s\t", s->name, s->stage->name);
    for (int i = 0; i < s->n_after; i++) fprintf(out, "%s%s", i ? "," : "", g->s[s->after[i]].name);
    fprintf(out, "%s\t%s\t", s->n_after ? "" : "-", s->stamp[0] ? s->stamp : "-");
    print_list(out, s->sets, s->n_sets, " ", NULL);
    fputc('\t', out);
    print_list(out, s->writes, s->n_writes, " ", g->run_dir);
    fprintf(out, "\t%s%s%s\n", state_names[s->state], s->state == FRESH_STALE ? ": " : "",
            s->state == FRESH_STALE ? s->why : "");
  }
}

void pipeline_graph_free(pipeline_graph *g) {
  if (!g) return;
  for (int k = 0; k < g->n; k++) step_free(&g->s[k]);
  free(g->s), free(g->run_dir), free(g);
}
