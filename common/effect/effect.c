// Per-row effect kernels: log-probabilities, ranks and the JS divergence of two
// next-token distributions, naive and exact (the references the tests hold effect_token,
// in effect_token.c, to), and the per-sample summary.
#include "effect/effect.h"

#include <math.h>

#include <stdlib.h>

#include "base/log.h"
#include "base/util.h"

static double row_max(const float *z, int V) {
  double m = z[0];
  for (int v = 1; v < V; v++)
    if (z[v] > m) m = z[v];
  return m;
}

// log sum_v exp(z_v), stable
static double row_lse(const float *z, int V, double m) {
  double s = 0;
  for (int v = 0; v < V; v++) s += exp((double)z[v] - m);
  return m + log(s);
}

double effect_logp(const float *z, int V, int target) {
  if (target < 0 || target >= V) error("target token %d outside vocabulary of %d", target, V);
  return (double)z[target] - row_lse(z, V, row_max(z, V));
}

int32_t effect_rank(const float *z, int V, int target) {
  if (target < 0 || target >= V) error("target token %d outside vocabulary of %d (rank)", target, V);
  float zt = z[target];
  int32_t r = 1;
  for (int v = 0; v < V; v++) r += z[v] > zt;
  return r;
}

double effect_js(const float *a, const float *b, int V) {
  double la = row_lse(a, V, row_max(a, V)), lb = row_lse(b, V, row_max(b, V));
  double kl_pm = 0, kl_qm = 0;
  for (int v = 0; v < V; v++) {
    double lp = (double)a[v] - la, lq = (double)b[v] - lb;
    double p = exp(lp), q = exp(lq);
    double m = 0.5 * (p + q);
    if (m <= 0) continue;  // both underflow: contributes 0
    double lm = log(m);
    if (p > 0) kl_pm += p * (lp - lm);
    if (q > 0) kl_qm += q * (lq - lm);
  }
  double js = 0.5 * (kl_pm + kl_qm);
  return js < 0 ? 0 : js;  // rounding can give -1e-17
}

void effect_sample_summary(const float *effect, const int64_t *off, size_t n_samples,
                           double threshold, float *mean, float *share_above) {
  for (size_t i = 0; i < n_samples; i++) {
    double s = 0;
    int64_t above = 0, n = off[i + 1] - off[i];
    for (int64_t t = off[i]; t < off[i + 1]; t++) {
      s += effect[t];
      above += effect[t] > threshold;
    }
    mean[i] = n ? (float)(s / (double)n) : 0.f;
    share_above[i] = n ? (float)((double)above / (double)n) : 0.f;
  }
}
