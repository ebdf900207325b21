// Paths the config gives relative to the run: a `data.files` entry may contain "{run_dir}"
// (the benchmark nq-synth writes into the run directory). No MPI here.
//
// defines: data_file_path, run_path_expand
#ifndef NQ_RUN_PATHS_H
#define NQ_RUN_PATHS_H

#include "config/config.h"

// data.files[i] with its first "{run_dir}" replaced by the config's run_dir; caller frees.
char *data_file_path(const config *c, int i);
// `path` with its first "{run_dir}" replaced by the config's run_dir; caller frees.
char *run_path_expand(const config *c, const char *path);

#endif
