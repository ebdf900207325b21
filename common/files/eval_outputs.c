// The keys of nq-eval's output files, once (see eval_outputs.h), and the walker that builds a
// JSON object from a table.
#include "files/eval_outputs.h"

#include <math.h>

#include "base/log.h"

const char *const eval_metric_key[EM_COUNT] = {"rouge1", "rouge2", "rougeL", "meteor", "bleu",
                                               "nll", "nll_pref", "nll_other", "phrase_recall"};
const char *const eval_metric_title[EM_COUNT] = {"ROUGE-1", "ROUGE-2", "ROUGE-L", "METEOR", "BLEU",
                                                 "NLL", "NLL pref", "NLL other", "phrase recall"};

#define P(m) offsetof(eval_prediction, m)
const eval_out_field eval_prediction_fields[] = {
    {"id", EO_STR, P(id), 0, "sample id (`data.fields.id`); lines are in id order"},
    {"user", EO_STR, P(user), 0, "user of the sample"},
    {"prompt_digest", EO_STR, P(prompt_digest), 0,
     "first 16 hex of SHA-256 of the prompt's int32 token ids"},
    {"output", EO_STR, P(output), 0, "generated text (invalid UTF-8 bytes as U+FFFD)"},
    {"reference", EO_STR, P(reference), 0, "the record's full target text"},
    {"output_tokens", EO_INT, P(output_tokens), 0, "generated tokens (end-of-text not counted)"},
    {"stop", EO_STR, P(stop), 0, "`eos` (end-of-text) or `length` (max_new_tokens or a full cache)"},
    {"rouge1", EO_NUM, P(score[EM_ROUGE1]), 0, "ROUGE-1 F1"},
    {"rouge2", EO_NUM, P(score[EM_ROUGE2]), 0, "ROUGE-2 F1"},
    {"rougeL", EO_NUM, P(score[EM_ROUGEL]), 0, "ROUGE-L F1"},
    {"meteor", EO_NUM, P(score[EM_METEOR]), 0, "METEOR"},
    {"sentence_bleu", EO_NUM, P(score[EM_BLEU]), 0, "sentence BLEU (the tables use corpus BLEU)"},
    {"nll", EO_NUM, P(score[EM_NLL]), 0, "teacher-forced NLL per target token (nats)"},
    {"nll_pref", EO_NUM, P(score[EM_NLL_PREF]), 0, "the same over planted preference tokens"},
    {"nll_other", EO_NUM, P(score[EM_NLL_OTHER]), 0, "the same over the other target tokens"},
    {"phrase_recall", EO_NUM, P(score[EM_RECALL]), 0, "planted phrases used / planted phrases"},
    {"target_tokens", EO_INT, P(target_tokens), 0, "target tokens of the NLL"},
    {"pref_tokens", EO_INT, P(pref_tokens), EO_WITH_TRUTH, "planted preference tokens of the target"},
    {"phrases_used", EO_INT, P(phrases_used), EO_WITH_PHRASES, "planted phrases found in the output"},
    {"phrases", EO_INT, P(phrases), EO_WITH_PHRASES, "distinct planted phrases of the target"},
    {NULL, 0, 0, 0, NULL},
};
#undef P

#define M(m) offsetof(eval_row_metrics, m)
const eval_out_field eval_row_metrics_fields[] = {
    {"model", EO_STR, M(model), 0, "row name"},
    {"checkpoint", EO_STR, M(checkpoint), 0, "checkpoint path"},
    {"prompt", EO_STR, M(prompt), 0, "`history`, `no history` or `history + no history (CoS)`"},
    {"cos_lambda", EO_NUM, M(cos_lambda), EO_COS_ROW, "CoS strength λ"},
    {"split", EO_STR, M(split), 0, "`test` or `valid`"},
    {"n_samples", EO_INT, M(n_samples), 0, "evaluated samples"},
    {"baseline", EO_STR, M(baseline), 0, "`eval.baseline` (row of the p-values)"},
    {"stopped_at_eos", EO_INT, M(stopped_at_eos), 0, "outputs that ended at end-of-text"},
    {"mean_output_tokens", EO_NUM, M(mean_output_tokens), 0, "mean generated tokens"},
    {"metrics", EO_JSON, M(metrics), 0, "per metric key (`rouge1`, ...): the object below"},
    {"settings", EO_JSON, M(settings), 0, "decoding and scoring settings (below)"},
    {"provenance", EO_JSON, M(provenance), 0,
     "`nq_version`, effective `config` text, `tokenizer_digest`, every shard's and checkpoint's "
     "path and SHA-256"},
    {NULL, 0, 0, 0, NULL},
};
#undef M

#define S(m) offsetof(eval_metric_summary, m)
const eval_out_field eval_metric_summary_fields[] = {
    {"mean", EO_NUM, S(mean), 0, "point estimate (null when no sample has a denominator)"},
    {"lo", EO_NUM, S(lo), 0, "95% bootstrap interval, low end"},
    {"hi", EO_NUM, S(hi), 0, "95% bootstrap interval, high end"},
    {"p_vs_baseline", EO_NUM, S(p_vs_baseline), 0, "paired-bootstrap p vs the baseline row (null for it)"},
    {NULL, 0, 0, 0, NULL},
};
#undef S

#define D(m) offsetof(eval_run_settings, m)
const eval_out_field eval_settings_fields[] = {
    {"decoding", EO_STR, D(decoding), 0, "`greedy` or `sample`"},
    {"max_new_tokens", EO_INT, D(max_new_tokens), 0, "`eval.max_new_tokens`"},
    {"repetition_penalty", EO_NUM, D(repetition_penalty), 0, "`eval.repetition_penalty`"},
    {"penalize_prompt", EO_BOOL, D(penalize_prompt), 0, "`eval.penalize_prompt`"},
    {"temperature", EO_NUM, D(temperature), 0, "`eval.temperature`"},
    {"top_p", EO_NUM, D(top_p), 0, "`eval.top_p`"},
    {"seed", EO_INT, D(seed), 0, "sampling and bootstrap seed in effect"},
    {"rouge_stemming", EO_BOOL, D(rouge_stemming), 0, "`eval.stem`"},
    {"bootstrap", EO_INT, D(bootstrap), 0, "`eval.bootstrap` resamples"},
    {NULL, 0, 0, 0, NULL},
};
#undef D

const eval_out_table eval_out_tables[] = {
    {"predictions.jsonl", eval_prediction_fields},
    {"metrics.json", eval_row_metrics_fields},
    {"metrics.json: metrics.<key>", eval_metric_summary_fields},
    {"metrics.json: settings", eval_settings_fields},
    {NULL, NULL},
};

static json_t *field_value(const eval_out_field *f, const void *obj) {
  const char *at = (const char *)obj + f->member;
  switch (f->type) {
    case EO_STR: return json_string(*(const char *const *)at);
    case EO_INT: return json_integer((json_int_t)*(const int64_t *)at);
    case EO_NUM: {
      double v = *(const double *)at;
      return isnan(v) ? json_null() : json_real(v);
    }
    case EO_BOOL: return json_boolean(*(const int *)at);
    case EO_JSON: return json_incref(*(json_t *const *)at);
  }
  return NULL;
}

json_t *eval_out_object(const eval_out_field *fields, const void *obj, unsigned have) {
  json_t *o = json_object();
  if (!o) error("json_object failed");
  for (const eval_out_field *f = fields; f->name; f++) {
    if ((f->when & have) != f->when) continue;
    json_t *v = field_value(f, obj);
    if (!v || json_object_set_new(o, f->name, v) != 0) error("building JSON key '%s'", f->name);
  }
  return o;
}
