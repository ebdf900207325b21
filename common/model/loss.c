// NextQuill losses: see loss.h. Everything accumulates in double, in index order, so the
// result does not depend on threads or rank counts.
#include "model/loss.h"

#include <math.h>
#include <stddef.h>

#include "base/log.h"

// log-sum-exp of x (V) and the max, in double.
static double lse(const float *x, int V) {
  double mx = x[0];
  for (int v = 1; v < V; v++)
    if (x[v] > mx) mx = x[v];
  double s = 0.0;
  for (int v = 0; v < V; v++) s += exp((double)x[v] - mx);
  return mx + log(s);
}

// log-sum-exp of (a - b) (V).
static double lse_diff(const float *a, const float *b, int V) {
  double mx = (double)a[0] - b[0];
  for (int v = 1; v < V; v++) {
    double d = (double)a[v] - b[v];
    if (d > mx) mx = d;
  }
  double s = 0.0;
  for (int v = 0; v < V; v++) s += exp((double)a[v] - b[v] - mx);
  return mx + log(s);
}

static double weight_sum(const float *w, int T) {
  if (!w) return T;
  double s = 0.0;
  for (int t = 0; t < T; t++) s += w[t];
  return s;
}

static void check_target(int32_t y, int V, const char *what) {
  if (y < 0 || y >= V) error("%s: target %d outside vocabulary [0, %d)", what, y, V);
}

double loss_wce(float *dzh, const float *zh, const int32_t *y, const float *w, int T, int V,
                float scale) {
  double W = weight_sum(w, T);
  if (T <= 0 || W <= 0.0) return 0.0;
  double L = 0.0;
  for (int t = 0; t < T; t++) {
    const float *z = zh + (size_t)t * V;
    check_target(y[t], V, "loss_wce");
    double wt = w ? w[t] : 1.0;
    double l = lse(z, V);
    L += wt * (l - z[y[t]]);
    if (dzh && wt != 0.0) {
      double c = scale * wt / W;
      float *d = dzh + (size_t)t * V;
      for (int v = 0; v < V; v++) d[v] += (float)(c * exp((double)z[v] - l));
      d[y[t]] -= (float)c;
    }
  }
  return L / W;
}

double loss_diff_ce(float *dzh, float *dz0, const float *zh, const float *z0, const int32_t *y,
                    const float *w, int T, int V, float scale) {
  double W = weight_sum(w, T);
  if (T <= 0 || W <= 0.0) return 0.0;
  double L = 0.0;
  for (int t = 0; t < T; t++) {
    const float *a = zh + (size_t)t * V, *b = z0 + (size_t)t * V;
    check_target(y[t], V, "loss_diff_ce");
    double wt = w ? w[t] : 1.0;
    double l = lse_diff(a, b, V);
    L += wt * (l - ((double)a[y[t]] - b[y[t]]));
    if ((dzh || dz0) && wt != 0.0) {
      double c = scale * wt / W;
      for (int v = 0; v < V; v++) {
        double g = c * (exp((double)a[v] - b[v] - l) - (v == y[t]));
        if (dzh) dzh[(size_t)t * V + v] += (float)g;
        if (dz0) dz0[(size_t)t * V + v] -= (float)g;
      }
    }
  }
  return L / W;
}

double loss_effect_kl(float *dzh, float *dz0, const float *zh, const float *z0, const float *rh,
                      const float *r0, int T, int V, float scale) {
  if (T <= 0) return 0.0;
  double L = 0.0;
  for (int t = 0; t < T; t++) {
    size_t o = (size_t)t * V;
    double lq = lse_diff(rh + o, r0 + o, V), lp = lse_diff(zh + o, z0 + o, V);
    for (int v = 0; v < V; v++) {
      double logq = (double)rh[o + v] - r0[o + v] - lq;
      double logp = (double)zh[o + v] - z0[o + v] - lp;
      double q = exp(logq);
      L += q * (logq - logp);
      if (dzh || dz0) {
        double g = scale / T * (exp(logp) - q);
        if (dzh) dzh[o + v] += (float)g;
        if (dz0) dz0[o + v] -= (float)g;
      }
    }
  }
  return L / T;
}

int loss_online_weights(float *w, uint8_t *mask, const float *zh, const float *z0,
                        const int32_t *y, int T, int V, float threshold, float hi, float lo) {
  int n = 0;
  for (int t = 0; t < T; t++) {
    size_t o = (size_t)t * V;
    check_target(y[t], V, "loss_online_weights");
    double ph = exp((double)zh[o + y[t]] - lse(zh + o, V));
    double p0 = exp((double)z0[o + y[t]] - lse(z0 + o, V));
    int pref = ph - p0 > threshold;
    w[t] = pref ? hi : lo;
    if (mask) mask[t] = (uint8_t)pref;
    n += pref;
  }
  return n;
}

float loss_ratio_weight(double logp_h, double logp_0, double lo, double hi) {
  double d = logp_h - logp_0;   // compared in log space: exp() of a large d would overflow
  if (!(d > log(lo))) return (float)lo;   // NaN (an uncomputed token) lands on lo too
  if (d >= log(hi)) return (float)hi;
  return (float)exp(d);
}

int loss_ratio_weights(float *w, uint8_t *mask, const float *zh, const float *z0, const int32_t *y,
                       int T, int V, float lo, float hi) {
  int n = 0;
  for (int t = 0; t < T; t++) {
    size_t o = (size_t)t * V;
    check_target(y[t], V, "loss_ratio_weights");
    double lh = (double)zh[o + y[t]] - lse(zh + o, V), l0 = (double)z0[o + y[t]] - lse(z0 + o, V);
    w[t] = loss_ratio_weight(lh, l0, lo, hi);
    if (mask) mask[t] = (uint8_t)(lh > l0);
    n += lh > l0;
  }
  return n;
}

nq_loss_val loss_nextquill(float *dzh, float *dz0, const float *zh, const float *z0,
                           const float *rh, const float *r0, const int32_t *y, const float *w,
                           int T, int V, const nq_loss_opts *o, float scale) {
  nq_loss_val r = {0};
  r.Ln = loss_wce(dzh, zh, y, w, T, V, scale);
  if (o->effect_alignment) {
    if (!rh || !r0) error("loss_nextquill: effect_alignment needs the reference logits");
    r.Lp = loss_effect_kl(o->alpha != 0 ? dzh : NULL, o->alpha != 0 ? dz0 : NULL, zh, z0, rh, r0,
                          T, V, scale * o->alpha);
  } else {
    r.Lp = loss_diff_ce(o->alpha != 0 ? dzh : NULL, o->alpha != 0 ? dz0 : NULL, zh, z0, y,
                        o->weight_pce ? w : NULL, T, V, scale * o->alpha);
  }
  r.L = r.Ln + o->alpha * r.Lp;
  return r;
}
