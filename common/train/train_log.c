// The metrics rows of a run, kept in the columns metrics.h5 is written from
// (formats/train_metrics_file.h); the columns grow by doubling.
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "train/trainer.h"

#define GROW(p, cap) ((p) = xrealloc((p), (cap) * sizeof *(p)))

static void grow_steps(train_metrics *r, size_t cap) {
  GROW(r->step, cap), GROW(r->loss, cap), GROW(r->L_n, cap), GROW(r->L_p, cap), GROW(r->lr, cap);
  GROW(r->grad_norm, cap), GROW(r->tokens_per_s, cap), GROW(r->pref_share, cap);
  GROW(r->step_seconds, cap);
}

static void grow_valid(train_metrics *r, size_t cap) { GROW(r->valid_step, cap), GROW(r->valid_loss, cap); }

void train_log_create(train_log *g) {
  memset(g, 0, sizeof *g);
  g->cap[TRAIN_METRICS_STEPS] = 64;
  g->cap[TRAIN_METRICS_VALIDATIONS] = 16;
  grow_steps(&g->rows, g->cap[TRAIN_METRICS_STEPS]);
  grow_valid(&g->rows, g->cap[TRAIN_METRICS_VALIDATIONS]);
}

void train_log_free(train_log *g) {
  file_free(&train_metrics_kind, &g->rows);
  memset(g, 0, sizeof *g);
}

void train_log_push_step(train_log *g, long step, const train_step_row *v) {
  train_metrics *r = &g->rows;
  size_t i = r->count[TRAIN_METRICS_STEPS]++;
  if (i == g->cap[TRAIN_METRICS_STEPS]) grow_steps(r, g->cap[TRAIN_METRICS_STEPS] *= 2);
  r->step[i] = step;
  r->loss[i] = v->loss, r->L_n[i] = v->L_n, r->L_p[i] = v->L_p, r->lr[i] = v->lr;
  r->grad_norm[i] = v->grad_norm, r->tokens_per_s[i] = v->tokens_per_s;
  r->pref_share[i] = v->pref_share, r->step_seconds[i] = v->step_seconds;
}

void train_log_push_valid(train_log *g, long step, double loss) {
  train_metrics *r = &g->rows;
  size_t i = r->count[TRAIN_METRICS_VALIDATIONS]++;
  if (i == g->cap[TRAIN_METRICS_VALIDATIONS]) grow_valid(r, g->cap[TRAIN_METRICS_VALIDATIONS] *= 2);
  r->valid_step[i] = step;
  r->valid_loss[i] = loss;
}

void train_log_resume(train_log *g, const char *path, long upto) {
  if (!file_exists(path)) return;
  train_metrics old;
  file_read(&train_metrics_kind, path, &old);
  for (size_t i = 0; i < old.count[TRAIN_METRICS_STEPS] && old.step[i] < upto; i++) {
    train_step_row v = {old.loss[i], old.L_n[i], old.L_p[i], old.lr[i], old.grad_norm[i],
                        old.tokens_per_s[i], old.pref_share[i], old.step_seconds[i]};
    train_log_push_step(g, (long)old.step[i], &v);
  }
  for (size_t i = 0; i < old.count[TRAIN_METRICS_VALIDATIONS] && old.valid_step[i] <= upto; i++)
    train_log_push_valid(g, (long)old.valid_step[i], old.valid_loss[i]);
  file_free(&train_metrics_kind, &old);
}
