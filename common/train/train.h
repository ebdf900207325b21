// nq-train's loop (docs/training.md): objectives lm / sft / context_sft / nextquill over the
// shards, data parallel (one MPI_Allreduce of the gradient arena per step), checkpoints with
// rotation and --resume, SIGTERM/SIGUSR1 -> checkpoint and exit TRAIN_EXIT_REQUEUE, metrics.
#ifndef NQ_TRAIN_H
#define NQ_TRAIN_H

#include "pipeline/stage.h"

// Exit code after a signal-triggered checkpoint (EX_TEMPFAIL): requeue and pass --resume.
#define TRAIN_EXIT_REQUEUE 75

enum { OBJ_LM, OBJ_SFT, OBJ_CONTEXT_SFT, OBJ_NEXTQUILL };
enum { W_ANNOTATIONS, W_ONLINE, W_UNIFORM };

// Which global-batch slot (0..G-1) the j-th sample of micro-step a on rank r fills; the
// sample order comes from the global batch only, so any rank count sees the same samples.
static inline long train_slot(int a, int r, int j, int size, int mb) {
  return ((long)a * size + r) * mb + j;
}
// Shuffled order of n samples for one epoch (Fisher-Yates from splitmix64(seed, epoch)).
void train_perm(unsigned long long seed, long epoch, long n, int *perm);

// Installs the signal handlers, runs the training, returns the exit code (0 or 75).
int train_run(stage_ctx *s);

#endif
