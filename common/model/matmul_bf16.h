// bf16 matrix products for model.precision = "bf16": bf16 inputs, fp32 accumulation and
// fp32 output (the mixed-precision recipe). One call is single-threaded; the model splits
// rows between its OpenMP threads as for fp32 (kernels.c), so the two paths thread alike.
//
// Paths, picked once per process (gemm_bf16_path() names the one taken):
//   - "onednn": oneDNN's matmul primitive (Debian libdnnl 2.6, OpenMP runtime; called
//     inside our parallel regions it runs on the calling thread), one primitive per shape
//     cached; for M <= 4 rows of A against row-major weights (decoding) the AVX512_BF16
//     matrix-vector kernel of gemv_bf16.h reads the weights once instead of oneDNN's copy.
//   - "fallback": CPUs without AVX512_BF16 (or NQ_BF16_PATH=fallback): the same bf16
//     inputs widened to fp32 and multiplied by cblas_sgemm (same rounding of the inputs,
//     slower); M <= 4 rows: gemv_bf16_portable (no widened copy of the weights).
#ifndef NQ_MATMUL_BF16_H
#define NQ_MATMUL_BF16_H

#include <stddef.h>
#include <stdint.h>

typedef uint16_t bf16;   // upper half of an IEEE float32

// dst = round-to-nearest-even(src) (NaN stays NaN)
void bf16_from_f32(bf16 *dst, const float *src, size_t n);
// dst (rows, cols) = src (rows, cols) with row stride ld_src, rounded; dst is contiguous
void bf16_from_f32_2d(bf16 *dst, const float *src, int rows, int cols, size_t ld_src);
void bf16_to_f32(float *dst, const bf16 *src, size_t n);
static inline float bf16_get(bf16 x) {
  union { uint32_t u; float f; } v = {.u = (uint32_t)x << 16};
  return v.f;
}

// C (M, N) = A B (+ C when accumulate), single-threaded. A (M, K) element (i, k) at
// A[i * sa0 + k * sa1], B (K, N) element (k, n) at B[k * sb0 + n * sb1]; one of each pair
// of strides must be 1 (row- or column-major). C row-major with row stride ldc.
void gemm_bf16(int M, int N, int K, const bf16 *A, long sa0, long sa1, const bf16 *B, long sb0,
               long sb1, float *C, long ldc, int accumulate);

// "onednn" or "fallback", and a one-line description (library, ISA) for the stage log.
const char *gemm_bf16_path(void);
const char *gemm_bf16_describe(void);
// Tests: switch to "fallback", or back to the path picked for this CPU.
void gemm_bf16_force_fallback(int on);

// Per-thread scratch of at least n bf16 (grows; owned by the module, one per OpenMP thread
// number, slot 0..1 of each thread). For callers converting operands before gemm_bf16.
bf16 *bf16_scratch(int slot, size_t n);

#endif
