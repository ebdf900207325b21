// nq-train's memory plan (pipeline/mem_plan.h, docs/scaling.md): what one rank holds, from the
// architecture of the model it will start from (the newest checkpoint with --resume, else
// train.init / model.path, else the config's model section), the micro-batch and the longest
// sequence, before anything large is allocated.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "pipeline/run_layout.h"
#include "files/checkpoint.h"
#include "hf/hf.h"
#include "pipeline/mem_plan.h"
#include "train/trainer.h"

// The architecture the run will train.
static void plan_config(const trainer *t, const settings *set, const stage_args *s, model_config *mc) {
  char *dir = run_path(set, RUN_TRAIN);
  // the checkpoint --resume will take (a truncated newest one is skipped; warnings come from
  // the set-up); an adapter checkpoint has no architecture: the base's is train.init's
  long newest = s->resume && !t->o.adapter ? train_ckpt_newest_whole(dir, 1) : -1;
  const char *init = t->o.init ? t->o.init : hf_model_path(set);
  if (newest >= 0) {
    char *p = train_ckpt_path(dir, newest);
    checkpoint_read_config(p, mc);
    free(p);
  } else if (init) {
    checkpoint_read_config(init, mc);
  } else {
    model_config_from_settings(mc, &set->model, t->data.sh[0].vocab_size);
  }
  free(dir);
}

int train_plan(trainer *t, const settings *set, const stage_args *s) {
  model_config mc;
  plan_config(t, set, s, &mc);
  size_t sizes[P_COUNT];
  model_param_sizes(&mc, sizes);
  double P = 0;
  for (int k = 0; k < P_COUNT; k++) P += (double)sizes[k];
  const train_opts *o = &t->o;
  int prec = set->model.precision, threads = (int)set->model.threads;
  int len = o->objective == OBJ_LM ? (o->lm_window > 0 ? o->lm_window : mc.max_seq_len) : t->data.max_len;
  int N = o->micro_batch * len, passes = o->objective == OBJ_NEXTQUILL ? 2 : 1;
  int shard = train_zero_wanted(o->shard_optimizer, s->size), ref = passes == 2 && o->effect_alignment;
  mem_plan p = {0};
  if (o->adapter) {   // LoRA: frozen base, no gradients or moments; the adapters' four arenas
    shard = 0;
    mem_plan_add(&p, prec == MODEL_BF16 ? "weights (bf16, frozen)" : "weights (fp32, frozen)",
                 (prec == MODEL_BF16 ? 2 : 4) * P);
    lora *lo = lora_create(&o->lora, &mc, 0);
    mem_plan_add(&p, "LoRA adapters (weights, gradients, moments)", 16.0 * (double)lo->n_params);
    lora_free(lo);
  } else {
    mem_plan_add(&p, "weights (fp32 master)", 4 * P);
    if (prec == MODEL_BF16) mem_plan_add(&p, "weights (bf16 copy)", 2 * P);
    mem_plan_add(&p, "gradients (fp32)", 4 * P);
    mem_plan_add(&p, shard ? "AdamW moments (1/ranks, ZeRO-1)" : "AdamW moments", 8 * P / (shard ? s->size : 1));
  }
  mem_plan_add(&p, passes == 2 ? "activations (2 passes)" : "activations",
               passes * ((double)model_acts_bytes(&mc, prec, N, len) + 4.0 * N * mc.vocab_size) +
                   (double)model_backward_scratch_bytes(&mc, prec, threads, N, len));
  if (ref) mem_plan_add(&p, "reference model + 2 passes", (prec == MODEL_BF16 ? 2 : 4) * P +
                                                         2.0 * model_acts_bytes(&mc, prec, N, len));
  snprintf(p.note, sizeof p.note, "%.0f parameters, %d x %d tokens per micro-batch, %s, optimizer %s",
           P, o->micro_batch, len, model_precision_name(prec),
           shard ? "sharded over the ranks" : "whole on every rank");
  return mem_plan_check(set, s, &p);
}
