// The training metrics of one nq-train run, <run_dir>/<train.name>/metrics.h5: one row per
// optimizer step under metrics/, one per validation under valid/ (the table
// `train_metrics_layout`; docs/hdf5-layout.md#training-metrics). Rewritten whole (atomically)
// at every checkpoint; read back by --resume. Read, write and free it through files/file_kind.h
// with `train_metrics_kind`.
//
// defines: train_metrics, train_metrics_layout, train_metrics_kind
#ifndef NQ_TRAIN_METRICS_FILE_H
#define NQ_TRAIN_METRICS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "files/file_kind.h"
#include "h5/layout.h"

enum { TRAIN_METRICS_STEPS, TRAIN_METRICS_VALIDATIONS, TRAIN_METRICS_N_COUNTS };

typedef struct {
  // one row per step (count[TRAIN_METRICS_STEPS])
  int64_t *step;          // 0-based optimizer step
  double *loss, *L_n, *L_p, *lr, *grad_norm, *tokens_per_s, *pref_share, *step_seconds;
  // one row per validation (count[TRAIN_METRICS_VALIDATIONS])
  int64_t *valid_step;    // steps done when it ran
  double *valid_loss;
  size_t count[TRAIN_METRICS_N_COUNTS];
} train_metrics;

extern const h5_layout train_metrics_layout;
// The kind: written by nq-train.
extern const file_kind train_metrics_kind;

#endif
