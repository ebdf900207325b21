// An nq-train run's metrics.h5: the table below names every dataset once; its file_kind is
// read and written by files/file_kind.c.
#include "files/train_metrics_file.h"

// name spelled whole, so a grep for a dataset finds this table
#define STEP_COL(name, member, meaning) \
  {name, LF_F64, offsetof(train_metrics, member), TRAIN_METRICS_STEPS, 0, 0, "steps", meaning}
static const h5_field train_metrics_fields[] = {
    {"metrics/step", LF_I64, offsetof(train_metrics, step), TRAIN_METRICS_STEPS, 0, LF_SETS_COUNT, "steps",
     "optimizer step, 0-based"},
    STEP_COL("metrics/loss", loss, "the objective's loss (mean over the global batch)"),
    STEP_COL("metrics/L_n", L_n, "nextquill: L_n; other objectives: the loss"),
    STEP_COL("metrics/L_p", L_p, "nextquill: L_p; other objectives: 0"),
    STEP_COL("metrics/lr", lr, "learning rate of the step"),
    STEP_COL("metrics/grad_norm", grad_norm, "global gradient norm before clipping"),
    STEP_COL("metrics/tokens_per_s", tokens_per_s, "forwarded tokens per second (all ranks, both passes)"),
    STEP_COL("metrics/pref_share", pref_share,
             "nextquill: share of target tokens with mask 1 (annotations) or the online hi weight "
             "(online); else 0"),
    STEP_COL("metrics/step_seconds", step_seconds, "wall time of the step"),
    {"valid/step", LF_I64, offsetof(train_metrics, valid_step), TRAIN_METRICS_VALIDATIONS, 0, LF_SETS_COUNT,
     "validations", "steps done when the validation ran (every train.valid_every steps and at the end)"},
    {"valid/loss", LF_F64, offsetof(train_metrics, valid_loss), TRAIN_METRICS_VALIDATIONS, 0, 0,
     "validations",
     "the objective's loss on the first train.valid_samples samples of split valid (with-history "
     "prompts, no dropout)"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
// Not stored: metrics/step and valid/step give them (LF_SETS_COUNT).
static const char *const train_metrics_counts[] = {"steps", "validations", NULL};

const h5_layout train_metrics_layout = {"training metrics", "train", train_metrics_fields,
                                        train_metrics_counts};

const file_kind train_metrics_kind = {
    .layout = &train_metrics_layout,
    .size = sizeof(train_metrics),
    .count_at = {offsetof(train_metrics, count[TRAIN_METRICS_STEPS]),
                 offsetof(train_metrics, count[TRAIN_METRICS_VALIDATIONS])},
    .writers = (const char *const[]){"train", NULL},
};
