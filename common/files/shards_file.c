// The shard file (see shards_file.h): its table, writer and reader. Every dataset and
// attribute name of a shard is written here only, in shard_fields.
#include "files/shards_file.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "h5/provenance.h"

// ---- the table -------------------------------------------------------------------------
// Counts, stored as attributes; n_targets and n_users were added with the table (older
// shards lack them and are refused: rerun nq-shard).
enum { N_SAMPLES, N_TOKENS, N_TARGETS, N_USERS, N_COUNTS };
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

const h5_layout shard_layout = {"shards", "shard", shard_fields, shard_counts};

static void counts_of(const shard_data *d, size_t *c) {
  c[N_SAMPLES] = d->n_samples, c[N_TOKENS] = d->n_tokens, c[N_TARGETS] = d->n_targets, c[N_USERS] = d->n_users;
}
static void set_counts(shard_data *d, const size_t *c) {
  d->n_samples = c[N_SAMPLES], d->n_tokens = c[N_TOKENS], d->n_targets = c[N_TARGETS], d->n_users = c[N_USERS];
}

// ---- writer ----------------------------------------------------------------------------
void shard_write(const char *path, const shard_data *d, const h5_provenance *prov) {
  size_t counts[N_COUNTS];
  counts_of(d, counts);
  h5_out o;
  h5_out_create(&o, path);
  h5_write_provenance(o.file, prov);
  h5_layout_write(o.file, &shard_layout, d, counts);
  h5_out_commit(&o);
}

// ---- reader ----------------------------------------------------------------------------
static int has_counts(hid_t f) {
  for (int c = 0; c < N_COUNTS; c++)
    if (!h5_attr_exists(f, shard_counts[c])) return 0;
  return 1;
}

const char *shard_file_problem(hid_t f) {
  char *stage = h5_provenance_stage(f);
  if (!stage) return "files without provenance";
  int ours = !strcmp(stage, "shard");
  free(stage);
  if (!ours) return "files not written by nq-shard";
  if (!has_counts(f)) return "an older nq-shard (no n_targets and n_users counts)";
  return NULL;
}

// Before the table is walked: the provenance names nq-shard, and the counts are there.
static void require_shard(hid_t f, const char *path) {
  char *stage = h5_provenance_stage(f);
  if (!stage) fatal("%s: not an nq-shard output (no provenance)", path);
  if (strcmp(stage, "shard")) fatal("%s: written by nq-%s, not nq-shard", path, stage);
  free(stage);
  if (!has_counts(f)) fatal("%s: written by an older nq-shard (no n_targets and n_users counts); rerun nq-shard --force", path);
}

// Every sequence inside the token array, every user index inside users, the targets
// adding up to n_targets: what shard_seq and shard_target rely on.
static void check_sequences(const char *path, shard_data *d) {
  size_t targets = 0;
  for (size_t i = 0; i < d->n_samples; i++) {
    if (d->user[i] < 0 || (size_t)d->user[i] >= d->n_users) fatal("%s: sample %zu: user index out of range", path, i);
    if (d->hist_offset[i] < 0 || d->hist_length[i] < d->target_length[i] ||
        (size_t)(d->hist_offset[i] + d->hist_length[i]) > d->n_tokens || d->nohist_offset[i] < 0 ||
        d->nohist_length[i] < d->target_length[i] || (size_t)(d->nohist_offset[i] + d->nohist_length[i]) > d->n_tokens)
      fatal("%s: sample %zu: sequence outside the token array", path, i);
    targets += (size_t)d->target_length[i];
  }
  if (targets != d->n_targets)
    fatal("%s: target_length adds up to %zu target tokens, n_targets is %zu", path, targets, d->n_targets);
}

void shard_read(const char *path, shard_data *d) {
  memset(d, 0, sizeof *d);
  hid_t f = h5_open_read(path);
  require_shard(f, path);
  size_t counts[N_COUNTS];
  h5_layout_read(f, path, &shard_layout, d, counts);
  h5_close(f);
  set_counts(d, counts);
  check_sequences(path, d);
}

void shard_read_header(hid_t f, const char *path, shard_data *d) {
  memset(d, 0, sizeof *d);
  require_shard(f, path);
  size_t counts[N_COUNTS];
  if (!h5_layout_read_attrs(f, &shard_layout, d, counts))
    fatal("%s: a count or attribute of the shard layout is missing; rerun nq-shard --force", path);
  set_counts(d, counts);
}

void shard_header(const char *path, shard_data *d) {
  hid_t f = h5_open_read(path);
  shard_read_header(f, path, d);
  h5_close(f);
}

void shard_data_free(shard_data *d) {
  size_t counts[N_COUNTS];
  counts_of(d, counts);
  h5_layout_free(&shard_layout, d, counts);
  memset(d, 0, sizeof *d);
}

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
  shard_data h;
  shard_read_header(f, path, &h);
  char *cfg = attr_text(f, "nq_config"), *inp = attr_text(f, "nq_inputs");
  h5_close(f);
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
  shard_data_free(&h);
}

void shard_set_check(char *const *paths, const long *numbers, int n) {
  char *config = NULL, *inputs = NULL;
  for (int i = 0; i < n; i++) check_member(paths[i], numbers[i], i, n, &config, &inputs);
  free(config), free(inputs);
}
