// nq-train (docs/training.md): the samples it trains on (shards, annotation weights) and
// train_run, which reads like llm.c's loop: set-up, steps, validation, checkpoints, finish.
// The parts it calls are listed in train_impl.h.
#include "train/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "formats/annotations_file.h"
#include "formats/h5io.h"
#include "formats/provenance.h"
#include "formats/shards_file.h"
#include "train/train_impl.h"

// ---- data --------------------------------------------------------------------------------
// The training and validation samples (train_data, train_impl.h) of every shard, and the
// nextquill weights of annotation files.
static void data_load(train_data *d, const stage_ctx *s, const train_opts *o) {
  memset(d, 0, sizeof *d);
  char *dir = stage_path(s, "shards");
  d->paths = shard_list(dir, &d->n_shards);
  if (d->n_shards == 0) fatal("%s: no shard files; run nq-shard first", dir);
  free(dir);
  d->sh = xcalloc(d->n_shards, sizeof *d->sh);
  d->weight = xcalloc(d->n_shards, sizeof *d->weight);
  d->mask = xcalloc(d->n_shards, sizeof *d->mask);
  size_t total = 0;
  for (int f = 0; f < d->n_shards; f++) {
    shard_read(d->paths[f], &d->sh[f]);
    const shard_data *h = &d->sh[f];
    if (h->vocab_size != d->sh[0].vocab_size || strcmp(h->tokenizer_digest, d->sh[0].tokenizer_digest))
      fatal("%s: made with another tokenizer than %s; rerun nq-shard", d->paths[f], d->paths[0]);
    total += h->n_samples;
    for (size_t i = 0; i < h->n_samples; i++) {
      int L = h->hist_length[i] > h->nohist_length[i] ? h->hist_length[i] : h->nohist_length[i];
      if (L > d->max_len) d->max_len = L;
    }
  }
  d->train_sh = xmalloc(total * sizeof(int));
  d->train_i = xmalloc(total * sizeof(int));
  d->valid_sh = xmalloc(total * sizeof(int));
  d->valid_i = xmalloc(total * sizeof(int));
  for (int f = 0; f < d->n_shards; f++)
    for (size_t i = 0; i < d->sh[f].n_samples; i++) {
      if (d->sh[f].split[i] == SPLIT_TRAIN) {
        d->train_sh[d->n_train] = f;
        d->train_i[d->n_train++] = (int)i;
      } else if (d->sh[f].split[i] == SPLIT_VALID) {
        d->valid_sh[d->n_valid] = f;
        d->valid_i[d->n_valid++] = (int)i;
      }
    }
  if (d->n_train == 0) fatal("%s: no training samples (split train) in the shards", d->paths[0]);
  if (o->objective != OBJ_NEXTQUILL || o->weights != W_ANNOTATIONS) return;
  for (int f = 0; f < d->n_shards; f++) {
    const char *base = strrchr(d->paths[f], '/');
    char *ap = path_join(o->ann_dir, base ? base + 1 : d->paths[f]);
    annotations_read_weights(ap, d->paths[f], d->sh[f].n_targets, &d->weight[f], &d->mask[f]);
    free(ap);
  }
}

static void data_free(train_data *d) {
  for (int f = 0; f < d->n_shards; f++) {
    shard_data_free(&d->sh[f]);
    free(d->paths[f]);
    free(d->weight[f]);
    free(d->mask[f]);
  }
  free(d->paths);
  free(d->sh);
  free(d->weight);
  free(d->mask);
  free(d->train_sh);
  free(d->train_i);
  free(d->valid_sh);
  free(d->valid_i);
  lm_windows_free(&d->lm_train);
  lm_windows_free(&d->lm_valid);
}

// ---- run ------------------------------------------------------------------------------------
static int every(int n, long done) { return n > 0 && done % n == 0; }

// After a signal: the checkpoint of step `done` is written; ask for a requeue.
static int requeue(const trainer *t, int sig, long done) {
  if (t->s->rank == 0)
    message("train: signal %d: checkpoint at step %ld written; exiting %d (rerun with --resume)", sig,
            done, TRAIN_EXIT_REQUEUE);
  return TRAIN_EXIT_REQUEUE;
}

int train_run(stage_ctx *s) {
  trainer t;
  memset(&t, 0, sizeof t);
  train_opts_read(&t.o, s);
  train_signals_install();
  data_load(&t.data, s, &t.o);
  trainer_setup(&t, s);   // output directory, model, reference, buffers, provenance

  int rc = 0;
  long done = t.step0;
  for (long step = t.step0; step < t.o.steps; step++) {
    train_step(&t, step);
    done = step + 1;
    int last = done == t.o.steps;
    if (every(t.o.valid_every, done) || last) train_validate(&t, done);
    int sig = train_signal_agreed();
    if (every(t.o.ckpt_every, done) || last || sig) train_checkpoint(&t, done, last);
    if (sig && !last) {
      rc = requeue(&t, sig, done);
      break;
    }
  }
  char fin[96];
  snprintf(fin, sizeof fin, "%ld steps in %.1f s", done - t.step0, wall_seconds() - t.t_start);
  progress_finish(&t.progress, fin);

  trainer_free(&t);
  data_free(&t.data);
  train_opts_free(&t.o);
  return rc;
}
