// The effect file of one shard: <run_dir>/effects/<shard file name>, aligned
// index-for-index with the shard's target tokens (layout: docs/effects-layout.md).
#ifndef NQ_EFFECT_IO_H
#define NQ_EFFECT_IO_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

#include "effect/effect.h"

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
  // per sample (n_samples; offsets has n_samples + 1 entries into the token arrays)
  size_t n_samples;
  int64_t *offsets;
  char **sample_id, **sample_user;
  int8_t *sample_split;     // 0 train, 1 valid, 2 test (the shard's codes)
  uint8_t *sample_computed; // 0: the sample's split was not in effect.splits (tokens are NaN)
  float *sample_mean_effect, *sample_share_above;
} effect_file;

// Allocate the token and sample arrays (zeroed); truth arrays only when with_truth.
void effect_file_alloc(effect_file *e, size_t n_tokens, size_t n_samples, int with_truth,
                       int with_rare);
void effect_file_free(effect_file *e);
// Writes datasets, per-sample and per-user summaries and identity attributes into an open
// output file (provenance is the caller's: h5_write_provenance).
void effect_file_write(hid_t file, effect_file *e);
// Reads everything back; checks array lengths agree (stops naming `path` otherwise).
void effect_file_read(hid_t file, const char *path, effect_file *e);

#endif
