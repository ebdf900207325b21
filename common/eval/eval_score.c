// Scoring for nq-eval: per-sample text metrics and phrase recall, teacher-forced NLL split by
// planted truth, bootstrap summaries, and the summary table (Markdown / CSV). The metric
// names are in formats/eval_outputs.c.
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "base/log.h"

// ---- phrase recall ------------------------------------------------------------------------
static int is_word(unsigned char c) { return isalnum(c) != 0; }

int eval_phrase_used(const char *text, const char *phrase) {
  size_t n = strlen(phrase), L = strlen(text);
  if (n == 0 || n > L) return 0;
  int word_start = is_word((unsigned char)phrase[0]), word_end = is_word((unsigned char)phrase[n - 1]);
  for (size_t i = 0; i + n <= L; i++) {
    if (strncasecmp(text + i, phrase, n) != 0) continue;
    if (word_start && i > 0 && is_word((unsigned char)text[i - 1])) continue;
    if (word_end && i + n < L && is_word((unsigned char)text[i + n])) continue;
    return 1;
  }
  return 0;
}

// ---- per-sample scores --------------------------------------------------------------------
void eval_score_text(wordnet *wn, int stem, const char *output, const char *reference,
                     const char *const *phrases, int n_phrases, eval_sample_scores *s) {
  rouge_scores r;
  rouge_score(reference, output, stem, &r);
  s->num[EM_ROUGE1] = r.r1.f;
  s->num[EM_ROUGE2] = r.r2.f;
  s->num[EM_ROUGEL] = r.rl.f;
  s->den[EM_ROUGE1] = s->den[EM_ROUGE2] = s->den[EM_ROUGEL] = 1;
  // METEOR on 13a tokens: the closest we have to evaluate's nltk.word_tokenize (punctuation
  // split off, so "sturdy." matches "sturdy")
  nq_tokens h, g;
  tokens_init(&h);
  tokens_init(&g);
  bleu_tokenize_13a(output, &h);
  bleu_tokenize_13a(reference, &g);
  s->num[EM_METEOR] = meteor_tokens(wn, (const char *const *)h.tok, h.n, (const char *const *)g.tok, g.n);
  s->den[EM_METEOR] = 1;
  tokens_free(&h);
  tokens_free(&g);
  s->num[EM_BLEU] = bleu_sentence(output, reference);
  s->den[EM_BLEU] = 1;
  bleu_stats_zero(&s->bleu);
  bleu_stats_add(&s->bleu, output, reference);
  // distinct phrases (a habit such as "!!" is planted several times in one target)
  int used = 0, distinct = 0;
  for (int i = 0; i < n_phrases; i++) {
    int dup = 0;
    for (int j = 0; j < i && !dup; j++) dup = strcmp(phrases[i], phrases[j]) == 0;
    if (dup || !phrases[i][0]) continue;
    distinct++;
    used += eval_phrase_used(output, phrases[i]);
  }
  s->num[EM_RECALL] = used;
  s->den[EM_RECALL] = distinct;
}

void eval_score_nll(const double *nll, const uint8_t *truth, int nt, eval_sample_scores *s) {
  double all = 0, pref = 0, other = 0;
  int np = 0, no = 0;
  for (int j = 0; j < nt; j++) {
    all += nll[j];
    if (truth && truth[j]) {
      pref += nll[j];
      np++;
    } else {
      other += nll[j];
      no++;
    }
  }
  s->num[EM_NLL] = all;
  s->den[EM_NLL] = nt;
  s->num[EM_NLL_PREF] = truth ? pref : 0;
  s->den[EM_NLL_PREF] = truth ? np : 0;
  s->num[EM_NLL_OTHER] = truth ? other : 0;
  s->den[EM_NLL_OTHER] = truth ? no : 0;
}

