// Model kernels (see kernels.h for shapes). Every matmul is one or more single-threaded
// cblas_sgemm calls over disjoint row blocks, one per OpenMP thread: the reduction
// dimension is never split, so results do not depend on the thread count.
#include "model/kernels.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

// Vector kernels: compiled for AVX-512, AVX2 and baseline x86-64 and picked at load time.
// Their reductions keep 16 fixed partial sums (one per lane of the widest unit), combined in
// a fixed order, so every variant gives the same bits: results do not depend on the machine.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VEC_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VEC_CLONES
#endif
#define LANES 16

static int g_threads = 1;
static int g_blas_set = 0;

void kernels_set_threads(int n) {
  g_threads = n < 1 ? 1 : n;
  // kernels called inside a caller's parallel region (model.c's fused forward) run on the
  // calling thread: nested regions stay inactive
  omp_set_max_active_levels(1);
  openblas_set_num_threads(1);
  g_blas_set = 1;
}

int kernels_threads(void) {
  if (!g_blas_set) kernels_set_threads(g_threads);
  return g_threads;
}

// Split [0, n) into nt blocks aligned to `align`; block t is [*a, *b).
static void split_range(int n, int nt, int t, int align, int *a, int *b) {
  int per = (n + nt - 1) / nt;
  per = (per + align - 1) / align * align;
  *a = t * per < n ? t * per : n;
  *b = (t + 1) * per < n ? (t + 1) * per : n;
}

// ---- vector helpers -----------------------------------------------------------------------
// exp(x) by Cody-Waite range reduction (x = n ln2 + r, |r| <= ln2/2) and the Cephes degree-6
// polynomial for exp(r): within 2 ulp of expf; 0 below -87, e^88 above 88. Written with
// plain float operations so that it vectorizes (glibc's expf does not) and rounds the same
// in every variant (ISO C mode: no FMA contraction).
static inline float exp_f(float x) {
  float xc = x < -87.0f ? -87.0f : x;
  xc = xc > 88.0f ? 88.0f : xc;
  float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   // round to nearest
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  union { int32_t i; float f; } sc = {.i = ((int32_t)n + 127) * (1 << 23)};
  return x < -87.0f ? 0.0f : p * sc.f;
}

float kernels_exp(float x) { return exp_f(x); }

// max of x (n >= 1)
VEC_CLONES static float vec_max(const float *x, int n) {
  float acc[LANES];
  for (int l = 0; l < LANES; l++) acc[l] = x[0];
  int j = 0;
  for (; j + LANES <= n; j += LANES)
#pragma omp simd
    for (int l = 0; l < LANES; l++) acc[l] = x[j + l] > acc[l] ? x[j + l] : acc[l];
  float m = acc[0];
  for (int l = 1; l < LANES; l++) m = acc[l] > m ? acc[l] : m;
  for (; j < n; j++) m = x[j] > m ? x[j] : m;
  return m;
}

// sum_j exp(x_j - m); when out != NULL also out_j = exp(x_j - m) (out may be x)
VEC_CLONES static float vec_sumexp(float *out, const float *x, float m, int n) {
  float acc[LANES] = {0};
  int j = 0;
  for (; j + LANES <= n; j += LANES) {
    float e[LANES];
#pragma omp simd
    for (int l = 0; l < LANES; l++) {
      e[l] = exp_f(x[j + l] - m);
      acc[l] += e[l];
    }
    if (out)
      for (int l = 0; l < LANES; l++) out[j + l] = e[l];
  }
  double s = 0.0;
  for (int l = 0; l < LANES; l++) s += acc[l];
  for (; j < n; j++) {
    float e = exp_f(x[j] - m);
    if (out) out[j] = e;
    s += e;
  }
  return (float)s;
}

// y_j += c * exp(x_j - s)
VEC_CLONES static void vec_add_exp(float *y, const float *x, float s, float c, int n) {
#pragma omp simd
  for (int j = 0; j < n; j++) y[j] += c * exp_f(x[j] - s);
}

// y_j = c * exp(x_j - s)
VEC_CLONES static void vec_set_exp(float *y, const float *x, float s, float c, int n) {
#pragma omp simd
  for (int j = 0; j < n; j++) y[j] = c * exp_f(x[j] - s);
}

// sum_j a_j b_j with 16 fixed lanes
VEC_CLONES static float vec_dot(const float *a, const float *b, int n) {
  float acc[LANES] = {0};
  int j = 0;
  for (; j + LANES <= n; j += LANES)
#pragma omp simd
    for (int l = 0; l < LANES; l++) acc[l] += a[j + l] * b[j + l];
  float s = 0.0f;
  for (int l = 0; l < LANES; l++) s += acc[l];
  for (; j < n; j++) s += a[j] * b[j];
  return s;
}

