// bf16 matrix-vector kernels (see gemv_bf16.h). Decoding streams every weight once per
// token, so the kernel must keep the memory bus busy: the weight rows of one block are
// contiguous (rows K apart), read 64 bytes per row per step; one accumulator per weight row
// keeps R dpbf16 chains independent; the R sums are reduced together by a transpose-add tree
// (one reduce per row cost as much as the row's products at K = 896), and each step
// prefetches the same place of the next block's rows (R rows on: the hardware prefetcher
// alone left a third of the bandwidth unused on the 8 interleaved streams). Measured on the
// project machine, one thread, CPU time: about 3x the bytes per second of the former 4-row
// kernel with one reduce per row, and about the rate of a plain streaming read.
#include "model/gemv_bf16.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))

// Sum each of 8 vectors: out[r] = sum of acc[r]'s 16 lanes.
BF16_TARGET static inline __attribute__((always_inline)) __m256 reduce8(const __m512 *acc) {
  __m256 h[8];
  for (int r = 0; r < 8; r++)
    h[r] = _mm256_add_ps(_mm512_castps512_ps256(acc[r]), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[r]), 1)));
  __m256 t0 = _mm256_hadd_ps(h[0], h[1]), t1 = _mm256_hadd_ps(h[2], h[3]);
  __m256 t2 = _mm256_hadd_ps(h[4], h[5]), t3 = _mm256_hadd_ps(h[6], h[7]);
  __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);   // lanes: r0..r3 (lo, hi halves)
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

// Sum each of 4 vectors into out[0..3].
BF16_TARGET static inline __attribute__((always_inline)) __m128 reduce4(const __m512 *acc) {
  __m256 h[4];
  for (int r = 0; r < 4; r++)
    h[r] = _mm256_add_ps(_mm512_castps512_ps256(acc[r]), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[r]), 1)));
  __m256 u = _mm256_hadd_ps(_mm256_hadd_ps(h[0], h[1]), _mm256_hadd_ps(h[2], h[3]));
  return _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1));
}

// R weight rows (R = 8 for M = 1, else 4) against M rows of A; rows >= nr are masked off
// (loaded as zeros from row 0, never stored). M and R are constants in each instance.
BF16_TARGET static inline __attribute__((always_inline)) void
block(const int M, const int R, int nr, int K, const bf16 *A, long lda, const bf16 *W, long ldw, float *C,
      long ldc, int accumulate) {
  __m512 acc[GEMV_MAX_ROWS][8];
  const bf16 *w[8];
  for (int r = 0; r < R; r++) w[r] = W + (size_t)(r < nr ? r : 0) * ldw;
  for (int m = 0; m < M; m++)
    for (int r = 0; r < R; r++) acc[m][r] = _mm512_setzero_ps();
  int kv = K / 32 * 32, k = 0;
  for (; k < kv; k += 32) {
    __m512bh av[GEMV_MAX_ROWS];
    for (int m = 0; m < M; m++) av[m] = (__m512bh)_mm512_loadu_si512(A + m * lda + k);
    for (int r = 0; r < R; r++) {
      __m512bh wv = (__m512bh)_mm512_loadu_si512(w[r] + k);
      _mm_prefetch((const char *)((uintptr_t)(w[r] + k) + (uintptr_t)R * ldw * sizeof(bf16)),   // next block's row:
                   _MM_HINT_T0);                                                            // may be past W
      for (int m = 0; m < M; m++) acc[m][r] = _mm512_dpbf16_ps(acc[m][r], av[m], wv);
    }
  }
  if (k < K) {   // the tail, masked once (zeros add nothing)
    __mmask32 mk = (__mmask32)((1ull << (K - k)) - 1ull);
    __m512bh av[GEMV_MAX_ROWS];
    for (int m = 0; m < M; m++) av[m] = (__m512bh)_mm512_maskz_loadu_epi16(mk, A + m * lda + k);
    for (int r = 0; r < R; r++) {
      __m512bh wv = (__m512bh)_mm512_maskz_loadu_epi16(mk, w[r] + k);
      for (int m = 0; m < M; m++) acc[m][r] = _mm512_dpbf16_ps(acc[m][r], av[m], wv);
    }
  }
  for (int m = 0; m < M; m++) {
    float s[8], *c = C + (size_t)m * ldc;
    if (R == 8) _mm256_storeu_ps(s, reduce8(acc[m]));
    else _mm_storeu_ps(s, reduce4(acc[m]));
    for (int r = 0; r < nr; r++) c[r] = accumulate ? c[r] + s[r] : s[r];
  }
}

BF16_TARGET void gemv_bf16_dpbf16(int M, int N, int K, const bf16 *A, long lda, const bf16 *W, long ldw, float *C,
                                  long ldc, int accumulate) {
  if (M == 1) {
    for (int n0 = 0; n0 < N; n0 += 8)
      block(1, 8, N - n0 < 8 ? N - n0 : 8, K, A, lda, W + (size_t)n0 * ldw, ldw, C + n0, ldc, accumulate);
    return;
  }
  for (int m0 = 0; m0 < M; m0 += GEMV_MAX_ROWS) {   // M > 4: blocks of 4 rows of A
    int mb = M - m0 < GEMV_MAX_ROWS ? M - m0 : GEMV_MAX_ROWS;
    const bf16 *a = A + (size_t)m0 * lda;
    float *c = C + (size_t)m0 * ldc;
    for (int n0 = 0; n0 < N; n0 += 4) {
      int nr = N - n0 < 4 ? N - n0 : 4;
      const bf16 *w = W + (size_t)n0 * ldw;
      switch (mb) {
        case 1: block(1, 4, nr, K, a, lda, w, ldw, c + n0, ldc, accumulate); break;
        case 2: block(2, 4, nr, K, a, lda, w, ldw, c + n0, ldc, accumulate); break;
        case 3: block(3, 4, nr, K, a, lda, w, ldw, c + n0, ldc, accumulate); break;
        default: block(4, 4, nr, K, a, lda, w, ldw, c + n0, ldc, accumulate); break;
      }
    }
  }
}

// Any CPU: one weight row at a time against each row of A, widened to fp32 in 16 partial
// sums (the compiler vectorizes the inner loop for the clone's ISA).
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void gemv_bf16_portable(int M, int N, int K, const bf16 *A, long lda, const bf16 *W, long ldw, float *C,
                        long ldc, int accumulate) {
  for (int n = 0; n < N; n++) {
    const bf16 *w = W + (size_t)n * ldw;
    for (int m = 0; m < M; m++) {
      const bf16 *a = A + (size_t)m * lda;
      float part[16] = {0};
      int k = 0;
      for (; k + 16 <= K; k += 16)
        for (int j = 0; j < 16; j++) part[j] += bf16_get(a[k + j]) * bf16_get(w[k + j]);
      for (; k < K; k++) part[k % 16] += bf16_get(a[k]) * bf16_get(w[k]);
      float s = 0;
      for (int j = 0; j < 16; j++) s += part[j];
      float *c = C + (size_t)m * ldc + n;
      *c = accumulate ? *c + s : s;
    }
  }
}

void gemv_bf16_ref(int M, int N, int K, const bf16 *A, long lda, const bf16 *W, long ldw, float *C, long ldc,
                   int accumulate) {
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      double s = 0;
      for (int k = 0; k < K; k++) s += (double)bf16_get(A[(size_t)m * lda + k]) * bf16_get(W[(size_t)n * ldw + k]);
      float *c = C + (size_t)m * ldc + n;
      *c = accumulate ? (float)(*c + s) : (float)s;
    }
}
