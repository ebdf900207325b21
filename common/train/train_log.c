// The metrics rows of a run, kept in the columns metrics.h5 is written from
// (formats/train_metrics_file.h); the columns grow by doubling.
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "h5/h5io.h"
#include "h5/provenance.h"
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

// The nq_stamp of the HDF5 file at `path` (caller frees), NULL when it has none or does not open.
static char *stamp_of(const char *path) {
  hid_t f = h5_try_open_read(path);
  if (f < 0) return NULL;
  h5_provenance_info p;
  char *stamp = h5_provenance_read(f, &p) && p.stamp ? xstrdup(p.stamp) : NULL;
  h5_provenance_info_free(&p);
  h5_close(f);
  return stamp;
}

// metrics.h5 belongs to the run resumed: written under the checkpoint's stamp (the same
// invocation, or one with the same config and inputs), or under this one's (a kill between the
// metrics and the checkpoint of a resumed run with other settings). Another seed's or another
// config's file has neither.
static void require_same_run(const char *path, const char *ckpt, const char *stamp) {
  char *mine = stamp_of(path), *theirs = stamp_of(ckpt);
  int same = mine && ((theirs && !strcmp(mine, theirs)) || (stamp && stamp[0] && !strcmp(mine, stamp)));
  if (!same)
    fatal("%s: written by another run (stamp %.12s; the checkpoint %s has %.12s, this run %.12s): cannot resume "
          "with its rows; rerun with --force to start over", path, mine ? mine : "none", ckpt, theirs ? theirs : "none",
          stamp && stamp[0] ? stamp : "none");
  free(mine), free(theirs);
}

void train_log_resume(train_log *g, const char *path, long upto, const char *ckpt, const char *stamp) {
  if (upto == 0 && !file_exists(path)) return;
  if (!file_exists(path))
    fatal("%s: missing: the metrics rows before step %ld are lost; cannot resume (rerun with --force to start over)",
          path, upto);
  if (!file_is(&train_metrics_kind, path))
    fatal("%s: unreadable (truncated, not HDF5, or not nq-train's metrics): the rows before step %ld are lost; "
          "cannot resume (rerun with --force to start over)", path, upto);
  require_same_run(path, ckpt, stamp);
  train_metrics old;
  file_read(&train_metrics_kind, path, &old);
  for (size_t i = 0; i < old.count[TRAIN_METRICS_STEPS] && old.step[i] < upto; i++) {
    if (old.step[i] != (int64_t)i)
      fatal("%s: row %zu is step %lld, expected %zu: not one run's rows; rerun with --force to start over", path, i,
            (long long)old.step[i], i);
    train_step_row v = {old.loss[i], old.L_n[i], old.L_p[i], old.lr[i], old.grad_norm[i],
                        old.tokens_per_s[i], old.pref_share[i], old.step_seconds[i]};
    train_log_push_step(g, (long)old.step[i], &v);
  }
  if (g->rows.count[TRAIN_METRICS_STEPS] != (size_t)upto)
    fatal("%s: rows of %zu steps, the checkpoint %s is at step %ld: cannot resume; rerun with --force to start over",
          path, g->rows.count[TRAIN_METRICS_STEPS], ckpt, upto);
  for (size_t i = 0; i < old.count[TRAIN_METRICS_VALIDATIONS] && old.valid_step[i] <= upto; i++)
    train_log_push_valid(g, (long)old.valid_step[i], old.valid_loss[i]);
  file_free(&train_metrics_kind, &old);
}
