// nq-train's working parts, shared by the files of common/train/ (train.h is the public face).
// One job per file:
//   train.c            train_run, the loop
//   train_data.c       the samples (shards, annotation weights)
//   train_opts.c       the `train` config section, read once
//   train_setup.c      output directory, model (resume > init > random), reference, buffers
//   train_batch.c      which samples a micro-batch holds (data order, history dropout)
//   train_objective.c  one micro-batch: forward, the objective's loss, backward
//   train_step.c       one optimizer step, and the validation pass
//   train_ckpt.c       checkpoints: names, writing, rotation, the blob --resume checks
//   train_signal.c     SIGTERM / SIGUSR1: checkpoint at the next step, exit 75
//   train_log.c        the metrics rows (metrics.h5: formats/train_metrics_file.h)
//   train_lm.c         lm: the per-user stream windows
//   train_lora.c       train.adapter = "lora": frozen base, the adapters' arena, their checkpoints
//   train_users.c      train.per_user: one adapter per user, no communication
//   train_plan.c       the memory plan printed (and checked) before the model exists
//   train_zero.c       ZeRO-1: gradient reduce-scatter, sharded AdamW, weight all-gather
#ifndef NQ_TRAIN_IMPL_H
#define NQ_TRAIN_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "files/adapter_file.h"
#include "h5/provenance.h"
#include "files/train_metrics_file.h"
#include "model/adamw.h"
#include "model/lora.h"
#include "model/model.h"
#include "pipeline/stage.h"
#include "files/shards_file.h"
#include "train/train.h"
#include "train/train_lm.h"
#include "train/train_zero.h"

// ---- options (train_opts.c) -----------------------------------------------------------------
// OBJ_* (train.objective) and W_* (train.weights): settings/train_settings.h

// Which global-batch slot (0..G-1) the j-th sample of micro-step a on rank r fills; the
// sample order comes from the global batch only, so any rank count sees the same samples.
static inline long train_slot(int a, int r, int j, int size, int mb) {
  return ((long)a * size + r) * mb + j;
}
// Shuffled order of n samples for one epoch (Fisher-Yates from splitmix64(seed, epoch)).
void train_perm(unsigned long long seed, long epoch, long n, int *perm);


typedef struct {
  const char *name;                   // outputs go to <run_dir>/<name>/
  int objective;                      // OBJ_*
  int weights;                        // W_*: nextquill's per-token weights
  int weight_pce, effect_alignment;
  char *init, *reference, *ann_dir;   // paths (under run_dir unless absolute), or NULL
  unsigned long long seed;
  long steps, warmup;
  int micro_batch, accum, ckpt_every, keep, valid_every, valid_samples, lm_window;
  double lr, min_lr, weight_decay, beta1, beta2, eps, grad_clip;
  double history_dropout, alpha;
  double online_threshold, online_hi, online_lo;
  int adapter, per_user, user_groups;   // train.adapter = "lora"; train.per_user; train.user_groups
  lora_config lora;                     // train.lora_*
  int shard_optimizer;                // SHARD_OPT_* (train_zero.h)
  int overlap_comm;                   // gradient buckets posted during the backward (train_zero.h)
} train_opts;

void train_opts_read(train_opts *o, const settings *set);
void train_opts_free(train_opts *o);

// ---- data (train.c; lm windows: train_setup.c) ----------------------------------------------
typedef struct {
  int n_shards;
  char **paths;
  shard_data *sh;
  float **weight;       // per shard, per target token (annotations), or NULL
  uint8_t **mask;
  int n_train, n_valid;
  int *train_sh, *train_i, *valid_sh, *valid_i;   // (shard, sample) of each sample
  int max_len;          // longest sequence (with history), or window (lm)
  lm_windows lm_train, lm_valid;   // lm: per-user stream windows (samples = windows)
} train_data;
// Reads every shard (and, for nextquill with annotations, their annotation files).
void train_data_load(train_data *d, const settings *set, const train_opts *o);
void train_data_free(train_data *d);

