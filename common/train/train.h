// nq-train's loop (docs/training.md): objectives lm / sft / context_sft / nextquill over the
// shards, data parallel (one MPI_Allreduce of the gradient arena per step), checkpoints with
// rotation and --resume, SIGTERM/SIGUSR1 -> checkpoint and exit TRAIN_EXIT_REQUEUE, metrics.
#ifndef NQ_TRAIN_H
#define NQ_TRAIN_H

#include "pipeline/stage.h"

// Exit code after a signal-triggered checkpoint (EX_TEMPFAIL): requeue and pass --resume.
#define TRAIN_EXIT_REQUEUE 75

// Installs the signal handlers, runs the training, returns the exit code (0 or 75).
int train_run(const settings *set, const stage_args *s);

#endif
