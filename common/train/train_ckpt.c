// nq-train's checkpoints in <run_dir>/<train.name>/: ckpt-<step, 6 digits>.h5 every
// train.ckpt_every steps and at the end, the newest train.keep kept; at the end the outputs
// the next stages read (docs/training.md). What a checkpoint holds is the trained target's
// (train_target.save: the whole model's weights and AdamW moments, gathered onto rank 0 when
// sharded, or the adapters'); here: the names, the resume blob, rotation, the order of writes.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/path_guard.h"
#include "base/util.h"
#include "files/adapter_file.h"
#include "files/checkpoint.h"
#include "pipeline/run_layout.h"
#include "train/trainer.h"

int train_ckpt_steps(const char *dir, long **out) { return run_list(dir, RUN_CKPT, out); }

char *train_ckpt_path(const char *dir, long step) { return run_file(dir, RUN_CKPT, step); }

train_resume_state train_ckpt_state(const trainer *t, long done) {
  return (train_resume_state){(uint64_t)t->set->train.seed, done, t->global_batch, t->data.n_train};
}

void train_ckpt_resume_state(const char *path, const uint8_t *blob, size_t len, train_resume_state *rs) {
  if (!blob || len != sizeof *rs) fatal("%s: no trainer state; cannot resume", path);
  memcpy(rs, blob, sizeof *rs);
}

// Whether the checkpoint at `path` opens as a model checkpoint: a truncated file fails HDF5's
// end-of-file check, garbage the signature check.
static int ckpt_whole(const char *path) {
  // a LoRA run's checkpoints hold adapters
  return file_is(&checkpoint_kind, path) || file_is(&adapter_kind, path);
}

long train_ckpt_newest_whole(const char *dir, int rank) {
  long *steps = NULL, found = -1;
  int n = train_ckpt_steps(dir, &steps);
  for (int i = n - 1; i >= 0 && found < 0; i--) {
    char *p = train_ckpt_path(dir, steps[i]);
    if (ckpt_whole(p)) found = steps[i];
    else if (rank == 0) warning("%s does not read back whole (truncated or not a checkpoint); trying an older one", p);
    free(p);
  }
  free(steps);
  return found;
}

void train_ckpt_remove_all(const char *dir) {
  long *steps = NULL;
  int n = train_ckpt_steps(dir, &steps);
  for (int i = 0; i < n; i++) {
    char *p = train_ckpt_path(dir, steps[i]);
    path_guard_check(p);   // a linked run folder: its ckpt-* are not ours
    if (unlink(p) != 0) error("cannot remove %s: %s", p, strerror(errno));
    free(p);
  }
  free(steps);
}

// All but the newest train.keep checkpoints are removed.
static void rotate(const char *dir, int keep) {
  long *steps = NULL;
  int n = train_ckpt_steps(dir, &steps);
  for (int i = 0; i < n - keep; i++) {
    char *p = train_ckpt_path(dir, steps[i]);
    path_guard_check(p);
    if (unlink(p) != 0) warning("removing old checkpoint %s failed", p);
    free(p);
  }
  free(steps);
}

// NQ_TRAIN_NO_SAVE=1 (bench/test-only, docs/scaling.md): metrics only, no checkpoint and no
// model.h5, so the memory plan can be checked at large shapes without the long final write.
static int no_save(void) {
  const char *e = getenv("NQ_TRAIN_NO_SAVE");
  return e && !strcmp(e, "1");
}

void train_checkpoint(trainer *t, long done, int last) {
  if (no_save()) {
    if (t->s->rank == 0) file_write(&train_metrics_kind, t->metrics_path, &t->log.rows, &t->prov);
    if (t->s->rank == 0 && last) message("train: NQ_TRAIN_NO_SAVE=1: no checkpoint or model.h5 written");
    mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for the metrics");
    return;
  }
  if (t->s->rank == 0) {
    // metrics first: a kill between the two files leaves rows past the newest checkpoint
    // (dropped on resume and computed again), never a checkpoint whose rows are missing
    file_write(&train_metrics_kind, t->metrics_path, &t->log.rows, &t->prov);
    fault_point("between-metrics-and-checkpoint", done);
  }
  t->target->save(t, done);
  if (t->s->rank == 0) rotate(t->out_dir, (int)t->set->train.keep);
  if (t->s->rank == 0 && last) t->target->save_final(t, done);   // the next stages' input
  mem_trace(last ? "train: last checkpoint and model.h5 written" : "train: checkpoint written");
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for the checkpoint");
}
