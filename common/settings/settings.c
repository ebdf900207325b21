// The sections in schema order (the canonical text follows it), loading, seed fallbacks and
// the checks between keys (see settings.h).
#include "settings/settings.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define F(m) offsetof(settings, m)

static const cfg_key top_keys[] = {
    {"name", CFG_STRING, NULL, CFG_NO_RANGE, NULL, "experiment name (used in logs and tables)", F(name)},
    {"run_dir", CFG_STRING, NULL, CFG_NO_RANGE, NULL,
     "directory for every stage's outputs of this experiment (results/<name>)", F(run_dir)},
    {"seed", CFG_INT, "1234", 0, 2147483647, NULL, "base random seed of the experiment", F(seed)},
    {"memory_limit", CFG_STRING, "\"auto\"", CFG_NO_RANGE, NULL,
     "memory a node may use (nq-train/effect/eval refuse to start above it): auto = cgroup "
     "memory.max, else MemAvailable; none = no check; or a size such as 20G (docs/scaling.md)", F(memory_limit)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
};

// Each section: its table and where its struct sits in `settings`.
static const struct {
  const cfg_key *keys;
  size_t at;
} sections[] = {
    {top_keys, 0},
    {data_keys, F(data)},
    {tokenizer_keys, F(tokenizer)},
    {shard_keys, F(shard)},
    {synth_keys, F(synth)},
    {model_keys, F(model)},
    {train_keys, F(train)},
    {effect_keys, F(effect)},
    {annotate_keys, F(annotate)},
    {eval_keys, F(eval)},
    {pipeline_keys, F(pipeline)},
};
#define N_SECTIONS (sizeof sections / sizeof sections[0])

void settings_schema_install(void) {
  static int installed;   // once: config_schema()'s array stays valid for the program
  if (installed) return;
  installed = 1;
  const cfg_key *tables[N_SECTIONS];
  for (size_t i = 0; i < N_SECTIONS; i++) tables[i] = sections[i].keys;
  config_set_schema(tables, (int)N_SECTIONS);
}

// A section's seed: its own, or the top-level one when it says -1.
static long seed_or_top(long own, long top) { return own >= 0 ? own : top; }

settings *settings_load(const char *path, const char *const *overrides, int n_overrides) {
  settings_schema_install();
  settings *s = xcalloc(1, sizeof *s);
  s->cfg = config_load(path, overrides, n_overrides);
  for (size_t i = 0; i < N_SECTIONS; i++) config_fill(s->cfg, sections[i].keys, (char *)s + sections[i].at);
  s->train.seed = seed_or_top(s->train.seed, s->seed);
  s->eval.seed = seed_or_top(s->eval.seed, s->seed);
  s->model.init_seed = seed_or_top(s->model.init_seed, s->seed);
  s->synth.seed = (uint64_t)s->seed;
  return s;
}

// Is `name` one of the comma-separated `sections` (NULL: all)?
static int wanted(const char *sections, const char *name) {
  if (!sections) return 1;
  size_t n = strlen(name);
  for (const char *p = sections; *p;) {
    size_t len = strcspn(p, ",");
    if (len == n && !strncmp(p, name, n)) return 1;
    p += len + (p[len] == ',');
  }
  return 0;
}

void settings_check(const settings *s, const char *sections) {
  const char *file = settings_file(s);
  if (wanted(sections, "data")) data_settings_check(&s->data, file);
  if (wanted(sections, "train")) train_settings_check(&s->train, file);
  if (wanted(sections, "eval")) eval_settings_check(&s->eval, file);
  if (wanted(sections, "pipeline")) pipeline_settings_check(&s->pipeline, file);
}

char *settings_text(const settings *s, const char *sections) { return config_text(s->cfg, sections); }

const char *settings_file(const settings *s) { return config_path(s->cfg); }

void settings_free(settings *s) {
  if (!s) return;
  config_free(s->cfg);
  free(s);
}