// x_j *= c
VEC_CLONES static void vec_scale(float *x, float c, int n) {
#pragma omp simd
  for (int j = 0; j < n; j++) x[j] *= c;
}

// ---- embedding ------------------------------------------------------------------------
void embedding_forward(float *out, const int32_t *tokens, const float *wte, int N, int D) {
#pragma omp parallel for num_threads(kernels_threads()) schedule(static)
  for (int n = 0; n < N; n++)
    memcpy(out + (size_t)n * D, wte + (size_t)tokens[n] * D, (size_t)D * sizeof(float));
}

void embedding_backward(float *dwte, const float *dout, const int32_t *tokens, int N, int D) {
  int nt = kernels_threads();
#pragma omp parallel num_threads(nt)
  {
    int a, b;
    split_range(D, omp_get_num_threads(), omp_get_thread_num(), 16, &a, &b);
    for (int n = 0; n < N; n++) {
      float *d = dwte + (size_t)tokens[n] * D;
      const float *g = dout + (size_t)n * D;
      for (int i = a; i < b; i++) d[i] += g[i];
    }
  }
}

// ---- RMSNorm --------------------------------------------------------------------------
// out_i = x_i * r * w_i
VEC_CLONES static void rms_scale_row(float *out, const float *x, const float *w, float r, int D) {
#pragma omp simd
  for (int i = 0; i < D; i++) out[i] = x[i] * r * w[i];
}

// dx_i += g_i w_i r - c x_i; the dot sum_i g_i w_i x_i with 16 fixed lanes
VEC_CLONES static void rms_bwd_row(float *dx, const float *g, const float *w, const float *x, float r,
                                   int D) {
  float acc[LANES] = {0};
  int i = 0;
  for (; i + LANES <= D; i += LANES)
#pragma omp simd
    for (int l = 0; l < LANES; l++) acc[l] += g[i + l] * w[i + l] * x[i + l];
  float dot = 0.0f;
  for (int l = 0; l < LANES; l++) dot += acc[l];
  for (; i < D; i++) dot += g[i] * w[i] * x[i];
  float c = dot * r * r * r / (float)D;
#pragma omp simd
  for (int k = 0; k < D; k++) dx[k] += g[k] * w[k] * r - c * x[k];
}

// dw_i += g_i x_i r over a range of i
VEC_CLONES static void rms_dw_row(float *dw, const float *g, const float *x, float r, int a, int b) {
#pragma omp simd
  for (int i = a; i < b; i++) dw[i] += g[i] * x[i] * r;
}

void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int N, int D, float eps) {
#pragma omp parallel for num_threads(kernels_threads()) schedule(static)
  for (int n = 0; n < N; n++) {
    const float *xn = x + (size_t)n * D;
    float r = 1.0f / sqrtf(vec_dot(xn, xn, D) / (float)D + eps);
    rms_scale_row(out + (size_t)n * D, xn, w, r, D);
    rstd[n] = r;
  }
}

void rmsnorm_backward_dx(float *dx, const float *dout, const float *x, const float *w,
                         const float *rstd, int N, int D) {
  for (int n = 0; n < N; n++)
    rms_bwd_row(dx + (size_t)n * D, dout + (size_t)n * D, w, x + (size_t)n * D, rstd[n], D);
}

void rmsnorm_backward_dw(float *dw, const float *dout, const float *x, const float *rstd, int N, int D,
                         int c0, int c1) {
  for (int n = 0; n < N; n++) rms_dw_row(dw, dout + (size_t)n * D, x + (size_t)n * D, rstd[n], c0, c1);
}

void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                      const float *rstd, int N, int D) {
  int nt = kernels_threads();
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int n = 0; n < N; n++)
    rms_bwd_row(dx + (size_t)n * D, dout + (size_t)n * D, w, x + (size_t)n * D, rstd[n], D);
#pragma omp parallel num_threads(nt)
  {
    int a, b;
    split_range(D, omp_get_num_threads(), omp_get_thread_num(), 16, &a, &b);
    rmsnorm_backward_dw(dw, dout, x, rstd, N, D, a, b);
  }
}

// ---- matmul (HF Linear: y = x W^T + b) ------------------------------------------------
// With several threads the rows (or output columns) are cut into one chunk per thread,
// handed out dynamically (when another job holds a core, the running thread takes the
// waiting chunk). Only nt chunks: OpenBLAS takes other code paths (other summation orders)
// for small pieces, so finer chunks would make the bits depend on the thread count.
static int mm_chunks(int nt) { return nt < 1 ? 1 : nt; }

void matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N, int C,
                    int OC, int accumulate) {
  int nt = kernels_threads();
  float beta = accumulate ? 1.0f : 0.0f;
  int by_rows = N >= 64;
  int nc = mm_chunks(nt);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (int ch = 0; ch < nc; ch++) {
    int a, b;
    if (by_rows) {
      split_range(N, nc, ch, 16, &a, &b);
      if (b > a)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b - a, OC, C, 1.0f, inp + (size_t)a * C,
                    C, w, C, beta, out + (size_t)a * OC, OC);
      if (bias)
        for (int n = a; n < b; n++)
          for (int o = 0; o < OC; o++) out[(size_t)n * OC + o] += bias[o];
    } else {
      split_range(OC, nc, ch, 16, &a, &b);
      if (b > a)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, b - a, C, 1.0f, inp, C,
                    w + (size_t)a * C, C, beta, out + a, OC);
      if (bias)
        for (int n = 0; n < N; n++)
          for (int o = a; o < b; o++) out[(size_t)n * OC + o] += bias[o];
    }
  }
}

void matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                     const float *w, int N, int C, int OC) {
  int nt = kernels_threads();
  int by_rows = N >= 64;
  int nci = mm_chunks(nt), ncw = mm_chunks(nt);
#pragma omp parallel num_threads(nt)
  {
    if (dinp) {
#pragma omp for schedule(dynamic, 1) nowait
      for (int ch = 0; ch < nci; ch++) {
        int a, b;
        if (by_rows) {
          split_range(N, nci, ch, 16, &a, &b);
          if (b > a)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b - a, C, OC, 1.0f,
                        dout + (size_t)a * OC, OC, w, C, 1.0f, dinp + (size_t)a * C, C);
        } else {
          split_range(C, nci, ch, 16, &a, &b);
          if (b > a)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, b - a, OC, 1.0f, dout, OC,
                        w + a, C, 1.0f, dinp + a, C);
        }
      }
    }
    if (dw || dbias) {
#pragma omp for schedule(dynamic, 1) nowait
      for (int ch = 0; ch < ncw; ch++) {
        int a, b;
        split_range(OC, ncw, ch, 16, &a, &b);
        if (dw && b > a)
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b - a, C, N, 1.0f, dout + a, OC, inp, C,
                      1.0f, dw + (size_t)a * C, C);
        if (dbias)
          for (int n = 0; n < N; n++)
            for (int o = a; o < b; o++) dbias[o] += dout[(size_t)n * OC + o];
      }
    }
  }
}

// ---- RoPE (HF rotate_half: pairs (i, i + hd/2)) ----------------------------------------
void rope_tables(float *cos_t, float *sin_t, int max_pos, int hd, float theta) {
  int half = hd / 2;
  for (int i = 0; i < half; i++) {
    float inv = 1.0f / powf(theta, (float)(2 * i) / (float)hd);
    for (int p = 0; p < max_pos; p++) {
      float ang = (float)p * inv;
      cos_t[(size_t)p * half + i] = cosf(ang);
      sin_t[(size_t)p * half + i] = sinf(ang);
    }
  }
}

static void rope_apply(float *x, const int *pos, const float *cos_t, const float *sin_t, int N,
                       int nh, int hd, float sign) {
  int half = hd / 2;
#pragma omp parallel for num_threads(kernels_threads()) schedule(static)
  for (int n = 0; n < N; n++) {
    const float *c = cos_t + (size_t)pos[n] * half, *s = sin_t + (size_t)pos[n] * half;
    for (int h = 0; h < nh; h++) {
      float *v = x + ((size_t)n * nh + h) * hd;
      for (int i = 0; i < half; i++) {
        float a = v[i], b = v[i + half], si = sign * s[i];
        v[i] = a * c[i] - b * si;
        v[i + half] = b * c[i] + a * si;
      }
    }
  }
}

void rope_forward(float *x, const int *pos, const float *cos_t, const float *sin_t, int N, int nh, int hd) {
  rope_apply(x, pos, cos_t, sin_t, N, nh, hd, 1.0f);
}

void rope_backward(float *dx, const int *pos, const float *cos_t, const float *sin_t, int N, int nh, int hd) {
  rope_apply(dx, pos, cos_t, sin_t, N, nh, hd, -1.0f);
}

