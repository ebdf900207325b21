// NextQuill losses (arXiv 2506.02368, Sec. 4) as pure functions on the logits of one
// sample's target rows. Each function returns the loss (forward) and, when the gradient
// pointers are non-NULL, ACCUMULATES scale * dL/dlogits into them (backward), so the
// trainer can scale by 1/global_batch and backprop both passes into the same grads.
//   zh (T, V): logits of the with-history pass at the T positions that predict the target
//   z0 (T, V): the same rows of the without-history pass
//   y  (T):    target tokens; w (T): token weights w_t (NULL = all 1)
#ifndef NQ_LOSS_H
#define NQ_LOSS_H

#include <stdint.h>

// L_n = sum_t w_t CE(zh_t, y_t) / sum_t w_t   (w = NULL: mean CE). 0 when sum w = 0.
double loss_wce(float *dzh, const float *zh, const int32_t *y, const float *w, int T, int V,
                float scale);
// L_p = sum_t w_t CE(zh_t - z0_t, y_t) / sum_t w_t (w = NULL: mean over t); gradient
// g = softmax(zh - z0) - onehot(y) goes +g to dzh and -g to dz0.
double loss_diff_ce(float *dzh, float *dz0, const float *zh, const float *z0, const int32_t *y,
                    const float *w, int T, int V, float scale);
// Effect alignment: mean_t KL(softmax(rh_t - r0_t) || softmax(zh_t - z0_t)); rh, r0 are the
// reference model's logits (constants). Gradient w.r.t. d = zh - z0 is softmax(d) - q.
double loss_effect_kl(float *dzh, float *dz0, const float *zh, const float *z0, const float *rh,
                      const float *r0, int T, int V, float scale);
// Online weights (the authors' released code): w_t = hi if p_h(y_t) - p_0(y_t) > threshold
// else lo; mask_t = 1 for the hi tokens (mask may be NULL). Returns the count of hi tokens.
int loss_online_weights(float *w, uint8_t *mask, const float *zh, const float *z0,
                        const int32_t *y, int T, int V, float threshold, float hi, float lo);

// Ratio weights (a likelihood ratio, clipped; PerCE-like): w = min(max(exp(logp_h - logp_0),
// lo), hi), where logp_h / logp_0 are the target token's log-probabilities with and without
// history. The loss normalises by sum_t w_t (loss_wce), as for the thresholded weights.
float loss_ratio_weight(double logp_h, double logp_0, double lo, double hi);
// The same from the logits of one sample (T rows); mask_t = 1 where p_h > p_0 (mask may be
// NULL). Returns the count of those tokens.
int loss_ratio_weights(float *w, uint8_t *mask, const float *zh, const float *z0, const int32_t *y,
                       int T, int V, float lo, float hi);

typedef struct {
  float alpha;          // weight of L_p
  int weight_pce;       // also weight L_p by w_t
  int effect_alignment; // L_p = KL to the reference effect instead of CE on zh - z0
} nq_loss_opts;

typedef struct {
  double L, Ln, Lp;
} nq_loss_val;

// The full NextQuill loss of one sample: L = L_n + alpha L_p. rh/r0 only for
// effect_alignment. Gradients (may be NULL) accumulate scale * dL/dz.
nq_loss_val loss_nextquill(float *dzh, float *dz0, const float *zh, const float *z0,
                           const float *rh, const float *r0, const int32_t *y, const float *w,
                           int T, int V, const nq_loss_opts *o, float scale);

#endif
