// Reader and writer of effects/<shard>.h5. Dataset names are written here only, so one
// grep finds the writer of each (STYLE.md).
#include "formats/effects_file.h"

#include <stdlib.h>
#include <string.h>

#include "formats/h5io.h"
#include "base/log.h"
#include "base/util.h"

void effect_file_alloc(effect_file *e, size_t nt, size_t ns, int with_truth, int with_rare) {
  memset(e, 0, sizeof *e);
  e->n_tokens = nt;
  e->n_samples = ns;
  size_t t = nt ? nt : 1;
  e->logp_with = xcalloc(t, sizeof(float));
  e->logp_without = xcalloc(t, sizeof(float));
  e->effect = xcalloc(t, sizeof(float));
  e->js = xcalloc(t, sizeof(float));
  e->rank_with = xcalloc(t, sizeof(int32_t));
  e->rank_without = xcalloc(t, sizeof(int32_t));
  if (with_truth) e->truth = xcalloc(t, 1);
  if (with_rare) e->truth_rare = xcalloc(t, 1);
  e->offsets = xcalloc(ns + 1, sizeof(int64_t));
  e->sample_id = xcalloc(ns + 1, sizeof(char *));
  e->sample_user = xcalloc(ns + 1, sizeof(char *));
  e->sample_split = xcalloc(ns + 1, 1);
  e->sample_computed = xcalloc(ns + 1, 1);
  e->sample_mean_effect = xcalloc(ns + 1, sizeof(float));
  e->sample_share_above = xcalloc(ns + 1, sizeof(float));
}

void effect_file_free(effect_file *e) {
  free(e->shard), free(e->shard_digest), free(e->checkpoint), free(e->checkpoint_digest);
  free(e->sample_split), free(e->sample_computed);
  free(e->logp_with), free(e->logp_without), free(e->effect), free(e->js);
  free(e->rank_with), free(e->rank_without), free(e->truth), free(e->truth_rare);
  if (e->sample_id)
    for (size_t i = 0; i < e->n_samples; i++) free(e->sample_id[i]);
  if (e->sample_user)
    for (size_t i = 0; i < e->n_samples; i++) free(e->sample_user[i]);
  free(e->sample_id), free(e->sample_user), free(e->offsets);
  free(e->sample_mean_effect), free(e->sample_share_above);
  memset(e, 0, sizeof *e);
}

