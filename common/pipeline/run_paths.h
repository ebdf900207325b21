// Paths of the run derived from the config.
#ifndef NQ_RUN_PATHS_H
#define NQ_RUN_PATHS_H

#include "config/config.h"

// The i-th entry of data.files with "{run_dir}" replaced by run_dir (caller frees).
char *data_file_path(const config *c, int i);

#endif
