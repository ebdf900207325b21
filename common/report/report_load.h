// Loading a run for nq-report: the eval table and the training metrics (report_load.c), the
// corpus with its effects and annotations and the shown users' samples (report_corpus.c).
// Each loader notes what it could not find (report_note_missing) and carries on.
//
// defines: report_load_eval, report_load_runs, report_load_corpus, report_pick_users
#ifndef NQ_REPORT_LOAD_H
#define NQ_REPORT_LOAD_H

#include "report/report_data.h"

// Rows of <eval_dir>/summary.csv with their metrics.json and predictions.jsonl.
void report_load_eval(report *r, const char *eval_dir);
// metrics.h5 of every training step of the graph (r->graph) that has one.
void report_load_runs(report *r);
// The users to show: `want` (may be NULL) first, then, from the eval rows, the `n_best`
// users whose ROUGE-L gains most over the baseline row and the `n_worst` who lose most
// (without eval: the first users of the corpus, filled in by report_load_corpus).
void report_pick_users(report *r, const char *want, int n_best, int n_worst);
// The row compared with the baseline (nextquill when present) and the baseline row itself
// (*baseline; NULL without one); NULL when there is no pair to compare.
const report_row *report_compared_row(const report *r, const report_row **baseline);
// Streams every shard with its effect and annotation files: tokenizer, effect histogram,
// share above `threshold`, ROC inputs, per-token-type sums, and the samples of r->users
// (when r->users is empty, the first `fallback_users` users of the first shard).
void report_load_corpus(report *r, double threshold, int fallback_users);

#endif
