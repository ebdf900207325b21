// METEOR as NLTK 3.8 computes it (nltk/translate/meteor_score.py, single_meteor_score):
// three greedy matching stages on what is still unmatched -- exact, Porter stem, WordNet
// synonym -- each scanning hypothesis words from last to first and, for each, reference
// words from last to first, taking the first hit. The order matters for chunk counts, so
// it is kept exactly. Quirk kept on purpose: after the stem stage the leftover words are
// the *stemmed* forms, and the synonym stage looks those up in WordNet.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "base/util.h"

typedef struct { size_t idx; char *w; } enum_word;
typedef struct { enum_word *e; size_t n; } enum_list;
typedef struct { size_t h, r; } match;
typedef struct { match *m; size_t n; } match_list;

static void remove_at(enum_list *l, size_t i) {
  free(l->e[i].w);
  memmove(l->e + i, l->e + i + 1, (l->n - i - 1) * sizeof *l->e);
  l->n--;
}

static void match_enums(enum_list *h, enum_list *r, match_list *out) {
  for (size_t i = h->n; i-- > 0;) {
    for (size_t j = r->n; j-- > 0;) {
      if (strcmp(h->e[i].w, r->e[j].w) == 0) {
        out->m[out->n++] = (match){h->e[i].idx, r->e[j].idx};
        remove_at(h, i);
        remove_at(r, j);
        break;
      }
    }
  }
}

static void stem_all(enum_list *l) {
  for (size_t i = 0; i < l->n; i++) {
    char *s = porter_stem_nltk(l->e[i].w);
    free(l->e[i].w);
    l->e[i].w = s;
  }
}

static void wordnet_match(wordnet *wn, enum_list *h, enum_list *r, match_list *out) {
  for (size_t i = h->n; i-- > 0;) {
    nq_tokens syn;
    wordnet_synonyms(wn, h->e[i].w, &syn);
    for (size_t j = r->n; j-- > 0;) {
      int hit = 0;
      for (size_t k = 0; k < syn.n && !hit; k++) hit = strcmp(syn.tok[k], r->e[j].w) == 0;
      if (hit) {
        out->m[out->n++] = (match){h->e[i].idx, r->e[j].idx};
        remove_at(h, i);
        remove_at(r, j);
        break;
      }
    }
    tokens_free(&syn);
  }
}

static void make_enum(const char *const *w, size_t n, enum_list *l) {
  l->e = xmalloc((n ? n : 1) * sizeof *l->e);
  l->n = n;
  for (size_t i = 0; i < n; i++) {
    l->e[i].idx = i;
    l->e[i].w = xstrdup(w[i]);
    for (char *c = l->e[i].w; *c; c++)  // str.lower (ASCII part; see docs/metrics.md)
      if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
  }
}

static void free_enum(enum_list *l) {
  for (size_t i = 0; i < l->n; i++) free(l->e[i].w);
  free(l->e);
}

static int cmp_match(const void *a, const void *b) {
  const match *x = a, *y = b;
  return x->h < y->h ? -1 : x->h > y->h;
}

double meteor_tokens(wordnet *wn, const char *const *hyp, size_t nh, const char *const *ref,
                     size_t nr) {
  const double alpha = 0.9, beta = 3.0, gamma = 0.5;
  enum_list h, r;
  make_enum(hyp, nh, &h);
  make_enum(ref, nr, &r);
  match_list m = {xmalloc((nh < nr ? nh : nr) * sizeof(match) + sizeof(match)), 0};
  match_enums(&h, &r, &m);
  stem_all(&h);
  stem_all(&r);
  match_enums(&h, &r, &m);
  wordnet_match(wn, &h, &r, &m);
  free_enum(&h);
  free_enum(&r);
  double score = 0.0;
  if (m.n > 0 && nh > 0 && nr > 0) {
    qsort(m.m, m.n, sizeof *m.m, cmp_match);
    // _count_chunks: a new chunk wherever the next match is not adjacent in both sentences
    size_t chunks = 1;
    for (size_t i = 0; i + 1 < m.n; i++)
      if (!(m.m[i + 1].h == m.m[i].h + 1 && m.m[i + 1].r == m.m[i].r + 1)) chunks++;
    double precision = (double)m.n / (double)nh, recall = (double)m.n / (double)nr;
    double fmean = precision * recall / (alpha * precision + (1 - alpha) * recall);
    double frag = (double)chunks / (double)m.n;
    double penalty = gamma * pow(frag, beta);
    score = (1 - penalty) * fmean;
  }
  free(m.m);
  return score;
}

double meteor_text(wordnet *wn, const char *hyp, const char *ref) {
  nq_tokens h, r;
  split_whitespace(hyp, &h);
  split_whitespace(ref, &r);
  double s = meteor_tokens(wn, (const char *const *)h.tok, h.n, (const char *const *)r.tok, r.n);
  tokens_free(&h);
  tokens_free(&r);
  return s;
}