// ---- the samples of one micro-batch (train_batch.c) -----------------------------------------
typedef struct {
  int n;                   // samples held (<= micro_batch)
  int *shard, *index;      // sample j: index[j] of shard shard[j]; lm: window index[j] of *lm
  int *with_history;       // context_sft: 0 where history dropout removed the history
  const lm_windows *lm;    // lm: the windows (training or validation) index[] points into
  int *order;              // the training samples' order in epoch order_epoch (-1: none yet)
  long order_epoch;
} train_batch;

void train_batch_create(train_batch *b, int micro_batch, int n_train);
void train_batch_free(train_batch *b);
// Micro-step `accum_step` of step `step` on this rank: global slots
// step * global_batch + train_slot(...) of the shuffled training stream (docs/training.md).
void train_batch_pick_train(train_batch *b, const train_data *d, const train_opts *o, int rank,
                            int size, long global_batch, long step, int accum_step);
// Validation samples first .. first + n - 1 (with history, no dropout).
void train_batch_pick_valid(train_batch *b, const train_data *d, const train_opts *o, int first, int n);

// ---- one micro-batch (train_objective.c) ----------------------------------------------------
// Buffers of one micro-batch, sized for micro_batch sequences of max_len tokens.
typedef struct {
  model *m, *ref;                          // the model trained; the frozen reference or NULL
  model_acts *acts_hist, *acts_nohist;     // its with- and without-history passes (nohist:
                                           // nextquill only)
  model_acts *ref_acts_hist, *ref_acts_nohist;   // the reference's passes (effect alignment)
  float *dlogits_hist, *dlogits_nohist;
  int32_t *tokens_hist, *tokens_nohist;    // the micro-batch's sequences, packed
  int *lens_hist, *lens_nohist;
  float *token_weight;                     // one sample's per-target-token weights
  uint8_t *online_mask;                    // one sample's online mask (loss_online_weights)
  int32_t *lm_next;                        // lm: next token of every row (-1 at a window's end)
  float *lm_weight, *lm_row_loss;          // lm: per-row gradient weight and loss
  int vocab;
} train_work;

void train_work_create(train_work *w, model *m, model *ref, const train_opts *o, int micro_batch,
                       int max_len);
void train_work_free(train_work *w);

typedef struct {
  double loss, loss_n, loss_p;   // sums over samples of each sample's L, L_n, L_p
  double tokens;                 // forwarded tokens (both passes)
  double pref_tokens;            // target tokens taken as preference-bearing (nextquill)
  double targets;                // target tokens (lm: predicted tokens)
} loss_sums;

// Forward (and with `grad`, backward: gradients scaled by `scale` accumulate in w->m) of the
// batch's samples under the objective; adds the losses to *acc.
void train_micro_batch(train_work *w, const train_data *d, const train_opts *o, const train_batch *b,
                       float scale, int grad, loss_sums *acc);

// ---- metrics rows (train_log.c) -------------------------------------------------------------
typedef struct {
  double loss, L_n, L_p, lr, grad_norm, tokens_per_s, pref_share, step_seconds;
} train_step_row;

typedef struct {
  train_metrics rows;             // the columns of metrics.h5, rows.count[] rows each
  size_t cap[TRAIN_METRICS_N_COUNTS];   // rows allocated
} train_log;

void train_log_create(train_log *g);
void train_log_free(train_log *g);
void train_log_push_step(train_log *g, long step, const train_step_row *r);
void train_log_push_valid(train_log *g, long step, double loss);
// --resume: the rows of an existing metrics.h5 (none when absent) of steps before `upto` and
// validations at or before it.
void train_log_resume(train_log *g, const char *path, long upto);

