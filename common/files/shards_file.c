// The shard file (see shards_file.h): its table and file_kind (read and written by
// files/file_kind.c), the sample accessors and the shard set check. Every dataset and attribute
// name of a shard is written here only, in shard_fields.
#include "files/shards_file.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "h5/h5io.h"

// ---- the table -------------------------------------------------------------------------
// Counts, stored as attributes; n_targets and n_users were added with the table (older
// shards lack them and are refused: rerun nq-shard).
enum { N_SAMPLES, N_TOKENS, N_TARGETS, N_USERS };
static const char *const shard_counts[] = {"n_samples", "n_tokens", "n_targets", "n_users", NULL};

#define DSET(name, type, member, count, shape, meaning) \
  {name, type, offsetof(shard_data, member), count, 0, 0, shape, meaning}
#define OPT_DSET(name, type, member, count, shape, meaning) \
  {name, type, offsetof(shard_data, member), count, 0, LF_OPTIONAL, shape, meaning}
#define ATTR(name, type, member, meaning) {name, type, offsetof(shard_data, member), 0, 0, LF_ATTR, "", meaning}

static const h5_field shard_fields[] = {
    DSET("tokens", LF_I32, tokens, N_TOKENS, "n_tokens",
         "every sample's with-history sequence followed by its without-history sequence, samples in order"),
    DSET("id", LF_STR, id, N_SAMPLES, "n_samples", "the sample's data.fields.id (integers in decimal)"),
    DSET("user", LF_I32, user, N_SAMPLES, "n_samples", "index into users"),
    DSET("split", LF_I8, split, N_SAMPLES, "n_samples", "0 train, 1 valid, 2 test"),
    DSET("hist_offset", LF_I64, hist_offset, N_SAMPLES, "n_samples", "start of the with-history sequence in tokens"),
    DSET("hist_length", LF_I32, hist_length, N_SAMPLES, "n_samples", "its length (prompt + target)"),
    DSET("nohist_offset", LF_I64, nohist_offset, N_SAMPLES, "n_samples",
         "start of the without-history sequence (= hist_offset + hist_length)"),
    DSET("nohist_length", LF_I32, nohist_length, N_SAMPLES, "n_samples", "its length"),
    DSET("target_length", LF_I32, target_length, N_SAMPLES, "n_samples",
         "target tokens, the tail of both sequences, last one <|endoftext|>"),
    DSET("target_offset", LF_I64, target_offset, N_SAMPLES, "n_samples",
         "start of the sample's targets in the per-target-token arrays: running sum of target_length"),
    DSET("history_items", LF_I32, history_items, N_SAMPLES, "n_samples",
         "history items rendered in the with-history prompt"),
    DSET("users", LF_STR, users, N_USERS, "n_users", "distinct user ids of this shard, sorted bytewise"),
    OPT_DSET("truth", LF_U8, truth, N_TARGETS, "n_targets",
             "1 when the target token overlaps a data.fields.truth_spans span (only with that field)"),
    OPT_DSET("truth_rare", LF_U8, truth_rare, N_TARGETS, "n_targets",
             "as truth, counting only spans flagged in data.fields.truth_rare (only with that field)"),
    OPT_DSET("truth_decisive", LF_U8, truth_decisive, N_TARGETS, "n_targets",
             "1 when the target token overlaps a data.fields.truth_decisive span: the tokens the "
             "history decides (only with that field)"),
    ATTR("tokenizer_digest", LF_STR, tokenizer_digest, "tok_digest() of the tokenizer the shards were encoded with"),
    ATTR("vocab_size", LF_I32, vocab_size, "tokenizer vocabulary size (every id is below it)"),
    ATTR("eos_id", LF_I32, eos_id, "id of <|endoftext|>"),
    ATTR("bad_records", LF_I64, bad_records, "records skipped in the whole corpus"),
    ATTR("truncated_targets", LF_I64, truncated_targets, "targets cut to data.max_target_tokens in the whole corpus"),
    ATTR("truncated_fields", LF_I64, truncated_fields, "records with a {field:N} template field cut to its budget, whole corpus"),
    ATTR("shard_index", LF_I64, shard_index, "this file's index"),
    ATTR("shard_count", LF_I64, shard_count, "shard.count"),
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

const h5_layout shard_layout = {"shard files", "shard", shard_fields, shard_counts};

// Every sequence inside the token array, every user index inside users, the targets
// adding up to n_targets: what shard_seq and shard_target rely on.
static int shard_check(const void *obj, char *why, size_t n) {
  const shard_data *d = obj;
  size_t targets = 0;
  for (size_t i = 0; i < d->n_samples; i++) {
    if (d->user[i] < 0 || (size_t)d->user[i] >= d->n_users) return file_why(why, n, "sample %zu: user index out of range", i);
    if (d->hist_offset[i] < 0 || d->hist_length[i] < d->target_length[i] ||
        (size_t)(d->hist_offset[i] + d->hist_length[i]) > d->n_tokens || d->nohist_offset[i] < 0 ||
        d->nohist_length[i] < d->target_length[i] || (size_t)(d->nohist_offset[i] + d->nohist_length[i]) > d->n_tokens)
      return file_why(why, n, "sample %zu: sequence outside the token array", i);
    targets += (size_t)d->target_length[i];
  }
  if (targets != d->n_targets)
    return file_why(why, n, "target_length adds up to %zu target tokens, n_targets is %zu", targets, d->n_targets);
  return 0;
}

#define M(member) offsetof(shard_data, member)
const file_kind shard_kind = {
    .layout = &shard_layout,
    .size = sizeof(shard_data),
    .count_at = {[N_SAMPLES] = M(n_samples), [N_TOKENS] = M(n_tokens), [N_TARGETS] = M(n_targets), [N_USERS] = M(n_users)},
    .writers = (const char *const[]){"shard", NULL},
    .check = shard_check,
};
#undef M

// ---- samples ---------------------------------------------------------------------------------
const int32_t *shard_seq(const shard_data *d, size_t i, int with_history, size_t *len) {
  *len = (size_t)(with_history ? d->hist_length[i] : d->nohist_length[i]);
  return d->tokens + (with_history ? d->hist_offset[i] : d->nohist_offset[i]);
}

const int32_t *shard_target(const shard_data *d, size_t i, size_t *len) {
  *len = (size_t)d->target_length[i];
  return d->tokens + d->hist_offset[i] + d->hist_length[i] - d->target_length[i];
}

// ---- completeness --------------------------------------------------------------------------
static char *attr_text(hid_t f, const char *name) {
  return h5_attr_exists(f, name) ? h5_attr_get_str(f, name) : xstrdup("");
}

// The shard at `path` must be shard `i` of a set of `n` written by the same nq-shard run as
// `first` (its config and inputs; NULL for shard 0, whose are returned in *config/*inputs);
// `number`: the index its file name gives.
static void check_member(const char *path, long number, int i, int n, char **config, char **inputs) {
  hid_t f = h5_try_open_read(path);
  if (f < 0) fatal("%s: unreadable (truncated or not HDF5); rerun nq-shard --force", path);
  char *cfg = attr_text(f, "nq_config"), *inp = attr_text(f, "nq_inputs");
  h5_close(f);
  shard_data h;
  file_read_attrs(&shard_kind, path, &h);
  if (h.shard_count != n)
    fatal("%s: nq-shard wrote %lld shard files, %d are there (a shard was deleted or added); rerun nq-shard",
          path, (long long)h.shard_count, n);
  if (h.shard_index != i || number != i)
    fatal("%s: holds shard %lld where shard %d belongs (a shard is missing); rerun nq-shard", path,
          (long long)h.shard_index, i);
  if (i == 0) {
    *config = cfg, *inputs = inp;
  } else {
    if (strcmp(cfg, *config) || strcmp(inp, *inputs))
      fatal("%s: not from the same nq-shard run as shard 0 (another config or inputs); rerun nq-shard", path);
    free(cfg), free(inp);
  }
  file_free(&shard_kind, &h);
}

void shard_set_check(char *const *paths, const long *numbers, int n) {
  char *config = NULL, *inputs = NULL;
  for (int i = 0; i < n; i++) check_member(paths[i], numbers[i], i, n, &config, &inputs);
  free(config), free(inputs);
}
