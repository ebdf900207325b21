// nq-annotate's driver (stage 3): read every effects/<shard>.h5, apply the rule, write
// annotations/<shard>.h5 (weights + mask aligned with the shard's target tokens) and
// annotations/summary.json. Never touches the model, so trying another rule or threshold
// (--set annotate.threshold=0.1) takes seconds.
//
// defines: annotate_opts, annotate_effects, annotate_run, annotate_rule_from_settings
#ifndef NQ_ANNOTATE_RUN_H
#define NQ_ANNOTATE_RUN_H

#include "annotate/annotate.h"
#include "pipeline/stage.h"

typedef struct {
  const char *effects_dir;   // <run_dir>/effects
  const char *shards_dir;    // <run_dir>/shards (the effects' shards, by file name)
  const char *out_dir;       // <run_dir>/annotations
  const char *run_dir;       // effect file paths are recorded relative to it (NULL: as given)
  annot_rule rule;
  int hist_bins;             // GSL histogram of effects over [-1, 1]
  const char *config_text;   // provenance
  int mpi_size;
  const char *stamp;         // the invocation's stamp (pipeline/freshness.h), or NULL
} annotate_opts;

// The work, callable without MPI. Stops with a message naming the stage to rerun when an
// effect file is missing, stale (its shard changed since nq-effect ran) or malformed.
void annotate_effects(const annotate_opts *o);

// The stage: rank 0 annotates (seconds of work), the others wait. Returns 0.
int annotate_run(const settings *set, const stage_args *a);

// The rule of the `annotate` section.
annot_rule annotate_rule_from_settings(const annotate_settings *a);

#endif
