// Rank 0: the files of <run_dir>/eval/ (docs/eval.md "Outputs"), each X.tmp then renamed:
// <row>/predictions.jsonl and <row>/metrics.json (keys in formats/eval_outputs.h),
// summary.md (also printed) and summary.csv.
// defines: eval_write
#ifndef NQ_EVAL_WRITE_H
#define NQ_EVAL_WRITE_H

#include "eval/eval_opts.h"
#include "eval/eval_results.h"
#include "eval/eval_samples.h"
#include "pipeline/stage.h"

void eval_write(const stage_args *s, const eval_opts *o, const eval_samples *d, const eval_results *r);

#endif
