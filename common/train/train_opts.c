// The trainer's options: what the `train` section (set->train, read where it is used) gives
// only once resolved: its paths in the run layout and the LoRA targets as a mask.
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "hf/hf.h"
#include "pipeline/run_layout.h"
#include "train/trainer.h"

// train.lora_targets as the mask of lora_config (the names are checked here: model/lora.h
// knows them). Checked in every run, as the rest of the config is, adapters or not.
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
  o->init = run_resolve(set, t->init);
  o->reference = run_resolve(set, t->reference);
  o->start_from = o->init ? o->init : hf_model_path(set);
  o->lora = (lora_config){.rank = (int)t->lora_rank, .alpha = (float)t->lora_alpha,
                          .dropout = (float)t->lora_dropout, .targets = lora_targets(t, settings_file(set))};
}

void train_opts_free(train_opts *o) {
  free(o->init);
  free(o->reference);
  memset(o, 0, sizeof *o);
}
