// Internals shared by the metric files (not part of the metrics.h API).
#ifndef NQ_METRICS_IMPL_H
#define NQ_METRICS_IMPL_H

#include <stddef.h>

#include "metrics/metrics.h"

// Maps the tokens of a and b to integer ids (equal strings <-> equal ids); ida/idb are
// allocated here (caller frees).
void tokens_to_ids(const nq_tokens *a, const nq_tokens *b, int **ida, int **idb);
// sum over distinct n-grams g of min(count_a(g), count_b(g))
size_t ngram_overlap(const int *a, size_t na, const int *b, size_t nb, int n);

// qsort_r comparator of n-gram pointers (ctx: int *n)
int cmp_ngram(const void *x, const void *y, void *ctx);
// pointers to the n-grams of x, sorted (caller frees the array); *count = max(nx-n+1, 0)
const int **sorted_ngrams(const int *x, size_t nx, int n, size_t *count);

#endif
