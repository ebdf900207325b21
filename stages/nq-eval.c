// nq-eval: generate a response per test sample for each model row, score it (ROUGE, METEOR,
// BLEU, teacher-forced NLL, phrase recall) with bootstrap intervals; docs/eval.md.
#include "eval/eval.h"
#include "pipeline/stage.h"

static const stage_info info = {"eval", "generate and score test responses of the trained models",
                                "eval,data,model", 0};

int main(int argc, char **argv) {
  stage_ctx s;
  stage_begin(&s, &info, argc, argv);
  int rc = eval_run(&s);
  stage_end(&s);
  return rc;
}
