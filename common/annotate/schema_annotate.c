#include "config/config.h"

// Keys of the `annotate` section, read by nq-annotate (common/annotate/annotate_run.c).
const cfg_key schema_annotate[] = {
    {"annotate.rule", CFG_STRING, "\"threshold\"", CFG_NO_RANGE, "threshold|log_ratio|top_fraction|js",
     "how effects become weights: p_h - p_0 > threshold, log p_h - log p_0 > log_ratio, "
     "top fraction per sample, or weights proportional to JS divergence"},
    {"annotate.threshold", CFG_FLOAT, "0.05", -1, 1, NULL,
     "rule threshold: preference token when p_with - p_without > threshold"},
    {"annotate.log_ratio", CFG_FLOAT, "0.5", CFG_NO_RANGE, NULL,
     "rule log_ratio: preference token when logp_with - logp_without > log_ratio"},
    {"annotate.top_fraction", CFG_FLOAT, "0.1", 0, 1, NULL,
     "rule top_fraction: share of each sample's tokens (largest effects) marked"},
    {"annotate.js_threshold", CFG_FLOAT, "0.05", 0, 0.7, NULL,
     "rule js: mask = JS divergence > js_threshold (weights are JS scaled to mean 1 per sample)"},
    {"annotate.effects", CFG_STRING, "\"effects\"", CFG_NO_RANGE, NULL,
     "directory of the effect files read, under run_dir (pipeline.rounds: effects_r<k>)"},
    {"annotate.output", CFG_STRING, "\"annotations\"", CFG_NO_RANGE, NULL,
     "directory of the annotation files written, under run_dir (pipeline.rounds: annotations_r<k>)"},
    {"annotate.hi", CFG_FLOAT, "0.9", 0, 1e6, NULL, "weight of preference tokens"},
    {"annotate.lo", CFG_FLOAT, "0.1", 0, 1e6, NULL, "weight of other tokens"},
    {"annotate.hist_bins", CFG_INT, "40", 2, 100000, NULL, "bins of the effect histogram over [-1, 1]"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};
