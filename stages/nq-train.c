// nq-train: train a model on the shards (objectives lm, sft, context_sft, nextquill;
// docs/training.md). Exit 75 after a SIGTERM/SIGUSR1 checkpoint: requeue with --resume.
#include "pipeline/mem_plan.h"
#include "pipeline/stage.h"
#include "train/train.h"

int main(int argc, char **argv) {
  stage_ctx s;
  stage_begin_with(&s, "train", argc, argv, mem_plan_options);
  return stage_end(&s, train_run(s.set, &s.a));
}
