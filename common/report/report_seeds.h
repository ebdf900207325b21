// nq-report SEEDS_DIR: the page of an experiment run over several seeds (jobs/run-local.sh
// --seeds N writes <run_dir>/seeds/<eval dir>/summary.csv with build/nq-seeds). Reads every
// summary.csv of SEEDS_DIR (its own and its subdirectories') and writes SEEDS_DIR/index.html
// (or --out DIR): per eval directory the mean ± sd of each row and metric with every seed's
// value, the paired difference with the baseline and its 95% interval, and per headline metric
// two inline SVG figures (per-seed points with mean ± sd; differences with intervals). No
// config, no MPI; docs/report.md.
//
// defines: report_seeds_main
#ifndef NQ_REPORT_SEEDS_H
#define NQ_REPORT_SEEDS_H

// argv[1] is the seeds directory; returns the exit code.
int report_seeds_main(int argc, char **argv);

#endif
