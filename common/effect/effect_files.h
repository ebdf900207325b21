// nq-effect's output files: which checkpoint is the reference model, whether an existing
// effects/<shard>.h5 was written under this invocation's stamp (so an interrupted run
// recomputes only what is missing; pipeline/freshness.h), and writing one, with its summaries
// and provenance.
//
// defines: effect_find_checkpoint, effect_output_stale, effect_output_write
#ifndef NQ_EFFECT_FILES_H
#define NQ_EFFECT_FILES_H

#include "files/effects_file.h"
#include "h5/provenance.h"
#include "settings/settings.h"

// effect.model when non-empty (must exist), else the model nq-train wrote for the run
// effect.reference_run: its final model if present, else (a run still going or stopped) the
// checkpoint with the largest step. Stops naming the training run to do when there is none.
// Caller frees.
char *effect_find_checkpoint(const settings *set);

// Why the file at `path` is not the one this invocation would write (a static reason:
// "missing", "unreadable: ...", "not an nq-effect output", "another stamp"), or NULL when
// it carries `stamp`.
const char *effect_output_stale(const char *path, const char *stamp);

// Computes e's summaries for `threshold` and writes e to `path` (atomically) with the
// provenance `pv`.
void effect_output_write(const char *path, effect_file *e, double threshold, const h5_provenance *pv);

#endif
