// See effect_summary.h.
#include "effect/effect_summary.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "effect/effect.h"

static int cmp_str_ptr(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void users_free(effect_file *e) {
  if (e->user_id)
    for (size_t u = 0; u < e->n_users; u++) free(e->user_id[u]);
  free(e->user_id), free(e->user_n_samples), free(e->user_n_tokens);
  free(e->user_mean_effect), free(e->user_share_above);
  e->user_id = NULL, e->user_n_samples = e->user_n_tokens = NULL;
  e->user_mean_effect = e->user_share_above = NULL;
  e->n_users = 0;
}

// Distinct users of the samples, sorted by id (copies).
static char **distinct_users(const effect_file *e, size_t *n_users) {
  size_t ns = e->n_samples, nu = 0;
  char **ids = xmalloc((ns + 1) * sizeof *ids);
  for (size_t i = 0; i < ns; i++) ids[i] = e->sample_user[i];
  qsort(ids, ns, sizeof *ids, cmp_str_ptr);
  for (size_t i = 0; i < ns; i++)
    if (!nu || strcmp(ids[nu - 1], ids[i])) ids[nu++] = ids[i];
  for (size_t u = 0; u < nu; u++) ids[u] = xstrdup(ids[u]);
  *n_users = nu;
  return ids;
}

// One row per distinct user, over the user's computed samples. The threshold is compared
// in float32 here (and in double per sample): kept as it was when files were first written.
static void summarize_users(effect_file *e) {
  users_free(e);
  size_t nu, ns = e->n_samples;
  char **ids = distinct_users(e, &nu);
  double *sum = xcalloc(nu + 1, sizeof *sum);
  int64_t *tok = xcalloc(nu + 1, sizeof *tok), *above = xcalloc(nu + 1, sizeof *above);
  int64_t *nsamp = xcalloc(nu + 1, sizeof *nsamp);
  float thr = (float)e->threshold;
  for (size_t i = 0; i < ns; i++) {
    if (!e->sample_computed[i]) continue;
    char **hit = bsearch(&e->sample_user[i], ids, nu, sizeof *ids, cmp_str_ptr);
    size_t u = (size_t)(hit - ids);
    nsamp[u]++;
    for (int64_t t = e->offsets[i]; t < e->offsets[i + 1]; t++) {
      sum[u] += e->effect[t];
      above[u] += e->effect[t] > thr;
      tok[u]++;
    }
  }
  float *mean = xcalloc(nu + 1, sizeof *mean), *share = xcalloc(nu + 1, sizeof *share);
  for (size_t u = 0; u < nu; u++) {
    mean[u] = tok[u] ? (float)(sum[u] / (double)tok[u]) : 0.f;
    share[u] = tok[u] ? (float)((double)above[u] / (double)tok[u]) : 0.f;
  }
  free(sum), free(above);
  e->n_users = nu;
  e->user_id = ids, e->user_n_samples = nsamp, e->user_n_tokens = tok;
  e->user_mean_effect = mean, e->user_share_above = share;
}

void effect_summarize(effect_file *e, double threshold) {
  e->threshold = threshold;
  size_t ns = e->n_samples;
  if (!e->sample_mean_effect) e->sample_mean_effect = xcalloc(ns + 1, sizeof(float));
  if (!e->sample_share_above) e->sample_share_above = xcalloc(ns + 1, sizeof(float));
  effect_sample_summary(e->effect, e->offsets, ns, threshold, e->sample_mean_effect,
                        e->sample_share_above);
  summarize_users(e);
}
