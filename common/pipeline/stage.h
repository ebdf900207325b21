// The shared command line and MPI start-up of every stage executable:
//   build/nq-<stage> CONFIG [--set key=value]... [--force] [--resume] [--help]
// Started under mpirun/srun or as a singleton.
#ifndef NQ_STAGE_H
#define NQ_STAGE_H

#include <mpi.h>
#include "config/config.h"
#include "pipeline/stages.h"

// An option of one stage's own (nq-report's --user ID): it takes one value, or none (--plan).
typedef struct {
  const char *name;       // "--user"
  const char *arg;        // "ID" (for usage); NULL: a flag without a value (value "1" when given)
  const char *help;       // one line for --help
} stage_option;

typedef struct {
  const stage_info *info;
  config *cfg;
  int rank, size;
  int force;              // --force: overwrite outputs made with another config
  int resume;             // --resume (training)
  long preview;           // --preview N (nq-shard): print N samples' prompts, write nothing; 0 = off
  const char *preview_id; // --preview-id ID: the sample to print (implies --preview 1)
  const char **sets;      // the --set overrides given, in order (n_sets)
  int n_sets;
  const stage_option *options;   // the stage's own options (NULL-name terminated) or NULL
  const char **option_value;     // option_value[i]: the value given for options[i], or NULL
} stage_ctx;

// MPI_Init, argument parsing (usage on anything unknown, exit 2), config loading with
// overrides, log rank prefix, for the stage called `name` (pipeline/stages.c). Every rank
// loads the config (shared file system).
void stage_begin(stage_ctx *s, const char *name, int argc, char **argv);
// The same for a stage with options of its own (`options`, terminated by a NULL name).
void stage_begin_with(stage_ctx *s, const char *name, int argc, char **argv,
                      const stage_option *options);
// The value given for the stage's option `name` ("--user"), or NULL when it was not given.
const char *stage_option_value(const stage_ctx *s, const char *name);
// config_free and MPI_Finalize; returns `rc`, the stage's exit code, so a stage's main
// ends `return stage_end(&s, <stage>_run(&s));`.
int stage_end(stage_ctx *s, int rc);

// Check an MPI return code; stops naming the call site and what was being done.
void mpi_check_at(int rc, const char *what, const char *file, int line);
#define mpicheck(call, what) mpi_check_at((call), (what), __FILE__, __LINE__)

// <run_dir>/<sub> as a new string (run_dir from the config, created if missing).
char *stage_path(const stage_ctx *s, const char *sub);

#endif
