// Bootstrap intervals for per-sample metric means (Koehn 2004; sacreBLEU's paired_bs).
// GSL's mt19937 with a fixed seed: the same scores and seed give the same interval.
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>

#include "base/log.h"
#include "metrics/metrics.h"
#include "base/util.h"

static gsl_rng *make_rng(uint64_t seed) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (!r) error("gsl_rng_alloc(mt19937) failed");
  gsl_rng_set(r, (unsigned long)seed);
  return r;
}

// Percentile interval of the m resampled statistics in v (sorted in place): linear
// interpolation between order statistics, numpy's default.
static void percentile_interval(double *v, size_t m, boot_ci *out) {
  gsl_sort(v, 1, m);
  out->lo = gsl_stats_quantile_from_sorted_data(v, 1, m, 0.025);
  out->hi = gsl_stats_quantile_from_sorted_data(v, 1, m, 0.975);
}

// Paired-bootstrap p-value of the observed difference `real` from m resampled differences d:
// under the null the centred deltas are as large as the observed one this often.
static double paired_p_value(const double *d, size_t m, double real) {
  if (m == 0) return NAN;
  double dmean = 0;
  for (size_t k = 0; k < m; k++) dmean += d[k];
  dmean /= (double)m;
  size_t extreme = 0;
  for (size_t k = 0; k < m; k++)
    if (fabs(d[k] - dmean) >= fabs(real)) extreme++;
  return ((double)extreme + 1.0) / ((double)m + 1.0);
}

void bootstrap_ci(const double *x, size_t n, int n_resamples, uint64_t seed, boot_ci *out) {
  if (n == 0 || n_resamples < 1) error("bootstrap_ci: n=%zu samples, %d resamples", n, n_resamples);
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += x[i];
  out->mean = sum / (double)n;
  gsl_rng *r = make_rng(seed);
  double *means = xmalloc((size_t)n_resamples * sizeof *means);
  for (int b = 0; b < n_resamples; b++) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[gsl_rng_uniform_int(r, n)];
    means[b] = s / (double)n;
  }
  percentile_interval(means, (size_t)n_resamples, out);
  free(means);
  gsl_rng_free(r);
}

double bootstrap_paired_p(const double *a, const double *b, size_t n, int n_resamples,
                          uint64_t seed) {
  if (n == 0 || n_resamples < 1) error("bootstrap_paired_p: n=%zu samples, %d resamples", n, n_resamples);
  double real = 0;
  for (size_t i = 0; i < n; i++) real += a[i] - b[i];
  real /= (double)n;
  gsl_rng *r = make_rng(seed);
  double *d = xmalloc((size_t)n_resamples * sizeof *d);
  for (int k = 0; k < n_resamples; k++) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
      size_t j = gsl_rng_uniform_int(r, n);
      s += a[j] - b[j];
    }
    d[k] = s / (double)n;
  }
  double p = paired_p_value(d, (size_t)n_resamples, real);
  free(d);
  gsl_rng_free(r);
  return p;
}

// ---- corpus BLEU: resample segments, sum their statistics ----------------------------------
static void stats_sum(bleu_stats *acc, const bleu_stats *x) {
  for (int k = 0; k < BLEU_MAX_ORDER; k++) {
    acc->correct[k] += x->correct[k];
    acc->total[k] += x->total[k];
  }
  acc->sys_len += x->sys_len;
  acc->ref_len += x->ref_len;
}

static double corpus_of(const bleu_stats *seg, size_t n) {
  bleu_stats s;
  bleu_stats_zero(&s);
  for (size_t i = 0; i < n; i++) stats_sum(&s, &seg[i]);
  return bleu_from_stats(&s, 0);
}

