// What nq-report knows about a run: everything it could read under run_dir, gathered once
// (report_load.c: eval rows, training metrics; report_corpus.c: shards, effects,
// annotations), then drawn by the page (report_page.c) or printed by the terminal view
// (report_term.c). Every part may be missing: `missing` says what was not there and why.
//
// defines: report_row, report_pred, report_train, report_sample, report_unit, report,
//          report_note_missing, report_free, REPORT_HIST_BINS
#ifndef NQ_REPORT_DATA_H
#define NQ_REPORT_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "files/eval_outputs.h"
#include "files/train_metrics_file.h"
#include "pipeline/steps.h"
#include "settings/settings.h"
#include "text/tokenizer.h"

enum { REPORT_HIST_BINS = 80 };   // effect histogram over [-1, 1]: bounded whatever the run

// One prediction of an eval row (predictions.jsonl).
typedef struct {
  char *id, *user, *output;
  double rougeL;                  // per-sample ROUGE-L (NaN when undefined): picks users
} report_pred;

// One row of the eval table (<run_dir>/eval/<row>/metrics.json + predictions.jsonl).
typedef struct {
  char *name, *prompt, *baseline, *decoding;   // decoding: one line naming the settings
  long long n_samples;
  double mean[EM_COUNT], lo[EM_COUNT], hi[EM_COUNT], p[EM_COUNT];   // NaN when undefined
  report_pred *preds;
  size_t n_preds;
} report_row;

// One training run's metrics.h5.
typedef struct {
  char *name;
  train_metrics m;
} report_train;

// A displayed piece of a target: whole UTF-8 characters made of one or more tokens.
typedef struct {
  char *text;
  float effect;     // of its token with the largest |effect| (NaN when not computed)
  float weight;     // NaN without annotations
  uint8_t mask, truth;   // preference mask (annotations), planted truth (shards)
} report_unit;

// A sample of a shown user: its target as units.
typedef struct {
  char *id, *user;
  int split;                      // SPLIT_*
  report_unit *units;
  size_t n_units;
} report_sample;

typedef struct {
  const settings *set;            // the run layout's paths come from it (NULL: a sweep point)
  const pipeline_graph *graph;    // every step with its state (pipeline/freshness.h)
  const char *run_dir;
  char **missing;                 // one line per part that could not be read
  int n_missing;
  // eval
  report_row *rows;
  int n_rows;
  // training runs (the graph's order, rounds included), only those with a metrics.h5
  report_train *runs;
  int n_runs;
  // corpus: shards, effects, annotations
  tokenizer *tok;
  int have_shards, have_effects, have_annotations, have_truth;
  size_t n_targets, n_computed;   // target tokens; those with an effect
  double threshold;               // annotate.threshold (the share marked on the histogram)
  int64_t hist[REPORT_HIST_BINS];
  size_t n_above, n_masked;       // effect > threshold; annotation mask set
  float *roc_score;               // effect of each computed token with truth (n_roc)
  uint8_t *roc_truth, *roc_start; // planted; first planted token of a span
  size_t n_roc;
  double auroc_all, auroc_start;  // NaN without truth
  double *tok_sum;                // per token id: summed effect and count (--top corpus)
  int64_t *tok_count;
  int vocab;
  // users shown
  char **users;
  int n_users;
  report_sample *samples;         // of the shown users, every split
  size_t n_samples;
} report;

// Records that a part is missing ("no eval/: run nq-eval"), printed and shown on the page.
void report_note_missing(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_free(report *r);

#endif
