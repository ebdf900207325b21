// nq-synth: write the embedded personalization benchmark (docs/synth.md) as JSONL;
// the work is in common/synth/ (synth_run.c drives it, synth.c generates).
#include "pipeline/stage.h"
#include "synth/synth_run.h"

int main(int argc, char **argv) {
  stage_ctx s;
  stage_begin(&s, "synth", argc, argv);
  return stage_end(&s, synth_run(s.set, &s.a));
}
