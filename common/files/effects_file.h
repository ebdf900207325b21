// The effect file of one shard: <run_dir>/effects/<shard file name>, aligned index-for-index
// with the shard's target tokens (layout: docs/hdf5-layout.md, its effects section).
// This module only moves arrays between memory and the file; the per-sample and per-user
// summaries are computed by the effect stage (effect/effect_summary.h) before writing.
//
// defines: effect_file, effects_layout, effect_file_alloc, effect_file_free,
//          effect_file_write, effect_file_read, effect_file_read_identity
#ifndef NQ_EFFECTS_FILE_H
#define NQ_EFFECTS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

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

// Every dataset and attribute of an effect file, once (formats/layouts.c lists it).
extern const h5_layout effects_layout;

// Allocate the token and sample arrays, per-sample summaries included (zeroed); truth
// arrays only when with_truth / with_rare. The users arrays are the summary's to fill.
void effect_file_alloc(effect_file *e, size_t n_tokens, size_t n_samples, int with_truth,
                       int with_rare);
void effect_file_free(effect_file *e);
// Writes every dataset and identity attribute into an open output file; the summaries must
// be filled (effect_summarize). Provenance is the caller's (h5_write_provenance).
void effect_file_write(hid_t file, const effect_file *e);
// Reads everything but the summaries back; checks array lengths and sample offsets (stops
// naming `path` otherwise). Free with effect_file_free.
void effect_file_read(hid_t file, const char *path, effect_file *e);
// Reads only the counts and identity attributes (shard, digests, threshold): 0 when one is
// missing (an older or foreign file). Free with effect_file_free either way.
int effect_file_read_identity(hid_t file, effect_file *e);

#endif