// ---- causal attention ------------------------------------------------------------------
// Row blocks of ATT_BLOCK queries only multiply against the keys they can see (0..r1), which
// skips ~half of the masked T x T work; entries above the diagonal inside a block are
// computed and then zeroed.
#define ATT_BLOCK 64

void attention_forward_task(int task, float *out, float *att, const float *q, const float *k,
                            const float *v, const int *seq_off, int H, int KV, int hd, int max_seq) {
  int G = H / KV, qs = H * hd, ks = KV * hd;
  float scale = 1.0f / sqrtf((float)hd);
  int s = task / KV, g = task % KV, o = seq_off[s], T = seq_off[s + 1] - o;
  const float *K = k + (size_t)o * ks + g * hd, *V = v + (size_t)o * ks + g * hd;
  for (int h = g * G; h < (g + 1) * G; h++) {
    const float *Q = q + (size_t)o * qs + h * hd;
    float *P = att + (size_t)H * o * max_seq + (size_t)h * T * T;
    float *O = out + (size_t)o * qs + h * hd;
    for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
      int r1 = r0 + ATT_BLOCK < T ? r0 + ATT_BLOCK : T;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, r1, hd, scale, Q + (size_t)r0 * qs,
                  qs, K, ks, 0.0f, P + (size_t)r0 * T, T);
      for (int i = r0; i < r1; i++) {
        float *row = P + (size_t)i * T;
        float sum = vec_sumexp(row, row, vec_max(row, i + 1), i + 1);
        vec_scale(row, 1.0f / sum, i + 1);
        if (i + 1 < T) memset(row + i + 1, 0, (size_t)(T - i - 1) * sizeof(float));
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hd, r1, 1.0f, P + (size_t)r0 * T,
                  T, V, ks, 0.0f, O + (size_t)r0 * qs, qs);
    }
  }
}

void attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                       const int *seq_off, int S, int H, int KV, int hd, int max_seq) {
#pragma omp parallel for num_threads(kernels_threads()) schedule(dynamic, 1)
  for (int task = 0; task < S * KV; task++)
    attention_forward_task(task, out, att, q, k, v, seq_off, H, KV, hd, max_seq);
}

// d_j = p_j (d_j - dot) * scale
VEC_CLONES static void softmax_grad_row(float *d, const float *p, float dot, float scale, int n) {
#pragma omp simd
  for (int j = 0; j < n; j++) d[j] = p[j] * (d[j] - dot) * scale;
}

void attention_backward_task(int task, float *dq, float *dk, float *dv, float *dP, const float *dout,
                             const float *q, const float *k, const float *v, const float *att,
                             const int *seq_off, int H, int KV, int hd, int max_seq) {
  int G = H / KV, qs = H * hd, ks = KV * hd;
  float scale = 1.0f / sqrtf((float)hd);
  int s = task / KV, g = task % KV, o = seq_off[s], T = seq_off[s + 1] - o;
  const float *K = k + (size_t)o * ks + g * hd, *V = v + (size_t)o * ks + g * hd;
  float *dK = dk + (size_t)o * ks + g * hd, *dV = dv + (size_t)o * ks + g * hd;
  for (int h = g * G; h < (g + 1) * G; h++) {
    const float *Q = q + (size_t)o * qs + h * hd, *dO = dout + (size_t)o * qs + h * hd;
    const float *P = att + (size_t)H * o * max_seq + (size_t)h * T * T;
    float *dQ = dq + (size_t)o * qs + h * hd;
    for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
      int r1 = r0 + ATT_BLOCK < T ? r0 + ATT_BLOCK : T, nr = r1 - r0;
      const float *Pb = P + (size_t)r0 * T;
      float *dPb = dP + (size_t)r0 * T;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, r1, hd, 1.0f, dO + (size_t)r0 * qs, qs,
                  V, ks, 0.0f, dPb, T);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hd, nr, 1.0f, Pb, T, dO + (size_t)r0 * qs,
                  qs, 1.0f, dV, ks);
      for (int i = r0; i < r1; i++) {
        const float *pr = P + (size_t)i * T;
        float *dr = dP + (size_t)i * T;
        softmax_grad_row(dr, pr, vec_dot(pr, dr, i + 1), scale, i + 1);
        if (i + 1 < r1) memset(dr + i + 1, 0, (size_t)(r1 - i - 1) * sizeof(float));
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, hd, r1, 1.0f, dPb, T, K, ks, 1.0f,
                  dQ + (size_t)r0 * qs, qs);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hd, nr, 1.0f, dPb, T, Q + (size_t)r0 * qs,
                  qs, 1.0f, dK, ks);
    }
  }
}

