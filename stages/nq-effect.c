// nq-effect: counterfactual preference effects of every target token (stage 2).
// The work is in common/effect/effect_run.c.
#include "effect/effect_run.h"
#include "pipeline/stage.h"

int main(int argc, char **argv) {
  stage_ctx s;
  stage_begin(&s, "effect", argc, argv);
  return stage_end(&s, effect_run(&s));
}
