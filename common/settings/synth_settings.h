// The `synth` section: the knobs of the embedded benchmark generator (nq-synth; docs/synth.md).
// The generator (synth/synth.h) takes this struct as its parameters.
#ifndef NQ_SYNTH_SETTINGS_H
#define NQ_SYNTH_SETTINGS_H

#include <stdint.h>

#include "config/config.h"

typedef struct {
  const char *output;           // "" = the run layout's corpus file
  uint64_t seed;                // not a key of the section: the experiment's top-level seed
  long seed_offset, users, reviews_min, reviews_max, items, min_profile;
  double cold_share;
  long brands, pool_size;
  double zipf_s, rare_share, pref_share, pref_strength;
  long petwords_max;
  double habit_share;
  long length_max;
  double persona_topic_share;
} synth_settings;

extern const cfg_key synth_keys[];

#endif
