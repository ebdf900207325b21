// The pipeline as a graph. Each step declares the paths it reads and writes, taken from its
// own effective config (the user's overrides, then its run's `pipeline.runs` overrides);
// step B waits for step A when B reads a path A writes (or one inside it). A step's stamp is
// a digest of its config sections (pipeline/stages.c) and the stamps of the steps it waits
// for, so a change reaches only the steps that read it, directly or through their inputs.
// jobs/run-local.sh and jobs/submit.sh take the order, the dependencies, the stamps and each
// run's overrides from `nq-config CONFIG --steps` (pipeline_graph_print). No MPI here.
//
// defines: pipeline_step, pipeline_graph, pipeline_graph_build, pipeline_graph_print,
//          pipeline_graph_free
#ifndef NQ_STEPS_H
#define NQ_STEPS_H

#include <stdio.h>

typedef struct {
  char *name;           // "synth", "lm", "effect", ...
  const char *stage;    // its executable without "nq-": "train"
  char **sets;          // overrides of a training run ("train.name=lm", ...), else none
  int n_sets;
  char **reads, **writes;  // paths (run_dir joined to relative ones)
  int n_reads, n_writes;
  int *after;           // indices of the steps it waits for, ascending
  int n_after;
  char stamp[65];
} pipeline_step;

typedef struct {
  pipeline_step *s;     // in an order where every step comes after those it waits for
  int n;
  char *run_dir;
} pipeline_graph;

// The graph of the experiment `cfg_path` with the user's overrides `sets` (applied before each
// run's own) and `last` overrides (applied after them: a sweep point's values). Calls fatal()
// on a bad config, a duplicate step name or a cycle.
pipeline_graph *pipeline_graph_build(const char *cfg_path, const char *const *sets, int n_sets,
                                     const char *const *last, int n_last);
// One line per step, tab separated: name, stage, the steps it waits for (comma separated, or
// "-"), stamp, the run's overrides (space separated, or "-"), the paths it writes relative to
// run_dir (space separated, or "-").
void pipeline_graph_print(const pipeline_graph *g, FILE *out);
void pipeline_graph_free(pipeline_graph *g);

#endif
