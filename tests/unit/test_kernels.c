// Kernel tests: every backward against central finite differences of its forward, the hot
// kernels (matmul, attention) against naive loops, and thread-count independence.
// FD: L = sum(out .* R) accumulated in double, eps = 1e-2 (float kernels),
// pass when |analytic - fd| <= 2e-3 + 1e-2 * max(|analytic|, |fd|).
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nqtest.h"
#include "blas_probe.h"
#include "model/kernels.h"

#define EPS 1e-2f
#define ATOL 2e-3
#define RTOL 1e-2

static uint64_t rng_s = 42;
static float frand(void) {   // uniform in [-1, 1)
  rng_s = rng_s * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((rng_s >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}
static float *rnd(size_t n, float scale) {
  float *x = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) x[i] = frand() * scale;
  return x;
}
static float *zeros(size_t n) { return calloc(n, sizeof(float)); }

static double dotd(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

typedef double (*lossfn)(void *ctx);
static void fd_check_stride(const char *what, lossfn f, void *ctx, float *x, const float *g, size_t n,
                            size_t stride) {
  for (size_t i = 0; i < n; i += stride) {
    float save = x[i];
    x[i] = save + EPS;
    double lp = f(ctx);
    x[i] = save - EPS;
    double lm = f(ctx);
    x[i] = save;
    double fd = (lp - lm) / (2.0 * EPS), an = g[i];
    double tol = ATOL + RTOL * fmax(fabs(fd), fabs(an));
    if (fabs(fd - an) > tol) fail_msg("%s[%zu]: analytic %.6g vs fd %.6g", what, i, an, fd);
  }
}
static void fd_check(const char *what, lossfn f, void *ctx, float *x, const float *g, size_t n) {
  fd_check_stride(what, f, ctx, x, g, n, 1);
}

// ---- rmsnorm ----
typedef struct { float *x, *w, *out, *rstd, *R; int N, D; } rms_ctx;
static double rms_loss(void *p) {
  rms_ctx *c = p;
  rmsnorm_forward(c->out, c->rstd, c->x, c->w, c->N, c->D, 1e-5f);
  return dotd(c->out, c->R, (size_t)c->N * c->D);
}
static void test_rmsnorm(void **state) {
  (void)state;
  int N = 5, D = 12;
  rms_ctx c = {rnd(N * D, 1), rnd(D, 1), zeros(N * D), zeros(N), rnd(N * D, 1), N, D};
  float *dx = zeros(N * D), *dw = zeros(D);
  rms_loss(&c);
  rmsnorm_backward(dx, dw, c.R, c.x, c.w, c.rstd, N, D);
  fd_check("rmsnorm dx", rms_loss, &c, c.x, dx, N * D);
  fd_check("rmsnorm dw", rms_loss, &c, c.w, dw, D);
  free(c.x); free(c.w); free(c.out); free(c.rstd); free(c.R); free(dx); free(dw);
}

// ---- embedding ----
typedef struct { int32_t *tok; float *wte, *out, *R; int N, D; } emb_ctx;
static double emb_loss(void *p) {
  emb_ctx *c = p;
  embedding_forward(c->out, c->tok, c->wte, c->N, c->D);
  return dotd(c->out, c->R, (size_t)c->N * c->D);
}
static void test_embedding(void **state) {
  (void)state;
  int N = 6, D = 8, V = 5;
  int32_t tok[] = {0, 3, 3, 1, 4, 0};
  emb_ctx c = {tok, rnd(V * D, 1), zeros(N * D), rnd(N * D, 1), N, D};
  float *dw = zeros(V * D);
  embedding_backward(dw, c.R, tok, N, D);
  fd_check("embedding dwte", emb_loss, &c, c.wte, dw, V * D);
  free(c.wte); free(c.out); free(c.R); free(dw);
}

// ---- matmul ----
typedef struct { float *inp, *w, *b, *out, *R; int N, C, OC; } mm_ctx;
static double mm_loss(void *p) {
  mm_ctx *c = p;
  matmul_forward(c->out, c->inp, c->w, c->b, c->N, c->C, c->OC, 0);
  return dotd(c->out, c->R, (size_t)c->N * c->OC);
}
static void mm_case(int N, int C, int OC) {
  mm_ctx c = {rnd(N * C, 1), rnd(OC * C, 1), rnd(OC, 1), zeros(N * OC), rnd(N * OC, 1), N, C, OC};
  mm_loss(&c);
  for (int n = 0; n < N; n++)   // naive reference
    for (int o = 0; o < OC; o++) {
      double s = c.b[o];
      for (int k = 0; k < C; k++) s += (double)c.inp[n * C + k] * c.w[o * C + k];
      if (fabs(s - c.out[n * OC + o]) > 1e-4 * (1 + fabs(s))) fail_msg("matmul naive mismatch at %d,%d", n, o);
    }
  float *dinp = zeros(N * C), *dw = zeros(OC * C), *db = zeros(OC);
  matmul_backward(dinp, dw, db, c.R, c.inp, c.w, N, C, OC);
  fd_check("matmul dinp", mm_loss, &c, c.inp, dinp, N * C);
  fd_check("matmul dw", mm_loss, &c, c.w, dw, OC * C);
  fd_check("matmul db", mm_loss, &c, c.b, db, OC);
  free(c.inp); free(c.w); free(c.b); free(c.out); free(c.R); free(dinp); free(dw); free(db);
}
static void test_matmul(void **state) {
  (void)state;
  mm_case(7, 5, 9);     // column-split path (N < 64)
  mm_case(70, 6, 5);    // row-split path
}

// ---- rope ----
typedef struct { float *x, *tmp, *R, *cs, *sn; int *pos; int N, nh, hd; } rope_ctx;
static double rope_loss(void *p) {
  rope_ctx *c = p;
  size_t n = (size_t)c->N * c->nh * c->hd;
  memcpy(c->tmp, c->x, n * sizeof(float));
  rope_forward(c->tmp, c->pos, c->cs, c->sn, c->N, c->nh, c->hd);
  return dotd(c->tmp, c->R, n);
}
static void test_rope(void **state) {
  (void)state;
  int N = 4, nh = 2, hd = 8, pos[] = {0, 1, 5, 2};
  size_t n = (size_t)N * nh * hd;
  float cs[16 * 4], sn[16 * 4];
  rope_tables(cs, sn, 16, hd, 10000.0f);
  rope_ctx c = {rnd(n, 1), zeros(n), rnd(n, 1), cs, sn, pos, N, nh, hd};
  rope_loss(&c);
  for (int i = 0; i < nh * hd; i++)   // position 0 is the identity
    assert_true(c.tmp[i] == c.x[i]);
  // HF rotate_half at position 5, pair (1, 1 + hd/2): angle = 5 * 10000^(-2/8)
  double ang = 5.0 * pow(10000.0, -2.0 / 8.0), a = c.x[2 * 16 + 1], b = c.x[2 * 16 + 5];
  assert_true(fabs(c.tmp[2 * 16 + 1] - (a * cos(ang) - b * sin(ang))) < 1e-5);
  assert_true(fabs(c.tmp[2 * 16 + 5] - (b * cos(ang) + a * sin(ang))) < 1e-5);
  float *dx = malloc(n * sizeof(float));
  memcpy(dx, c.R, n * sizeof(float));
  rope_backward(dx, pos, cs, sn, N, nh, hd);
  fd_check("rope dx", rope_loss, &c, c.x, dx, n);
  free(c.x); free(c.tmp); free(c.R); free(dx);
}

// ---- attention ----
typedef struct { float *q, *k, *v, *out, *att, *R; int *off; int S, H, KV, hd, maxT, N; } att_ctx;
static double att_loss(void *p) {
  att_ctx *c = p;
  attention_forward(c->out, c->att, c->q, c->k, c->v, c->off, c->S, c->H, c->KV, c->hd, c->maxT);
  return dotd(c->out, c->R, (size_t)c->N * c->H * c->hd);
}
static void att_naive(float *out, const att_ctx *c) {   // double, loops, per sequence
  int qs = c->H * c->hd, ks = c->KV * c->hd;
  for (int s = 0; s < c->S; s++)
    for (int i = c->off[s]; i < c->off[s + 1]; i++)
      for (int h = 0; h < c->H; h++) {
        int g = h / (c->H / c->KV);
        double sc[128], mx = -1e300, sum = 0;
        for (int j = c->off[s]; j <= i; j++) {
          double d = 0;
          for (int e = 0; e < c->hd; e++) d += (double)c->q[i * qs + h * c->hd + e] * c->k[j * ks + g * c->hd + e];
          sc[j - c->off[s]] = d / sqrt(c->hd);
          if (sc[j - c->off[s]] > mx) mx = sc[j - c->off[s]];
        }
        for (int j = c->off[s]; j <= i; j++) sum += exp(sc[j - c->off[s]] - mx);
        for (int e = 0; e < c->hd; e++) {
          double y = 0;
          for (int j = c->off[s]; j <= i; j++)
            y += exp(sc[j - c->off[s]] - mx) / sum * c->v[j * ks + g * c->hd + e];
          out[i * qs + h * c->hd + e] = (float)y;
        }
      }
}
// Sequences longer than the kernel's 64-row blocks exercise the blocked causal path; the
// long case checks every 7th element by FD to stay fast.
static void att_case(int *off, int S, int H, int KV, int hd, int maxT, int N, size_t stride) {
  size_t nq = (size_t)N * H * hd, nk = (size_t)N * KV * hd;
  att_ctx c = {rnd(nq, 1), rnd(nk, 1), rnd(nk, 1), zeros(nq), zeros((size_t)H * N * maxT), rnd(nq, 1),
               off, S, H, KV, hd, maxT, N};
  att_loss(&c);
  float *ref = zeros(nq);
  att_naive(ref, &c);
  for (size_t i = 0; i < nq; i++)
    if (fabs(ref[i] - c.out[i]) > 1e-5) fail_msg("attention vs naive at %zu: %g vs %g", i, c.out[i], ref[i]);
  float *dq = zeros(nq), *dk = zeros(nk), *dv = zeros(nk), *scr = zeros((size_t)kernels_threads() * maxT * maxT);
  attention_backward(dq, dk, dv, scr, c.R, c.q, c.k, c.v, c.att, off, S, H, KV, hd, maxT);
  fd_check_stride("attention dq", att_loss, &c, c.q, dq, nq, stride);
  fd_check_stride("attention dk", att_loss, &c, c.k, dk, nk, stride);
  fd_check_stride("attention dv", att_loss, &c, c.v, dv, nk, stride);
  free(c.q); free(c.k); free(c.v); free(c.out); free(c.att); free(c.R); free(ref);
  free(dq); free(dk); free(dv); free(scr);
}
static void test_attention(void **state) {
  (void)state;
  int off[] = {0, 5, 8, 9};
  att_case(off, 3, 4, 2, 4, 5, 9, 1);
  int off2[] = {0, 3, 73};
  att_case(off2, 2, 2, 1, 4, 70, 73, 7);
}

// ---- swiglu ----
typedef struct { float *g, *u, *h, *R; size_t n; } sw_ctx;
static double sw_loss(void *p) {
  sw_ctx *c = p;
  swiglu_forward(c->h, c->g, c->u, c->n);
  return dotd(c->h, c->R, c->n);
}
static void test_swiglu(void **state) {
  (void)state;
  size_t n = 40;
  sw_ctx c = {rnd(n, 3), rnd(n, 1), zeros(n), rnd(n, 1), n};
  float *dg = zeros(n), *du = zeros(n);
  swiglu_backward(dg, du, c.R, c.g, c.u, n);
  fd_check("swiglu dgate", sw_loss, &c, c.g, dg, n);
  fd_check("swiglu dup", sw_loss, &c, c.u, du, n);
  free(c.g); free(c.u); free(c.h); free(c.R); free(dg); free(du);
}

// ---- cross-entropy ----
typedef struct { float *z, *loss, *w; int32_t *t; int N, V; } ce_ctx;
static double ce_loss(void *p) {
  ce_ctx *c = p;
  crossentropy_forward(c->loss, c->z, c->t, c->N, c->V);
  return dotd(c->loss, c->w, c->N);
}
static void test_crossentropy(void **state) {
  (void)state;
  int N = 4, V = 7;
  int32_t t[] = {2, -1, 6, 0};
  ce_ctx c = {rnd(N * V, 3), zeros(N), rnd(N, 1), t, N, V};
  ce_loss(&c);
  assert_true(c.loss[1] == 0.0f);
  double lse = 0;   // direct check of row 0
  for (int j = 0; j < V; j++) lse += exp(c.z[j]);
  assert_true(fabs(c.loss[0] - (log(lse) - c.z[2])) < 1e-5);
  float *dz = zeros(N * V);
  crossentropy_backward(dz, c.z, t, c.w, N, V);
  for (int j = 0; j < V; j++) assert_true(dz[V + j] == 0.0f);   // ignored row
  fd_check("crossentropy dlogits", ce_loss, &c, c.z, dz, N * V);
  free(c.z); free(c.loss); free(c.w); free(dz);
}

// The fused kernel on rows wider than the 16 vector lanes (plus a tail): loss and dlogits
// against a double-precision reference; dlogits is overwritten (garbage before), the ignored
// row is zeroed; the accumulating crossentropy_backward adds the same values.
static void test_crossentropy_fused(void **state) {
  (void)state;
  int N = 5, V = 100;
  int32_t t[] = {3, 99, -1, 0, 57};
  float *z = rnd(N * V, 8), *w = rnd(N, 1), *loss = zeros(N), *d = rnd(N * V, 5), *acc = zeros(N * V);
  crossentropy_forward_backward(loss, d, z, t, w, N, V);
  crossentropy_backward(acc, z, t, w, N, V);
  for (int n = 0; n < N; n++) {
    const float *zn = z + (size_t)n * V;
    double mx = zn[0], s = 0;
    for (int j = 1; j < V; j++) mx = fmax(mx, zn[j]);
    for (int j = 0; j < V; j++) s += exp(zn[j] - mx);
    double lse = mx + log(s);
    if (t[n] < 0) assert_true(loss[n] == 0.0f);
    else assert_true(fabs(loss[n] - (lse - zn[t[n]])) < 1e-5 * fmax(1.0, fabs(lse)));
    for (int j = 0; j < V; j++) {
      double ref = t[n] < 0 ? 0.0 : w[n] * (exp(zn[j] - lse) - (j == t[n]));
      if (fabs(d[(size_t)n * V + j] - ref) > 1e-6) fail_msg("dlogits[%d,%d] %g vs %g", n, j, d[(size_t)n * V + j], ref);
      assert_true(d[(size_t)n * V + j] == acc[(size_t)n * V + j]);
    }
  }
  float l2[5];
  crossentropy_forward(l2, z, t, N, V);
  assert_memory_equal(l2, loss, sizeof l2);
  free(z); free(w); free(loss); free(d); free(acc);
}

// The vectorizable exp of the kernels: within 2 ulp of exp over the float range, 0 below -87.
static void test_exp(void **state) {
  (void)state;
  double worst = 0;
  for (double x = -87.0; x <= 88.0; x += 0.0137) {
    double ref = exp((double)(float)x), got = kernels_exp((float)x);
    worst = fmax(worst, fabs(got - ref) / ref);
  }
  if (worst > 2.5e-7) fail_msg("exp relative error %g", worst);
  assert_true(kernels_exp(-87.5f) == 0.0f && kernels_exp(-1e30f) == 0.0f);
  assert_true(kernels_exp(0.0f) == 1.0f);
}

// ---- thread-count independence of the hot kernels ----
static void test_threads_bitwise(void **state) {
  (void)state;
  int N = 150, C = 48, OC = 80;
  float *inp = rnd(N * C, 1), *w = rnd(OC * C, 1), *R = rnd(N * OC, 1);
  float *o1 = zeros(N * OC), *o2 = zeros(N * OC), *di1 = zeros(N * C), *di2 = zeros(N * C);
  float *dw1 = zeros(OC * C), *dw2 = zeros(OC * C);
  kernels_set_threads(1);
  matmul_forward(o1, inp, w, NULL, N, C, OC, 0);
  matmul_backward(di1, dw1, NULL, R, inp, w, N, C, OC);
  kernels_set_threads(2);
  matmul_forward(o2, inp, w, NULL, N, C, OC, 0);
  matmul_backward(di2, dw2, NULL, R, inp, w, N, C, OC);
  kernels_set_threads(1);
  int bitwise = blas_rows_split_invariant();
  if (!bitwise) printf("# this BLAS sums a row differently by block: 1 vs 2 threads compared to rounding\n");
  assert_int_equal(blas_first_mismatch(o1, o2, (size_t)N * OC, bitwise), -1);
  assert_int_equal(blas_first_mismatch(di1, di2, (size_t)N * C, bitwise), -1);
  assert_int_equal(blas_first_mismatch(dw1, dw2, (size_t)OC * C, bitwise), -1);
  free(inp); free(w); free(R); free(o1); free(o2); free(di1); free(di2); free(dw1); free(dw2);
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rmsnorm),    cmocka_unit_test(test_embedding),
      cmocka_unit_test(test_matmul),     cmocka_unit_test(test_rope),
      cmocka_unit_test(test_attention),  cmocka_unit_test(test_swiglu),
      cmocka_unit_test(test_crossentropy), cmocka_unit_test(test_crossentropy_fused),
      cmocka_unit_test(test_exp),        cmocka_unit_test(test_threads_bitwise),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
