// bf16 linear layers (see kernels_bf16.h): operands rounded to bf16 once, products by
// gemm_bf16, everything accumulated in fp32.
#include "model/kernels_bf16.h"

#include <omp.h>
#include <stdlib.h>

#include "base/util.h"

#include "model/kernels.h"

// Split [0, n) into nt blocks aligned to 16, as kernels.c / model.c split fp32 matmuls.
static void split16(int n, int nt, int t, int *a, int *b) {
  int per = (n + nt - 1) / nt;
  per = (per + 15) / 16 * 16;
  *a = t * per < n ? t * per : n;
  *b = (t + 1) * per < n ? (t + 1) * per : n;
}

static void add_bias(float *out, const float *bias, int n, long ld, int o0, int o1) {
  if (!bias) return;
  for (int i = 0; i < n; i++)
    for (int o = o0; o < o1; o++) out[(size_t)i * ld + o] += bias[o];
}

void linear_rows_bf16(float *out, const bf16 *inp, const bf16 *w, const float *bias, int n, int C, int OC,
                      int accumulate) {
  if (n <= 0) return;
  // B (C, OC) = w^T: element (k, o) at w[o * C + k]
  gemm_bf16(n, OC, C, inp, C, 1, w, 1, C, out, OC, accumulate);
  add_bias(out, bias, n, OC, 0, OC);
}

void linear_dinp_rows_bf16(float *dinp, const bf16 *dout16, const bf16 *w, int n, int C, int OC) {
  if (n <= 0) return;
  gemm_bf16(n, C, OC, dout16, OC, 1, w, C, 1, dinp, C, 1);
}

void linear_dw_part_bf16(float *dw, const bf16 *dout16, const bf16 *inp, int N, int C, int OC, int a, int b) {
  if (b <= a || N <= 0) return;
  // A = dout16[:, a:b]^T (b - a, N): element (o, n) at dout16[n * OC + a + o]
  gemm_bf16(b - a, C, N, dout16 + a, 1, OC, inp, C, 1, dw + (size_t)a * C, C, 1);
}

static void dbias_part(float *dbias, const float *dout, int N, int OC, int a, int b) {
  if (!dbias) return;
  for (int n = 0; n < N; n++)
    for (int o = a; o < b; o++) dbias[o] += dout[(size_t)n * OC + o];
}

// The rounded output gradient: one buffer per calling thread (the team only reads it).
static _Thread_local bf16 *g_dout16;
static _Thread_local size_t g_dout16_n;

static bf16 *dout16_buffer(size_t n) {
  if (g_dout16_n < n) {
    free(g_dout16);
    g_dout16 = xmalloc(n * sizeof(bf16));
    g_dout16_n = n;
  }
  return g_dout16;
}

void matmul_forward_bf16(float *out, const bf16 *inp, const bf16 *w, const float *bias, int N, int C, int OC,
                         int accumulate) {
  int nt = kernels_threads();
  int by_rows = N >= 64;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (int ch = 0; ch < nt; ch++) {
    int a, b;
    if (by_rows) {
      split16(N, nt, ch, &a, &b);
      linear_rows_bf16(out + (size_t)a * OC, inp + (size_t)a * C, w, bias, b - a, C, OC, accumulate);
    } else {   // few rows (decoding): split the output columns, i.e. the weight rows
      split16(OC, nt, ch, &a, &b);
      if (b > a) {
        gemm_bf16(N, b - a, C, inp, C, 1, w + (size_t)a * C, 1, C, out + a, OC, accumulate);
        add_bias(out, bias, N, OC, a, b);
      }
    }
  }
}

void matmul_backward_bf16(float *dinp, float *dw, float *dbias, const float *dout, const bf16 *inp,
                          const bf16 *w, int N, int C, int OC) {
  int nt = kernels_threads();
  bf16 *d16 = dinp || dw ? dout16_buffer((size_t)N * OC) : NULL;
#pragma omp parallel num_threads(nt)
  {
    if (d16) {   // round once (the same rows as the dinp split); the loop's barrier ends it
#pragma omp for schedule(static)
      for (int ch = 0; ch < nt; ch++) {
        int a, b;
        split16(N, nt, ch, &a, &b);
        if (b > a) bf16_from_f32(d16 + (size_t)a * OC, dout + (size_t)a * OC, (size_t)(b - a) * OC);
      }
    }
    if (dinp) {
#pragma omp for schedule(dynamic, 1) nowait
      for (int ch = 0; ch < nt; ch++) {
        int a, b;
        split16(N, nt, ch, &a, &b);
        linear_dinp_rows_bf16(dinp + (size_t)a * C, d16 + (size_t)a * OC, w, b - a, C, OC);
      }
    }
    if (dw || dbias) {
#pragma omp for schedule(dynamic, 1) nowait
      for (int ch = 0; ch < nt; ch++) {
        int a, b;
        split16(OC, nt, ch, &a, &b);
        if (dw) linear_dw_part_bf16(dw, d16, inp, N, C, OC, a, b);
        dbias_part(dbias, dout, N, OC, a, b);
      }
    }
  }
}
