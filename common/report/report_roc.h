// ROC curves of the effect as a detector of the planted preference tokens, at most 2 x
// REPORT_ROC_POINTS points whatever the corpus size, and their AUROC (ties count one half,
// as in nq-annotate's summary.json).
//
// defines: report_roc, REPORT_ROC_POINTS, report_roc_compute
#ifndef NQ_REPORT_ROC_H
#define NQ_REPORT_ROC_H

#include <stddef.h>
#include <stdint.h>

enum { REPORT_ROC_POINTS = 256 };

typedef struct {
  double fpr[2 * REPORT_ROC_POINTS + 2], tpr[2 * REPORT_ROC_POINTS + 2];   // each point moves x or y by 1/POINTS
  int n;
  double auroc;            // NaN without positives or negatives
  size_t positives, negatives;
} report_roc;

// Scores `score` (n) against `positive`; tokens with use[i] == 0 are left out (NULL: all).
// Negatives are the used tokens that are not positive.
void report_roc_compute(const float *score, const uint8_t *positive, const uint8_t *use, size_t n,
                        report_roc *out);

#endif
