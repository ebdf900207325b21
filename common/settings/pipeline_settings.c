// Keys of the `pipeline` section: which training runs jobs/run-local.sh and jobs/submit.sh
// chain, in order, and the --set overrides that make each run what it is; each row names the
// pipeline_settings member it fills.
#include "settings/pipeline_settings.h"

#include <stddef.h>
#include <string.h>

#include "base/log.h"
#include "settings/run_name.h"

#define F(m) offsetof(pipeline_settings, m)

const cfg_key pipeline_keys[] = {
    {"pipeline.train_runs", CFG_STRING_LIST, "[\"lm\", \"sft\", \"context_sft\", \"nextquill\"]",
     CFG_NO_RANGE, NULL, "training runs in order; each is nq-train with train.name = the run name", F(train_runs)},
    {"pipeline.runs", CFG_STRING_MAP, "{}", CFG_NO_RANGE, NULL,
     "per run: space-separated key=value overrides, e.g. \"train.objective=lm train.steps=300\"", F(runs)},
    {"pipeline.rounds", CFG_INT, "1", 1, 100, NULL,
     "NextQuill rounds: round k > 1 re-estimates effects with round k-1's model (effect_r<k>, "
     "annotate_r<k>) and trains <rounds_run>_r<k> on them", F(rounds)},
    {"pipeline.rounds_run", CFG_STRING, "\"nextquill\"", CFG_NO_RANGE, NULL,
     "the training run iterated by pipeline.rounds (round 1)", F(rounds_run)},
    {"pipeline.evals", CFG_STRING_MAP, "{}", CFG_NO_RANGE, NULL,
     "further nq-eval steps: name -> overrides, e.g. eval_out = \"eval.penalize_prompt=false "
     "eval.output=eval_out\"", F(evals)},
    {"pipeline.ranks", CFG_INT, "2", 1, 1 << 20, NULL, "MPI ranks per stage in jobs/run-local.sh", F(ranks)},
    {"pipeline.synth", CFG_CHOICE, "\"auto\"", CFG_NO_RANGE, "auto|always|never",
     "run nq-synth first: auto = only when another step reads its output (pipeline/steps.c)", F(synth)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
};

void pipeline_settings_check(const pipeline_settings *p, const char *file) {
  // each names a step (logs/<step>.log, stamps) and a training run its folder <run_dir>/<run>/
  for (int i = 0; i < p->train_runs.n; i++) run_name_check(file, "pipeline.train_runs", p->train_runs.v[i]);
  for (int i = 0; i < p->runs.n; i++) run_name_check(file, "pipeline.runs", p->runs.name[i]);
  for (int i = 0; i < p->evals.n; i++) run_name_check(file, "pipeline.evals", p->evals.name[i]);
  if (p->rounds > 1 && !string_list_has(&p->train_runs, p->rounds_run))
    fatal("%s: pipeline.rounds_run: '%s' is not in pipeline.train_runs", file, p->rounds_run);
}
