// The effect file of one shard: <run_dir>/effects/<shard file name>, aligned index-for-index
// with the shard's target tokens (layout: docs/hdf5-layout.md, its effects section).
// This module only moves arrays between memory and the file; the per-sample and per-user
// summaries are computed by the effect stage (effect/effect_summary.h) before writing.
//
// Read, write and free it through files/file_kind.h with `effects_kind`.
//
// defines: effect_file, effects_layout, effects_kind, effect_file_alloc
#ifndef NQ_EFFECTS_FILE_H
#define NQ_EFFECTS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "files/file_kind.h"
#include "h5/layout.h"

typedef struct {
  // identity of the inputs (root attributes)
  char *shard;              // path of the shard file the tokens come from
  char *shard_digest;       // its SHA-256 when the effects were computed
  char *checkpoint;         // reference model
  char *checkpoint_digest;
  double threshold;         // threshold of the share_above summaries
  // per target token (n_tokens)
  size_t n_tokens;
  float *logp_with, *logp_without, *effect, *js;
  int32_t *rank_with, *rank_without;
  uint8_t *truth;           // planted truth copied from the shard, or NULL
  uint8_t *truth_rare;      // 1 where the truth token belongs to a rare preference, or NULL
  uint8_t *truth_decisive;  // 1 on the history-decisive tokens (shard's truth_decisive), or NULL
  // per sample (n_samples; offsets has n_samples + 1 entries into the token arrays)
  size_t n_samples;
  int64_t *offsets;
  char **sample_id, **sample_user;
  int8_t *sample_split;     // 0 train, 1 valid, 2 test (the shard's codes)
  uint8_t *sample_computed; // 0: the sample's split was not in effect.splits (tokens are NaN)
  // summaries for readers outside nextquill (written, not read back)
  float *sample_mean_effect, *sample_share_above;
  size_t n_users;           // distinct users of the shard, sorted by id
  char **user_id;
  int64_t *user_n_samples, *user_n_tokens;
  float *user_mean_effect, *user_share_above;
} effect_file;

// Every dataset and attribute of an effect file, once (files/layouts.c lists it).
extern const h5_layout effects_layout;
// The kind: written by nq-effect; its sample offsets must cover the token arrays in order. The
// summaries must be filled (effect_summarize) before file_write; file_read leaves them NULL.
extern const file_kind effects_kind;

// Allocate the token and sample arrays, per-sample summaries included (zeroed); truth
// arrays only when with_truth / with_rare. The users arrays are the summary's to fill. Free
// with file_free(&effects_kind, e).
void effect_file_alloc(effect_file *e, size_t n_tokens, size_t n_samples, int with_truth,
                       int with_rare);

#endif
