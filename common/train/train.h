// nq-train's loop (docs/training.md): objectives lm / sft / context_sft / nextquill over the
// shards, data parallel (one MPI_Allreduce of the gradient arena per step), checkpoints with
// rotation and --resume, SIGTERM/SIGUSR1 -> checkpoint and exit TRAIN_EXIT_REQUEUE, metrics.
#ifndef NQ_TRAIN_H
#define NQ_TRAIN_H

#include "pipeline/stage.h"

// Installs the signal handlers, runs the training, returns the exit code: 0, or 75 after a
// signal-triggered checkpoint (TRAIN_EXIT_REQUEUE, trainer.h: requeue and pass --resume).
int train_run(const settings *set, const stage_args *s);

#endif