void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                        const float *q, const float *k, const float *v, const float *att,
                        const int *seq_off, int S, int H, int KV, int hd, int max_seq) {
#pragma omp parallel for num_threads(kernels_threads()) schedule(dynamic, 1)
  for (int task = 0; task < S * KV; task++)
    attention_backward_task(task, dq, dk, dv, scratch + (size_t)omp_get_thread_num() * max_seq * max_seq,
                            dout, q, k, v, att, seq_off, H, KV, hd, max_seq);
}

// ---- SwiGLU ---------------------------------------------------------------------------
VEC_CLONES static void swiglu_fwd_block(float *h, const float *gate, const float *up, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; i++) {
    float g = gate[i];
    h[i] = g / (1.0f + exp_f(-g)) * up[i];
  }
}

VEC_CLONES static void swiglu_bwd_block(float *dgate, float *dup, const float *dh, const float *gate,
                                        const float *up, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; i++) {
    float g = gate[i], sg = 1.0f / (1.0f + exp_f(-g)), silu = g * sg;
    dgate[i] += dh[i] * up[i] * (sg + silu * (1.0f - sg));
    dup[i] += dh[i] * silu;
  }
}

#define EW_BLOCK 4096   // elementwise kernels: blocks of this many floats per OpenMP task

void swiglu_forward(float *h, const float *gate, const float *up, size_t n) {
  long nb = (long)((n + EW_BLOCK - 1) / EW_BLOCK);
#pragma omp parallel for num_threads(kernels_threads()) schedule(static)
  for (long b = 0; b < nb; b++) {
    size_t o = (size_t)b * EW_BLOCK, m = n - o < EW_BLOCK ? n - o : EW_BLOCK;
    swiglu_fwd_block(h + o, gate + o, up + o, m);
  }
}

void swiglu_backward(float *dgate, float *dup, const float *dh, const float *gate,
                     const float *up, size_t n) {
  long nb = (long)((n + EW_BLOCK - 1) / EW_BLOCK);
#pragma omp parallel for num_threads(kernels_threads()) schedule(static)
  for (long b = 0; b < nb; b++) {
    size_t o = (size_t)b * EW_BLOCK, m = n - o < EW_BLOCK ? n - o : EW_BLOCK;
    swiglu_bwd_block(dgate + o, dup + o, dh + o, gate + o, up + o, m);
  }
}

// ---- cross-entropy ----------------------------------------------------------------------
// log-sum-exp of a row: max subtracted, vectorized exp, 16 lane sums combined in double.
static float row_lse(const float *z, int V) {
  float mx = vec_max(z, V);
  return mx + (float)log((double)vec_sumexp(NULL, z, mx, V));
}

void crossentropy_forward(float *loss, const float *logits, const int32_t *targets, int N, int V) {
#pragma omp parallel for num_threads(kernels_threads()) schedule(static)
  for (int n = 0; n < N; n++) {
    const float *z = logits + (size_t)n * V;
    loss[n] = targets[n] < 0 ? 0.0f : row_lse(z, V) - z[targets[n]];
  }
}

// overwrite = 0: dlogits += w (p - y); 1: dlogits = w (p - y), ignored rows zeroed
static void ce_rows(float *loss, float *dlogits, const float *logits, const int32_t *targets,
                    const float *weights, int N, int V, int overwrite) {
#pragma omp parallel for num_threads(kernels_threads()) schedule(static)
  for (int n = 0; n < N; n++) {
    float *d = dlogits + (size_t)n * V;
    if (targets[n] < 0) {
      if (loss) loss[n] = 0.0f;
      if (overwrite) memset(d, 0, (size_t)V * sizeof(float));
      continue;
    }
    const float *z = logits + (size_t)n * V;
    float lse = row_lse(z, V), w = weights ? weights[n] : 1.0f;
    if (loss) loss[n] = lse - z[targets[n]];
    if (overwrite) vec_set_exp(d, z, lse, w, V);
    else if (w != 0.0f) vec_add_exp(d, z, lse, w, V);
    d[targets[n]] -= w;
  }
}

void crossentropy_backward(float *dlogits, const float *logits, const int32_t *targets,
                           const float *weights, int N, int V) {
  ce_rows(NULL, dlogits, logits, targets, weights, N, V, 0);
}

void crossentropy_forward_backward(float *loss, float *dlogits, const float *logits,
                                   const int32_t *targets, const float *weights, int N, int V) {
  ce_rows(loss, dlogits, logits, targets, weights, N, V, 1);
}
