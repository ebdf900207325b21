// Per-user token streams for the `lm` objective (docs/training.md, "lm streams"): each
// user's texts in time order (history items and targets), profile items that repeat across
// the user's samples kept once, cut into windows for next-token pretraining.
//
// Built from the shards as they are (docs/hdf5-layout.md), which store whole rendered
// sequences, not history items: for sample i the history block is the with-history
// sequence minus its longest common suffix with the without-history sequence (the query,
// response prefix and target), and a block's items already in the stream are found as the
// longest overlap between the previous block's suffix and this block's prefix (profiles
// slide forward in time). A user's samples are ordered by (history_items, id, shard, index).
#ifndef NQ_TRAIN_LM_H
#define NQ_TRAIN_LM_H

#include <stddef.h>
#include <stdint.h>

#include "files/shards_file.h"

typedef struct {
  int n;                  // windows
  int32_t *tokens;        // all windows, concatenated
  int64_t *off;           // (n + 1) start of each window in tokens
  long users;             // users with at least one sample of the split
  size_t stream_tokens;   // tokens of all user streams (before windowing)
  size_t removed_tokens;  // history tokens dropped as repeats of the previous block
  int max_len;            // longest window
} lm_windows;

// Streams of the samples with split == `split` over all shards, each cut into windows of at
// most `window` (>= 2) tokens; consecutive windows of a stream share one token, so every
// next-token pair of a stream is predicted in exactly one window. Deterministic; does not
// depend on the rank count (every rank reads every shard).
void lm_windows_build(lm_windows *w, const shard_data *sh, int n_shards, int split, int window);
void lm_windows_free(lm_windows *w);

// The user stream of one user's samples (already in time order): appends to *out (realloc'd,
// *n tokens, *cap capacity). Exposed for tests. Returns history tokens removed as repeats.
size_t lm_user_stream(const shard_data *const *sh, const size_t *idx, int n, int32_t **out,
                      size_t *len, size_t *cap);

#endif
