// The trainer's options: the `train` section as settings_load filled it, with its paths
// resolved in the run layout and the LoRA targets as a mask.
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "pipeline/run_layout.h"
#include "train/trainer.h"

// train.lora_targets as the mask of lora_config (the names are checked here: model/lora.h
// knows them).
static unsigned lora_targets(const train_settings *t, const char *file) {
  unsigned mask = 0;
  for (int i = 0; i < t->lora_targets.n; i++) {
    int k = lora_target_kind(t->lora_targets.v[i]);
    if (k < 0) fatal("%s: field 'train.lora_targets': unknown projection '%s' (q, k, v, o, gate, up, down)",
                     file, t->lora_targets.v[i]);
    mask |= 1u << k;
  }
  return mask;
}

void train_opts_read(train_opts *o, const settings *set) {
  const train_settings *t = &set->train;
  memset(o, 0, sizeof *o);
  o->name = t->name;
  o->objective = t->objective;
  o->weights = t->weights;
  o->init = run_resolve(set, t->init);
  o->reference = run_resolve(set, t->reference);
  o->ann_dir = run_path(set, RUN_WEIGHTS);
  o->seed = (unsigned long long)t->seed;
  o->steps = t->steps, o->warmup = t->warmup;
  o->micro_batch = (int)t->micro_batch, o->accum = (int)t->accum;
  o->lr = t->lr, o->min_lr = t->min_lr, o->weight_decay = t->weight_decay;
  o->beta1 = t->beta1, o->beta2 = t->beta2, o->eps = t->eps, o->grad_clip = t->grad_clip;
  o->ckpt_every = (int)t->ckpt_every, o->keep = (int)t->keep;
  o->valid_every = (int)t->valid_every, o->valid_samples = (int)t->valid_samples;
  o->lm_window = (int)t->lm_window;
  o->history_dropout = t->history_dropout, o->alpha = t->alpha;
  o->weight_pce = t->weight_pce, o->effect_alignment = t->effect_alignment;
  o->online_threshold = t->online_threshold, o->online_hi = t->online_hi, o->online_lo = t->online_lo;
  o->adapter = t->adapter == ADAPTER_LORA;
  o->per_user = t->per_user, o->user_groups = (int)t->user_groups;
  o->lora = (lora_config){.rank = (int)t->lora_rank, .alpha = (float)t->lora_alpha,
                          .dropout = (float)t->lora_dropout, .targets = lora_targets(t, settings_file(set))};
  o->shard_optimizer = t->shard_optimizer;
  o->overlap_comm = t->overlap_comm;
}

void train_opts_free(train_opts *o) {
  free(o->init);
  free(o->reference);
  free(o->ann_dir);
  memset(o, 0, sizeof *o);
}
