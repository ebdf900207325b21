// Internal types shared by nq-eval's driver (eval_run.c) and its rank-0 scoring and
// output writer (eval_write.c). Not a public API.
#ifndef NQ_EVAL_IMPL_H
#define NQ_EVAL_IMPL_H

#include "eval/eval.h"
#include "formats/shards_file.h"

enum { ROW_HIST, ROW_NOHIST, ROW_COS };

typedef struct {
  char name[160];
  int model;      // index into the loaded models
  int mode;       // ROW_*
} eval_row;

typedef struct {
  int n_models;
  const char **mname;
  char **mpath;
  int n_rows;
  eval_row *rows;
  eval_decode_opts dec;
  int split, max_samples, n_boot, stem;
  uint64_t seed;
  const char *baseline, *phrases_field, *kinds_field, *wordnet_dir;
} eval_opts;

// The evaluated samples: all shards of the run, and the chosen split's samples sorted by id.
typedef struct {
  int n_shards;
  char **paths;
  shard_data *sh;
  size_t n;              // evaluated samples, sorted by id
  int *sf, *si;          // (shard, index) of each
} eval_data;

// One (sample, row) result as gathered: this header, then n token ids padded to an even count.
typedef struct {
  int32_t k, row, n, eos;
  double nll[6];      // num/den of EM_NLL, EM_NLL_PREF, EM_NLL_OTHER
} rec_head;

int eval_in_list(const config *c, const char *key, const char *name);
// Prompt of evaluated sample k (with or without history): ids and length.
const int32_t *eval_prompt_of(const eval_data *d, size_t k, int hist, int *np);
// Rank 0: decode, score, summarize and write <run_dir>/eval/ from the gathered records.
void eval_score_and_write(const stage_ctx *s, const eval_opts *o, const eval_data *d, const char *buf,
                          size_t len);

#endif
