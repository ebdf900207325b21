// nq-eval (docs/eval.md): generate a response per test sample with the KV cache, teacher-forced
// NLL on the gold target, text metrics (metrics.h) with paired-bootstrap intervals, outputs.
//   eval_decode.c  decoding pieces: repetition penalty, temperature + top-p, CoS, generate, NLL
//   eval_score.c   per-sample text scores, phrase recall, aggregation, CSV / Markdown
//   eval_run.c     the MPI driver of the stage, in steps (dependencies point down):
//     eval_write       rank 0: the files of <run_dir>/eval/ (keys in formats/eval_outputs.h)
//     eval_results     rank 0: decoded outputs and references, scores, bootstrap summaries
//     eval_corpus      reference texts and planted phrases from the JSONL data.files
//     eval_generate_rank  each rank's samples: prefill, NLL, generation -> records
//     eval_records     the (sample, row) records sent to rank 0: format, gather, index
//     eval_samples     the evaluated samples (shards, split, id order, prompts)
//     eval_opts        rows and options from the settings
#ifndef NQ_EVAL_H
#define NQ_EVAL_H

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdint.h>

#include "files/eval_outputs.h"
#include "metrics/metrics.h"
#include "model/model.h"
#include "pipeline/stage.h"
#include "settings/eval_settings.h"
#include "base/util.h"

// ---- decoding (eval_decode.c) -----------------------------------------------------------
// DECODE_GREEDY / DECODE_SAMPLE: eval.decoding (settings/eval_settings.h)

typedef struct {
  int decoding;            // DECODE_*
  float penalty;           // repetition penalty (1 = off)
  int penalize_prompt;     // the penalty also covers the prompt ids (HF decoder-only behaviour)
  float temperature, top_p;
  float cos_lambda;        // used only when a no-history cache is given
  int max_new;             // generated tokens at most (end-of-text not counted)
  int eos;                 // end-of-text id
  int vocab_limit;         // ids >= this are never generated (a padded HF vocabulary); 0 = none
} eval_decode_opts;

// A set of distinct token ids (the tokens the repetition penalty covers).
typedef struct {
  uint8_t *mark;           // (V)
  int32_t *ids;            // distinct ids in insertion order
  int n, V;
} eval_seen;
void eval_seen_init(eval_seen *s, int V);
void eval_seen_add(eval_seen *s, int32_t id);
void eval_seen_clear(eval_seen *s);
void eval_seen_free(eval_seen *s);

// HF RepetitionPenaltyLogitsProcessor: every id of the set once: logit < 0 -> logit * p,
// else logit / p.
void eval_repetition_penalty(float *logits, const eval_seen *s, float penalty);
// Context steering (He et al., CoS): out = z_h + lambda * (z_h - z_0), (V). out may alias zh.
void eval_cos_combine(float *out, const float *zh, const float *z0, int V, float lambda);
// HF TemperatureLogitsWarper then TopPLogitsWarper then multinomial with uniform u in [0, 1):
// tokens sorted by probability (descending, ties by lower id) are kept while the mass of the
// tokens before them is < top_p (at least one). `probs` (V) and `order` (V) are scratch.
int eval_sample_top_p(const float *logits, int V, float temperature, float top_p, double u,
                      float *probs, int *order);
// -log softmax(z)[t] in double precision.
double eval_token_nll(const float *z, int V, int t);

// Per-stream scratch of one generation (sized for a vocabulary V).
typedef struct {
  int V;
  float *z, *z0, *probs;   // (V) each
  int *order;              // (V)
  float *all_h, *all_0;    // (cap, V) teacher-forced logits
  int cap;
  eval_seen seen;
} eval_work;
void eval_work_init(eval_work *w, int V);
void eval_work_reserve(eval_work *w, int n_rows);   // all_h / all_0 hold n_rows rows
void eval_work_free(eval_work *w);

