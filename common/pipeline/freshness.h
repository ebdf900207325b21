// The one answer to "is this output current, and why not". Every step's output has a stamp:
// the digest of its stage (and the stage's version), the config sections the stage reads,
// the stamps of the outputs it reads, and the content digest of every file it reads that no
// step writes (the corpus, a given model). A stage records its stamp when it succeeds, with
// the content digest of what it wrote, in the run layout's stamp record of its primary output
// (<run_dir>/stamps/<output>, or <output>.stamp for an output outside run_dir). An output is
// current when its record holds the stamp it would get now and what it wrote is unchanged.
//
// Asked by the stages at start-up (stage.c: --force aside, a current output is not made
// again), by `nq-config --steps` for jobs/run-local.sh and jobs/submit.sh, and by the report.
//
// defines: freshness_graph, fresh_invocation, freshness_invocation, freshness_record,
//          freshness_invocation_free
#ifndef NQ_FRESHNESS_H
#define NQ_FRESHNESS_H

#include "pipeline/steps.h"
#include "settings/settings.h"

// Fills every step's stamp (as it is once the steps it reads from are current), state and
// reason.
void freshness_graph(pipeline_graph *g);

// One invocation of a stage: its stamp from its own settings and the records of what it
// reads (as they are now), and its state.
typedef struct {
  char stamp[65];
  fresh_state state;
  char why[512];
  char *record;          // its stamp record's path
  char *body;            // the record's lines that the stamp digests
  char **outputs;        // what it writes (their content digests go into the record)
  int n_outputs;
  char *run_dir;
} fresh_invocation;

// The invocation of `stage` with the settings `set`: what it reads is found among the stamp
// records on disk by their outputs, so any overrides work.
void freshness_invocation(fresh_invocation *f, const settings *set, const stage_info *stage);
// After the invocation succeeded: writes its record (atomically).
void freshness_record(const fresh_invocation *f);
void freshness_invocation_free(fresh_invocation *f);

#endif
