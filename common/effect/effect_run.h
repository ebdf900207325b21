// nq-effect's driver (stage 2): for each shard of the chosen splits, the reference model
// reads the with-history and the without-history sequence of every sample and
// effects/<shard>.h5 stores per target token logp_with, logp_without, effect = p_with -
// p_without, JS divergence and ranks (docs/hdf5-layout.md, the effect files). Rank 0 hands out
// shards one at a time (effect_dispatch.h); each file is written by exactly one rank, so
// outputs do not depend on the rank count. A file written under this invocation's stamp is
// kept, so an interrupted run redoes only the missing shards (effect_files.h).
//
// defines: effect_run
#ifndef NQ_EFFECT_RUN_H
#define NQ_EFFECT_RUN_H

#include "pipeline/stage.h"

// Returns 0 (stops on any error).
int effect_run(const settings *set, const stage_args *a);

#endif
