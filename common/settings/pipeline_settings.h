// The `pipeline` section: which steps jobs/run-local.sh and jobs/submit.sh chain (the step
// graph, pipeline/steps.c) and with how many ranks.
#ifndef NQ_PIPELINE_SETTINGS_H
#define NQ_PIPELINE_SETTINGS_H

#include "config/config.h"

enum { SYNTH_STEP_AUTO, SYNTH_STEP_ALWAYS, SYNTH_STEP_NEVER };   // pipeline.synth

typedef struct {
  string_list train_runs;
  string_map runs;
  long rounds;
  const char *rounds_run;
  string_map evals;
  long ranks;
  int synth;                    // SYNTH_STEP_*
} pipeline_settings;

extern const cfg_key pipeline_keys[];
void pipeline_settings_check(const pipeline_settings *p, const char *file);

#endif