static int cmp_str_ptr(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

// users/: one row per distinct user of this shard, sorted by id.
static void write_users(hid_t file, const effect_file *e) {
  size_t ns = e->n_samples;
  char **ids = xmalloc((ns + 1) * sizeof *ids);
  for (size_t i = 0; i < ns; i++) ids[i] = e->sample_user[i];
  qsort(ids, ns, sizeof *ids, cmp_str_ptr);
  size_t nu = 0;
  for (size_t i = 0; i < ns; i++)
    if (!nu || strcmp(ids[nu - 1], ids[i])) ids[nu++] = ids[i];
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
  hid_t g = h5_group_create(file, "users");
  h5_write_strings(g, "user", (const char *const *)ids, nu);
  h5_write_i64(g, "n_samples", nsamp, nu);
  h5_write_i64(g, "n_tokens", tok, nu);
  h5_write_f32(g, "mean_effect", mean, nu);
  h5_write_f32(g, "share_above", share, nu);
  h5_group_close(g);
  free(ids), free(sum), free(tok), free(above), free(nsamp), free(mean), free(share);
}

void effect_file_write(hid_t file, effect_file *e) {
  size_t nt = e->n_tokens, ns = e->n_samples;
  if (e->offsets[0] != 0 || e->offsets[ns] != (int64_t)nt)
    error("effect file: sample offsets span [%lld, %lld), expected [0, %zu)",
          (long long)e->offsets[0], (long long)e->offsets[ns], nt);
  effect_sample_summary(e->effect, e->offsets, ns, e->threshold, e->sample_mean_effect,
                        e->sample_share_above);
  h5_attr_set_str(file, "shard", e->shard);
  h5_attr_set_str(file, "shard_digest", e->shard_digest);
  h5_attr_set_str(file, "checkpoint", e->checkpoint);
  h5_attr_set_str(file, "checkpoint_digest", e->checkpoint_digest);
  h5_attr_set_f64(file, "threshold", e->threshold);
  h5_attr_set_i64(file, "n_tokens", (int64_t)nt);
  h5_attr_set_i64(file, "n_samples", (int64_t)ns);
  h5_write_f32(file, "logp_with", e->logp_with, nt);
  h5_write_f32(file, "logp_without", e->logp_without, nt);
  h5_write_f32(file, "effect", e->effect, nt);
  h5_write_f32(file, "js", e->js, nt);
  h5_write_i32(file, "rank_with", e->rank_with, nt);
  h5_write_i32(file, "rank_without", e->rank_without, nt);
  if (e->truth) h5_write_u8(file, "truth", e->truth, nt);
  if (e->truth_rare) h5_write_u8(file, "truth_rare", e->truth_rare, nt);
  hid_t g = h5_group_create(file, "samples");
  h5_write_i64(g, "offset", e->offsets, ns + 1);
  h5_write_strings(g, "id", (const char *const *)e->sample_id, ns);
  h5_write_strings(g, "user", (const char *const *)e->sample_user, ns);
  h5_write_i8(g, "split", e->sample_split, ns);
  h5_write_u8(g, "computed", e->sample_computed, ns);
  h5_write_f32(g, "mean_effect", e->sample_mean_effect, ns);
  h5_write_f32(g, "share_above", e->sample_share_above, ns);
  h5_group_close(g);
  write_users(file, e);
}

#define READ_N(dst, fn, loc, name, expect)                                                 \
  do {                                                                                     \
    size_t n_;                                                                             \
    dst = fn(loc, name, &n_);                                                              \
    if (n_ != (expect))                                                                    \
      fatal("%s: dataset '%s' has %zu elements, expected %zu; rerun nq-effect", path, name, \
            n_, (size_t)(expect));                                                         \
  } while (0)

void effect_file_read(hid_t file, const char *path, effect_file *e) {
  memset(e, 0, sizeof *e);
  e->shard = h5_attr_get_str(file, "shard");
  e->shard_digest = h5_attr_get_str(file, "shard_digest");
  e->checkpoint = h5_attr_get_str(file, "checkpoint");
  e->checkpoint_digest = h5_attr_get_str(file, "checkpoint_digest");
  e->threshold = h5_attr_get_f64(file, "threshold");
  size_t nt = e->n_tokens = (size_t)h5_attr_get_i64(file, "n_tokens");
  size_t ns = e->n_samples = (size_t)h5_attr_get_i64(file, "n_samples");
  READ_N(e->logp_with, h5_read_f32, file, "logp_with", nt);
  READ_N(e->logp_without, h5_read_f32, file, "logp_without", nt);
  READ_N(e->effect, h5_read_f32, file, "effect", nt);
  READ_N(e->js, h5_read_f32, file, "js", nt);
  READ_N(e->rank_with, h5_read_i32, file, "rank_with", nt);
  READ_N(e->rank_without, h5_read_i32, file, "rank_without", nt);
  if (h5_exists(file, "truth")) READ_N(e->truth, h5_read_u8, file, "truth", nt);
  if (h5_exists(file, "truth_rare")) READ_N(e->truth_rare, h5_read_u8, file, "truth_rare", nt);
  READ_N(e->offsets, h5_read_i64, file, "samples/offset", ns + 1);
  READ_N(e->sample_id, h5_read_strings, file, "samples/id", ns);
  READ_N(e->sample_user, h5_read_strings, file, "samples/user", ns);
  READ_N(e->sample_split, h5_read_i8, file, "samples/split", ns);
  READ_N(e->sample_computed, h5_read_u8, file, "samples/computed", ns);
  READ_N(e->sample_mean_effect, h5_read_f32, file, "samples/mean_effect", ns);
  READ_N(e->sample_share_above, h5_read_f32, file, "samples/share_above", ns);
  for (size_t i = 0; i < ns; i++)
    if (e->offsets[i] > e->offsets[i + 1] || e->offsets[i + 1] > (int64_t)nt)
      fatal("%s: samples/offset is not monotone within [0, %zu] at sample %zu; rerun nq-effect",
            path, nt, i);
}
