// One optimizer step, which reads like llm.c's loop body: batch, forward + backward, then
// through the trained target (train_target, trainer.h): reduce, clip, update; and the
// validation pass. Each rank backpropagates 1/G x its samples' losses; the target sums its
// gradient arena over the ranks (the whole model: train_zero.c's buckets or ZeRO-1, posted from
// inside the last backward pass with train.overlap_comm; LoRA: the adapters' small arena
// all-reduced whole; docs/training.md, docs/scaling.md).
#include <stdio.h>

#include "train/trainer.h"

// The step's loss sums over the ranks (in place), in double.
static void reduce_losses(loss_sums *acc) {
  double red[6] = {acc->loss, acc->loss_n, acc->loss_p, acc->tokens, acc->pref_tokens, acc->targets};
  mpicheck(MPI_Allreduce(MPI_IN_PLACE, red, 6, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "summing losses");
  *acc = (loss_sums){red[0], red[1], red[2], red[3], red[4], red[5]};
}

static void log_step(trainer *t, long step, const loss_sums *acc, double lr, double norm, double dt) {
  long G = t->global_batch;
  int two_passes = t->set->train.objective == OBJ_NEXTQUILL;
  train_step_row r = {acc->loss / G, acc->loss_n / G, acc->loss_p / G, lr, norm,
                      acc->tokens / (dt > 0 ? dt : 1e-9),
                      two_passes ? acc->pref_tokens / (acc->targets > 0 ? acc->targets : 1) : 0, dt};
  train_log_push_step(&t->log, step, &r);
  char line[160];
  snprintf(line, sizeof line, "loss %.4f L_n %.4f L_p %.4f lr %.2e gnorm %.3f %.0f tok/s", r.loss, r.L_n,
           r.L_p, lr, norm, r.tokens_per_s);
  progress_update(&t->progress, (double)(step + 1), line);
}

void train_step(trainer *t, long step) {
  const train_settings *ts = &t->set->train;
  const train_target *g = t->target;
  double t0 = wall_seconds();
  loss_sums acc = {0};
  g->zero(t, step);
  for (int a = 0; a < ts->accum; a++) {
    train_batch_pick_train(&t->batch, &t->data, ts, t->s->rank, t->s->size, t->global_batch, step, a);
    if (t->lo) lora_set_batch(t->lo, t->batch.slot, t->batch.n);   // dropout masks per sample, not per rank
    if (a == ts->accum - 1) g->reduce_begin(t);   // this backward finishes the gradients
    train_micro_batch(&t->work, &t->data, ts, &t->batch, (float)(1.0 / t->global_batch), 1, &acc);
  }
  g->reduce(t);
  reduce_losses(&acc);
  double lr = lr_schedule(&t->schedule, step), norm = g->clip(t);
  g->update(t, (float)lr, step + 1);
  double dt = wall_seconds() - t0;
  t->steps_s += dt;
  log_step(t, step, &acc, lr, norm, dt);
}

void train_validate(trainer *t, long done) {
  const stage_args *s = t->s;
  const train_settings *ts = &t->set->train;
  int B = (int)ts->micro_batch, n = ts->valid_samples < t->data.n_valid ? (int)ts->valid_samples : t->data.n_valid;
  loss_sums va = {0};
  for (int first = s->rank * B; first < n; first += s->size * B) {   // rank r: every size-th batch
    train_batch_pick_valid(&t->batch, &t->data, ts, first, first + B <= n ? B : n - first);
    train_micro_batch(&t->work, &t->data, ts, &t->batch, 1.f, 0, &va);
  }
  mpicheck(MPI_Allreduce(MPI_IN_PLACE, &va.loss, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
           "summing validation losses");
  if (n > 0) {
    train_log_push_valid(&t->log, done, va.loss / n);
    if (s->rank == 0) message("train: step %ld validation loss %.4f (%d samples)", done, va.loss / n, n);
  }
}