// Generate from caches already holding the prompt(s). kv / last: the main (with- or
// without-history) stream and the logits of its last prompt position; for CoS also kv0 /
// last0 (the no-history stream of the same model), else NULL. `prompt` (np ids) feeds the
// penalty when penalize_prompt. rng is used only for DECODE_SAMPLE. Stops at end-of-text
// (not stored), max_new tokens, or a full cache. Writes ids to out (max_new), returns the
// count; the caches grow by the tokens fed back. *hit_eos tells whether it stopped at eos.
int eval_generate(const model *m, model_kv *kv, const float *last, model_kv *kv0,
                  const float *last0, const int32_t *prompt, int np, const eval_decode_opts *o,
                  gsl_rng *rng, eval_work *w, int32_t *out, int *hit_eos);
// Prefill by one full forward (sgemm attention, much faster than the cache's per-query loop):
// runs seq[0 .. np+nt-1) (the prompt and all target tokens but the last) through `a`, copies
// the prompt's keys/values into kv (kv->len = np), and writes the nt logit rows predicting
// target tokens 0..nt-1 to rows (nt, V); row 0 is the last prompt position's.
void eval_prefill(model *m, model_acts *a, model_kv *kv, const int32_t *seq, int np, int nt,
                  float *rows);
// Teacher-forced NLL (nats) of tgt[j] under rows[j] (with rows0: under the CoS logits
// z_h + lambda (z_h - z_0), built in scratch (V)).
void eval_nll_rows(const float *rows, const float *rows0, float lambda, const int32_t *tgt, int nt,
                   int V, float *scratch, double *nll);

// ---- scoring and outputs (eval_score.c) -------------------------------------------------
// Metrics of one row: EM_* and their names eval_metric_key / eval_metric_title, in
// formats/eval_outputs.h; ratios num/den per sample (den = 1 for per-sample scores, token
// counts for NLL, planted phrases for recall). BLEU is corpus BLEU.

typedef struct {
  double num[EM_COUNT], den[EM_COUNT];  // BLEU: sentence BLEU in num (den 1), for display
  bleu_stats bleu;                      // this segment's corpus-BLEU statistics
} eval_sample_scores;

// Phrase use: case-insensitive occurrence of `phrase` in `text`, at word boundaries where
// the phrase starts / ends with a letter or digit.
int eval_phrase_used(const char *text, const char *phrase);
// Text scores of one sample (ROUGE F1 with or without stemming, METEOR on 13a tokens,
// sentence BLEU, corpus-BLEU statistics, phrase recall over the distinct phrases given).
void eval_score_text(wordnet *wn, int stem, const char *output, const char *reference,
                     const char *const *phrases, int n_phrases, eval_sample_scores *s);
// Teacher-forced part: per-token NLL and the planted-truth flags (NULL = none).
void eval_score_nll(const double *nll, const uint8_t *truth, int nt, eval_sample_scores *s);

typedef struct {
  boot_ci ci[EM_COUNT];   // mean (NaN when no sample has a denominator), 95% interval
  double p[EM_COUNT];     // paired-bootstrap p vs the baseline row; NaN for the baseline itself
} eval_row_summary;
// Point estimates, intervals and p-values of one row over n samples (base = baseline row's
// scores or NULL).
void eval_summarize(const eval_sample_scores *s, const eval_sample_scores *base, size_t n,
                    int n_resamples, uint64_t seed, eval_row_summary *out);

// "0.232 [0.210, 0.251]" (BLEU and NLL with 2 decimals, others 3); "-" for NaN; "*" appended
// when p < 0.05 vs the baseline.
void eval_format_cell(char *buf, size_t cap, int metric, const boot_ci *ci, double p);
// Markdown table and CSV of every row (names[r], summaries[r]); baseline name for the note.
void eval_table_md(strbuf *b, const char *const *names, const eval_row_summary *rows, int n_rows,
                   size_t n_samples, const char *baseline);
void eval_table_csv(strbuf *b, const char *const *names, const eval_row_summary *rows, int n_rows,
                    size_t n_samples);

// ---- the stage (eval_run.c) -------------------------------------------------------------
int eval_run(const settings *set, const stage_args *a);

#endif
