// Annotation rules and truth scores. Pure functions over arrays so they are unit-tested
// on hand-made effects; nq-annotate only reads files and calls these.
#include "annotate/annotate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

static const char *const rule_names[] = {"threshold", "log_ratio", "top_fraction", "js"};

int annot_rule_kind_parse(const char *name) {
  for (int k = 0; k < 4; k++)
    if (!strcmp(name, rule_names[k])) return k;
  return -1;
}

const char *annot_rule_kind_name(annot_rule_kind k) {
  return (unsigned)k < 4 ? rule_names[k] : "?";
}

// qsort context without qsort_r: sort (value, index) pairs
typedef struct { float v; int64_t i; } vi_pair;

static int by_value_desc_then_index(const void *a, const void *b) {
  const vi_pair *x = a, *y = b;
  if (x->v != y->v) return x->v > y->v ? -1 : 1;
  return (x->i > y->i) - (x->i < y->i);
}

static int by_value_asc(const void *a, const void *b) {
  const vi_pair *x = a, *y = b;
  if (x->v != y->v) return x->v < y->v ? -1 : 1;
  return (x->i > y->i) - (x->i < y->i);
}

static void top_fraction(const annot_rule *r, const float *effect, int64_t a, int64_t b,
                         float *w, uint8_t *m) {
  int64_t n = b - a;
  if (n <= 0) return;
  int64_t k = (int64_t)ceil(r->top_fraction * (double)n - 1e-9);
  if (k > n) k = n;
  vi_pair *p = xmalloc((size_t)n * sizeof *p);
  for (int64_t t = 0; t < n; t++) p[t] = (vi_pair){effect[a + t], t};
  // ties broken by position so the choice is deterministic
  qsort(p, (size_t)n, sizeof *p, by_value_desc_then_index);
  for (int64_t t = 0; t < n; t++) { w[a + t] = (float)r->lo; m[a + t] = 0; }
  for (int64_t j = 0; j < k; j++) { w[a + p[j].i] = (float)r->hi; m[a + p[j].i] = 1; }
  free(p);
}

static void js_weights(const annot_rule *r, const float *js, int64_t a, int64_t b, float *w,
                       uint8_t *m) {
  double s = 0;
  for (int64_t t = a; t < b; t++) s += js[t];
  double scale = s > 0 ? (double)(b - a) / s : 0;
  for (int64_t t = a; t < b; t++) {
    w[t] = s > 0 ? (float)(js[t] * scale) : 1.f;
    m[t] = js[t] > r->js_threshold;
  }
}

void annotate_apply(const annot_rule *r, const float *lw, const float *l0, const float *effect,
                    const float *js, const int64_t *off, size_t n_samples, float *w,
                    uint8_t *m) {
  for (size_t i = 0; i < n_samples; i++) {
    int64_t a = off[i], b = off[i + 1];
    if (b < a) error("sample %zu has offsets %lld > %lld", i, (long long)a, (long long)b);
    switch (r->kind) {
      case AR_THRESHOLD: {
        // compared in float, the stored precision: an effect stored as 0.05f is not > 0.05
        float th = (float)r->threshold;
        for (int64_t t = a; t < b; t++) {
          m[t] = effect[t] > th;
          w[t] = (float)(m[t] ? r->hi : r->lo);
        }
        break;
      }
      case AR_LOG_RATIO:
        for (int64_t t = a; t < b; t++) {
          m[t] = (double)lw[t] - (double)l0[t] > r->log_ratio;
          w[t] = (float)(m[t] ? r->hi : r->lo);
        }
        break;
      case AR_TOP_FRACTION: top_fraction(r, effect, a, b, w, m); break;
      case AR_JS: js_weights(r, js, a, b, w, m); break;
      default: error("unknown annotation rule %d", (int)r->kind);
    }
  }
}

void score_prf(const uint8_t *pred, const uint8_t *truth, const uint8_t *inc, size_t n,
               prf_score *o) {
  memset(o, 0, sizeof *o);
  for (size_t i = 0; i < n; i++) {
    if (inc && !inc[i]) continue;
    int p = pred[i] != 0, t = truth[i] != 0;
    o->tp += p && t;
    o->fp += p && !t;
    o->fn += !p && t;
    o->tn += !p && !t;
  }
  o->precision = o->tp + o->fp ? (double)o->tp / (double)(o->tp + o->fp) : NAN;
  o->recall = o->tp + o->fn ? (double)o->tp / (double)(o->tp + o->fn) : NAN;
  int64_t d = 2 * o->tp + o->fp + o->fn;
  o->f1 = d ? 2.0 * (double)o->tp / (double)d : NAN;
}

double score_auroc(const float *score, const uint8_t *truth, const uint8_t *inc, size_t n) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++) m += !inc || inc[i];
  vi_pair *p = xmalloc((m ? m : 1) * sizeof *p);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!inc || inc[i]) p[k++] = (vi_pair){score[i], (int64_t)i};
  qsort(p, m, sizeof *p, by_value_asc);
  // U = sum of (average) ranks of positives - n_pos (n_pos + 1) / 2
  double rank_sum = 0;
  int64_t n_pos = 0;
  for (size_t a = 0; a < m;) {
    size_t b = a;
    while (b < m && p[b].v == p[a].v) b++;
    double avg = 0.5 * (double)(a + 1 + b);  // ranks a+1 .. b
    for (size_t j = a; j < b; j++)
      if (truth[p[j].i]) rank_sum += avg, n_pos++;
    a = b;
  }
  free(p);
  int64_t n_neg = (int64_t)m - n_pos;
  if (!n_pos || !n_neg) return NAN;
  return (rank_sum - 0.5 * (double)n_pos * (double)(n_pos + 1)) / ((double)n_pos * (double)n_neg);
}
