// Counterfactual preference effects (NextQuill, arXiv 2506.02368, Sec. 3): for each target
// token, compare the reference model's next-token distribution given the with-history
// prompt (z_h) and the without-history prompt (z_0). This module holds the per-row kernels
// and the per-sample summary; the model passes live in effect_engine.c, the stage in
// effect_run.c, the file I/O in formats/effects_file.c.
#ifndef NQ_EFFECT_H
#define NQ_EFFECT_H

#include <stddef.h>
#include <stdint.h>

// One target token's record, as stored in effects/<shard>.h5 (docs/hdf5-layout.md#effects).
typedef struct {
  float logp_with, logp_without;  // log softmax(z_h)[y], log softmax(z_0)[y]
  float effect;                   // p_with - p_without (the data-side causal effect)
  float js;                       // Jensen-Shannon divergence (nats, in [0, ln 2])
  int32_t rank_with, rank_without;  // 1 + #{v : z[v] > z[y]} (1 = argmax)
} effect_tok;

// z_with (V), z_without (V): logits of the two passes at the same target position;
// target in [0, V). Sums in double so the result does not depend on vectorization.
void effect_token(const float *z_with, const float *z_without, int V, int target, effect_tok *out);

// log softmax(z)[target] and rank of target, for one row z (V).
double effect_logp(const float *z, int V, int target);
int32_t effect_rank(const float *z, int V, int target);
// JS(softmax(a) || softmax(b)) in nats for two logit rows (V).
double effect_js(const float *a, const float *b, int V);

// Per-sample summaries over tokens [off[i], off[i+1]) of `effect` (n_samples + 1 offsets):
// mean effect and share of tokens with effect > threshold (0 for an empty sample).
void effect_sample_summary(const float *effect, const int64_t *off, size_t n_samples,
                           double threshold, float *mean, float *share_above);

#endif