void bootstrap_bleu_ci(const bleu_stats *seg, size_t n, int n_resamples, uint64_t seed,
                       boot_ci *out) {
  if (n == 0 || n_resamples < 1) error("bootstrap_bleu_ci: n=%zu segments, %d resamples", n, n_resamples);
  out->mean = corpus_of(seg, n);  // the corpus score itself
  gsl_rng *r = make_rng(seed);
  double *v = xmalloc((size_t)n_resamples * sizeof *v);
  for (int b = 0; b < n_resamples; b++) {
    bleu_stats s;
    bleu_stats_zero(&s);
    for (size_t i = 0; i < n; i++) stats_sum(&s, &seg[gsl_rng_uniform_int(r, n)]);
    v[b] = bleu_from_stats(&s, 0);
  }
  percentile_interval(v, (size_t)n_resamples, out);
  free(v);
  gsl_rng_free(r);
}

double bootstrap_bleu_paired_p(const bleu_stats *a, const bleu_stats *b, size_t n,
                               int n_resamples, uint64_t seed) {
  if (n == 0 || n_resamples < 1) error("bootstrap_bleu_paired_p: n=%zu segments, %d resamples", n, n_resamples);
  double real = corpus_of(a, n) - corpus_of(b, n);
  gsl_rng *r = make_rng(seed);
  double *d = xmalloc((size_t)n_resamples * sizeof *d);
  for (int k = 0; k < n_resamples; k++) {
    bleu_stats sa, sb;
    bleu_stats_zero(&sa);
    bleu_stats_zero(&sb);
    for (size_t i = 0; i < n; i++) {
      size_t j = gsl_rng_uniform_int(r, n);
      stats_sum(&sa, &a[j]);
      stats_sum(&sb, &b[j]);
    }
    d[k] = bleu_from_stats(&sa, 0) - bleu_from_stats(&sb, 0);
  }
  double p = paired_p_value(d, (size_t)n_resamples, real);
  free(d);
  gsl_rng_free(r);
  return p;
}

// ---- ratio of sums: token-weighted means and micro-averaged shares ------------------------
static double ratio_of(const double *num, const double *den, size_t n) {
  double a = 0, b = 0;
  for (size_t i = 0; i < n; i++) {
    a += num[i];
    b += den[i];
  }
  return b > 0 ? a / b : NAN;
}

void bootstrap_ratio_ci(const double *num, const double *den, size_t n, int n_resamples,
                        uint64_t seed, boot_ci *out) {
  if (n == 0 || n_resamples < 1) error("bootstrap_ratio_ci: n=%zu samples, %d resamples", n, n_resamples);
  out->mean = ratio_of(num, den, n);
  out->lo = out->hi = NAN;
  if (isnan(out->mean)) return;
  gsl_rng *r = make_rng(seed);
  double *v = xmalloc((size_t)n_resamples * sizeof *v);
  size_t m = 0;
  for (int b = 0; b < n_resamples; b++) {
    double a = 0, d = 0;
    for (size_t i = 0; i < n; i++) {
      size_t j = gsl_rng_uniform_int(r, n);
      a += num[j];
      d += den[j];
    }
    if (d > 0) v[m++] = a / d;
  }
  if (m > 0) percentile_interval(v, m, out);
  free(v);
  gsl_rng_free(r);
}

double bootstrap_ratio_paired_p(const double *na, const double *da, const double *nb,
                                const double *db, size_t n, int n_resamples, uint64_t seed) {
  if (n == 0 || n_resamples < 1) error("bootstrap_ratio_paired_p: n=%zu samples, %d resamples", n, n_resamples);
  double real = ratio_of(na, da, n) - ratio_of(nb, db, n);
  if (isnan(real)) return NAN;
  gsl_rng *r = make_rng(seed);
  double *d = xmalloc((size_t)n_resamples * sizeof *d);
  size_t m = 0;
  for (int k = 0; k < n_resamples; k++) {
    double a = 0, ad = 0, b = 0, bd = 0;
    for (size_t i = 0; i < n; i++) {
      size_t j = gsl_rng_uniform_int(r, n);
      a += na[j];
      ad += da[j];
      b += nb[j];
      bd += db[j];
    }
    if (ad > 0 && bd > 0) d[m++] = a / ad - b / bd;
  }
  double p = paired_p_value(d, m, real);
  free(d);
  gsl_rng_free(r);
  return p;
}
