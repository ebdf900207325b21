// Does the BLAS in use give a row of C = A B^T the same bits whichever block of rows it is
// computed in? OpenBLAS's Cooperlake and SkylakeX sgemm kernels do; its Haswell and Zen
// kernels do not (they pick the inner loop by the block's size), so splitting a matmul
// between threads changes the last bits there. The thread-count tests ask this first and
// then demand bitwise equality or, where the BLAS cannot give it, agreement to rounding.
#ifndef NQ_BLAS_PROBE_H
#define NQ_BLAS_PROBE_H

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int blas_rows_split_invariant(void) {
  enum { N = 150, C = 48, OC = 80, CUT = 80 };   // the 2-thread cut of test_kernels' shape
  float *a = malloc(sizeof(float) * N * C), *w = malloc(sizeof(float) * OC * C);
  float *whole = malloc(sizeof(float) * N * OC), *cut = malloc(sizeof(float) * N * OC);
  if (!a || !w || !whole || !cut) abort();
  for (int i = 0; i < N * C; i++) a[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
  for (int i = 0; i < OC * C; i++) w[i] = (float)((i * 53) % 97) / 97.0f - 0.5f;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, a, C, w, C, 0.0f, whole, OC);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, CUT, OC, C, 1.0f, a, C, w, C, 0.0f, cut, OC);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N - CUT, OC, C, 1.0f, a + CUT * C, C, w, C,
              0.0f, cut + CUT * OC, OC);
  int same = memcmp(whole, cut, sizeof(float) * N * OC) == 0;
  free(a); free(w); free(whole); free(cut);
  return same;
}

// Bitwise equal when `bitwise`, else within float rounding of sums over a few hundred terms.
// Returns the index of the first element out of bounds, or -1.
static inline long blas_first_mismatch(const float *ref, const float *got, size_t n, int bitwise) {
  if (bitwise) {
    for (size_t i = 0; i < n; i++)
      if (memcmp(ref + i, got + i, sizeof(float)) != 0) return (long)i;
    return -1;
  }
  float scale = 0;
  for (size_t i = 0; i < n; i++) scale = fmaxf(scale, fabsf(ref[i]));
  for (size_t i = 0; i < n; i++)
    if (!(fabsf(ref[i] - got[i]) <= 1e-5f * (scale + fabsf(ref[i])))) return (long)i;
  return -1;
}

#endif
