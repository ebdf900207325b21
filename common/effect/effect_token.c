// effect_token: the per-target kernel nq-effect runs for every target token of the corpus.
// The exact reference functions (effect_logp, effect_js) live in effect.c; this is the same
// arithmetic in double, written so the compiler vectorizes the vocabulary loops: three
// exp/log per vocabulary entry made this kernel ~30% of nq-effect's time when they were
// scalar calls (issue 22). glibc's libmvec has vector exp/log (<= 4 ulp); declaring them
// `omp declare simd` lets `#pragma omp simd` loops call them, one clone per ISA level.
#include "effect/effect.h"

#include <math.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/util.h"

#if defined(__x86_64__) && defined(__GLIBC__)
#pragma omp declare simd notinbranch
double exp(double);
#pragma omp declare simd notinbranch
double log(double);
#define EFFECT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define EFFECT_CLONES
#endif

EFFECT_CLONES static double row_max_simd(const float *z, int V) {
  float m = z[0];
#pragma omp simd reduction(max : m)
  for (int v = 1; v < V; v++) m = z[v] > m ? z[v] : m;
  return m;
}

// e[v] = exp(z[v] - m); returns their sum
EFFECT_CLONES static double row_exp(const float *z, int V, double m, double *e) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int v = 0; v < V; v++) {
    double x = exp((double)z[v] - m);
    e[v] = x;
    s += x;
  }
  return s;
}

// KL(p || m) and KL(q || m), m = (p + q) / 2. Terms with p = 0 (or q = 0) add 0 without a
// branch; the 1e-300 keeps log finite where both underflow (then the term is 0 * finite).
EFFECT_CLONES static void js_terms(const float *zw, const float *z0, const double *ew,
                                   const double *e0, int V, double lsw, double ls0,
                                   double inv_sw, double inv_s0, double *kl_pm, double *kl_qm) {
  double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
  for (int v = 0; v < V; v++) {
    double p = ew[v] * inv_sw, q = e0[v] * inv_s0;
    double lm = log(0.5 * (p + q) + 1e-300);
    a += p * ((double)zw[v] - lsw - lm);
    b += q * ((double)z0[v] - ls0 - lm);
  }
  *kl_pm = a, *kl_qm = b;
}

void effect_token(const float *zw, const float *z0, int V, int target, effect_tok *o) {
  if (target < 0 || target >= V) error("target token %d outside vocabulary of %d", target, V);
  double *ew = xmalloc(2 * (size_t)V * sizeof *ew), *e0 = ew + V;
  double mw = row_max_simd(zw, V), m0 = row_max_simd(z0, V);
  double sw = row_exp(zw, V, mw, ew), s0 = row_exp(z0, V, m0, e0);
  double lsw = mw + log(sw), ls0 = m0 + log(s0), kl_pm, kl_qm;
  js_terms(zw, z0, ew, e0, V, lsw, ls0, 1 / sw, 1 / s0, &kl_pm, &kl_qm);
  free(ew);
  double js = 0.5 * (kl_pm + kl_qm);
  double lw = (double)zw[target] - lsw, l0 = (double)z0[target] - ls0;
  o->logp_with = (float)lw;
  o->logp_without = (float)l0;
  o->effect = (float)(exp(lw) - exp(l0));
  o->js = (float)(js < 0 ? 0 : js);  // rounding can give -1e-17
  o->rank_with = effect_rank(zw, V, target);
  o->rank_without = effect_rank(z0, V, target);
}
