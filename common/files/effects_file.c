// The effects file kind: its table and its file_kind (read and written by files/file_kind.c).
// Dataset and attribute names are written here only, so one grep finds the writer of each
// (STYLE.md).
#include "files/effects_file.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

enum { N_TOKENS, N_SAMPLES, N_USERS };   // indices into the counts below
static const char *const counts[] = {"n_tokens", "n_samples", "n_users", NULL};

#define M(member) offsetof(effect_file, member)
#define ATTR(name, type, member, meaning) {name, type, M(member), 0, 0, LF_ATTR, "", meaning}
static const h5_field fields[] = {
    ATTR("shard", LF_STR, shard, "path of the shard the tokens come from"),
    ATTR("shard_digest", LF_STR, shard_digest, "SHA-256 of the shard file when the effects were computed"),
    ATTR("checkpoint", LF_STR, checkpoint, "path of the reference model"),
    ATTR("checkpoint_digest", LF_STR, checkpoint_digest, "SHA-256 of the reference model"),
    ATTR("threshold", LF_F64, threshold, "effect.threshold of the share_above summaries"),
    {"logp_with", LF_F32, M(logp_with), N_TOKENS, 0, 0, "n_tokens", "log softmax(z_h)[y_t]"},
    {"logp_without", LF_F32, M(logp_without), N_TOKENS, 0, 0, "n_tokens", "log softmax(z_0)[y_t]"},
    {"effect", LF_F32, M(effect), N_TOKENS, 0, 0, "n_tokens",
     "p_with - p_without (the data-side causal preference effect)"},
    {"js", LF_F32, M(js), N_TOKENS, 0, 0, "n_tokens", "JS(softmax z_h, softmax z_0), nats, in [0, ln 2]"},
    {"rank_with", LF_I32, M(rank_with), N_TOKENS, 0, 0, "n_tokens",
     "1 + #{v : z_h[v] > z_h[y_t]} (1 = argmax; ties share the better rank)"},
    {"rank_without", LF_I32, M(rank_without), N_TOKENS, 0, 0, "n_tokens", "the same for z_0"},
    {"truth", LF_U8, M(truth), N_TOKENS, 0, LF_OPTIONAL, "n_tokens",
     "planted ground truth copied from the shard (only when the shard has it)"},
    {"truth_rare", LF_U8, M(truth_rare), N_TOKENS, 0, LF_OPTIONAL, "n_tokens",
     "1 where the truth token belongs to a rare preference (when known)"},
    {"truth_decisive", LF_U8, M(truth_decisive), N_TOKENS, 0, LF_OPTIONAL, "n_tokens",
     "history-decisive tokens copied from the shard's truth_decisive (when it has them)"},
    {"samples/offset", LF_I64, M(offsets), N_SAMPLES, 1, 0, "n_samples + 1", "token range of each sample"},
    {"samples/id", LF_STR, M(sample_id), N_SAMPLES, 0, 0, "n_samples", "sample id"},
    {"samples/user", LF_STR, M(sample_user), N_SAMPLES, 0, 0, "n_samples", "user id"},
    {"samples/split", LF_I8, M(sample_split), N_SAMPLES, 0, 0, "n_samples",
     "the shard's split code (0 train, 1 valid, 2 test)"},
    {"samples/computed", LF_U8, M(sample_computed), N_SAMPLES, 0, 0, "n_samples",
     "0 when the sample's split is not in effect.splits: its tokens are NaN (ranks 0)"},
    {"samples/mean_effect", LF_F32, M(sample_mean_effect), N_SAMPLES, 0, LF_DERIVED, "n_samples",
     "mean effect over the sample's targets"},
    {"samples/share_above", LF_F32, M(sample_share_above), N_SAMPLES, 0, LF_DERIVED, "n_samples",
     "share of the sample's targets with effect > threshold"},
    {"users/user", LF_STR, M(user_id), N_USERS, 0, LF_DERIVED, "n_users", "distinct users of this shard, sorted"},
    {"users/n_samples", LF_I64, M(user_n_samples), N_USERS, 0, LF_DERIVED, "n_users",
     "the user's computed samples in this shard"},
    {"users/n_tokens", LF_I64, M(user_n_tokens), N_USERS, 0, LF_DERIVED, "n_users",
     "their target tokens"},
    {"users/mean_effect", LF_F32, M(user_mean_effect), N_USERS, 0, LF_DERIVED, "n_users",
     "mean effect over all of the user's computed targets in this shard"},
    {"users/share_above", LF_F32, M(user_share_above), N_USERS, 0, LF_DERIVED, "n_users",
     "share of those targets with effect > threshold"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
#undef ATTR

const h5_layout effects_layout = {"effect files", "effect", fields, counts};

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

// Every sample's tokens inside the token arrays, in order: what the per-sample loops of
// nq-annotate and nq-report index by.
static int effects_check(const void *obj, char *why, size_t n) {
  const effect_file *e = obj;
  size_t nt = e->n_tokens, ns = e->n_samples;
  if (e->offsets[0] != 0 || e->offsets[ns] != (int64_t)nt)
    return file_why(why, n, "the sample offsets span [%lld, %lld), expected [0, %zu)", (long long)e->offsets[0],
                    (long long)e->offsets[ns], nt);
  for (size_t i = 0; i < ns; i++)
    if (e->offsets[i] > e->offsets[i + 1])
      return file_why(why, n, "the sample offsets are not monotone at sample %zu", i);
  return 0;
}

const file_kind effects_kind = {
    .layout = &effects_layout,
    .size = sizeof(effect_file),
    .count_at = {[N_TOKENS] = M(n_tokens), [N_SAMPLES] = M(n_samples), [N_USERS] = M(n_users)},
    .writers = (const char *const[]){"effect", NULL},
    .check = effects_check,
};
#undef M
