#include "pipeline/stages.h"

#include <string.h>

const stage_info stage_table[] = {
    // version 3: synth's pref_decisive field
    {"synth", "Generate the synthetic review benchmark with planted preference spans (JSONL).",
     "seed,synth", 0, 0, 1, 3},
    {"shard", "Tokenize the corpus (with- and without-history prompts) into balanced HDF5 shards.",
     "seed,data,tokenizer,shard", 0, 1, 1, 1},
    {"effect", "per-token counterfactual effects of the user history", "effect,model", 0, 0, 0, 1},
    {"annotate", "turn effects into token weights and a preference mask", "annotate", 0, 0, 0, 1},
    {"train", "train a model (lm / sft / context_sft / nextquill)", "seed,model,train", 1, 0, 0, 1},
    {"eval", "generate and score test responses of the trained models", "seed,eval,data,model", 0, 0, 0, 1},
    {"report", "write the run's report page (or, with --user / --top, a terminal view)",
     "pipeline,effect,annotate", 0, 0, 0, 1},
    {NULL, NULL, NULL, 0, 0, 0, 0},
};

const stage_info *stage_find(const char *name) {
  for (const stage_info *s = stage_table; s->name; s++)
    if (!strcmp(s->name, name)) return s;
  return NULL;
}
