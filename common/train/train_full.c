// What is trained, the whole model (train_target, trainer.h; train.adapter = "none"): every
// weight has a gradient and AdamW moments. The arena is summed over the ranks by train_zero.c
// (bucketed non-blocking all-reduces, or with train.shard_optimizer ZeRO-1's reduce-scatter,
// sharded AdamW and all-gather; posted from inside the last backward pass with
// train.overlap_comm: docs/scaling.md). Checkpoints hold the weights, the moments (gathered
// onto rank 0 tensor by tensor when sharded, so a checkpoint does not depend on the rank count
// that wrote it) and the resume blob; model.h5 the weights only.
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "files/checkpoint.h"
#include "pipeline/run_layout.h"
#include "train/trainer.h"

static int sharded(const trainer *t) { return train_zero_wanted(t->set->train.shard_optimizer, t->s->size); }

// ---- memory plan ------------------------------------------------------------------------------
// The architecture: --resume's checkpoint (a truncated newest one is skipped; the warnings
// come from the set-up), else train.init / model.path, else the model section.
static int full_plan(const trainer *t, model_config *mc, mem_plan *p) {
  char *dir = run_path(t->set, RUN_TRAIN);
  long newest = t->s->resume ? train_ckpt_newest_whole(dir, 1) : -1;
  if (newest >= 0) {
    char *path = train_ckpt_path(dir, newest);
    checkpoint_read_config(path, mc);
    free(path);
  } else if (t->o.start_from) {
    checkpoint_read_config(t->o.start_from, mc);
  } else {
    model_config_from_settings(mc, &t->set->model, t->data.sh[0].vocab_size);
  }
  free(dir);
  double P = train_plan_params(mc);
  int shard = sharded(t);
  double fp32 = (double)model_precision_bytes(MODEL_FP32);
  mem_plan_add(p, "weights (fp32 master)", fp32 * P);
  if (t->prec->copy_what) mem_plan_add(p, t->prec->copy_what, (double)model_precision_bytes(t->prec->precision) * P);
  mem_plan_add(p, "gradients (fp32)", fp32 * P);
  mem_plan_add(p, shard ? "AdamW moments (1/ranks, ZeRO-1)" : "AdamW moments", 2 * fp32 * P / (shard ? t->s->size : 1));
  return shard;
}

// ---- start: resume > init > random ------------------------------------------------------------
// --resume: weights, moments and step of the checkpoint, and the metrics rows before it.
// Sharded (ZeRO-1) the full moments are never loaded: train_zero_setup reads its pieces.
static void start_from_checkpoint(trainer *t, const char *path, train_resume_state *rs) {
  ckpt_load_info li;
  log_set_collective(1);   // every rank reads the same file: a bad one is reported once
  if (sharded(t)) {
    model_config mc;
    checkpoint_read_config(path, &mc);
    t->m = model_create(&mc, 1);
    free(t->m->m_mem), free(t->m->v_mem);   // untouched pages: never resident
    t->m->m_mem = t->m->v_mem = NULL;
    checkpoint_load_into(path, t->m, &li);
  } else {
    t->m = checkpoint_load(path, 1, &li);
  }
  log_set_collective(0);
  train_ckpt_resume_state(path, li.rng, li.rng_len, rs);
  t->step0 = li.step;
  free(li.rng);
  train_log_resume(&t->log, t->metrics_path, t->step0, path, t->s->stamp);
  if (t->s->rank == 0) message("train: resuming from %s at step %ld (the newest checkpoint that reads back whole)", path, t->step0);
}

// train.init, else the HF model.path: its weights, with fresh AdamW moments.
static void start_from_init(trainer *t, const char *init) {
  checkpoint_require_tokenizer(init, t->data.sh[0].tokenizer_digest, "train.init");
  t->m = checkpoint_load(init, 1, NULL);
  memset(t->m->m_mem, 0, t->m->n_params * sizeof(float));
  memset(t->m->v_mem, 0, t->m->n_params * sizeof(float));
}

static void start_random(trainer *t) {
  model_config mc;
  model_config_from_settings(&mc, &t->set->model, t->data.sh[0].vocab_size);
  t->m = model_create(&mc, 1);
  model_init(t->m, (uint64_t)t->set->model.init_seed);
}

static char *full_start(trainer *t, long from, train_resume_state *rs) {
  char *resume_path = NULL;
  if (from >= 0) {
    resume_path = train_ckpt_path(t->out_dir, from);
    start_from_checkpoint(t, resume_path, rs);
  } else if (t->o.start_from) {
    start_from_init(t, t->o.start_from);
  } else {
    start_random(t);
  }
  model_set_threads((int)t->set->model.threads);
  model_set_precision(t->m, t->set->model.precision);
  if (t->s->rank == 0) message("train: %s", model_precision_describe(t->m));
  train_zero_setup(&t->zero, t->m, t->set->train.shard_optimizer, t->set->train.overlap_comm, t->s->rank,
                   t->s->size, resume_path);
  return resume_path;
}

// ---- one step (train_zero.c) ------------------------------------------------------------------
static void full_zero(trainer *t, long step) {
  (void)step;   // no dropout: nothing depends on the step
  model_zero_grad(t->m);
}

// The last backward pass posts each bucket as its gradients become final (train.overlap_comm).
static void full_reduce_begin(trainer *t) { train_zero_arm(&t->zero, t->m); }

static void full_reduce(trainer *t) {
  train_zero_disarm(t->m);
  train_zero_reduce(&t->zero, t->m);
}

static double full_clip(trainer *t) {
  double norm = train_zero_norm(&t->zero, t->m);
  train_zero_clip(&t->zero, t->m, norm, t->set->train.grad_clip);
  return norm;
}

static void full_update(trainer *t, float lr, long tstep) {
  train_zero_update(&t->zero, t->m, &t->adamw, lr, tstep);
}

// ---- checkpoints ------------------------------------------------------------------------------
static void full_save(trainer *t, long done) {
  if (t->s->rank != 0) {
    if (t->zero.on) train_zero_moments_serve(&t->zero, t->m);   // the gathers of rank 0's save
    return;
  }
  train_resume_state rs = train_ckpt_state(t, done);
  ckpt_save_info info = {.step = done, .rng = (const uint8_t *)&rs, .rng_len = sizeof rs,
                         .with_optimizer = 1, .prov = &t->prov,
                         .tokenizer_digest = t->data.sh[0].tokenizer_digest};
  if (t->zero.on) info.moments = train_zero_moments, info.moments_arg = &t->zero;   // gathered
  char *p = train_ckpt_path(t->out_dir, done);
  checkpoint_save(p, t->m, &info);
  free(p);
}

// model.h5: weights only.
static void full_save_final(trainer *t, long done) {
  char *fp = run_file(t->out_dir, RUN_MODEL, 0);
  checkpoint_save(fp, t->m, &(ckpt_save_info){.step = done, .prov = &t->prov,
                                              .tokenizer_digest = t->data.sh[0].tokenizer_digest});
  free(fp);
}

static void full_free(trainer *t) { train_zero_free(&t->zero); }

const train_target train_full_target = {
    .plan = full_plan, .start = full_start,
    .zero = full_zero, .reduce_begin = full_reduce_begin, .reduce = full_reduce, .clip = full_clip,
    .update = full_update,
    .save = full_save, .save_final = full_save_final, .free = full_free,
};
