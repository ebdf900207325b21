// The shared command line and MPI start-up of every stage executable:
//   build/nq-<stage> CONFIG [--set key=value]... [--force] [--resume] [--help]
// Started under mpirun/srun or as a singleton.
#ifndef NQ_STAGE_H
#define NQ_STAGE_H

#include <mpi.h>
#include "pipeline/freshness.h"
#include "pipeline/stages.h"
#include "settings/settings.h"

// An option of one stage's own (nq-report's --user ID): it takes one value, or none (--plan).
// What an option, when given, does to where the stage writes (and so where it locks).
typedef enum {
  OPT_PLAIN = 0,
  OPT_OUT_DIR,      // its value is the directory the stage writes instead of run_dir's: the
                    // stage's lock is taken there, so a read-only run_dir can be looked at
  OPT_WRITES_NONE,  // with it the stage writes nothing (a terminal view): no lock at all
} stage_option_kind;

typedef struct {
  const char *name;       // "--user"
  const char *arg;        // "ID" (for usage); NULL: a flag without a value (value "1" when given)
  const char *help;       // one line for --help
  stage_option_kind kind;
} stage_option;

// This invocation: which stage, where it sits in the MPI job, and its command-line flags.
// With the settings it is all a stage's code below its driver needs (no config file).
typedef struct {
  const stage_info *info;
  int rank, size;
  int force;              // --force: overwrite outputs made with another config
  int resume;             // --resume (training)
  long preview;           // --preview N (nq-shard): print N samples' prompts, write nothing; 0 = off
  const char *preview_id; // --preview-id ID: the sample to print (implies --preview 1)
  const stage_option *options;   // the stage's own options (NULL-name terminated) or NULL
  const char **option_value;     // option_value[i]: the value given for options[i], or NULL
  char stamp[65];         // this invocation's stamp (pipeline/freshness.h); "" when it has none
  const char *cfg_path;   // the config file and the --set overrides given, in order (n_sets):
  const char **sets;      // what the pipeline graph of this run is built from (nq-report)
  int n_sets;
} stage_args;

// A stage's start-up state: its arguments, the settings read once, and what they came from.
typedef struct {
  stage_args a;
  settings *set;
  int records;            // rank 0 writes the stamp record when the stage succeeds
  fresh_invocation fresh; // (rank 0) its stamp, state and record
} stage_ctx;

// MPI_Init, argument parsing (usage on anything unknown, exit 2), settings loaded with the
// overrides and checked for the sections the stage reads, log rank prefix, the stage's lock,
// for the stage called `name` (pipeline/stages.c). Every rank loads the config (shared file
// system). Then the freshness rule (pipeline/freshness.h), --force aside: a current output
// ends the stage here (exit 0, "up to date"), and a stage that refuses stale outputs
// (stages.c) stops naming why its output is not current.
void stage_begin(stage_ctx *s, const char *name, int argc, char **argv);
// The same for a stage with options of its own (`options`, terminated by a NULL name).
void stage_begin_with(stage_ctx *s, const char *name, int argc, char **argv,
                      const stage_option *options);
// The value given for the stage's option `name` ("--user"), or NULL when it was not given.
const char *stage_option_value(const stage_args *a, const char *name);
// On success (rc 0) the stamp record of the output; settings_free and MPI_Finalize; returns
// `rc`, the stage's exit code, so a stage's main ends
// `return stage_end(&s, <stage>_run(s.set, &s.a));`.
int stage_end(stage_ctx *s, int rc);

// Check an MPI return code; stops naming the call site and what was being done.
void mpi_check_at(int rc, const char *what, const char *file, int line);
#define mpicheck(call, what) mpi_check_at((call), (what), __FILE__, __LINE__)

#endif
