// The effect engine: the two passes of the reference model over micro-batches of samples,
// and the per-token records from their logits. The model is reached through a forward
// callback so the packing logic is tested without the model core (test_effect_engine.c).
//
// defines: effect_sample, effect_forward_fn, effect_engine, effect_compute
#ifndef NQ_EFFECT_ENGINE_H
#define NQ_EFFECT_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "files/effects_file.h"

// One sample: the two full sequences (prompt + target tokens); the target tokens are the
// last n_target tokens of both (the targets are identical, only the prompts differ).
typedef struct {
  const int32_t *with;
  int n_with;
  const int32_t *without;
  int n_without;
  int n_target;
  int skip;   // not computed (split not chosen): its tokens get NaN, ranks 0, and no forward
} effect_sample;

// Forward of B packed sequences (tokens concatenated, lens[B], no attention across them).
// Must write the logits (V floats) predicting the token after each requested packed
// position pos[i] (an index into the concatenated tokens) to logits + i * V.
typedef void (*effect_forward_fn)(void *model, const int32_t *tokens, const int *lens, int B,
                                  const int64_t *pos, int n_pos, float *logits);

typedef struct {
  void *model;
  effect_forward_fn forward;
  int vocab;
  int micro_batch;      // samples per forward
  int max_tokens;       // 0, or a cap on packed tokens per forward (a batch holds >= 1 sample)
  // scratch kept across calls (NULL/0 to start; effect_engine_free): both passes' logits of a
  // micro-batch's targets. Allocating it per call cost a page fault per 4 KiB on every shard.
  float *logits;
  size_t logits_cap;    // floats
} effect_engine;

// Fills e's token arrays (e->n_tokens = sum n_target, offsets set) for samples[0..n).
// `tick` (may be NULL) is called after each micro-batch with the targets done so far:
// progress lines and serving MPI requests on rank 0.
void effect_compute(effect_engine *g, const effect_sample *samples, size_t n, effect_file *e,
                    void (*tick)(void *arg, size_t targets_done), void *tick_arg);
// Frees the engine's scratch (not the model).
void effect_engine_free(effect_engine *g);

#endif
