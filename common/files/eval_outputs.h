// The files of <run_dir>/eval/<row>/ (docs/eval.md "Outputs"), declared once as tables: the
// per-sample fields of predictions.jsonl and the keys of metrics.json (top level, one metric's
// summary, the decoding settings), each with its JSON type and meaning. nq-eval's writer
// builds every object by walking its table (eval_out_object), and the docs test
// (tests/unit/test_eval_outputs.c) checks that docs/eval.md lists exactly these names, so a
// key is spelled in one place in the code. The metric names of the summary files are here too.
//
// defines: EM_* (metrics of a row), eval_metric_key, eval_metric_title, eval_out_field,
//          eval_out_table, eval_prediction, eval_row_metrics, eval_metric_summary,
//          eval_run_settings, eval_out_tables, eval_out_object
#ifndef NQ_EVAL_OUTPUTS_H
#define NQ_EVAL_OUTPUTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

// Metrics of one row, in table order (summary.csv columns, metrics.json "metrics" keys).
enum { EM_ROUGE1, EM_ROUGE2, EM_ROUGEL, EM_METEOR, EM_BLEU, EM_NLL, EM_NLL_PREF, EM_NLL_OTHER,
       EM_RECALL, EM_COUNT };
extern const char *const eval_metric_key[EM_COUNT];    // "rouge1", ... (JSON / CSV names)
extern const char *const eval_metric_title[EM_COUNT];  // "ROUGE-1", ... (table header)

typedef enum {
  EO_STR,    // const char *
  EO_INT,    // int64_t
  EO_NUM,    // double; NaN is written as null
  EO_BOOL,   // int
  EO_JSON,   // json_t * built by the writer (the object keeps its own reference)
} eval_out_type;

// Conditions under which a key is written (the `when` of a field; 0 = always).
enum {
  EO_WITH_TRUTH = 1u << 0,    // the shards mark planted preference tokens (truth_spans)
  EO_WITH_PHRASES = 1u << 1,  // some evaluated record has the planted-phrases field
  EO_COS_ROW = 1u << 2,       // the row uses context steering
};

typedef struct {
  const char *name;     // JSON key
  eval_out_type type;
  size_t member;        // offsetof(the object's struct, member)
  unsigned when;        // EO_WITH_* / EO_COS_ROW that must all hold; 0 = always written
  const char *meaning;  // for docs: one line
} eval_out_field;

typedef struct {
  const char *name;              // the heading of its table in docs/eval.md
  const eval_out_field *fields;  // terminated by a field with name NULL
} eval_out_table;

// One line of <row>/predictions.jsonl.
typedef struct {
  const char *id, *user, *prompt_digest, *output, *reference;
  int64_t output_tokens;
  const char *stop;            // "eos" or "length"
  double score[EM_COUNT];      // per-sample ratio num/den (NaN when den = 0); BLEU: sentence BLEU
  int64_t target_tokens, pref_tokens, phrases_used, phrases;
} eval_prediction;
extern const eval_out_field eval_prediction_fields[];

// <row>/metrics.json, top level.
typedef struct {
  const char *model, *checkpoint, *prompt;
  double cos_lambda;
  const char *split;
  int64_t n_samples;
  const char *baseline;
  int64_t stopped_at_eos;
  double mean_output_tokens;
  json_t *metrics;     // eval_metric_key[m] -> eval_metric_summary object
  json_t *settings;    // eval_run_settings object
  json_t *provenance;  // inputs of the run: versions, config, digests (built by the writer)
} eval_row_metrics;
extern const eval_out_field eval_row_metrics_fields[];

// metrics.json "metrics.<key>": one metric's point estimate, interval and p-value.
typedef struct {
  double mean, lo, hi, p_vs_baseline;
} eval_metric_summary;
extern const eval_out_field eval_metric_summary_fields[];

// metrics.json "settings": the decoding and scoring settings the row was made with.
typedef struct {
  const char *decoding;
  int64_t max_new_tokens;
  double repetition_penalty;
  int penalize_prompt;
  double temperature, top_p;
  int64_t seed;
  int rouge_stemming;
  int64_t bootstrap;
} eval_run_settings;
extern const eval_out_field eval_settings_fields[];

// Every table above with its docs heading, NULL-terminated (for the docs test).
extern const eval_out_table eval_out_tables[];

// A new JSON object with the fields of `obj` (a struct of the table's kind) in table order,
// leaving out fields whose `when` is not all in `have`.
json_t *eval_out_object(const eval_out_field *fields, const void *obj, unsigned have);

#endif
