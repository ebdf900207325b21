// A run's set-up: what is trained, picked once (trainer_begin: train_target, trainer.h); once
// the samples are loaded (train.c), the output directory, the model (the target's start), the
// checks that need it, the reference model, the buffers and the provenance of every output;
// and their release.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/path_guard.h"
#include "base/util.h"
#include "files/checkpoint.h"
#include "pipeline/run_layout.h"
#include "train/trainer.h"

// model.precision as the memory plan counts a weight: a frozen model (forward only) holds the
// bf16 matrices only; a trained one keeps fp32 masters and, in bf16, the copy the matmuls read.
static const train_precision precisions[] = {
    [MODEL_FP32] = {MODEL_FP32, "weights (fp32, frozen)", NULL},
    [MODEL_BF16] = {MODEL_BF16, "weights (bf16, frozen)", "weights (bf16 copy)"},
};

void trainer_begin(trainer *t, const settings *set, const stage_args *s) {
  memset(t, 0, sizeof *t);
  t->s = s;
  t->set = set;
  train_opts_read(&t->o, set);
  // the one place that asks: below, everything goes through the target's operations
  t->target = set->train.adapter == ADAPTER_LORA ? &train_lora_target : &train_full_target;
  t->prec = &precisions[set->model.precision];
}

// <run_dir>/<train.name>/, refused when it holds checkpoints unless --resume or --force.
// Returns the step of the checkpoint --resume continues from, or -1.
// The folder itself is made once the model is set up (make_output): a failing train.init
// leaves no empty run folder.
static long open_output(trainer *t) {
  const stage_args *s = t->s;
  t->out_dir = run_path(t->set, RUN_TRAIN);
  t->metrics_path = run_file(t->out_dir, RUN_METRICS, 0);
  long *steps;
  int n = train_ckpt_steps(t->out_dir, &steps);
  long newest = n > 0 ? steps[n - 1] : -1;
  free(steps);
  if (n > 0 && !s->resume && !s->force)
    fatal("%s: has checkpoints (newest step %ld); pass --resume to continue or --force to start over",
          t->out_dir, newest);
  if (n == 0 || !s->resume) return -1;
  newest = train_ckpt_newest_whole(t->out_dir, s->rank);
  if (newest < 0) fatal("%s: no checkpoint reads back whole; rerun with --force to start over", t->out_dir);
  return newest;
}

// --force: the old run's checkpoints and metrics go (whatever state they are in), so a later
// --resume never picks up a checkpoint of the replaced run.
static void make_output(trainer *t) {
  if (t->s->rank == 0 && t->s->force && !t->s->resume) {
    train_ckpt_remove_all(t->out_dir);
    char *model_h5 = run_file(t->out_dir, RUN_MODEL, 0);
    path_guard_check(t->metrics_path), path_guard_check(model_h5);
    if (file_exists(t->metrics_path) && unlink(t->metrics_path) != 0) error("cannot remove %s", t->metrics_path);
    if (file_exists(model_h5) && unlink(model_h5) != 0) error("cannot remove %s", model_h5);
    free(model_h5);
  }
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for the old checkpoints to go");
  make_dirs(t->out_dir);
}

// ---- the model ----------------------------------------------------------------------------------
// lm: the samples are the windows of the per-user streams (train_lm.h), built once the
// model (and so the default window, model.max_seq_len) is known.
static void data_lm_windows(train_data *d, const train_settings *ts, int max_seq_len, int rank) {
  int W = ts->lm_window > 0 ? (int)ts->lm_window : max_seq_len;
  if (W > max_seq_len)
    fatal("train.lm_window %d > model.max_seq_len %d; lower train.lm_window", W, max_seq_len);
  lm_windows_build(&d->lm_train, d->sh, d->n_shards, SPLIT_TRAIN, W);
  lm_windows_build(&d->lm_valid, d->sh, d->n_shards, SPLIT_VALID, W);
  if (d->lm_train.n == 0) fatal("%s: no training text for the lm streams", d->paths[0]);
  d->n_train = d->lm_train.n;
  d->n_valid = d->lm_valid.n;
  d->max_len = d->lm_train.max_len > d->lm_valid.max_len ? d->lm_train.max_len : d->lm_valid.max_len;
  if (rank == 0)
    message("train: lm streams: %ld users, %zu tokens (%zu repeated history tokens removed), "
            "%d windows of <= %d tokens; valid: %d windows", d->lm_train.users,
            d->lm_train.stream_tokens, d->lm_train.removed_tokens, d->lm_train.n, W, d->lm_valid.n);
}

