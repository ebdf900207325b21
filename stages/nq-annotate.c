// nq-annotate: effects -> per-token training weights and preference mask (stage 3).
// The work is in common/annotate/annotate_run.c.
#include "annotate/annotate_run.h"
#include "pipeline/stage.h"

int main(int argc, char **argv) {
  stage_ctx s;
  stage_begin(&s, "annotate", argc, argv);
  return stage_end(&s, annotate_run(s.set, &s.a));
}
