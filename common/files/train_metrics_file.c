// Writer and reader of an nq-train run's metrics.h5: the table below names every dataset once.
#include "files/train_metrics_file.h"

#include <string.h>

#include "h5/h5io.h"

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

void train_metrics_write(const char *path, const train_metrics *t, const h5_provenance *prov) {
  h5_out o;
  h5_out_create(&o, path);
  h5_layout_write(o.file, &train_metrics_layout, t, t->count);
  h5_write_provenance(o.file, prov);
  h5_out_commit(&o);
}

void train_metrics_read(const char *path, train_metrics *t) {
  memset(t, 0, sizeof *t);
  hid_t f = h5_open_read(path);
  h5_layout_read(f, path, &train_metrics_layout, t, t->count);
  h5_close(f);
}

void train_metrics_free(train_metrics *t) {
  h5_layout_free(&train_metrics_layout, t, t->count);
  memset(t, 0, sizeof *t);
}
