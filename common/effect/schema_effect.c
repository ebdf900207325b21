#include "config/config.h"

// Keys of the `effect` section, read by nq-effect (common/effect/effect_run.c).
const cfg_key schema_effect[] = {
    {"effect.model", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "reference checkpoint (.h5); empty: the newest checkpoint of <run_dir>/<effect.reference_run>/"},
    {"effect.reference_run", CFG_STRING, "\"context_sft\"", CFG_NO_RANGE, NULL,
     "training run whose newest checkpoint is the default reference model"},
    {"effect.output", CFG_STRING, "\"effects\"", CFG_NO_RANGE, NULL,
     "directory of the effect files, under run_dir (pipeline.rounds: effects_r<k>)"},
    {"effect.splits", CFG_STRING_LIST, "[\"train\", \"valid\", \"test\"]", CFG_NO_RANGE, NULL,
     "splits whose shards get effects"},
    {"effect.micro_batch", CFG_INT, "8", 1, 4096, NULL, "samples packed into one forward pass"},
    {"effect.max_batch_tokens", CFG_INT, "4096", 0, 1 << 30, NULL,
     "cap on the tokens (both prompts) of one micro-batch, bounding activation memory; 0 = none"},
    {"effect.threshold", CFG_FLOAT, "0.05", -1, 1, NULL,
     "effect threshold of the per-sample / per-user 'share above' summaries"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};
