// ROC by sorting the scores once (descending) and walking groups of equal score.
#include "report/report_roc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static const float *g_score;   // qsort has no context argument in C11

static int cmp_desc(const void *a, const void *b) {
  float x = g_score[*(const size_t *)a], y = g_score[*(const size_t *)b];
  return x > y ? -1 : x < y ? 1 : 0;
}

void report_roc_compute(const float *score, const uint8_t *positive, const uint8_t *use, size_t n,
                        report_roc *out) {
  memset(out, 0, sizeof *out);
  out->auroc = NAN;
  size_t *idx = xmalloc((n + 1) * sizeof *idx), m = 0;
  for (size_t i = 0; i < n; i++)
    if (!use || use[i]) {
      idx[m++] = i;
      if (positive[i]) out->positives++;
      else out->negatives++;
    }
  if (!out->positives || !out->negatives) {
    free(idx);
    return;
  }
  g_score = score;
  qsort(idx, m, sizeof *idx, cmp_desc);
  double P = (double)out->positives, N = (double)out->negatives, area = 0;
  size_t tp = 0, fp = 0;
  out->fpr[0] = out->tpr[0] = 0;
  out->n = 1;
  double step = 1.0 / REPORT_ROC_POINTS;
  for (size_t a = 0; a < m;) {
    size_t b = a, gp = 0, gn = 0;
    while (b < m && score[idx[b]] == score[idx[a]]) (positive[idx[b]] ? gp++ : gn++), b++;
    area += gn * (tp + gp / 2.0);   // each negative of the group beats the positives above it
    tp += gp;
    fp += gn;
    double x = fp / N, y = tp / P;
    int last = out->n - 1;
    if (b == m || x - out->fpr[last] >= step || y - out->tpr[last] >= step) {
      if (out->n < 2 * REPORT_ROC_POINTS + 1) out->n++;
      out->fpr[out->n - 1] = x;
      out->tpr[out->n - 1] = y;
    }
    a = b;
  }
  out->auroc = area / (P * N);
  free(idx);
}
