// See effect_shard.h.
#include "effect/effect_shard.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

int effect_split_code(const char *name) {
  return !strcmp(name, "train") ? SPLIT_TRAIN : !strcmp(name, "valid") ? SPLIT_VALID
         : !strcmp(name, "test") ? SPLIT_TEST : -1;
}

void effect_shard_load(const char *path, const int use_split[3], int vocab, effect_shard *sh) {
  memset(sh, 0, sizeof *sh);
  file_read(&shard_kind, path, &sh->d);
  shard_data *d = &sh->d;
  for (size_t i = 0; i < d->n_tokens; i++)
    if (d->tokens[i] < 0 || d->tokens[i] >= vocab)
      fatal("%s: token id %d is outside the reference model's vocabulary of %d: the shards were "
            "made with another tokenizer; rerun nq-train for the reference model (or nq-shard)",
            path, d->tokens[i], vocab);
  sh->samples = xcalloc(d->n_samples + 1, sizeof *sh->samples);
  for (size_t i = 0; i < d->n_samples; i++) {
    effect_sample *x = &sh->samples[i];
    size_t lw, l0;
    x->with = shard_seq(d, i, 1, &lw);
    x->without = shard_seq(d, i, 0, &l0);
    x->n_with = (int)lw, x->n_without = (int)l0;
    x->n_target = d->target_length[i];
    int sp = d->split[i];
    x->skip = !(sp >= 0 && sp < 3 && use_split[sp]);
  }
}

void effect_shard_free(effect_shard *sh) {
  file_free(&shard_kind, &sh->d);
  free(sh->samples);
  memset(sh, 0, sizeof *sh);
}

void effect_shard_describe(const effect_shard *sh, effect_file *e) {
  const shard_data *d = &sh->d;
  if (e->n_samples != d->n_samples || e->n_tokens != d->n_targets)
    error("effect file sized %zu/%zu for a shard of %zu samples / %zu targets", e->n_samples,
          e->n_tokens, d->n_samples, d->n_targets);
  for (size_t i = 0; i < d->n_samples; i++) {
    e->sample_id[i] = xstrdup(d->id[i]);
    e->sample_user[i] = xstrdup(d->users[d->user[i]]);
    e->sample_split[i] = d->split[i];
    // the effect arrays follow sample order; the shard's target_offset must agree
    if (d->target_offset[i] != (i ? d->target_offset[i - 1] + d->target_length[i - 1] : 0))
      error("shard sample %zu: target_offset %lld is not the running sum of target lengths", i,
            (long long)d->target_offset[i]);
  }
  if (d->truth && e->truth) memcpy(e->truth, d->truth, d->n_targets);
  if (d->truth_rare && e->truth_rare) memcpy(e->truth_rare, d->truth_rare, d->n_targets);
  if (d->truth_decisive && e->truth_decisive) memcpy(e->truth_decisive, d->truth_decisive, d->n_targets);
}
