// nq-shard --preview N / --preview-id ID: renders samples exactly as the shards would hold
// them (the tokens are decoded back), prints both prompts, the target, their token counts and
// what was dropped or cut, and writes nothing: not even run_dir is created.
#ifndef NQ_SHARD_PREVIEW_H
#define NQ_SHARD_PREVIEW_H

#include "pipeline/stage.h"

// Rank 0 prints; the other ranks do nothing. Returns the exit code (1 when no sample matched).
int shard_preview(const settings *set, const stage_args *a);

#endif
