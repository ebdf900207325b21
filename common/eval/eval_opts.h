// nq-eval's options from the settings (docs/eval.md "Rows" and "Keys"): the rows (a model and
// how it is prompted), decoding options, the split, bootstrap and the corpus fields.
// defines: ROW_*, eval_row, eval_opts, eval_opts_read, eval_opts_free
#ifndef NQ_EVAL_OPTS_H
#define NQ_EVAL_OPTS_H

#include <stdint.h>

#include "eval/eval.h"
#include "settings/settings.h"

enum { ROW_HIST, ROW_NOHIST, ROW_COS };

typedef struct {
  char name[160];
  int model;      // index into the loaded models
  int mode;       // ROW_*
} eval_row;

typedef struct {
  const settings *set;  // everything else the stage reads (data fields, model, run layout)
  int n_models;
  const char **mname;   // eval.models names (owned by the settings)
  char **mpath;         // their checkpoint paths
  char **udir;          // per-user adapters (eval.user_adapters: users/ directory) or NULL
  int n_rows;
  eval_row *rows;
  eval_decode_opts dec; // eos and vocab_limit are set from the shards by the driver
  int split, max_samples, n_boot, stem;
  uint64_t seed;
  const char *baseline, *phrases_field, *kinds_field, *wordnet_dir;
} eval_opts;

void eval_opts_read(eval_opts *o, const settings *set);
void eval_opts_free(eval_opts *o);

#endif
