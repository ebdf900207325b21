// Keys of the `eval` section (docs/eval.md); each row names the eval_settings member it fills.
#include "settings/eval_settings.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "settings/run_name.h"

#define F(m) offsetof(eval_settings, m)

const cfg_key eval_keys[] = {
    {"eval.models", CFG_STRING_MAP,
     "{ base = \"lm/model.h5\"; sft = \"sft/model.h5\"; context_sft = \"context_sft/model.h5\"; "
     "nextquill = \"nextquill/model.h5\"; }",
     CFG_NO_RANGE, NULL,
     "rows of the table: name -> checkpoint (relative to run_dir unless absolute), in this order", F(models)},
    {"eval.user_adapters", CFG_STRING_MAP, "{}", CFG_NO_RANGE, NULL,
     "per-user LoRA rows: eval.models name -> a per-user run's users/ directory (train.per_user); "
     "row '<name>+user-lora' evaluates each sample with its user's adapter merged in", F(user_adapters)},
    {"eval.nohist_models", CFG_STRING_LIST, "[\"sft\"]", CFG_NO_RANGE, NULL,
     "models prompted without history (generation and NLL); names absent from eval.models are ignored", F(nohist_models)},
    {"eval.cos_models", CFG_STRING_LIST, "[\"nextquill\"]", CFG_NO_RANGE, NULL,
     "models that also get a context-steering row '<name>+cos' (names absent from eval.models are ignored)", F(cos_models)},
    {"eval.cos_lambda", CFG_FLOAT, "1.0", -100.0, 100.0, NULL,
     "CoS strength: logits = z_h + lambda * (z_h - z_0)", F(cos_lambda)},
    {"eval.output", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "directory of the results, under run_dir; \"\" = the run layout's (eval/; a second "
     "decoding: pipeline.evals)", F(output)},
    {"eval.split", CFG_CHOICE, "\"test\"", CFG_NO_RANGE, "test|valid", "split evaluated", F(split)},
    {"eval.max_samples", CFG_INT, "0", 0, 1e9, NULL,
     "evaluate at most N samples (evenly spaced in id order); 0 = all", F(max_samples)},
    {"eval.max_new_tokens", CFG_INT, "128", 1, 1e6, NULL, "generated tokens at most (end-of-text stops earlier)", F(max_new_tokens)},
    {"eval.decoding", CFG_CHOICE, "\"greedy\"", CFG_NO_RANGE, "greedy|sample",
     "greedy (argmax) or sampling with temperature and top_p", F(decoding)},
    {"eval.repetition_penalty", CFG_FLOAT, "1.2", 0.01, 100.0, NULL,
     "HF repetition penalty (1 = off): logit > 0 divided, < 0 multiplied, once per distinct token", F(repetition_penalty)},
    {"eval.penalize_prompt", CFG_BOOL, "true", CFG_NO_RANGE, NULL,
     "the penalty covers the prompt's tokens too (what HF generate does for decoder-only models)", F(penalize_prompt)},
    {"eval.temperature", CFG_FLOAT, "1.0", 1e-6, 100.0, NULL, "sampling temperature", F(temperature)},
    {"eval.top_p", CFG_FLOAT, "1.0", 1e-6, 1.0, NULL, "nucleus sampling mass (1 = off)", F(top_p)},
    {"eval.seed", CFG_INT, "-1", -1, 9.2e18, NULL, "sampling and bootstrap seed; -1 = top-level seed", F(seed)},
    {"eval.baseline", CFG_STRING, "\"context_sft\"", CFG_NO_RANGE, NULL,
     "row the paired-bootstrap p-values compare against (\"\" = none)", F(baseline)},
    {"eval.bootstrap", CFG_INT, "1000", 1, 1e7, NULL, "bootstrap resamples", F(bootstrap)},
    {"eval.stem", CFG_BOOL, "false", CFG_NO_RANGE, NULL,
     "ROUGE with Porter stemming (false = evaluate.load('rouge') default, as LaMP's scripts)", F(stem)},
    {"eval.phrases_field", CFG_STRING, "\"pref_phrases\"", CFG_NO_RANGE, NULL,
     "JSONL field (list of strings) with the planted phrases of the target; \"\" = no phrase recall", F(phrases_field)},
    {"eval.kinds_field", CFG_STRING, "\"pref_kinds\"", CFG_NO_RANGE, NULL,
     "JSONL field with each phrase's kind (\"\" = none), for eval.skip_kinds", F(kinds_field)},
    {"eval.skip_kinds", CFG_STRING_LIST, "[\"case\"]", CFG_NO_RANGE, NULL,
     "phrase kinds left out of phrase recall (case spans are single letters)", F(skip_kinds)},
    {"eval.wordnet_dir", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "WordNet 3.0 database for METEOR; \"\" = $NQ_WORDNET_DIR or /usr/share/wordnet", F(wordnet_dir)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
};

// Is `row` a row of the table: a model, "<model>+cos" of a cos model, "<model>+user-lora"?
static int a_row(const eval_settings *e, const char *row) {
  if (string_map_get(&e->models, row)) return 1;
  const char *plus = strrchr(row, '+');
  if (!plus) return 0;
  char model[256];
  snprintf(model, sizeof model, "%.*s", (int)(plus - row), row);
  if (!strcmp(plus, "+cos")) return string_map_get(&e->models, model) && string_list_has(&e->cos_models, model);
  return !strcmp(plus, "+user-lora") && string_map_get(&e->user_adapters, model);
}
void eval_settings_check(const eval_settings *e, const char *file) {
  if (e->models.n == 0) fatal("%s: eval.models is empty", file);
  for (int i = 0; i < e->models.n; i++) run_name_check(file, "eval.models", e->models.name[i]);   // eval/<row>/
  for (int i = 0; i < e->user_adapters.n; i++)
    if (!string_map_get(&e->models, e->user_adapters.name[i]))
      fatal("%s: eval.user_adapters.%s: no eval.models entry of that name", file, e->user_adapters.name[i]);
  if (e->baseline[0] && !a_row(e, e->baseline))
    fatal("%s: eval.baseline \"%s\" is not a row (eval.models names, or <name>+cos); "
          "set eval.baseline = \"\" for no p-values", file, e->baseline);
}
