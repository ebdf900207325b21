#include "config/config.h"

// Keys of the `pipeline` section: which training runs jobs/run-local.sh and jobs/submit.sh
// chain, in order, and the --set overrides that make each run what it is. Effect estimation
// and annotation run right after the run named by effect.reference_run.
const cfg_key schema_pipeline[] = {
    {"pipeline.train_runs", CFG_STRING_LIST, "[\"lm\", \"sft\", \"context_sft\", \"nextquill\"]",
     CFG_NO_RANGE, NULL, "training runs in order; each is nq-train with train.name = the run name"},
    {"pipeline.runs", CFG_STRING_MAP, "{}", CFG_NO_RANGE, NULL,
     "per run: space-separated key=value overrides, e.g. \"train.objective=lm train.steps=300\""},
    {"pipeline.rounds", CFG_INT, "1", 1, 100, NULL,
     "NextQuill rounds: round k > 1 re-estimates effects with round k-1's model (effect_r<k>, "
     "annotate_r<k>) and trains <rounds_run>_r<k> on them"},
    {"pipeline.rounds_run", CFG_STRING, "\"nextquill\"", CFG_NO_RANGE, NULL,
     "the training run iterated by pipeline.rounds (round 1)"},
    {"pipeline.evals", CFG_STRING_MAP, "{}", CFG_NO_RANGE, NULL,
     "further nq-eval steps: name -> overrides, e.g. eval_out = \"eval.penalize_prompt=false "
     "eval.output=eval_out\""},
    {"pipeline.ranks", CFG_INT, "2", 1, 1 << 20, NULL, "MPI ranks per stage in jobs/run-local.sh"},
    {"pipeline.synth", CFG_STRING, "\"auto\"", CFG_NO_RANGE, "auto|always|never",
     "run nq-synth first: auto = only when its output is a corpus file (pipeline/steps.c)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};
