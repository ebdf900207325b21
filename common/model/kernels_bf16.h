// Linear-layer kernels for model.precision = "bf16": bf16 weights and inputs, fp32
// accumulation and outputs (gemm_bf16, matmul_bf16.h). Same shapes and the same row/column
// splits between OpenMP threads as matmul_forward / matmul_backward (kernels.h); the
// `_rows` / `_part` pieces are one thread's share, for model.c's fused parallel regions.
// Backward functions ACCUMULATE (+=) into their outputs, gradients stay fp32.
#ifndef NQ_KERNELS_BF16_H
#define NQ_KERNELS_BF16_H

#include "model/matmul_bf16.h"

// out (n, OC) = inp (n, C) w^T + bias (+ out when accumulate); w (OC, C) [HF Linear]
void linear_rows_bf16(float *out, const bf16 *inp, const bf16 *w, const float *bias, int n, int C, int OC,
                      int accumulate);
// dinp (n, C) += dout16 (n, OC) w; dout16 = the output gradient rounded to bf16 once, by
// the caller, and shared with the weight gradient's product below
void linear_dinp_rows_bf16(float *dinp, const bf16 *dout16, const bf16 *w, int n, int C, int OC);
// dw rows [a, b) of (OC, C) += dout16[:, a:b]^T inp (N rows; dout16 (N, OC) row-major)
void linear_dw_part_bf16(float *dw, const bf16 *dout16, const bf16 *inp, int N, int C, int OC, int a, int b);

// All threads (kernels_threads()), split as matmul_forward / matmul_backward.
void matmul_forward_bf16(float *out, const bf16 *inp, const bf16 *w, const float *bias, int N, int C, int OC,
                         int accumulate);
// dinp (N, C) += dout w; dw (OC, C) += dout^T inp; dbias (OC) += sum_n dout (any may be NULL).
// dout is rounded to bf16 once (a buffer of the calling thread) for both products.
void matmul_backward_bf16(float *dinp, float *dw, float *dbias, const float *dout, const bf16 *inp,
                          const bf16 *w, int N, int C, int OC);

#endif
