// Annotation rules: turn stored effects into per-token training weights and a 0/1
// preference mask (NextQuill's w_t), plus the scores used to check them against planted
// truth (precision / recall / F1 of the mask, AUROC of the raw effect).
#ifndef NQ_ANNOTATE_H
#define NQ_ANNOTATE_H

#include <stddef.h>
#include <stdint.h>

#include "settings/annotate_settings.h"   // annot_rule_kind (annotate.rule)

typedef struct {
  annot_rule_kind kind;
  double threshold;      // threshold: p_h - p_0 > threshold -> hi (the reference code: 0.05)
  double log_ratio;      // log_ratio: logp_h - logp_0 > log_ratio -> hi
  double top_fraction;   // top_fraction: the top ceil(f * n) effects of each sample -> hi
  double js_threshold;   // js: mask = js > js_threshold
  double hi, lo;         // weights of preference / other tokens (threshold, log_ratio, top)
} annot_rule;

// "threshold" | "log_ratio" | "top_fraction" | "js"; returns -1 for anything else.
int annot_rule_kind_parse(const char *name);
const char *annot_rule_kind_name(annot_rule_kind k);

// Inputs: n tokens (aligned with a shard's targets), sample offsets off[n_samples + 1].
// Outputs: weight[n], mask[n].
// js rule: weights proportional to the JS divergence, scaled per sample to mean 1
// (w_t = js_t * n_s / sum_s js; a sample whose JS is all zero gets w = 1).
void annotate_apply(const annot_rule *r, const float *logp_with, const float *logp_without,
                    const float *effect, const float *js, const int64_t *off, size_t n_samples,
                    float *weight, uint8_t *mask);

// ---- scores against truth ------------------------------------------------------------
// Only tokens with include[i] != 0 count (include may be NULL: all).
typedef struct {
  int64_t tp, fp, fn, tn;
  double precision, recall, f1;  // NAN when undefined (0/0); f1 = 2tp / (2tp + fp + fn)
} prf_score;
void score_prf(const uint8_t *pred, const uint8_t *truth, const uint8_t *include, size_t n,
               prf_score *out);
// Area under the ROC curve of `score` for labels truth != 0 (Mann-Whitney U with average
// ranks for ties). NAN when there are no positives or no negatives.
double score_auroc(const float *score, const uint8_t *truth, const uint8_t *include, size_t n);

#endif
