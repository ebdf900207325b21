// nq-train: train a model on the shards (objectives lm, sft, context_sft, nextquill;
// docs/training.md). Exit 75 after a SIGTERM/SIGUSR1 checkpoint: requeue with --resume.
#include "pipeline/stage.h"
#include "train/train.h"

int main(int argc, char **argv) {
  stage_ctx s;
  stage_begin(&s, "train", argc, argv);
  return stage_end(&s, train_run(&s));
}
