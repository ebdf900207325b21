// nq-effect's file decisions: which checkpoint is the reference model, and whether an
// existing effects/<shard>.h5 is current (same shard, checkpoint and threshold) so an
// interrupted or repeated run recomputes only what is missing or stale.
#ifndef NQ_EFFECT_FILES_H
#define NQ_EFFECT_FILES_H

// effect.model when non-empty (must exist), else the newest checkpoint of
// <run_dir>/<reference_run>/: ckpt-final.h5 if present, else the ckpt-<step>.h5 with the
// largest step. Stops naming the training run to do when there is none. Caller frees.
char *effect_find_checkpoint(const char *model, const char *run_dir, const char *reference_run);

// 1 when `path` exists, was written by nq-effect from a shard with digest `shard_digest`
// and a checkpoint with digest `ckpt_digest`, with the same threshold; else 0 and, when
// `why` is non-NULL, a short reason ("missing", "shard changed", ...) in *why (static).
int effect_output_current(const char *path, const char *shard_digest, const char *ckpt_digest,
                          double threshold, const char **why);

#endif
