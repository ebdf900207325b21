// The `annotate` section (nq-annotate): the rule that turns effects into token weights.
#ifndef NQ_ANNOTATE_SETTINGS_H
#define NQ_ANNOTATE_SETTINGS_H

#include "config/config.h"

typedef enum { AR_THRESHOLD, AR_LOG_RATIO, AR_TOP_FRACTION, AR_JS } annot_rule_kind;   // annotate.rule

typedef struct {
  int rule;                     // annot_rule_kind
  double threshold, log_ratio, top_fraction, js_threshold;
  const char *effects;          // "" = the run layout's effects directory
  const char *output;           // "" = the run layout's annotations directory
  double hi, lo;
  long hist_bins;
} annotate_settings;

extern const cfg_key annotate_keys[];

#endif
