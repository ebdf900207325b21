// Model kernels (see kernels.h for shapes). Every matmul is one or more single-threaded
// cblas_sgemm calls over disjoint row blocks, one per OpenMP thread: the reduction
// dimension is never split, so results do not depend on the thread count.
#include "kernels.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

static int g_threads = 1;
static int g_blas_set = 0;

void kernels_set_threads(int n) {
  g_threads = n < 1 ? 1 : n;
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
void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int N, int D, float eps) {
#pragma omp parallel for num_threads(kernels_threads()) schedule(static)
  for (int n = 0; n < N; n++) {
    const float *xn = x + (size_t)n * D;
    float *on = out + (size_t)n * D;
    float ss = 0.0f;
    for (int i = 0; i < D; i++) ss += xn[i] * xn[i];
    float r = 1.0f / sqrtf(ss / (float)D + eps);
    for (int i = 0; i < D; i++) on[i] = xn[i] * r * w[i];
    rstd[n] = r;
  }
}

void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                      const float *rstd, int N, int D) {
  int nt = kernels_threads();
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int n = 0; n < N; n++) {
    const float *xn = x + (size_t)n * D, *gn = dout + (size_t)n * D;
    float *dxn = dx + (size_t)n * D;
    float r = rstd[n], dot = 0.0f;
    for (int i = 0; i < D; i++) dot += gn[i] * w[i] * xn[i];
    float c = dot * r * r * r / (float)D;
    for (int i = 0; i < D; i++) dxn[i] += gn[i] * w[i] * r - c * xn[i];
  }
#pragma omp parallel num_threads(nt)
  {
    int a, b;
    split_range(D, omp_get_num_threads(), omp_get_thread_num(), 16, &a, &b);
    for (int n = 0; n < N; n++) {
      const float *xn = x + (size_t)n * D, *gn = dout + (size_t)n * D;
      float r = rstd[n];
      for (int i = a; i < b; i++) dw[i] += gn[i] * xn[i] * r;
    }
  }
}

// ---- matmul (HF Linear: y = x W^T + b) ------------------------------------------------
void matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N, int C,
                    int OC, int accumulate) {
  int nt = kernels_threads();
  float beta = accumulate ? 1.0f : 0.0f;
  int by_rows = N >= 64;
#pragma omp parallel num_threads(nt)
  {
    int a, b;
    if (by_rows) {
      split_range(N, omp_get_num_threads(), omp_get_thread_num(), 16, &a, &b);
      if (b > a)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b - a, OC, C, 1.0f, inp + (size_t)a * C,
                    C, w, C, beta, out + (size_t)a * OC, OC);
      if (bias)
        for (int n = a; n < b; n++)
          for (int o = 0; o < OC; o++) out[(size_t)n * OC + o] += bias[o];
    } else {
      split_range(OC, omp_get_num_threads(), omp_get_thread_num(), 16, &a, &b);
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
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num(), T = omp_get_num_threads(), a, b;
    if (dinp) {
      if (by_rows) {
        split_range(N, T, t, 16, &a, &b);
        if (b > a)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b - a, C, OC, 1.0f,
                      dout + (size_t)a * OC, OC, w, C, 1.0f, dinp + (size_t)a * C, C);
      } else {
        split_range(C, T, t, 16, &a, &b);
        if (b > a)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, b - a, OC, 1.0f, dout, OC,
                      w + a, C, 1.0f, dinp + a, C);
      }
    }
    split_range(OC, T, t, 16, &a, &b);
    if (dw && b > a)
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b - a, C, N, 1.0f, dout + a, OC, inp, C,
                  1.0f, dw + (size_t)a * C, C);
    if (dbias)
      for (int n = 0; n < N; n++)
        for (int o = a; o < b; o++) dbias[o] += dout[(size_t)n * OC + o];
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

void attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                       const int *seq_off, int S, int H, int KV, int hd, int max_seq) {
  int G = H / KV, qs = H * hd, ks = KV * hd;
  float scale = 1.0f / sqrtf((float)hd);
#pragma omp parallel for num_threads(kernels_threads()) schedule(dynamic, 1)
  for (int task = 0; task < S * KV; task++) {
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
          float *row = P + (size_t)i * T, mx = row[0], sum = 0.0f;
          for (int j = 1; j <= i; j++) mx = row[j] > mx ? row[j] : mx;
          for (int j = 0; j <= i; j++) { row[j] = expf(row[j] - mx); sum += row[j]; }
          float inv = 1.0f / sum;
          for (int j = 0; j <= i; j++) row[j] *= inv;
          for (int j = i + 1; j < T; j++) row[j] = 0.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hd, r1, 1.0f, P + (size_t)r0 * T,
                    T, V, ks, 0.0f, O + (size_t)r0 * qs, qs);
      }
    }
  }
}

void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                        const float *q, const float *k, const float *v, const float *att,
                        const int *seq_off, int S, int H, int KV, int hd, int max_seq) {
  int G = H / KV, qs = H * hd, ks = KV * hd;
  float scale = 1.0f / sqrtf((float)hd);
#pragma omp parallel for num_threads(kernels_threads()) schedule(dynamic, 1)
  for (int task = 0; task < S * KV; task++) {
    float *dP = scratch + (size_t)omp_get_thread_num() * max_seq * max_seq;
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
          float *dr = dP + (size_t)i * T, dot = 0.0f;
          for (int j = 0; j <= i; j++) dot += pr[j] * dr[j];
          for (int j = 0; j <= i; j++) dr[j] = pr[j] * (dr[j] - dot) * scale;
          for (int j = i + 1; j < r1; j++) dr[j] = 0.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, hd, r1, 1.0f, dPb, T, K, ks, 1.0f,
                    dQ + (size_t)r0 * qs, qs);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hd, nr, 1.0f, dPb, T, Q + (size_t)r0 * qs,
                    qs, 1.0f, dK, ks);
      }
    }
  }
}

// ---- SwiGLU ---------------------------------------------------------------------------
void swiglu_forward(float *h, const float *gate, const float *up, size_t n) {
#pragma omp parallel for num_threads(kernels_threads()) schedule(static)
  for (size_t i = 0; i < n; i++) {
    float g = gate[i];
    h[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

void swiglu_backward(float *dgate, float *dup, const float *dh, const float *gate,
                     const float *up, size_t n) {
#pragma omp parallel for num_threads(kernels_threads()) schedule(static)
  for (size_t i = 0; i < n; i++) {
    float g = gate[i], sg = 1.0f / (1.0f + expf(-g)), silu = g * sg;
    dgate[i] += dh[i] * up[i] * (sg + silu * (1.0f - sg));
    dup[i] += dh[i] * silu;
  }
}

// ---- cross-entropy ----------------------------------------------------------------------
// expf with the row max subtracted; the sum is accumulated in double.
static float row_lse(const float *z, int V) {
  float mx = z[0];
  for (int j = 1; j < V; j++) mx = z[j] > mx ? z[j] : mx;
  double sum = 0.0;
  for (int j = 0; j < V; j++) sum += expf(z[j] - mx);
  return mx + (float)log(sum);
}

void crossentropy_forward(float *loss, const float *logits, const int32_t *targets, int N, int V) {
#pragma omp parallel for num_threads(kernels_threads()) schedule(static)
  for (int n = 0; n < N; n++) {
    const float *z = logits + (size_t)n * V;
    loss[n] = targets[n] < 0 ? 0.0f : row_lse(z, V) - z[targets[n]];
  }
}

void crossentropy_backward(float *dlogits, const float *logits, const int32_t *targets,
                           const float *weights, int N, int V) {
#pragma omp parallel for num_threads(kernels_threads()) schedule(static)
  for (int n = 0; n < N; n++) {
    if (targets[n] < 0) continue;
    const float *z = logits + (size_t)n * V;
    float *d = dlogits + (size_t)n * V;
    float lse = row_lse(z, V), w = weights ? weights[n] : 1.0f;
    for (int j = 0; j < V; j++) d[j] += w * expf(z[j] - lse);
    d[targets[n]] -= w;
  }
}
