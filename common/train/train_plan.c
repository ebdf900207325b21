// nq-train's memory plan (pipeline/mem_plan.h, docs/scaling.md): what one rank holds, from the
// architecture of the model it will start from (the trained target says which: train_target
// .plan), the micro-batch and the longest sequence, before anything large is allocated.
#include <stdio.h>
#include <string.h>

#include "pipeline/mem_plan.h"
#include "train/trainer.h"

double train_plan_params(const model_config *mc) {
  size_t sizes[P_COUNT];
  model_param_sizes(mc, sizes);
  double P = 0;
  for (int k = 0; k < P_COUNT; k++) P += (double)sizes[k];
  return P;
}

int train_plan(trainer *t) {
  const settings *set = t->set;
  const train_settings *ts = &set->train;
  model_config mc;
  mem_plan p = {0};
  int shard = t->target->plan(t, &mc, &p);   // the architecture; weights, gradients, moments
  double P = train_plan_params(&mc);
  int prec = set->model.precision, threads = (int)set->model.threads;
  int len = ts->objective == OBJ_LM ? (ts->lm_window > 0 ? (int)ts->lm_window : mc.max_seq_len) : t->data.max_len;
  int N = (int)ts->micro_batch * len, passes = ts->objective == OBJ_NEXTQUILL ? 2 : 1;
  int ref = passes == 2 && ts->effect_alignment;
  mem_plan_add(&p, passes == 2 ? "activations (2 passes)" : "activations",
               passes * ((double)model_acts_bytes(&mc, prec, N, len) + 4.0 * N * mc.vocab_size) +
                   (double)model_backward_scratch_bytes(&mc, prec, threads, N, len));
  if (ref) mem_plan_add(&p, "reference model + 2 passes", model_weight_bytes(&mc, prec) +
                                                         2.0 * model_acts_bytes(&mc, prec, N, len));
  snprintf(p.note, sizeof p.note, "%.0f parameters, %d x %d tokens per micro-batch, %s, optimizer %s",
           P, (int)ts->micro_batch, len, model_precision_name(prec),
           shard ? "sharded over the ranks" : "whole on every rank");
  if (t->data.shapes_only && ts->objective != OBJ_LM)   // before nq-shard: the bound, not the data's longest
    snprintf(p.note + strlen(p.note), sizeof p.note - strlen(p.note),
             "; no shards yet: %d = data.max_prompt_tokens + data.max_target_tokens", len);
  return mem_plan_check(set, t->s, &p);
}
