// nq-effect's output files: which checkpoint is the reference model, whether an existing
// effects/<shard>.h5 is current (so an interrupted or repeated run recomputes only what is
// missing or stale), and writing one, with its summaries and provenance.
//
// A changed effect.threshold does not make the effects stale: it only feeds the summaries
// (effect_summary.h), so such a file is rewritten from its own token arrays, without the
// model (EFFECT_OUT_SUMMARIES).
//
// defines: effect_find_checkpoint, effect_out_state, effect_output_state,
//          effect_output_write, effect_output_resummarize
#ifndef NQ_EFFECT_FILES_H
#define NQ_EFFECT_FILES_H

#include "formats/effects_file.h"
#include "formats/provenance.h"

// effect.model when non-empty (must exist), else the model nq-train wrote for the run
// <run_dir>/<reference_run>/: its final model.h5 if present, else (a run still going or
// stopped) the ckpt-<step>.h5 with the largest step. Stops naming the training run to do
// when there is none. Caller frees.
char *effect_find_checkpoint(const char *model, const char *run_dir, const char *reference_run);

typedef enum {
  EFFECT_OUT_CURRENT,    // same shard, checkpoint and threshold: keep
  EFFECT_OUT_SUMMARIES,  // same shard and checkpoint, another threshold: rewrite the summaries
  EFFECT_OUT_STALE,      // missing, foreign or computed from other inputs: compute
} effect_out_state;

// What to do with `path` given the current shard digest, checkpoint digest and threshold;
// when `why` is non-NULL, a short reason ("missing", "shard changed", "effect.threshold
// changed", ...) in *why (static), NULL when current.
effect_out_state effect_output_state(const char *path, const char *shard_digest,
                                     const char *ckpt_digest, double threshold, const char **why);

// Computes e's summaries for `threshold` and writes e to `path` (atomically) with the
// provenance `pv`.
void effect_output_write(const char *path, effect_file *e, double threshold, const h5_provenance *pv);
// Rewrites the summaries of the effect file at `path` for `threshold`: reads it, computes
// them again and writes it back with the provenance `pv`. Effects and ranks are unchanged.
void effect_output_resummarize(const char *path, double threshold, const h5_provenance *pv);

#endif
