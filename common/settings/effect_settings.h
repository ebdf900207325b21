// The `effect` section (nq-effect): the reference model and what is estimated.
#ifndef NQ_EFFECT_SETTINGS_H
#define NQ_EFFECT_SETTINGS_H

#include "config/config.h"

typedef struct {
  const char *model;            // "" = the newest checkpoint of reference_run
  const char *reference_run;
  const char *output;           // "" = the run layout's effects directory
  string_list splits;
  long micro_batch, max_batch_tokens;
  double threshold;
} effect_settings;

extern const cfg_key effect_keys[];

#endif
