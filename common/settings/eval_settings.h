// The `eval` section (nq-eval; docs/eval.md): the table's rows, decoding, scoring.
#ifndef NQ_EVAL_SETTINGS_H
#define NQ_EVAL_SETTINGS_H

#include "config/config.h"

enum { EVAL_SPLIT_TEST, EVAL_SPLIT_VALID };   // eval.split
enum { DECODE_GREEDY = 0, DECODE_SAMPLE = 1 };   // eval.decoding

typedef struct {
  string_map models, user_adapters;
  string_list nohist_models, cos_models;
  double cos_lambda;
  const char *output;           // "" = the run layout's eval directory
  int split;                    // EVAL_SPLIT_*
  long max_samples, max_new_tokens;
  int decoding;                 // DECODE_*
  double repetition_penalty;
  int penalize_prompt;
  double temperature, top_p;
  long seed;                    // resolved: -1 in the file means the top-level seed
  const char *baseline;
  long bootstrap;
  int stem;
  const char *phrases_field, *kinds_field;
  string_list skip_kinds;
  const char *wordnet_dir;
} eval_settings;

extern const cfg_key eval_keys[];
void eval_settings_check(const eval_settings *e, const char *file);

#endif
