// The experiment's settings: every config section as a typed struct, filled once from the
// file (and the --set overrides) by settings_load, checked at stage start by settings_check,
// then passed down. Each section's keys are one table (<section>_settings.c) whose rows say
// where their value lands; the loader (config/) validates types, ranges and choices against
// the union of those tables, and `--help` and `nq-config --reads` print from them.
//
// Code below the stage drivers takes these structs (or the section it needs), never the
// config file. Strings and lists belong to the settings: they live until settings_free.
//
// defines: settings, settings_load, settings_check, settings_text, settings_file,
//          settings_free, settings_schema_install
#ifndef NQ_SETTINGS_H
#define NQ_SETTINGS_H

#include "config/config.h"
#include "settings/annotate_settings.h"
#include "settings/data_settings.h"
#include "settings/effect_settings.h"
#include "settings/eval_settings.h"
#include "settings/model_settings.h"
#include "settings/pipeline_settings.h"
#include "settings/shard_settings.h"
#include "settings/synth_settings.h"
#include "settings/tokenizer_settings.h"
#include "settings/train_settings.h"

typedef struct settings {
  config *cfg;                  // the loaded file: canonical text (provenance, stamps)
  const char *name, *run_dir;   // top-level keys
  long seed;
  const char *memory_limit;
  data_settings data;
  tokenizer_settings tokenizer;
  shard_settings shard;
  synth_settings synth;
  model_settings model;
  train_settings train;
  effect_settings effect;
  annotate_settings annotate;
  eval_settings eval;
  pipeline_settings pipeline;
} settings;

// Installs the schema (the union of every section's table) into the config loader; once per
// program, before config_load (settings_load calls it).
void settings_schema_install(void);
// Loads `path` with the `--set` overrides (stops with one line naming file:line and key on a
// problem), fills every section and resolves the seed fallbacks (a section's seed of -1 is
// the top-level seed: train.seed, eval.seed, model.init_seed, and synth's generator seed).
settings *settings_load(const char *path, const char *const *overrides, int n_overrides);
// The rules between keys of the listed sections ("seed,model,train", as a stage's `reads`;
// NULL: every section); stops naming the file and the keys.
void settings_check(const settings *s, const char *sections);
// The canonical text of the listed sections (NULL: all), for provenance; caller frees.
char *settings_text(const settings *s, const char *sections);
const char *settings_file(const settings *s);
void settings_free(settings *s);

#endif
