// nq-eval: generate a response per test sample for each model row, score it (ROUGE, METEOR,
// BLEU, teacher-forced NLL, phrase recall) with bootstrap intervals; docs/eval.md.
#include "eval/eval.h"
#include "pipeline/mem_plan.h"
#include "pipeline/stage.h"

int main(int argc, char **argv) {
  stage_ctx s;
  stage_begin_with(&s, "eval", argc, argv, mem_plan_options);
  return stage_end(&s, eval_run(s.set, &s.a));
}
