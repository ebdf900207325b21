// What nq-effect needs from one shard (read through shard.h): the samples as effect_sample
// views into the shard's token array, ids, users, split and planted truth.
#ifndef NQ_EFFECT_SHARD_H
#define NQ_EFFECT_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "effect/effect_engine.h"
#include "files/shards_file.h"

typedef struct {
  shard_data d;             // the whole shard (shard.h)
  effect_sample *samples;   // views into d.tokens; skip = split not chosen
} effect_shard;

// Reads the shard; samples whose split is not in use_split[SPLIT_*] are marked skip.
// Stops (naming the stage to rerun) when a token is outside the model's vocabulary.
void effect_shard_load(const char *path, const int use_split[3], int vocab, effect_shard *sh);
void effect_shard_free(effect_shard *sh);
// Fill the identity / per-sample parts of an effect file from the shard (ids, users,
// splits, truth); e must be allocated with e->n_samples = d.n_samples and n_tokens = d.n_targets.
void effect_shard_describe(const effect_shard *sh, effect_file *e);
// "train" / "valid" / "test" -> SPLIT_*; -1 otherwise.
int effect_split_code(const char *name);

#endif
