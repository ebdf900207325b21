// nq-train's working parts, shared by the files of common/train/ (train.h is the public face).
// One job per file:
//   train.c            train_run, the loop
//   train_opts.c       what the `train` section gives only once resolved (paths, LoRA mask)
//   train_data.c       the samples (shards, annotation weights)
//   train_setup.c      what is trained (picked once), output directory, model, reference, buffers
//   train_full.c       train_target: the whole model (ZeRO-1 / bucketed all-reduce, checkpoints)
//   train_lora.c       train_target: LoRA adapters on a frozen base (their arena, checkpoints)
//   train_users.c      train.per_user: the LoRA target driven one user at a time
//   train_batch.c      which samples a micro-batch holds (data order, history dropout)
//   train_objective.c  one micro-batch: forward, the objective's loss, backward
//   train_step.c       one optimizer step, and the validation pass
//   train_ckpt.c       checkpoints: names, the resume blob, rotation, what --resume finds
//   train_signal.c     SIGTERM / SIGUSR1: checkpoint at the next step, exit 75
//   train_log.c        the metrics rows (metrics.h5: files/train_metrics_file.h)
//   train_lm.c         lm: the per-user stream windows
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
#include "pipeline/mem_plan.h"
#include "pipeline/stage.h"
#include "files/shards_file.h"
#include "train/train_lm.h"
#include "train/train_zero.h"

// ---- options (train_opts.c) -----------------------------------------------------------------
// The `train` section is read from the settings (set->train) where it is used; OBJ_* and W_*:
// settings/train_settings.h. Only what needs resolving is kept here.
typedef struct {
  char *init, *reference;   // train.init / train.reference resolved under run_dir, or NULL
  const char *start_from;   // what a full run starts from: train.init, else model.path (a HF
                            // model), else NULL (random init)
  lora_config lora;         // train.lora_*, the targets' names as a mask
} train_opts;

void train_opts_read(train_opts *o, const settings *set);
void train_opts_free(train_opts *o);

// ---- data order (train_batch.c) -------------------------------------------------------------
// Which global-batch slot (0..G-1) the j-th sample of micro-step a on rank r fills; the
// sample order comes from the global batch only, so any rank count sees the same samples.
static inline long train_slot(int a, int r, int j, int size, int mb) {
  return ((long)a * size + r) * mb + j;
}
// Shuffled order of n samples for one epoch (Fisher-Yates from splitmix64(seed, epoch)).
void train_perm(unsigned long long seed, long epoch, long n, int *perm);

// ---- data (train_data.c; lm windows: train_setup.c) -----------------------------------------
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
  int shapes_only;      // --plan before nq-shard: no samples, only max_len and sh[0].vocab_size
} train_data;
// Reads every shard (and, for nextquill with annotations, their annotation files).
void train_data_load(train_data *d, const settings *set);
// For --plan when there are no shards yet (a memory plan needs only the shapes): max_len is
// the longest sample nq-shard can make (data.max_prompt_tokens + data.max_target_tokens) and
// sh[0].vocab_size the tokenizer's (tokenizer.path or model.path's tokenizer.json when there,
// else tokenizer.vocab_size, the size nq-shard trains). Returns 0 and fills nothing when the
// run has shard files (train_data_load then).
int train_data_shapes(train_data *d, const settings *set);
void train_data_free(train_data *d);

// ---- the samples of one micro-batch (train_batch.c) -----------------------------------------
typedef struct {
  int n;                   // samples held (<= micro_batch)
  int *shard, *index;      // sample j: index[j] of shard shard[j]; lm: window index[j] of *lm
  int *with_history;       // context_sft: 0 where history dropout removed the history
  long *slot;              // training: sample j's global slot k in the stream (LoRA dropout keys)
  const lm_windows *lm;    // lm: the windows (training or validation) index[] points into
  int *order;              // the training samples' order in epoch order_epoch (-1: none yet)
  long order_epoch;
} train_batch;

