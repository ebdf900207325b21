// The pipeline as a graph. Each step declares the paths it reads and writes (the run layout's,
// taken from its own effective settings: the user's overrides, then its run's
// `pipeline.runs` overrides); step B waits for step A when B reads a path A writes (or one
// inside it). Whether each step's output is current is pipeline/freshness.h's answer;
// jobs/run-local.sh and jobs/submit.sh take the order, the dependencies, the stamps, the
// states and each run's overrides from `nq-config CONFIG --steps` (pipeline_graph_print). No
// MPI here.
//
// defines: pipeline_step, pipeline_graph, pipeline_graph_build, pipeline_graph_print,
//          pipeline_graph_free, pipeline_graph_find, step_paths, path_within, path_clean
#ifndef NQ_STEPS_H
#define NQ_STEPS_H

#include <stdio.h>

#include "pipeline/stages.h"
#include "settings/settings.h"

typedef enum { FRESH_NOT_RUN, FRESH_STALE, FRESH_CURRENT } fresh_state;

typedef struct {
  char *name;           // "synth", "lm", "effect", ...
  const stage_info *stage;
  char **sets;          // overrides of its run ("train.name=lm", ...), else none
  int n_sets;
  char **reads, **writes;  // paths (run_dir joined to relative ones); writes[0] is its primary
  int n_reads, n_writes;   // output, the one its stamp is kept for
  int *after;           // the steps it waits for, ascending, none reached through another
  int n_after;
  int *inputs;          // every step it reads from (after, and those reached through them)
  int n_inputs;
  char **outside;       // what it reads that no step writes (the corpus, a given model)
  int n_outside;
  char config_digest[65];   // of the canonical text of the sections its stage reads
  char *config_lines;       // "config <section> <digest>" per section (step_config_lines)
  // filled by freshness_graph (pipeline/freshness.h):
  char stamp[65];       // what its stamp is when every step it reads from is current
  fresh_state state;
  char why[512];        // why it is not current ("" when it is)
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
// run_dir (space separated, or "-"), its state ("current", "not run", or "stale: <why>").
void pipeline_graph_print(const pipeline_graph *g, FILE *out);
void pipeline_graph_free(pipeline_graph *g);
// The index of step `name`, or -1.
int pipeline_graph_find(const pipeline_graph *g, const char *name);

// What a step of `stage` reads and writes under the settings `set`, as the graph has it
// (paths cleaned; arrays and strings: caller frees). Used by the graph and by a stage for
// its own stamp.
void step_paths(const settings *set, const stage_info *stage, char ***reads, int *n_reads, char ***writes,
                int *n_writes);
// One line "config <section> <SHA-256 of its canonical text>" per section `stage` reads, so a
// stamp says which section changed (caller frees).
char *step_config_lines(const settings *set, const stage_info *stage);
// Whether a stage makes steps of the graph (nq-report does not).
int stage_is_step(const stage_info *stage);
// Path a equals b or lies inside it (b a directory).
int path_within(const char *a, const char *b);
// Collapses "//", "/./" and a leading "./", drops a trailing "/", in place: one spelling per
// path, so a reader's path and a writer's compare as strings. Returns p.
char *path_clean(char *p);

#endif
