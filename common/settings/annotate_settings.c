// Keys of the `annotate` section; each row names the annotate_settings member it fills.
#include "settings/annotate_settings.h"

#include <stddef.h>

#define F(m) offsetof(annotate_settings, m)

const cfg_key annotate_keys[] = {
    {"annotate.rule", CFG_CHOICE, "\"threshold\"", CFG_NO_RANGE, "threshold|log_ratio|top_fraction|js",
     "how effects become weights: p_h - p_0 > threshold, log p_h - log p_0 > log_ratio, "
     "top fraction per sample, or weights proportional to JS divergence", F(rule)},
    {"annotate.threshold", CFG_FLOAT, "0.05", -1, 1, NULL,
     "rule threshold: preference token when p_with - p_without > threshold", F(threshold)},
    {"annotate.log_ratio", CFG_FLOAT, "0.5", CFG_NO_RANGE, NULL,
     "rule log_ratio: preference token when logp_with - logp_without > log_ratio", F(log_ratio)},
    {"annotate.top_fraction", CFG_FLOAT, "0.1", 0, 1, NULL,
     "rule top_fraction: share of each sample's tokens (largest effects) marked", F(top_fraction)},
    {"annotate.js_threshold", CFG_FLOAT, "0.05", 0, 0.7, NULL,
     "rule js: mask = JS divergence > js_threshold (weights are JS scaled to mean 1 per sample)", F(js_threshold)},
    {"annotate.effects", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "directory of the effect files read, under run_dir; \"\" = the run layout's (effects/; "
     "round k of pipeline.rounds: effects_r<k>/)", F(effects)},
    {"annotate.output", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "directory of the annotation files written, under run_dir; \"\" = the run layout's "
     "(annotations/; round k: annotations_r<k>/)", F(output)},
    {"annotate.hi", CFG_FLOAT, "0.9", 0, 1e6, NULL, "weight of preference tokens", F(hi)},
    {"annotate.lo", CFG_FLOAT, "0.1", 0, 1e6, NULL, "weight of other tokens", F(lo)},
    {"annotate.hist_bins", CFG_INT, "40", 2, 100000, NULL, "bins of the effect histogram over [-1, 1]", F(hist_bins)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
};
