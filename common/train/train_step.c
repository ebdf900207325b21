// One optimizer step (llm.c's loop body: batches, forward/backward, all-reduce, update) and
// the validation pass. Each rank backpropagates 1/G x its samples' losses; the gradient
// arena is summed over the ranks by train_zero.c (bucketed non-blocking all-reduces, or ZeRO-1's
// reduce-scatter, sharded AdamW and all-gather; posted from inside the last backward pass when
// train.overlap_comm; docs/training.md, docs/scaling.md). With train.adapter = "lora" only the
// adapters' arena has gradients: it is small, so it is all-reduced whole (chunked), never
// sharded or overlapped, and updated by the adapters' AdamW (train_lora.c).
#include <stdio.h>

#include "pipeline/mpi_chunked.h"
#include "train/trainer.h"

// Sums the step's gradients and losses over the ranks (in place).
static void reduce_step(trainer *t, loss_sums *acc) {
  if (t->m->lora) {   // the adapters' arena: small, summed whole (no buckets, no sharding)
    size_t n;
    float *grads = train_grad_arena(t, &n);
    mpi_allreduce_f32_sum(grads, n, MPI_COMM_WORLD);
  } else {
    train_zero_reduce(&t->zero, t->m);
  }
  double red[6] = {acc->loss, acc->loss_n, acc->loss_p, acc->tokens, acc->pref_tokens, acc->targets};
  mpicheck(MPI_Allreduce(MPI_IN_PLACE, red, 6, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "summing losses");
  *acc = (loss_sums){red[0], red[1], red[2], red[3], red[4], red[5]};
}

static void log_step(trainer *t, long step, const loss_sums *acc, double lr, double norm, double dt) {
  long G = t->global_batch;
  int two_passes = t->o.objective == OBJ_NEXTQUILL;
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
  double t0 = wall_seconds();
  train_step_begin(t, step);   // the model's or the adapters' arena (train_lora.c)
  loss_sums acc = {0};
  for (int a = 0; a < t->o.accum; a++) {
    train_batch_pick_train(&t->batch, &t->data, &t->o, t->s->rank, t->s->size, t->global_batch, step, a);
    if (a == t->o.accum - 1 && !t->m->lora) train_zero_arm(&t->zero, t->m);   // its backward finishes the gradients
    train_micro_batch(&t->work, &t->data, &t->o, &t->batch, (float)(1.0 / t->global_batch), 1, &acc);
  }
  double norm, lr = lr_schedule(&t->schedule, step);
  if (t->m->lora) {   // LoRA: the adapters' optimizer (train_lora.c)
    reduce_step(t, &acc);
    size_t n;
    float *grads = train_grad_arena(t, &n);
    norm = grad_global_norm(grads, n);
    grad_clip(grads, n, norm, t->o.grad_clip);
    train_optimizer_step(t, (float)lr, step + 1);
  } else {            // the whole model: train_zero.c (ZeRO-1 / overlap)
    train_zero_disarm(t->m);
    reduce_step(t, &acc);
    norm = train_zero_norm(&t->zero, t->m);
    train_zero_update(&t->zero, t->m, norm, t->o.grad_clip, &t->adamw, (float)lr, step + 1);
  }
  double dt = wall_seconds() - t0;
  t->steps_s += dt;
  log_step(t, step, &acc, lr, norm, dt);
}

void train_validate(trainer *t, long done) {
  const stage_args *s = t->s;
  int B = t->o.micro_batch, n = t->o.valid_samples < t->data.n_valid ? t->o.valid_samples : t->data.n_valid;
  loss_sums va = {0};
  for (int first = s->rank * B; first < n; first += s->size * B) {   // rank r: every size-th batch
    train_batch_pick_valid(&t->batch, &t->data, &t->o, first, first + B <= n ? B : n - first);
    train_micro_batch(&t->work, &t->data, &t->o, &t->batch, 1.f, 0, &va);
  }
  mpicheck(MPI_Allreduce(MPI_IN_PLACE, &va.loss, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
           "summing validation losses");
  if (n > 0) {
    train_log_push_valid(&t->log, done, va.loss / n);
    if (s->rank == 0) message("train: step %ld validation loss %.4f (%d samples)", done, va.loss / n, n);
  }
}
