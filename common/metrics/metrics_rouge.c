// ROUGE-N and ROUGE-L (sentence level, not Lsum) as rouge_score's RougeScorer.score
// (rouge/rouge_scorer.py): n-gram Counter intersection, precision = overlap/max(#pred,1),
// recall = overlap/max(#target,1), F = 2PR/(P+R) or 0; ROUGE-L from the LCS table and
// all-zero when either side has no tokens.
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics_impl.h"
#include "base/util.h"

typedef struct { const char *s; size_t side, pos; } tok_ref;

static int cmp_tok_ref(const void *x, const void *y) {
  return strcmp(((const tok_ref *)x)->s, ((const tok_ref *)y)->s);
}

void tokens_to_ids(const nq_tokens *a, const nq_tokens *b, int **ida, int **idb) {
  size_t n = a->n + b->n;
  tok_ref *r = xmalloc((n ? n : 1) * sizeof *r);
  for (size_t i = 0; i < a->n; i++) r[i] = (tok_ref){a->tok[i], 0, i};
  for (size_t i = 0; i < b->n; i++) r[a->n + i] = (tok_ref){b->tok[i], 1, i};
  qsort(r, n, sizeof *r, cmp_tok_ref);
  *ida = xmalloc((a->n ? a->n : 1) * sizeof(int));
  *idb = xmalloc((b->n ? b->n : 1) * sizeof(int));
  int id = -1;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || strcmp(r[i].s, r[i - 1].s) != 0) id++;
    (r[i].side ? *idb : *ida)[r[i].pos] = id;
  }
  free(r);
}

int cmp_ngram(const void *x, const void *y, void *ctx) {
  const int *const *px = x, *const *py = y;
  int n = *(const int *)ctx;
  for (int k = 0; k < n; k++)
    if ((*px)[k] != (*py)[k]) return (*px)[k] < (*py)[k] ? -1 : 1;
  return 0;
}

// sorted pointers to the n-grams of x (count returned)
const int **sorted_ngrams(const int *x, size_t nx, int n, size_t *count) {
  size_t c = nx >= (size_t)n ? nx - (size_t)n + 1 : 0;
  const int **g = xmalloc((c ? c : 1) * sizeof *g);
  for (size_t i = 0; i < c; i++) g[i] = x + i;
  qsort_r(g, c, sizeof *g, cmp_ngram, &n);
  *count = c;
  return g;
}

size_t ngram_overlap(const int *a, size_t na, const int *b, size_t nb, int n) {
  size_t ca, cb;
  const int **ga = sorted_ngrams(a, na, n, &ca), **gb = sorted_ngrams(b, nb, n, &cb);
  size_t i = 0, j = 0, overlap = 0;
  while (i < ca && j < cb) {
    int c = cmp_ngram(&ga[i], &gb[j], &n);
    if (c < 0) { i++; continue; }
    if (c > 0) { j++; continue; }
    size_t ra = 0, rb = 0;
    const int *cur = ga[i];
    while (i < ca && cmp_ngram(&ga[i], &cur, &n) == 0) { i++; ra++; }
    while (j < cb && cmp_ngram(&gb[j], &cur, &n) == 0) { j++; rb++; }
    overlap += ra < rb ? ra : rb;
  }
  free(ga);
  free(gb);
  return overlap;
}

static void prf(double overlap, double npred, double ntarget, rouge_prf *out) {
  out->p = overlap / (npred > 1 ? npred : 1);
  out->r = overlap / (ntarget > 1 ? ntarget : 1);
  out->f = out->p + out->r > 0 ? 2 * out->p * out->r / (out->p + out->r) : 0.0;
}

void rouge_n_tokens(const nq_tokens *target, const nq_tokens *pred, int n, rouge_prf *out) {
  int *it, *ip;
  tokens_to_ids(target, pred, &it, &ip);
  size_t ov = ngram_overlap(it, target->n, ip, pred->n, n);
  size_t nt = target->n >= (size_t)n ? target->n - (size_t)n + 1 : 0;
  size_t np = pred->n >= (size_t)n ? pred->n - (size_t)n + 1 : 0;
  prf((double)ov, (double)np, (double)nt, out);
  free(it);
  free(ip);
}

void rouge_l_tokens(const nq_tokens *target, const nq_tokens *pred, rouge_prf *out) {
  if (target->n == 0 || pred->n == 0) { *out = (rouge_prf){0, 0, 0}; return; }
  int *it, *ip;
  tokens_to_ids(target, pred, &it, &ip);
  size_t cols = pred->n + 1;
  size_t *prev = xcalloc(cols, sizeof *prev), *cur = xcalloc(cols, sizeof *cur);
  for (size_t i = 1; i <= target->n; i++) {
    cur[0] = 0;
    for (size_t j = 1; j <= pred->n; j++)
      cur[j] = it[i - 1] == ip[j - 1] ? prev[j - 1] + 1 : (prev[j] > cur[j - 1] ? prev[j] : cur[j - 1]);
    size_t *t = prev; prev = cur; cur = t;
  }
  double lcs = (double)prev[pred->n];
  out->p = lcs / (double)pred->n;
  out->r = lcs / (double)target->n;
  out->f = out->p + out->r > 0 ? 2 * out->p * out->r / (out->p + out->r) : 0.0;
  free(prev);
  free(cur);
  free(it);
  free(ip);
}

void rouge_score(const char *target, const char *prediction, int use_stemmer, rouge_scores *out) {
  nq_tokens t, p;
  rouge_tokenize(target, use_stemmer, &t);
  rouge_tokenize(prediction, use_stemmer, &p);
  rouge_n_tokens(&t, &p, 1, &out->r1);
  rouge_n_tokens(&t, &p, 2, &out->r2);
  rouge_l_tokens(&t, &p, &out->rl);
  tokens_free(&t);
  tokens_free(&p);
}