// The checks that need the model, in the order a user meets them.
static void check_model(trainer *t, const char *resume_path, const train_resume_state *rs) {
  const model_config *c = &t->m->cfg;
  train_data *d = &t->data;
  // an HF model's embedding may be padded past the tokenizer (Qwen2.5: 151936 vs 151665)
  if (c->vocab_size < d->sh[0].vocab_size)
    fatal("model vocabulary %d < shards' tokenizer vocabulary %d (%s)", c->vocab_size,
          d->sh[0].vocab_size, d->paths[0]);
  if (t->set->train.objective == OBJ_LM) data_lm_windows(d, &t->set->train, c->max_seq_len, t->s->rank);
  if (resume_path && (rs->seed != (uint64_t)t->set->train.seed || rs->global_batch != t->global_batch ||
                      rs->n_train != d->n_train))
    fatal("%s: made with another seed, global batch (%ld) or data (%ld samples); cannot resume",
          resume_path, (long)rs->global_batch, (long)rs->n_train);
  if (c->max_seq_len < d->max_len)
    fatal("model.max_seq_len %d < longest shard sequence %d; raise model.max_seq_len or lower "
          "data.max_prompt_tokens", c->max_seq_len, d->max_len);
}

// The trained target's start (resume > init checkpoint > random), then the checks.
static void start_model(trainer *t, long from) {
  train_resume_state rs = {0};
  char *resume_path = t->target->start(t, from, &rs);
  check_model(t, resume_path, &rs);
  free(resume_path);
}

// nextquill with effect alignment: the frozen reference checkpoint, else NULL.
static model *load_reference(const trainer *t) {
  const train_settings *ts = &t->set->train;
  if (ts->objective != OBJ_NEXTQUILL || !ts->effect_alignment) return NULL;
  const char *path = t->o.reference;
  model *ref = checkpoint_load_prec(path, 0, t->m->precision, NULL);   // bf16: weights in bf16 only
  if (ref->cfg.vocab_size != t->m->cfg.vocab_size)
    fatal("%s: reference vocabulary %d != model vocabulary %d", path, ref->cfg.vocab_size,
          t->m->cfg.vocab_size);
  return ref;
}

// ---- provenance ---------------------------------------------------------------------------------
// Inputs: the shards, and the checkpoints this run started from or aligned to, so a model
// trained from a since-retrained init is refused downstream (checkpoint_require_current_inputs).
static void provenance_init(trainer *t) {
  const stage_args *s = t->s;
  t->cfg_text = settings_text(t->set, NULL);
  t->inputs = xcalloc((size_t)t->data.n_shards + 2, sizeof *t->inputs);
  int n = 0;
  for (int f = 0; f < t->data.n_shards; f++) t->inputs[n++] = t->data.paths[f];
  if (t->o.start_from) t->inputs[n++] = t->o.start_from;
  if (t->set->train.effect_alignment && t->o.reference) t->inputs[n++] = t->o.reference;
  t->prov = (h5_provenance){"train", t->cfg_text, s->size, n, t->inputs, NULL, s->stamp};
}

// ---- set-up and release ---------------------------------------------------------------------
void trainer_setup(trainer *t) {
  const train_settings *ts = &t->set->train;
  const stage_args *s = t->s;
  int mb = (int)ts->micro_batch;
  t->global_batch = (long)s->size * mb * ts->accum;
  train_log_create(&t->log);
  start_model(t, open_output(t));
  make_output(t);
  t->ref = load_reference(t);
  train_work_create(&t->work, t->m, t->ref, ts, mb, t->data.max_len);
  train_batch_create(&t->batch, mb, t->data.n_train);
  mem_trace("train: activation buffers created");
  provenance_init(t);
  t->adamw = (adamw_config){(float)ts->beta1, (float)ts->beta2, (float)ts->eps, (float)ts->weight_decay};
  t->schedule = (lr_schedule_config){ts->lr, ts->min_lr, ts->warmup, ts->steps};
  if (s->rank == 0)
    message("train: %s, %d train / %d valid samples, %zu parameters, global batch %ld, "
            "optimizer %s, starting at step %ld of %ld", config_choice_name(TRAIN_OBJECTIVES, ts->objective),
            t->data.n_train, t->data.n_valid, t->m->n_params, t->global_batch,
            t->zero.on ? "sharded (ZeRO-1)" : "whole on every rank", t->step0, ts->steps);
  progress_start(&t->progress, "training", "steps", (double)ts->steps);
  t->t_start = wall_seconds();
}

void trainer_free(trainer *t) {
  train_batch_free(&t->batch);
  train_work_free(&t->work);
  t->target->free(t);
  if (t->ref) model_free(t->ref);
  model_free(t->m);
  train_log_free(&t->log);
  free(t->cfg_text);
  free(t->inputs);
  free(t->metrics_path);
  free(t->out_dir);
}