void train_batch_create(train_batch *b, int micro_batch, int n_train);
void train_batch_free(train_batch *b);
// Micro-step `accum_step` of step `step` on this rank: global slots
// step * global_batch + train_slot(...) of the shuffled training stream (docs/training.md).
void train_batch_pick_train(train_batch *b, const train_data *d, const train_settings *ts, int rank,
                            int size, long global_batch, long step, int accum_step);
// Validation samples first .. first + n - 1 (with history, no dropout).
void train_batch_pick_valid(train_batch *b, const train_data *d, const train_settings *ts, int first,
                            int n);

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

void train_work_create(train_work *w, model *m, model *ref, const train_settings *ts, int micro_batch,
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
void train_micro_batch(train_work *w, const train_data *d, const train_settings *ts, const train_batch *b,
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
// --resume from the checkpoint `ckpt` of step `upto`: the rows of metrics.h5 at `path` of steps
// before `upto` and validations at or before it. Refused (one line naming the file; --force
// starts over) when the file is missing, unreadable, written by another run (its stamp is
// neither the checkpoint's nor this invocation's `stamp`) or lacks a row before `upto`.
void train_log_resume(train_log *g, const char *path, long upto, const char *ckpt, const char *stamp);

// ---- checkpoints (train_ckpt.c) -------------------------------------------------------------
// The trainer's blob in a checkpoint (trainer/rng_state): data order is f(seed, step).
typedef struct {
  uint64_t seed;
  int64_t step, global_batch, n_train;
} train_resume_state;

// ---- what is trained (train_full.c, train_lora.c) --------------------------------------------
typedef struct trainer trainer;
typedef struct train_target train_target;

// model.precision as the memory plan names a weight (picked once at set-up: trainer.prec); the
// bytes come from the model (model_weight_bytes, model_precision_bytes).
typedef struct {
  int precision;             // MODEL_FP32 / MODEL_BF16
  const char *frozen_what;   // a frozen model's weights (forward only: bf16 keeps only bf16)
  const char *copy_what;     // beside a trained model's fp32 masters (bf16: the matmuls' copy), or NULL
} train_precision;

// What a run trains, picked once at set-up from train.adapter (trainer_begin): the whole model
// (train_full_target) or LoRA adapters on a frozen base (train_lora_target). Below the set-up
// no code asks which; train.per_user drives the LoRA target one user at a time (train_users.c).
// A step through it reads like llm.c's: zero, forward + backward, reduce, clip, update.
struct train_target {
  // --plan: the architecture the run will train (*mc, read before anything is loaded) and the
  // lines of what one rank holds for the trained parameters (weights, gradients, AdamW
  // moments); returns 1 when the moments are sharded over the ranks.
  int (*plan)(const trainer *t, model_config *mc, mem_plan *p);
  // t->m (and the adapters) from checkpoint step `from` (>= 0: --resume; its blob in *rs and
  // t->step0 set) > train.init > random, with the optimizer's state and the reduction over the
  // ranks set up. Returns the checkpoint's path (caller frees), or NULL.
  char *(*start)(trainer *t, long from, train_resume_state *rs);
  // One step: zero the gradients (and start the step's dropout stream); reduce_begin comes
  // before the last micro-batch's backward, which may then start summing the gradients it
  // finishes (train.overlap_comm); reduce sums the gradient arena over the ranks; clip returns
  // the global norm and clips to train.grad_clip; update is AdamW at step tstep (1-based).
  void (*zero)(trainer *t, long step);
  void (*reduce_begin)(trainer *t);
  void (*reduce)(trainer *t);
  double (*clip)(trainer *t);
  void (*update)(trainer *t, float lr, long tstep);
  // ckpt-<done>.h5 (every rank calls it; rank 0 writes) and, on rank 0 after the last step,
  // the run's outputs for the next stages (model.h5; LoRA also adapter.h5).
  void (*save)(trainer *t, long done);
  void (*save_final)(trainer *t, long done);
  void (*free)(trainer *t);
};
extern const train_target train_full_target, train_lora_target;

// ---- the run's state (train_setup.c) --------------------------------------------------------
struct trainer {
  const stage_args *s;
  const settings *set;            // set->train: the `train` section
  train_opts o;
  const train_target *target;     // what is trained (picked once: trainer_begin)
  const train_precision *prec;    // model.precision, for the memory plan
  train_data data;
  char *out_dir, *metrics_path;   // <run_dir>/<train.name>/ and its metrics.h5
  model *m, *ref;                 // the model trained; the frozen reference (alignment) or NULL
  lora *lo;                       // LoRA: the adapters attached to m (train_lora.c), else NULL
  train_zero zero;                // the full model's reduction: all-reduce or ZeRO-1
                                  // (train_zero.h); off for LoRA (no buckets, not sharded)
  long step0;                     // first step of this run (> 0 after --resume)
  long global_batch;              // ranks x micro_batch x accum
  train_work work;
  train_batch batch;
  train_log log;
  adamw_config adamw;
  lr_schedule_config schedule;
  char *cfg_text;                 // for the provenance of every output
  const char **inputs;            // shards, init and reference checkpoints
  h5_provenance prov;
  progress progress;
  double t_start;
  double steps_s;                 // seconds inside train_step (the communication share's total)
};

// The options and what is trained (the one place that reads train.adapter).
void trainer_begin(trainer *t, const settings *set, const stage_args *s);
// Everything after the samples are loaded: output directory (refusing old checkpoints
// without --resume or --force), the model, the reference, buffers, metrics, provenance.
void trainer_setup(trainer *t);
void trainer_free(trainer *t);

// ---- memory plan (train_plan.c) --------------------------------------------------------------
// Prints the per-rank memory plan and stops when it exceeds the node's limit (mem_plan.h);
// returns 1 for --plan (print only).
int train_plan(trainer *t);
// Floats of a model of config mc.
double train_plan_params(const model_config *mc);

// ---- steps (train_step.c) -------------------------------------------------------------------
// One optimizer step: accum micro-batches, gradients summed over the ranks, clipped, AdamW;
// logs its metrics row.
void train_step(trainer *t, long step);
// The validation loss after `done` steps (logged, and printed by rank 0).
void train_validate(trainer *t, long done);

// ---- checkpoints (train_ckpt.c) -------------------------------------------------------------
// Steps of the ckpt-<step>.h5 files in dir, ascending (*steps: caller frees); the count.
int train_ckpt_steps(const char *dir, long **steps);
char *train_ckpt_path(const char *dir, long step);
// The step of the newest checkpoint of dir that reads back whole, or -1; rank 0 warns about
// each newer one that does not (--resume falls back past a corrupt checkpoint).
long train_ckpt_newest_whole(const char *dir, int rank);
// Removes every ckpt-<step>.h5 of dir (--force: an old run's files never mix with the new).
void train_ckpt_remove_all(const char *dir);
// The resume state a checkpoint after `done` steps holds; reading one back (stops when the
// checkpoint has none).
train_resume_state train_ckpt_state(const trainer *t, long done);
void train_ckpt_resume_state(const char *path, const uint8_t *blob, size_t len, train_resume_state *rs);
// Rank 0 writes metrics.h5 and (through the target) ckpt-<done>.h5, drops all but the newest
// train.keep checkpoints and, when `last`, writes the final outputs; every rank waits for it.
void train_checkpoint(trainer *t, long done, int last);

// ---- LoRA adapters (train_lora.c) ----------------------------------------------------------
// Zero the adapters' gradients and start a dropout stream (masks: f(dropout_seed, pass)).
void train_lora_begin(lora *lo, uint64_t dropout_seed);
// An adapter file's fields for one adapter (params only; the strings but targets borrowed).
void train_lora_fill(adapter_file *f, const lora *lo, const char *base_path, const char *tok_digest, long step);
// train.per_user (train_users.c): one adapter per train-split user; returns the exit code.
int train_users_run(trainer *t);

// ---- signals (train_signal.c) ---------------------------------------------------------------
// Exit code after a signal-triggered checkpoint (EX_TEMPFAIL): requeue and pass --resume.
#define TRAIN_EXIT_REQUEUE 75

void train_signals_install(void);
// The signal any rank received (0: none), agreed by every rank (call at a step boundary).
int train_signal_agreed(void);
// The signal this rank received (0: none), without asking the others (per-user training).
int train_signal_local(void);

#endif
