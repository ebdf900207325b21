// nq-eval's generation on each rank (docs/eval.md "Decoding"): for the evaluated samples at
// positions rank, rank + size, ..., every row's teacher-forced NLL and generated tokens, as
// records (eval_records.h). Every record depends only on the sample and the row.
// defines: eval_generate_rank
#ifndef NQ_EVAL_GENERATE_RANK_H
#define NQ_EVAL_GENERATE_RANK_H

#include "base/util.h"
#include "eval/eval_opts.h"
#include "eval/eval_samples.h"
#include "model/model.h"
#include "pipeline/stage.h"

// Appends this rank's records to out; ms: the loaded models of o->mpath (same order).
void eval_generate_rank(const stage_args *s, const eval_opts *o, const eval_samples *d, model **ms,
                        strbuf *out);

#endif