// ---- summaries ----------------------------------------------------------------------------
void eval_summarize(const eval_sample_scores *s, const eval_sample_scores *base, size_t n,
                    int n_resamples, uint64_t seed, eval_row_summary *out) {
  double *num = xmalloc(n * sizeof(double)), *den = xmalloc(n * sizeof(double));
  double *bn = xmalloc(n * sizeof(double)), *bd = xmalloc(n * sizeof(double));
  bleu_stats *seg = xmalloc(n * sizeof *seg), *bseg = xmalloc(n * sizeof *bseg);
  for (int k = 0; k < EM_COUNT; k++) {
    out->p[k] = NAN;
    if (k == EM_BLEU) {
      for (size_t i = 0; i < n; i++) {
        seg[i] = s[i].bleu;
        if (base) bseg[i] = base[i].bleu;
      }
      bootstrap_bleu_ci(seg, n, n_resamples, seed, &out->ci[k]);
      if (base) out->p[k] = bootstrap_bleu_paired_p(seg, bseg, n, n_resamples, seed);
      continue;
    }
    for (size_t i = 0; i < n; i++) {
      num[i] = s[i].num[k];
      den[i] = s[i].den[k];
      if (base) {
        bn[i] = base[i].num[k];
        bd[i] = base[i].den[k];
      }
    }
    bootstrap_ratio_ci(num, den, n, n_resamples, seed, &out->ci[k]);
    if (base) out->p[k] = bootstrap_ratio_paired_p(num, den, bn, bd, n, n_resamples, seed);
  }
  free(num);
  free(den);
  free(bn);
  free(bd);
  free(seg);
  free(bseg);
}

// ---- table --------------------------------------------------------------------------------
static int decimals(int metric) { return metric == EM_BLEU || metric == EM_NLL || metric == EM_NLL_PREF || metric == EM_NLL_OTHER ? 2 : 3; }

void eval_format_cell(char *buf, size_t cap, int metric, const boot_ci *ci, double p) {
  if (isnan(ci->mean)) {
    snprintf(buf, cap, "-");
    return;
  }
  int d = decimals(metric);
  snprintf(buf, cap, "%.*f [%.*f, %.*f]%s", d, ci->mean, d, ci->lo, d, ci->hi,
           !isnan(p) && p < 0.05 ? "*" : "");
}

void eval_table_md(strbuf *b, const char *const *names, const eval_row_summary *rows, int n_rows,
                   size_t n_samples, const char *baseline) {
  sb_puts(b, "| model |");
  for (int k = 0; k < EM_COUNT; k++) sb_printf(b, " %s |", eval_metric_title[k]);
  sb_puts(b, "\n|---|");
  for (int k = 0; k < EM_COUNT; k++) sb_puts(b, "---|");
  sb_puts(b, "\n");
  for (int r = 0; r < n_rows; r++) {
    sb_printf(b, "| %s |", names[r]);
    for (int k = 0; k < EM_COUNT; k++) {
      char cell[96];
      eval_format_cell(cell, sizeof cell, k, &rows[r].ci[k], rows[r].p[k]);
      sb_printf(b, " %s |", cell);
    }
    sb_puts(b, "\n");
  }
  sb_printf(b, "\n%zu samples; mean [95%% bootstrap interval]", n_samples);
  if (baseline && baseline[0])
    sb_printf(b, "; * = paired-bootstrap p < 0.05 vs %s", baseline);
  sb_puts(b, ". ROUGE, METEOR and recall 0-1, BLEU 0-100 (corpus), NLL nats/token.\n");
}

static void csv_num(strbuf *b, double v) {
  if (isnan(v)) sb_puts(b, ",");
  else sb_printf(b, ",%.6f", v);
}

void eval_table_csv(strbuf *b, const char *const *names, const eval_row_summary *rows, int n_rows,
                    size_t n_samples) {
  sb_puts(b, "model,n");
  for (int k = 0; k < EM_COUNT; k++) {
    const char *m = eval_metric_key[k];
    sb_printf(b, ",%s,%s_lo,%s_hi,%s_p", m, m, m, m);
  }
  sb_puts(b, "\n");
  for (int r = 0; r < n_rows; r++) {
    sb_printf(b, "%s,%zu", names[r], n_samples);
    for (int k = 0; k < EM_COUNT; k++) {
      csv_num(b, rows[r].ci[k].mean);
      csv_num(b, rows[r].ci[k].lo);
      csv_num(b, rows[r].ci[k].hi);
      csv_num(b, rows[r].p[k]);
    }
    sb_puts(b, "\n");
  }
}
