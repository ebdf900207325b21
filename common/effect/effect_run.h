// nq-effect's work apart from file discovery: the two passes of the reference model over
// micro-batches of samples, and the MPI shard dispatcher. The model is reached through a
// forward callback so the packing logic is tested here without the model core.
#ifndef NQ_EFFECT_RUN_H
#define NQ_EFFECT_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "formats/effects_file.h"

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
} effect_engine;

// Fills e's token arrays (e->n_tokens = sum n_target, offsets set) for samples[0..n).
// `tick` (may be NULL) is called after each micro-batch with the targets done so far:
// progress lines and serving MPI requests on rank 0.
void effect_compute(const effect_engine *g, const effect_sample *samples, size_t n, effect_file *e,
                    void (*tick)(void *arg, size_t targets_done), void *tick_arg);

// Dynamic shard dispatch. Rank 0 owns the list of `n_todo` jobs and hands the next one
// to whichever rank asks (MPI point-to-point), working on jobs itself in between.
// `work(job, arg)` computes and commits job and returns its token count (for progress);
// it should call effect_dispatch_poll() from time to time (e.g. from effect_compute's
// tick) so rank 0 answers requests promptly. Each job runs on exactly one rank;
// collective at the end (all ranks return together).
void effect_dispatch(int n_todo, long long (*work)(int job, void *arg), void *arg);
void effect_dispatch_poll(void);
// On rank 0: tokens reported done by the other ranks so far (their finished jobs).
long long effect_dispatch_remote_tokens(void);

#endif
