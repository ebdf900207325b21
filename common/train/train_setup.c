// A run's set-up, once the options are read and the samples loaded (train.c): the output
// directory, the model (resume > init checkpoint > random), the checks that need it, the
// reference model, the buffers and the provenance of every output; and their release.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "files/checkpoint.h"
#include "hf/hf.h"
#include "pipeline/run_layout.h"
#include "train/trainer.h"

// <run_dir>/<train.name>/, refused when it holds checkpoints unless --resume or --force.
// Returns the newest checkpoint's step, or -1.
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
  if (n > 0 && s->resume) newest = train_ckpt_newest_whole(t->out_dir, s->rank);
  if (n > 0 && s->resume && newest < 0)
    fatal("%s: no checkpoint reads back whole; rerun with --force to start over", t->out_dir);
  return newest;
}

// --force: the old run's checkpoints and metrics go (whatever state they are in), so a later
// --resume never picks up a checkpoint of the replaced run.
static void make_output(trainer *t) {
  if (t->s->rank == 0 && t->s->force && !t->s->resume) {
    train_ckpt_remove_all(t->out_dir);
    char *model_h5 = run_file(t->out_dir, RUN_MODEL, 0);
    if (file_exists(t->metrics_path) && unlink(t->metrics_path) != 0) error("cannot remove %s", t->metrics_path);
    if (file_exists(model_h5) && unlink(model_h5) != 0) error("cannot remove %s", model_h5);
    free(model_h5);
  }
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for the old checkpoints to go");
  make_dirs(t->out_dir);
}

// ---- the model --------------------------------------------------------------------------------
// --resume: weights, moments and step of the checkpoint, and the metrics rows before it.
// Sharded (ZeRO-1) the full moments are never loaded: train_zero_setup reads its pieces.
static void start_from_checkpoint(trainer *t, const char *path, train_resume_state *rs, int sharded) {
  ckpt_load_info li;
  if (sharded) {
    model_config mc;
    checkpoint_read_config(path, &mc);
    t->m = model_create(&mc, 1);
    free(t->m->m_mem), free(t->m->v_mem);   // untouched pages: never resident
    t->m->m_mem = t->m->v_mem = NULL;
    checkpoint_load_into(path, t->m, &li);
  } else {
    t->m = checkpoint_load(path, 1, &li);
  }
  train_ckpt_resume_state(path, li.rng, li.rng_len, rs);
  t->step0 = li.step;
  free(li.rng);
  train_log_resume(&t->log, t->metrics_path, t->step0);
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

static const char *init_path(const trainer *t) {
  return t->o.init ? t->o.init : hf_model_path(t->set);
}

// lm: the samples are the windows of the per-user streams (train_lm.h), built once the
// model (and so the default window, model.max_seq_len) is known.
static void data_lm_windows(train_data *d, const train_opts *o, int max_seq_len, int rank) {
  int W = o->lm_window > 0 ? o->lm_window : max_seq_len;
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
  if (t->o.objective == OBJ_LM) data_lm_windows(d, &t->o, c->max_seq_len, t->s->rank);
  if (resume_path &&
      (rs->seed != t->o.seed || rs->global_batch != t->global_batch || rs->n_train != d->n_train))
    fatal("%s: made with another seed, global batch (%ld) or data (%ld samples); cannot resume",
          resume_path, (long)rs->global_batch, (long)rs->n_train);
  if (c->max_seq_len < d->max_len)
    fatal("model.max_seq_len %d < longest shard sequence %d; raise model.max_seq_len or lower "
          "data.max_prompt_tokens", c->max_seq_len, d->max_len);
}

static int sharded(const trainer *t) { return train_zero_wanted(t->o.shard_optimizer, t->s->size); }

// resume > init checkpoint > random init; then the checks; then the optimizer's sharding.
static void start_model(trainer *t, long newest_ckpt) {
  train_resume_state rs = {0};
  char *resume_path = NULL;
  if (t->o.adapter) {   // frozen base + adapters (train_lora.c)
    resume_path = train_lora_start(t, newest_ckpt, &rs);
  } else {
    if (newest_ckpt >= 0 && t->s->resume) {
      resume_path = train_ckpt_path(t->out_dir, newest_ckpt);
      start_from_checkpoint(t, resume_path, &rs, sharded(t));
    } else if (init_path(t)) {
      start_from_init(t, init_path(t));
    } else {
      start_random(t);
    }
    model_set_threads((int)t->set->model.threads);
    model_set_precision(t->m, t->set->model.precision);
    if (t->s->rank == 0) message("train: %s", model_precision_describe(t->m));
  }
  check_model(t, resume_path, &rs);
  if (!t->o.adapter)   // LoRA: the adapters' arena is reduced whole (train_step.c), no buckets
    train_zero_setup(&t->zero, t->m, t->o.shard_optimizer, t->o.overlap_comm, t->s->rank, t->s->size,
                     resume_path);
  free(resume_path);
}

// nextquill with effect alignment: the frozen reference checkpoint, else NULL.
static model *load_reference(const train_opts *o, const model *m) {
  if (o->objective != OBJ_NEXTQUILL || !o->effect_alignment) return NULL;
  model *ref = checkpoint_load_prec(o->reference, 0, m->precision, NULL);   // bf16: weights in bf16 only
  if (ref->cfg.vocab_size != m->cfg.vocab_size)
    fatal("%s: reference vocabulary %d != model vocabulary %d", o->reference, ref->cfg.vocab_size,
          m->cfg.vocab_size);
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
  if (init_path(t)) t->inputs[n++] = init_path(t);
  if (t->o.effect_alignment && t->o.reference) t->inputs[n++] = t->o.reference;
  t->prov = (h5_provenance){"train", t->cfg_text, s->size, n, t->inputs, NULL, s->stamp};
}

// ---- set-up and release ---------------------------------------------------------------------
void trainer_setup(trainer *t, const settings *set, const stage_args *s) {
  const train_opts *o = &t->o;
  t->s = s;
  t->set = set;
  t->global_batch = (long)s->size * o->micro_batch * o->accum;
  train_log_create(&t->log);
  start_model(t, open_output(t));
  make_output(t);
  t->ref = load_reference(o, t->m);
  train_work_create(&t->work, t->m, t->ref, o, o->micro_batch, t->data.max_len);
  train_batch_create(&t->batch, o->micro_batch, t->data.n_train);
  mem_trace("train: activation buffers created");
  provenance_init(t);
  t->adamw = (adamw_config){(float)o->beta1, (float)o->beta2, (float)o->eps, (float)o->weight_decay};
  t->schedule = (lr_schedule_config){o->lr, o->min_lr, o->warmup, o->steps};
  if (s->rank == 0)
    message("train: %s, %d train / %d valid samples, %zu parameters, global batch %ld, "
            "optimizer %s, starting at step %ld of %ld", config_choice_name(TRAIN_OBJECTIVES, o->objective),
            t->data.n_train, t->data.n_valid, t->m->n_params, t->global_batch,
            t->zero.on ? "sharded (ZeRO-1)" : "whole on every rank", t->step0, o->steps);
  progress_start(&t->progress, "training", "steps", (double)o->steps);
  t->t_start = wall_seconds();
}

void trainer_free(trainer *t) {
  train_batch_free(&t->batch);
  train_work_free(&t->work);
  train_zero_free(&t->zero);
  if (t->ref) model_free(t->ref);
  model_free(t->m);
  train_log_free(&t->log);
  free(t->cfg_text);
  free(t->inputs);
  free(t->metrics_path);
  free(t->out_dir);
}