// ---- the run's state (train_setup.c) --------------------------------------------------------
typedef struct {
  const stage_args *s;
  const settings *set;
  train_opts o;
  train_data data;
  char *out_dir, *metrics_path;   // <run_dir>/<train.name>/ and its metrics.h5
  model *m, *ref;                 // the model trained; the frozen reference (alignment) or NULL
  long step0;                     // first step of this run (> 0 after --resume)
  long global_batch;              // ranks x micro_batch x accum
  train_work work;
  train_batch batch;
  train_log log;
  adamw_config adamw;
  train_zero zero;                // the optimizer step: all-reduce, or ZeRO-1 (train_zero.h)
  lr_schedule_config schedule;
  char *cfg_text;                 // for the provenance of every output
  const char **inputs;            // shards, init and reference checkpoints
  h5_provenance prov;
  progress progress;
  double t_start;
  double steps_s;                 // seconds inside train_step (the communication share's total)
} trainer;

// Everything after the options and the data: output directory (refusing old checkpoints
// without --resume or --force), the model, the reference, buffers, metrics, provenance.
void trainer_setup(trainer *t, const settings *set, const stage_args *s);
void trainer_free(trainer *t);

// ---- memory plan (train_plan.c) --------------------------------------------------------------
// Prints the per-rank memory plan and stops when it exceeds the node's limit (mem_plan.h);
// returns 1 for --plan (print only).
int train_plan(trainer *t, const settings *set, const stage_args *s);

// ---- steps (train_step.c) -------------------------------------------------------------------
// One optimizer step: accum micro-batches, gradients summed over the ranks, clipped, AdamW;
// logs its metrics row.
void train_step(trainer *t, long step);
// The validation loss after `done` steps (logged, and printed by rank 0).
void train_validate(trainer *t, long done);

// ---- checkpoints (train_ckpt.c) -------------------------------------------------------------
// The trainer's blob in a checkpoint (trainer/rng_state): data order is f(seed, step).
typedef struct {
  uint64_t seed;
  int64_t step, global_batch, n_train;
} train_resume_state;

// Steps of the ckpt-<step>.h5 files in dir, ascending (*steps: caller frees); the count.
int train_ckpt_steps(const char *dir, long **steps);
char *train_ckpt_path(const char *dir, long step);
// The step of the newest checkpoint of dir that reads back whole, or -1; rank 0 warns about
// each newer one that does not (--resume falls back past a corrupt checkpoint).
long train_ckpt_newest_whole(const char *dir, int rank);
// Removes every ckpt-<step>.h5 of dir (--force: an old run's files never mix with the new).
void train_ckpt_remove_all(const char *dir);
// Reads the resume state of a checkpoint's blob; stops when it has none.
void train_ckpt_resume_state(const char *path, const uint8_t *blob, size_t len, train_resume_state *rs);
// Rank 0 writes ckpt-<done>.h5 and metrics.h5, drops all but the newest train.keep
// checkpoints and, when `last`, writes model.h5; every rank waits for it.
void train_checkpoint(trainer *t, long done, int last);

// ---- LoRA adapters (train_lora.c) ----------------------------------------------------------
// The frozen base (train.init) with fresh adapters, or the adapters of checkpoint newest_ckpt
// under --resume (its path returned, else NULL).
char *train_lora_start(trainer *t, long newest_ckpt, train_resume_state *rs);
// The optimizer's arena: the adapters' when there are adapters, else the model's.
void train_step_begin(trainer *t, long step);              // zero gradients (and dropout stream)
float *train_grad_arena(trainer *t, size_t *n);
void train_optimizer_step(trainer *t, float lr, long tstep);
// ckpt-<done>.h5 = adapters + moments; when `last` also adapter.h5 and the merged model.h5.
void train_lora_checkpoint(trainer *t, long done, int last);
// An adapter file's fields for one adapter (params only; the strings but targets borrowed).
void train_lora_fill(adapter_file *f, const lora *lo, const char *base_path, const char *tok_digest, long step);
// train.per_user (train_users.c): one adapter per train-split user; returns the exit code.
int train_users_run(trainer *t);

// ---- signals (train_signal.c) ---------------------------------------------------------------
void train_signals_install(void);
// The signal any rank received (0: none), agreed by every rank (call at a step boundary).
int train_signal_agreed(void);
// The signal this rank received (0: none), without asking the others (per-user training).
int train_signal_local(void);

#endif
