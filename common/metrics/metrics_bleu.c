// BLEU as sacreBLEU 2.x computes it (sacrebleu/metrics/bleu.py) with tokenize='13a',
// smooth_method='exp', max_ngram_order=4, one reference, no lowercasing:
// per segment, correct[n] = clipped n-gram matches, total[n] = hyp n-grams; corpus BLEU
// sums the statistics over segments before compute_bleu (effective_order off), while
// sentence_bleu turns effective_order on.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

#include "metrics/metrics_impl.h"

void bleu_stats_zero(bleu_stats *s) {
  for (int n = 0; n < BLEU_MAX_ORDER; n++) s->correct[n] = s->total[n] = 0;
  s->sys_len = s->ref_len = 0;
}

// sacreBLEU _get_closest_ref_len: closest to the hypothesis length, ties to the shorter
static size_t closest_ref_len(size_t hyp_len, const size_t *lens, size_t nrefs) {
  size_t best = 0, best_diff = 0;
  for (size_t i = 0; i < nrefs; i++) {
    size_t diff = hyp_len > lens[i] ? hyp_len - lens[i] : lens[i] - hyp_len;
    if (i == 0 || diff < best_diff) { best_diff = diff; best = lens[i]; }
    else if (diff == best_diff && lens[i] < best) best = lens[i];
  }
  return best;
}

void bleu_stats_add_refs(bleu_stats *s, const char *hyp, const char *const *refs, size_t nrefs) {
  if (nrefs == 0) error("bleu_stats_add_refs: no reference");
  nq_tokens h, all;
  bleu_tokenize_13a(hyp, &h);
  tokens_init(&all);
  size_t *start = xmalloc((nrefs + 1) * sizeof *start), *lens = xmalloc(nrefs * sizeof *lens);
  for (size_t r = 0; r < nrefs; r++) {
    nq_tokens t;
    bleu_tokenize_13a(refs[r], &t);
    start[r] = all.n;
    lens[r] = t.n;
    for (size_t i = 0; i < t.n; i++) tokens_push(&all, t.tok[i], strlen(t.tok[i]));
    tokens_free(&t);
  }
  start[nrefs] = all.n;
  int *ih, *ir;
  tokens_to_ids(&h, &all, &ih, &ir);
  for (int n = 1; n <= BLEU_MAX_ORDER; n++) {
    size_t ch;
    const int **gh = sorted_ngrams(ih, h.n, n, &ch);
    // distinct hypothesis n-grams: group start and count; the reference count is the
    // maximum over references (sacreBLEU merges reference Counters with max)
    size_t *gstart = xmalloc((ch ? ch : 1) * sizeof *gstart), ng = 0;
    size_t *gcount = xmalloc((ch ? ch : 1) * sizeof *gcount), *gref = xcalloc(ch ? ch : 1, sizeof *gref);
    for (size_t i = 0; i < ch; i++) {
      if (i == 0 || cmp_ngram(&gh[i], &gh[i - 1], &n) != 0) { gstart[ng] = i; gcount[ng++] = 0; }
      gcount[ng - 1]++;
    }
    for (size_t r = 0; r < nrefs; r++) {
      size_t cr;
      const int **gr = sorted_ngrams(ir + start[r], lens[r], n, &cr);
      size_t j = 0;
      for (size_t g = 0; g < ng; g++) {
        const int *key = gh[gstart[g]];
        while (j < cr && cmp_ngram(&gr[j], &key, &n) < 0) j++;
        size_t c = 0;
        while (j < cr && cmp_ngram(&gr[j], &key, &n) == 0) { j++; c++; }
        if (c > gref[g]) gref[g] = c;
      }
      free(gr);
    }
    for (size_t g = 0; g < ng; g++) s->correct[n - 1] += (double)(gcount[g] < gref[g] ? gcount[g] : gref[g]);
    s->total[n - 1] += (double)ch;
    free(gstart);
    free(gcount);
    free(gref);
    free(gh);
  }
  s->sys_len += (double)h.n;
  s->ref_len += (double)closest_ref_len(h.n, lens, nrefs);
  free(ih);
  free(ir);
  free(start);
  free(lens);
  tokens_free(&h);
  tokens_free(&all);
}

void bleu_stats_add(bleu_stats *s, const char *hyp, const char *ref) {
  bleu_stats_add_refs(s, hyp, &ref, 1);
}

// sacreBLEU's my_log: log(0) is -9999999999 rather than -inf
static double my_log(double x) { return x == 0 ? -9999999999.0 : log(x); }

double bleu_from_stats(const bleu_stats *s, int effective_order) {
  double bp = 1.0;
  if (s->sys_len < s->ref_len) bp = s->sys_len > 0 ? exp(1 - s->ref_len / s->sys_len) : 0.0;
  // early stop when nothing matches at any order (sacreBLEU #141): 0 even when smoothed
  int any = 0;
  for (int n = 0; n < BLEU_MAX_ORDER; n++) any |= s->correct[n] != 0;
  if (!any) return 0.0;
  double prec[BLEU_MAX_ORDER] = {0};
  double smooth_mteval = 1.0;
  int eff_order = BLEU_MAX_ORDER;
  for (int n = 1; n <= BLEU_MAX_ORDER; n++) {
    if (s->total[n - 1] == 0) break;
    if (effective_order) eff_order = n;
    if (s->correct[n - 1] == 0) {
      smooth_mteval *= 2;
      prec[n - 1] = 100.0 / (smooth_mteval * s->total[n - 1]);
    } else {
      prec[n - 1] = 100.0 * s->correct[n - 1] / s->total[n - 1];
    }
  }
  double sum = 0;
  for (int n = 0; n < eff_order; n++) sum += my_log(prec[n]);
  return bp * exp(sum / eff_order);
}

double bleu_corpus(const char *const *hyp, const char *const *ref, size_t n) {
  bleu_stats s;
  bleu_stats_zero(&s);
  for (size_t i = 0; i < n; i++) bleu_stats_add(&s, hyp[i], ref[i]);
  return bleu_from_stats(&s, 0);
}

double bleu_sentence(const char *hyp, const char *ref) {
  bleu_stats s;
  bleu_stats_zero(&s);
  bleu_stats_add(&s, hyp, ref);
  return bleu_from_stats(&s, 1);
}
