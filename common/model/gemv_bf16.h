// Matrix-vector products on bf16 weights for decoding: a few activation rows (M <= 4)
// against a row-major weight matrix W (N, K) (a HF Linear), each weight byte read once.
//   C (M, N) = A (M, K) W^T (+ C when accumulate); A rows lda apart, C rows ldc apart.
// Single-threaded; callers split N (the weight rows) between threads.
//
// Three versions with the same contract (fp32 accumulation of bf16 x bf16 products):
//   gemv_bf16_dpbf16: AVX512_BF16 (_mm512_dpbf16_ps), 8 weight rows in flight for M = 1
//     (4 for M >= 2), one accumulator per (row of A, weight row), the K tail masked once;
//     call only where __builtin_cpu_supports("avx512bf16").
//   gemv_bf16_portable: any CPU (widen to fp32 and multiply, 16 partial sums per row).
//   gemv_bf16_ref: the naive loop (double accumulation), for tests.
// The first two sum in different orders: they agree with the reference to fp32 rounding,
// |err| <= 1e-5 * sum_k |a_k w_k|, not bitwise.
#ifndef NQ_GEMV_BF16_H
#define NQ_GEMV_BF16_H

#include "model/matmul_bf16.h"

#define GEMV_MAX_ROWS 4

void gemv_bf16_dpbf16(int M, int N, int K, const bf16 *A, long lda, const bf16 *W, long ldw, float *C, long ldc,
                      int accumulate);
void gemv_bf16_portable(int M, int N, int K, const bf16 *A, long lda, const bf16 *W, long ldw, float *C, long ldc,
                        int accumulate);
void gemv_bf16_ref(int M, int N, int K, const bf16 *A, long lda, const bf16 *W, long ldw, float *C, long ldc,
                   int accumulate);

#endif
