// The `train` config section (common/train/schema_train.c), read once into train_opts.
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "config/config.h"
#include "train/trainer.h"

static char *under_run_dir(const stage_ctx *s, const char *p) {
  if (!p[0]) return NULL;
  if (p[0] == '/') return xstrdup(p);
  return stage_path(s, p);
}

static int objective_code(const char *name) {
  return !strcmp(name, "lm") ? OBJ_LM : !strcmp(name, "sft") ? OBJ_SFT
         : !strcmp(name, "context_sft") ? OBJ_CONTEXT_SFT : OBJ_NEXTQUILL;
}

static int weights_code(const char *name) {
  return !strcmp(name, "annotations") ? W_ANNOTATIONS : !strcmp(name, "online") ? W_ONLINE : W_UNIFORM;
}

static void read_optimizer(train_opts *o, const config *c) {
  o->steps = cfg_int(c, "train.steps");
  o->warmup = cfg_int(c, "train.warmup");
  o->micro_batch = (int)cfg_int(c, "train.micro_batch");
  o->accum = (int)cfg_int(c, "train.accum");
  o->lr = cfg_float(c, "train.lr");
  o->min_lr = cfg_float(c, "train.min_lr");
  o->weight_decay = cfg_float(c, "train.weight_decay");
  o->beta1 = cfg_float(c, "train.beta1");
  o->beta2 = cfg_float(c, "train.beta2");
  o->eps = cfg_float(c, "train.eps");
  o->grad_clip = cfg_float(c, "train.grad_clip");
}

void train_opts_read(train_opts *o, const stage_ctx *s) {
  const config *c = s->cfg;
  memset(o, 0, sizeof *o);
  o->name = cfg_str(c, "train.name");
  o->objective = objective_code(cfg_str(c, "train.objective"));
  o->weights = weights_code(cfg_str(c, "train.weights"));
  o->init = under_run_dir(s, cfg_str(c, "train.init"));
  o->reference = under_run_dir(s, cfg_str(c, "train.reference"));
  o->ann_dir = under_run_dir(s, cfg_str(c, "train.annotations"));
  long seed = cfg_int(c, "train.seed");
  o->seed = (unsigned long long)(seed >= 0 ? seed : cfg_int(c, "seed"));
  read_optimizer(o, c);
  o->ckpt_every = (int)cfg_int(c, "train.ckpt_every");
  o->keep = (int)cfg_int(c, "train.keep");
  o->valid_every = (int)cfg_int(c, "train.valid_every");
  o->valid_samples = (int)cfg_int(c, "train.valid_samples");
  o->lm_window = (int)cfg_int(c, "train.lm_window");
  o->history_dropout = cfg_float(c, "train.history_dropout");
  o->alpha = cfg_float(c, "train.alpha");
  o->weight_pce = cfg_bool(c, "train.weight_pce");
  o->effect_alignment = cfg_bool(c, "train.effect_alignment");
  o->online_threshold = cfg_float(c, "train.online_threshold");
  o->online_hi = cfg_float(c, "train.online_hi");
  o->online_lo = cfg_float(c, "train.online_lo");
  train_lora_opts_read(o, c);
  o->shard_optimizer = cfg_str(c, "train.shard_optimizer");
  o->overlap_comm = cfg_bool(c, "train.overlap_comm");
  if (o->objective == OBJ_NEXTQUILL && o->effect_alignment && !o->reference)
    fatal("%s: train.effect_alignment needs train.reference (a checkpoint)", config_path(c));
  if (o->history_dropout > 0 && o->objective != OBJ_CONTEXT_SFT)
    warning("train.history_dropout is used by objective context_sft only");
}

void train_opts_free(train_opts *o) {
  free(o->init);
  free(o->reference);
  free(o->ann_dir);
  memset(o, 0, sizeof *o);
}
