// nq-seeds: one experiment run with several seeds, summarized. Reads each seed's nq-eval
// directory (<row>/metrics.json for the per-seed value of a row, <row>/predictions.jsonl for
// its per-sample scores) and writes OUT_DIR/summary.md and summary.csv: per row and metric the
// mean and standard deviation over seeds and the per-seed values, and the paired difference
// with the baseline row pooled over the samples of every seed (95% bootstrap interval, paired-
// bootstrap p, seeds won). A tool, not a pipeline stage: no config, no MPI.
//   build/nq-seeds OUT_DIR EVAL_DIR... [--baseline ROW] [--bootstrap N] [--label L]...
//
// defines: eval_seeds_main
#ifndef NQ_EVAL_SEEDS_H
#define NQ_EVAL_SEEDS_H

int eval_seeds_main(int argc, char **argv);

#endif
