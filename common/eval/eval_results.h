// Rank 0's results of nq-eval: the gathered records decoded to text and scored against the
// references, and each row's bootstrap summary (docs/eval.md "Scores per sample" and
// "Aggregates, intervals, p-values").
// defines: eval_results, eval_results_create, eval_results_free
#ifndef NQ_EVAL_RESULTS_H
#define NQ_EVAL_RESULTS_H

#include <stddef.h>

#include "eval/eval.h"
#include "eval/eval_opts.h"
#include "eval/eval_records.h"
#include "eval/eval_samples.h"

// Per (row r, sample k) arrays are indexed [r * n + k].
typedef struct {
  size_t n;                    // evaluated samples
  int n_rows;
  const eval_record **rec;     // (n_rows * n) into the gathered buffer
  char **ref;                  // (n) reference texts
  char **out;                  // (n_rows * n) generated texts (invalid UTF-8 as U+FFFD)
  eval_sample_scores *sc;      // (n_rows * n)
  eval_row_summary *sum;       // (n_rows)
  int baseline;                // row of the p-values, -1 for none
  int have_phrases;            // some evaluated record had eval.phrases_field
} eval_results;

// From the gathered records buf (len bytes, kept alive by the caller while r is used).
void eval_results_create(eval_results *r, const eval_opts *o, const eval_samples *d,
                         const char *buf, size_t len);
void eval_results_free(eval_results *r);

#endif
