// nq-seeds: the summary across seeds of one experiment (jobs/run-local.sh --seeds N writes it):
// mean, sd and per-seed values per model and metric, and the paired comparison with the
// baseline pooled over seeds. A tool, not a pipeline stage; the work is in common/seeds/eval_seeds.c.
//   build/nq-seeds OUT_DIR EVAL_DIR... [--baseline ROW] [--bootstrap N] [--label L]...
#include "seeds/eval_seeds.h"

int main(int argc, char **argv) { return eval_seeds_main(argc, argv); }
