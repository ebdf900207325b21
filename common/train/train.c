// nq-train (docs/training.md): train_run, which reads like llm.c's loop: data, set-up, steps,
// validation, checkpoints, finish. The parts it calls are listed in trainer.h.
#include "train/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "train/trainer.h"

// ---- run ------------------------------------------------------------------------------------
static int every(long n, long done) { return n > 0 && done % n == 0; }

// After a signal: the checkpoint of step `done` is written; ask for a requeue.
static int requeue(const trainer *t, int sig, long done) {
  if (t->s->rank == 0)
    message("train: signal %d: checkpoint at step %ld written; exiting %d (rerun with --resume)", sig,
            done, TRAIN_EXIT_REQUEUE);
  return TRAIN_EXIT_REQUEUE;
}

// The communication share (docs/scaling.md, make bench "dp"): seconds this rank spent waiting
// for the gradient sums and weight gathers, and posting/testing them inside the backward.
static void train_comm_report(const trainer *t) {
  if (t->s->size < 2 || t->s->rank != 0) return;
  double w = t->zero.comm_s, p = t->zero.post_s, all = t->steps_s > 0 ? t->steps_s : 1e-9;
  message("train: communication: waits %.3f s + posting %.3f s of %.3f s in steps (%.1f%%); overlap %s, "
          "%ld of %ld gradient buckets posted during the backward", w, p, t->steps_s, 100 * (w + p) / all,
          t->zero.overlap ? "on" : "off", t->zero.early, t->zero.posts);
}

// The steps of the trained target (train_step.c): validation every train.valid_every steps,
// a checkpoint every train.ckpt_every and at the end, and on a signal a checkpoint and a stop.
// *done: the steps done after this run.
static int train_loop(trainer *t, long *done) {
  const train_settings *ts = &t->set->train;
  if (t->step0 == ts->steps && ts->steps > 0) {
    // --resume from the last checkpoint: a kill or a full disk after it left the final outputs
    // missing or partial; they are written again from it (the weights an uninterrupted run
    // writes), and metrics.h5 with them
    if (t->s->rank == 0) {
      message("train: the checkpoint of the last step (%ld) is there: writing the final outputs from it", t->step0);
      file_write(&train_metrics_kind, t->metrics_path, &t->log.rows, &t->prov);
      t->target->save_final(t, t->step0);
    }
    mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for the final outputs");
  }
  for (long step = t->step0; step < ts->steps; step++) {
    train_step(t, step);
    if (step == t->step0) mem_trace("train: first step done");
    *done = step + 1;
    int last = *done == ts->steps;
    if (every(ts->valid_every, *done) || last) train_validate(t, *done);
    int sig = train_signal_agreed();
    if (every(ts->ckpt_every, *done) || last || sig) train_checkpoint(t, *done, last);
    if (sig && !last) return requeue(t, sig, *done);
  }
  return 0;
}

int train_run(const settings *set, const stage_args *s) {
  trainer t;
  trainer_begin(&t, set, s);   // the options; what is trained (train_target), picked once
  train_signals_install();
  int plan_only = stage_option_value(s, "--plan") != NULL;
  if (!plan_only || !train_data_shapes(&t.data, set)) train_data_load(&t.data, set);   // --plan: shapes suffice
  if (train_plan(&t)) {   // --plan: print it, do nothing else
    train_data_free(&t.data);
    train_opts_free(&t.o);
    return 0;
  }
  trainer_setup(&t);   // output directory, model, reference, buffers, provenance

  long done = t.step0;
  // one adapter per user (train_users.c), else the steps of the one model or adapter
  int rc = set->train.per_user ? train_users_run(&t) : train_loop(&t, &done);
  mem_trace("train: finished");
  char fin[96];
  snprintf(fin, sizeof fin, "%ld steps in %.1f s", done - t.step0, wall_seconds() - t.t_start);
  progress_finish(&t.progress, fin);
  train_comm_report(&t);

  trainer_free(&t);
  train_data_free(&t.data);
  train_opts_free(&t.o);
  return rc;
}
