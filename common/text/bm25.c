// BM25 (see bm25.h). The term lists are short (a query of ~30 words, items of ~50): plain
// arrays and linear scans, no hashing, so the scores depend only on the texts.
#include "text/bm25.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

typedef struct {
  char **t;    // terms in text order (repeats kept)
  int n;
} terms;

static int word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static void split_terms(const char *s, terms *out) {
  out->t = NULL, out->n = 0;
  for (const char *p = s; *p;) {
    if (!word_byte((unsigned char)*p)) { p++; continue; }
    const char *a = p;
    while (*p && word_byte((unsigned char)*p)) p++;
    char *w = xmalloc((size_t)(p - a) + 1);
    for (size_t i = 0; i < (size_t)(p - a); i++) {
      unsigned char c = (unsigned char)a[i];
      w[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    w[p - a] = 0;
    out->t = xrealloc(out->t, (size_t)(out->n + 1) * sizeof *out->t);
    out->t[out->n++] = w;
  }
}

static void terms_free(terms *x) {
  for (int i = 0; i < x->n; i++) free(x->t[i]);
  free(x->t);
}

static int count_in(const terms *d, const char *w) {
  int c = 0;
  for (int i = 0; i < d->n; i++) c += !strcmp(d->t[i], w);
  return c;
}

void bm25_scores(const char *query, const char *const *docs, int n, double k1, double b, double *score) {
  if (n <= 0) return;
  terms q, *d = xcalloc((size_t)n, sizeof *d);
  split_terms(query, &q);
  double avgdl = 0;
  for (int i = 0; i < n; i++) split_terms(docs[i], &d[i]), avgdl += d[i].n;
  avgdl /= n;
  for (int i = 0; i < n; i++) score[i] = 0;
  for (int j = 0; j < q.n; j++) {
    int holding = 0;
    for (int i = 0; i < n; i++) holding += count_in(&d[i], q.t[j]) > 0;
    if (!holding) continue;   // f = 0 in every document: adds 0
    double idf = log(1.0 + (n - holding + 0.5) / (holding + 0.5));
    for (int i = 0; i < n; i++) {
      double f = count_in(&d[i], q.t[j]);
      if (f == 0) continue;
      double norm = avgdl > 0 ? 1.0 - b + b * d[i].n / avgdl : 1.0;
      score[i] += idf * f * (k1 + 1.0) / (f + k1 * norm);
    }
  }
  for (int i = 0; i < n; i++) terms_free(&d[i]);
  free(d);
  terms_free(&q);
}
