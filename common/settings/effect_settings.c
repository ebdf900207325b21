// Keys of the `effect` section; each row names the effect_settings member it fills.
#include "settings/effect_settings.h"

#include <stddef.h>

#define F(m) offsetof(effect_settings, m)

const cfg_key effect_keys[] = {
    {"effect.model", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "reference checkpoint (.h5); empty: the newest checkpoint of <run_dir>/<effect.reference_run>/", F(model)},
    {"effect.reference_run", CFG_STRING, "\"context_sft\"", CFG_NO_RANGE, NULL,
     "training run whose newest checkpoint is the default reference model", F(reference_run)},
    {"effect.output", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "directory of the effect files, under run_dir; \"\" = the run layout's (effects/; round k "
     "of pipeline.rounds: effects_r<k>/)", F(output)},
    {"effect.splits", CFG_STRING_LIST, "[\"train\", \"valid\", \"test\"]", CFG_NO_RANGE, NULL,
     "splits whose shards get effects", F(splits)},
    {"effect.micro_batch", CFG_INT, "8", 1, 4096, NULL, "samples packed into one forward pass", F(micro_batch)},
    {"effect.max_batch_tokens", CFG_INT, "4096", 0, 1 << 30, NULL,
     "cap on the tokens (both prompts) of one micro-batch, bounding activation memory; 0 = none", F(max_batch_tokens)},
    {"effect.threshold", CFG_FLOAT, "0.05", -1, 1, NULL,
     "effect threshold of the per-sample / per-user 'share above' summaries", F(threshold)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
};
