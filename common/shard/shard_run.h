// nq-shard's MPI driver: parallel read, tokenizer training/broadcast, exchange of samples
// to the rank writing their shard, atomic publication of <run_dir>/shards.
#ifndef NQ_SHARD_RUN_H
#define NQ_SHARD_RUN_H

#include "pipeline/stage.h"

// Returns 0 (failures stop the job).
int shard_run(const settings *set, const stage_args *a);

#endif
