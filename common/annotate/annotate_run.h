// nq-annotate's work, callable without MPI: read every effects/<shard>.h5, apply the rule,
// write annotations/<shard>.h5 (weights + mask aligned with the shard's target tokens)
// and annotations/summary.json. Never touches the model.
#ifndef NQ_ANNOTATE_RUN_H
#define NQ_ANNOTATE_RUN_H

#include "annotate/annotate.h"

typedef struct {
  const char *effects_dir;   // <run_dir>/effects
  const char *out_dir;       // <run_dir>/annotations
  annot_rule rule;
  int hist_bins;             // GSL histogram of effects over [-1, 1]
  const char *config_text;   // provenance
  int mpi_size;
} annotate_opts;

// Stops with a message naming the stage to rerun when an effect file is missing, stale
// (its shard changed since nq-effect ran) or malformed.
void annotate_run(const annotate_opts *o);

// Rule from the `annotate` config section.
struct config;
annot_rule annotate_rule_from_config(const struct config *c);

#endif
