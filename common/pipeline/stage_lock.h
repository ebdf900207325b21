// One writer per run directory and stage: rank 0 holds an flock on
// <run_dir>/locks/<stage>[.<name>].lock for the life of the process (the kernel releases it
// when the process ends, kill -9 included). A second run of the same stage on the same
// run_dir refuses at once, naming the holder (pid, host, start time) written in the file.
// Stages that may run together on one run_dir lock separately: nq-train per train.name.
#ifndef NQ_STAGE_LOCK_H
#define NQ_STAGE_LOCK_H

#include "pipeline/stage.h"

// Takes the stage's lock (rank 0; a no-op on the other ranks). Stops when run_dir is empty
// or another process holds the lock. A file system without flock gets a warning, no lock.
// The stage's options move it (stage.h, stage_option_kind): an OPT_WRITES_NONE option given
// means no lock (the invocation writes nothing), an OPT_OUT_DIR option DIR means the lock
// DIR/.nq-<stage>.lock (DIR is created), so nothing is written under run_dir.
void stage_lock(const settings *set, const stage_args *a);

#endif
