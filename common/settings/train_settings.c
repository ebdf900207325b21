// Keys of the `train` section (docs/training.md); each row names the train_settings member
// it fills.
#include "settings/train_settings.h"

#include <stddef.h>

#include "base/log.h"

#define F(m) offsetof(train_settings, m)

const cfg_key train_keys[] = {
    {"train.name", CFG_STRING, "\"train\"", CFG_NO_RANGE, NULL,
     "run name, a folder name under run_dir: outputs go to <run_dir>/<name>/ (ckpt-<step>.h5, model.h5, metrics.h5)", F(name)},
    {"train.objective", CFG_CHOICE, "\"context_sft\"", CFG_NO_RANGE, TRAIN_OBJECTIVES,
     "lm = next-token on per-user streams (history items and targets in time order); sft = target CE without history; context_sft = with history; "
     "nextquill = weighted CE + alpha * difference term", F(objective)},
    {"train.init", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "checkpoint to start from (relative to run_dir unless absolute); \"\" = random init", F(init)},
    {"train.seed", CFG_INT, "-1", -1, 9.2e18, NULL, "data order / dropout seed; -1 = top-level seed", F(seed)},
    {"train.steps", CFG_INT, "200", 1, 1e9, NULL, "optimizer steps", F(steps)},
    {"train.micro_batch", CFG_INT, "4", 1, 65536, NULL, "samples per rank per micro-step", F(micro_batch)},
    {"train.accum", CFG_INT, "1", 1, 65536, NULL,
     "micro-steps per optimizer step (global batch = ranks x micro_batch x accum)", F(accum)},
    {"train.lr", CFG_FLOAT, "1e-3", 0.0, 10.0, NULL, "peak learning rate", F(lr)},
    {"train.min_lr", CFG_FLOAT, "1e-4", 0.0, 10.0, NULL, "final learning rate of the cosine decay", F(min_lr)},
    {"train.warmup", CFG_INT, "20", 0, 1e9, NULL, "linear warmup steps", F(warmup)},
    {"train.weight_decay", CFG_FLOAT, "0.1", 0.0, 10.0, NULL, "AdamW decoupled weight decay (matrices)", F(weight_decay)},
    {"train.beta1", CFG_FLOAT, "0.9", 0.0, 0.999999, NULL, "AdamW beta1", F(beta1)},
    {"train.beta2", CFG_FLOAT, "0.95", 0.0, 0.999999, NULL, "AdamW beta2", F(beta2)},
    {"train.eps", CFG_FLOAT, "1e-8", 0.0, 1.0, NULL, "AdamW epsilon", F(eps)},
    {"train.grad_clip", CFG_FLOAT, "1.0", 0.0, 1e9, NULL, "global-norm gradient clipping; 0 = off", F(grad_clip)},
    {"train.ckpt_every", CFG_INT, "50", 0, 1e9, NULL, "checkpoint every N steps (0 = only at the end)", F(ckpt_every)},
    {"train.keep", CFG_INT, "2", 1, 1e6, NULL, "checkpoints kept (newest)", F(keep)},
    {"train.valid_every", CFG_INT, "50", 0, 1e9, NULL,
     "validation loss every N steps and at the end (0 = only at the end)", F(valid_every)},
    {"train.valid_samples", CFG_INT, "32", 0, 1e9, NULL, "validation samples (first N of split valid)", F(valid_samples)},
    {"train.lm_window", CFG_INT, "0", 0, 1e9, NULL,
     "lm: tokens per window of the per-user streams; 0 = model.max_seq_len", F(lm_window)},
    {"train.history_dropout", CFG_FLOAT, "0.0", 0.0, 1.0, NULL,
     "context_sft: probability that a sample is shown without history", F(history_dropout)},
    {"train.weights", CFG_CHOICE, "\"annotations\"", CFG_NO_RANGE, "annotations|online|uniform|ratio|ratio_online",
     "nextquill token weights: from the annotation files (train.annotations), recomputed online, "
     "all 1, or the likelihood ratio p_h / p_0 clipped to [train.ratio_min, train.ratio_max] from the "
     "reference effect files (ratio: effects/, effect.output) or from the model being trained (ratio_online)",
     F(weights)},
    {"train.annotations", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "directory of annotation files, a folder name under run_dir; \"\" = the run "
     "layout's (annotations/)", F(annotations)},
    {"train.alpha", CFG_FLOAT, "0.1", 0.0, 1e6, NULL, "weight of the difference term L_p", F(alpha)},
    {"train.weight_pce", CFG_BOOL, "false", CFG_NO_RANGE, NULL, "also weight L_p by w_t", F(weight_pce)},
    {"train.effect_alignment", CFG_BOOL, "false", CFG_NO_RANGE, NULL,
     "L_p = KL(reference effect || model effect) instead of CE on z_h - z_0", F(effect_alignment)},
    {"train.reference", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "reference checkpoint for effect_alignment (relative to run_dir unless absolute)", F(reference)},
    {"train.online_threshold", CFG_FLOAT, "0.0", -1.0, 1.0, NULL,
     "online weights: preference token when p_h - p_0 > threshold", F(online_threshold)},
    {"train.online_hi", CFG_FLOAT, "1.0", 0.0, 1e6, NULL, "online weight of preference tokens", F(online_hi)},
    {"train.online_lo", CFG_FLOAT, "0.1", 0.0, 1e6, NULL, "online weight of the other tokens", F(online_lo)},
    {"train.ratio_min", CFG_FLOAT, "0.1", 0.0, 1e6, NULL,
     "ratio weights: a token's weight is p_h / p_0 clipped to [ratio_min, ratio_max]", F(ratio_min)},
    {"train.ratio_max", CFG_FLOAT, "10", 0.0, 1e6, NULL, "ratio weights: the upper clip", F(ratio_max)},
    {"train.adapter", CFG_CHOICE, "\"none\"", CFG_NO_RANGE, "none|lora",
     "none = full fine-tuning; lora = train.init frozen, LoRA adapters trained (docs/training.md)", F(adapter)},
    {"train.lora_rank", CFG_INT, "8", 1, 65536, NULL, "LoRA rank r", F(lora_rank)},
    {"train.lora_alpha", CFG_FLOAT, "16", 0.0, 1e6, NULL, "LoRA alpha: the update is (alpha / r) B A", F(lora_alpha)},
    {"train.lora_dropout", CFG_FLOAT, "0.0", 0.0, 0.99, NULL, "dropout on the adapters' input (training)", F(lora_dropout)},
    {"train.lora_targets", CFG_STRING_LIST, "[\"q\", \"k\", \"v\", \"o\", \"gate\", \"up\", \"down\"]",
     CFG_NO_RANGE, NULL, "projections that get an adapter: q, k, v, o, gate, up, down", F(lora_targets)},
    {"train.per_user", CFG_BOOL, "false", CFG_NO_RANGE, NULL,
     "lora: one adapter per train-split user, train.steps steps on that user's samples, from train.init", F(per_user)},
    {"train.user_groups", CFG_INT, "16", 1, 1e6, NULL,
     "per_user: users hashed into this many groups, one file users/group-<g>.h5 each", F(user_groups)},
    {"train.shard_optimizer", CFG_CHOICE, "\"auto\"", CFG_NO_RANGE, "auto|true|false",
     "ZeRO-1: AdamW moments split across the ranks (gradients reduce-scattered, weights all-gathered); "
     "auto = on with more than one rank (docs/scaling.md)", F(shard_optimizer)},
    {"train.overlap_comm", CFG_BOOL, "true", CFG_NO_RANGE, NULL,
     "post each layer's gradient buckets (non-blocking) during the backward pass instead of after it; "
     "same results (docs/scaling.md)", F(overlap_comm)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
};

void train_settings_check(const train_settings *t, const char *file) {
  if (t->objective == OBJ_NEXTQUILL && t->effect_alignment && !t->reference[0])
    fatal("%s: train.effect_alignment needs train.reference (a checkpoint)", file);
  if (t->history_dropout > 0 && t->objective != OBJ_CONTEXT_SFT)
    warning("train.history_dropout is used by objective context_sft only");
  if (t->ratio_min > t->ratio_max)
    fatal("%s: train.ratio_min (%g) must be <= train.ratio_max (%g)", file, t->ratio_min, t->ratio_max);
  if (t->ratio_max <= 0) fatal("%s: train.ratio_max must be > 0 (the weights are normalised by their sum)", file);
  if (t->per_user && t->adapter != ADAPTER_LORA) fatal("%s: train.per_user needs train.adapter = \"lora\"", file);
  if (t->per_user && t->objective == OBJ_LM) fatal("%s: train.per_user needs a sample objective, not lm", file);
  if (t->adapter != ADAPTER_LORA) return;
  if (!t->lora_targets.n) fatal("%s: field 'train.lora_targets' is empty", file);
  if (!t->init[0]) fatal("%s: train.adapter = \"lora\" needs train.init (the frozen base model)", file);
}
