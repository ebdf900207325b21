// The `train` section (nq-train; docs/training.md): objective, optimizer, checkpoints, the
// token weights of NextQuill, LoRA and per-user adapters, data-parallel options.
#ifndef NQ_TRAIN_SETTINGS_H
#define NQ_TRAIN_SETTINGS_H

#include "config/config.h"

#define TRAIN_OBJECTIVES "lm|sft|context_sft|nextquill"   // train.objective: OBJ_*
enum { OBJ_LM, OBJ_SFT, OBJ_CONTEXT_SFT, OBJ_NEXTQUILL };
enum { W_ANNOTATIONS, W_ONLINE, W_UNIFORM, W_RATIO, W_RATIO_ONLINE };   // train.weights
enum { ADAPTER_NONE, ADAPTER_LORA };                      // train.adapter
enum { SHARD_OPT_AUTO, SHARD_OPT_TRUE, SHARD_OPT_FALSE };  // train.shard_optimizer

typedef struct {
  const char *name;             // the run: outputs under the run layout's run directory
  int objective;                // OBJ_*
  const char *init;             // "" = random init (or model.path)
  long seed;                    // resolved: -1 in the file means the top-level seed
  long steps, micro_batch, accum;
  double lr, min_lr;
  long warmup;
  double weight_decay, beta1, beta2, eps, grad_clip;
  long ckpt_every, keep, valid_every, valid_samples, lm_window;
  double history_dropout;
  int weights;                  // W_*
  const char *annotations;      // "" = the run layout's annotations directory
  double alpha;
  int weight_pce, effect_alignment;
  const char *reference;
  double online_threshold, online_hi, online_lo;
  double ratio_min, ratio_max;  // ratio weights: p_h / p_0 clipped to [ratio_min, ratio_max]
  int adapter;                  // ADAPTER_*
  long lora_rank;
  double lora_alpha, lora_dropout;
  string_list lora_targets;
  int per_user;
  long user_groups;
  int shard_optimizer;          // SHARD_OPT_*
  int overlap_comm;
} train_settings;

extern const cfg_key train_keys[];
void train_settings_check(const train_settings *t, const char *file);

#endif
