// nq-effect: counterfactual preference effects of every target token (stage 2).
// The work is in common/effect/effect_run.c.
#include "effect/effect_run.h"
#include "pipeline/mem_plan.h"
#include "pipeline/stage.h"

int main(int argc, char **argv) {
  stage_ctx s;
  stage_begin_with(&s, "effect", argc, argv, mem_plan_options);
  return stage_end(&s, effect_run(s.set, &s.a));
}
