// The samples nq-eval evaluates (docs/eval.md "Samples and ranks"): all shards of the run,
// and the chosen split's samples sorted by id (bytewise), thinned evenly to eval.max_samples.
// defines: eval_samples, eval_samples_load, eval_samples_free, eval_sample_shard,
//          eval_sample_index, eval_prompt_of, eval_target_of
#ifndef NQ_EVAL_SAMPLES_H
#define NQ_EVAL_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "eval/eval_opts.h"
#include "files/shards_file.h"

typedef struct {
  int n_shards;
  char **paths;          // shard files, in name order
  shard_data *sh;        // their contents
  size_t n;              // evaluated samples, sorted by id
  int *sf, *si;          // (shard, index) of each
} eval_samples;

void eval_samples_load(eval_samples *d, const eval_opts *o);
void eval_samples_free(eval_samples *d);

// Shard and index within it of evaluated sample k.
static inline const shard_data *eval_sample_shard(const eval_samples *d, size_t k) {
  return &d->sh[d->sf[k]];
}
static inline size_t eval_sample_index(const eval_samples *d, size_t k) { return (size_t)d->si[k]; }
// Prompt of evaluated sample k (with or without history): ids and length (the sequence
// minus the target).
const int32_t *eval_prompt_of(const eval_samples *d, size_t k, int hist, int *np);
// Target of evaluated sample k (ends with end-of-text unless truncated): ids and length.
const int32_t *eval_target_of(const eval_samples *d, size_t k, size_t *nt);

#endif
