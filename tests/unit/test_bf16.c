// bf16 precision tests: rounding; gemm_bf16 (oneDNN, the dpbf16 kernel and the sgemm
// fallback) against a double-precision product of the same bf16 inputs; the bf16 linear
// kernels against fp32 and their backward against finite differences; the whole model in
// bf16 against fp32 (forward, gradients, KV cache, bf16-only weights, threads).
// Tolerances: gemm_bf16 on bf16 inputs only differs by fp32 accumulation order:
// |err| <= 1e-5 * sum_k |a_ik b_kj|. Against fp32 operands the inputs' rounding (2^-9
// relative each) dominates: |err| <= 1e-2 * sum_k |a_ik b_kj| (about 2-3 bf16 ulps' worth).
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nqtest.h"
#include "files/checkpoint.h"
#include "model/kernels.h"
#include "model/kernels_bf16.h"
#include "model/model.h"

static float frand(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((*s >> 40) / 16777216.0) * 2.0f - 1.0f;
}

// The vectorized rounding against the scalar rule, bit for bit: random bit patterns (NaNs,
// infinities, denormals, halfway cases) and every tail length of the 16-float blocks.
static void test_rounding_bits(void **state) {
  (void)state;
  enum { NB = 4099 };
  static float in[NB];
  static bf16 out[NB];
  uint64_t s = 7;
  for (int i = 0; i < NB; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t u = (uint32_t)(s >> 32);
    if (i % 5 == 1) u = (u & 0xffff0000u) | 0x8000u;   // exactly halfway
    if (i % 7 == 2) u &= 0x807fffffu;                   // denormal
    memcpy(&in[i], &u, 4);
  }
  for (int len = 0; len <= 40; len++) {
    memset(out, 0xab, sizeof out);
    bf16_from_f32(out, in + len, (size_t)(len < 40 ? len : NB - 40));
    int n = len < 40 ? len : NB - 40;
    for (int i = 0; i < n; i++) {
      uint32_t u;
      memcpy(&u, &in[len + i], 4);
      uint16_t want = (u & 0x7fffffffu) > 0x7f800000u ? (uint16_t)((u >> 16) | 0x40)
                                                      : (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
      assert_int_equal(out[i], want);
    }
    if (n < NB) assert_int_equal(out[n], 0xabab);   // nothing written past the end
  }
}

static void test_rounding(void **state) {
  (void)state;
  float in[] = {1.0f, 1.00390625f, 1.01171875f, -2.5f, 3.0e38f, 1e-40f, INFINITY};
  bf16 out[7];
  bf16_from_f32(out, in, 7);
  assert_int_equal(out[0], 0x3f80);
  assert_int_equal(out[1], 0x3f80);   // halfway: to even
  assert_int_equal(out[2], 0x3f82);   // halfway: to even (up)
  assert_int_equal(out[3], 0xc020);
  assert_true(bf16_get(out[4]) > 2.9e38f);
  assert_int_equal(out[6], 0x7f80);
  float nan = NAN;
  bf16 nb;
  bf16_from_f32(&nb, &nan, 1);
  assert_true(isnan(bf16_get(nb)));
}

// C = A B with A (M, K), B (K, N) in the given layouts, against a double reference.
static void check_gemm(int M, int N, int K, int ta, int tb, int acc) {
  uint64_t s = (uint64_t)(M * 131 + N * 7 + K + ta * 3 + tb * 5 + acc);
  bf16 *A = malloc((size_t)M * K * 2), *B = malloc((size_t)K * N * 2);
  float *C = malloc((size_t)M * N * 4), *C0 = malloc((size_t)M * N * 4), tmp;
  for (size_t i = 0; i < (size_t)M * K; i++) { tmp = frand(&s); bf16_from_f32(A + i, &tmp, 1); }
  for (size_t i = 0; i < (size_t)K * N; i++) { tmp = frand(&s); bf16_from_f32(B + i, &tmp, 1); }
  for (size_t i = 0; i < (size_t)M * N; i++) C[i] = C0[i] = frand(&s);
  long sa0 = ta ? 1 : K, sa1 = ta ? M : 1, sb0 = tb ? 1 : N, sb1 = tb ? K : 1;
  gemm_bf16(M, N, K, A, sa0, sa1, B, sb0, sb1, C, N, acc);
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double ref = acc ? C0[(size_t)i * N + j] : 0.0, mag = fabs(ref);
      for (int k = 0; k < K; k++) {
        double p = (double)bf16_get(A[i * sa0 + k * sa1]) * bf16_get(B[k * sb0 + j * sb1]);
        ref += p;
        mag += fabs(p);
      }
      double err = fabs(C[(size_t)i * N + j] - ref);
      if (err > 1e-5 * mag + 1e-30)
        fail_msg("gemm_bf16 M%d N%d K%d ta%d tb%d acc%d (%d,%d): %g vs %g", M, N, K, ta, tb, acc, i, j,
                 C[(size_t)i * N + j], ref);
    }
  free(A); free(B); free(C); free(C0);
}

static void gemm_cases(void) {
  int shapes[][3] = {{1, 37, 70}, {3, 64, 32}, {4, 5, 33}, {5, 17, 40}, {64, 48, 96}, {100, 129, 65}};
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++)
        for (int acc = 0; acc < 2; acc++) check_gemm(shapes[i][0], shapes[i][1], shapes[i][2], ta, tb, acc);
}

static void test_gemm(void **state) {
  (void)state;
  gemm_cases();
}

static void test_gemm_fallback(void **state) {
  (void)state;
  gemm_bf16_force_fallback(1);
  assert_string_equal(gemm_bf16_path(), "fallback");
  gemm_cases();
  gemm_bf16_force_fallback(0);
}

// Linear forward and backward in bf16 vs fp32 on the same fp32 operands; backward vs
// central finite differences of the fp32 forward on bf16-representable operands (the
// function the bf16 gradient approximates), eps 1e-2 (exact in fp32 at these magnitudes).
static void test_linear(void **state) {
  (void)state;
  kernels_set_threads(2);
  int N = 70, C = 48, OC = 40;
  uint64_t s = 11;
  float *x = malloc(N * C * 4), *w = malloc(OC * C * 4), *b = malloc(OC * 4), *dout = malloc(N * OC * 4);
  for (int i = 0; i < N * C; i++) x[i] = frand(&s);
  for (int i = 0; i < OC * C; i++) w[i] = frand(&s);
  for (int i = 0; i < OC; i++) b[i] = frand(&s);
  for (int i = 0; i < N * OC; i++) dout[i] = frand(&s);
  bf16 *x16 = malloc(N * C * 2), *w16 = malloc(OC * C * 2);
  bf16_from_f32(x16, x, N * C);
  bf16_from_f32(w16, w, OC * C);
  bf16_to_f32(x, x16, N * C);   // operands now exactly bf16: fp32 and bf16 paths see the same
  bf16_to_f32(w, w16, OC * C);
  float *y = calloc(N * OC, 4), *y32 = calloc(N * OC, 4);
  matmul_forward_bf16(y, x16, w16, b, N, C, OC, 0);
  matmul_forward(y32, x, w, b, N, C, OC, 0);
  for (int i = 0; i < N * OC; i++) assert_true(fabsf(y[i] - y32[i]) <= 1e-5f * (C + 1));
  float *dx = calloc(N * C, 4), *dw = calloc(OC * C, 4), *db = calloc(OC, 4);
  matmul_backward_bf16(dx, dw, db, dout, x16, w16, N, C, OC);
  // loss = sum dout * y: dL/dx_nc = sum_o dout_no w_oc (dout rounded to bf16 inside)
  double eps = 1e-2;
  int idx[] = {0, 7, N * C / 2, N * C - 1};
  for (int t = 0; t < 4; t++) {
    int i = idx[t], n = i / C, c = i % C;
    double lp = 0, lm = 0;
    for (int o = 0; o < OC; o++) {
      double base = b[o];
      for (int k = 0; k < C; k++) base += (double)x[n * C + k] * w[o * C + k];
      lp += dout[n * OC + o] * (base + eps * w[o * C + c]);
      lm += dout[n * OC + o] * (base - eps * w[o * C + c]);
    }
    double fd = (lp - lm) / (2 * eps);
    assert_true(fabs(dx[i] - fd) <= 2e-3 + 1e-2 * fabs(fd) + 4e-3 * OC / 10.0);
  }
  for (int o = 0; o < OC; o += 13)
    for (int c = 0; c < C; c += 11) {
      double ref = 0, mag = 0;
      for (int n = 0; n < N; n++) { ref += (double)dout[n * OC + o] * x[n * C + c]; mag += fabs(dout[n * OC + o] * x[n * C + c]); }
      assert_true(fabs(dw[o * C + c] - ref) <= 1e-2 * mag);
    }
  for (int o = 0; o < OC; o++) {
    double ref = 0;
    for (int n = 0; n < N; n++) ref += dout[n * OC + o];
    assert_true(fabs(db[o] - ref) <= 1e-4 * N);   // bias gradient stays fp32
  }
  free(x); free(w); free(b); free(dout); free(x16); free(w16); free(y); free(y32); free(dx); free(dw); free(db);
}

static model_config small_cfg(void) {
  model_config c = {.vocab_size = 53, .dim = 64, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .ffn_dim = 96,
                    .max_seq_len = 128, .qkv_bias = 1, .tie_embeddings = 0, .rope_theta = 10000.0f,
                    .norm_eps = 1e-5f, .init_std = 0.05f};
  return c;
}

#define BT 160   // two sequences, 96 + 64 tokens: N >= 64 * threads, so the fused path runs too
static int32_t btok[BT], btgt[BT];
static const int blens[] = {96, 64};

static void batch(void) {
  uint64_t s = 5;
  for (int i = 0; i < BT; i++) btok[i] = (int32_t)((frand(&s) + 1.0f) * 26.0f) % 53;
  for (int i = 0; i < BT; i++) btgt[i] = btok[(i + 1) % BT];
}

// relative error max|a - b| / max|b|
static double relerr(const float *a, const float *b, size_t n) {
  double e = 0, mx = 1e-30;
  for (size_t i = 0; i < n; i++) {
    e = fmax(e, fabs((double)a[i] - b[i]));
    mx = fmax(mx, fabs((double)b[i]));
  }
  return e / mx;
}

// logits and gradients of one model for the batch (copies, caller frees)
static void run_model(model *m, float **logits, float **grads) {
  int V = m->cfg.vocab_size;
  model_acts *a = model_acts_create(m, BT, 96);
  model_forward(m, a, btok, blens, 2);
  *logits = malloc((size_t)BT * V * 4);
  memcpy(*logits, a->logits, (size_t)BT * V * 4);
  if (grads) {
    float *dl = malloc((size_t)BT * V * 4);
    crossentropy_forward_backward(NULL, dl, a->logits, btgt, NULL, BT, V);
    model_zero_grad(m);
    model_backward(m, a, dl);
    *grads = malloc(m->n_params * 4);
    memcpy(*grads, m->grads_mem, m->n_params * 4);
    free(dl);
  }
  model_acts_free(a);
}

// bf16 logits within 3e-2 and every tensor's gradient within 6e-2 of fp32 (relative to the
// tensor's largest value), for 1 and 2 threads; 1 and 2 threads agree to 1e-2.
static void test_model_bf16(void **state) {
  (void)state;
  batch();
  model_config c = small_cfg();
  float *l32, *g32, *l16[2], *g16[2];
  model_set_threads(1);
  model *m = model_create(&c, 1);
  model_init(m, 3);
  run_model(m, &l32, &g32);
  model_set_precision(m, MODEL_BF16);
  for (int t = 0; t < 2; t++) {
    model_set_threads(t + 1);
    run_model(m, &l16[t], &g16[t]);
    double e = relerr(l16[t], l32, (size_t)BT * c.vocab_size);
    if (e > 3e-2) fail_msg("threads %d: bf16 logits rel err %.3g", t + 1, e);
    for (int i = 0; i < m->n_tensors; i++) {
      const model_tensor *ts = &m->tensors[i];
      double eg = relerr(g16[t] + ts->offset, g32 + ts->offset, ts->numel);
      if (eg > 6e-2) fail_msg("threads %d: bf16 gradient of %s rel err %.3g", t + 1, ts->name, eg);
    }
  }
  assert_true(relerr(l16[1], l16[0], (size_t)BT * c.vocab_size) < 1e-2);
  assert_true(relerr(g16[1], g16[0], m->n_params) < 1e-2);
  // KV cache in bf16 == full bf16 forward (same bf16 weights; within 1e-2)
  model_kv *kv = model_kv_create(m, 96);
  float *all = malloc((size_t)96 * c.vocab_size * 4);
  model_kv_forward(m, kv, btok, 90, NULL, all);
  model_kv_forward(m, kv, btok + 90, 6, NULL, all + (size_t)90 * c.vocab_size);
  assert_true(relerr(all, l16[1], (size_t)96 * c.vocab_size) < 1e-2);
  model_kv_free(kv);
  // forward only: weights in bf16 only, the fp32 matrices freed; same logits within 1e-2
  model *f = model_create(&c, 0);
  memcpy(f->params_mem, m->params_mem, m->n_params * 4);
  model_set_precision(f, MODEL_BF16);
  assert_null(f->params_mem);
  assert_null(f->params.t[P_WQ]);
  assert_non_null(f->params.t[P_ATTN_NORM]);
  float *lf;
  run_model(f, &lf, NULL);
  assert_true(relerr(lf, l16[1], (size_t)BT * c.vocab_size) < 1e-2);
  model_free(f);
  model_free(m);
  free(l32); free(g32); free(lf); free(all);
  for (int t = 0; t < 2; t++) { free(l16[t]); free(g16[t]); }
  model_set_threads(1);
}

// The fallback path gives the chosen path's model results to bf16 rounding (fp32 sums in
// another order flip the bf16 rounding of some activations downstream).
static void test_model_fallback(void **state) {
  (void)state;
  batch();
  model_config c = small_cfg();
  model *m = model_create(&c, 1);
  model_init(m, 4);
  model_set_precision(m, MODEL_BF16);
  float *l0, *g0, *l1, *g1;
  run_model(m, &l0, &g0);
  gemm_bf16_force_fallback(1);
  run_model(m, &l1, &g1);
  gemm_bf16_force_fallback(0);
  double el = relerr(l1, l0, (size_t)BT * c.vocab_size), eg = relerr(g1, g0, m->n_params);
  if (el > 1e-2 || eg > 3e-2) fail_msg("fallback vs %s: logits %.3g, gradients %.3g", gemm_bf16_path(), el, eg);
  model_free(m);
  free(l0); free(g0); free(l1); free(g1);
}

// checkpoint_load_prec: a forward-only bf16 model read tensor by tensor straight into bf16
// has the same weights and logits (bitwise) as loading fp32 and converting.
static void test_load_bf16(void **state) {
  (void)state;
  batch();
  model_config c = small_cfg();
  model *m = model_create(&c, 1);
  model_init(m, 5);
  char *dir = nqtest_tmpdir(), path[1024];
  snprintf(path, sizeof path, "%s/m.h5", dir);
  ckpt_save_info si = {0};
  checkpoint_save(path, m, &si);
  model *a = checkpoint_load(path, 0, NULL), *b = checkpoint_load_prec(path, 0, MODEL_BF16, NULL);
  model_set_precision(a, MODEL_BF16);
  assert_null(b->params_mem);
  assert_memory_equal(a->w16_mem, b->w16_mem, a->n_params * sizeof(bf16));
  float *la, *lb;
  run_model(a, &la, NULL);
  run_model(b, &lb, NULL);
  assert_memory_equal(la, lb, (size_t)BT * c.vocab_size * sizeof(float));
  model *f = checkpoint_load_prec(path, 0, MODEL_FP32, NULL);   // fp32: as checkpoint_load
  assert_memory_equal(f->params_mem, m->params_mem, m->n_params * sizeof(float));
  model_free(f); model_free(a); model_free(b); model_free(m);
  free(la); free(lb);
  nqtest_rmrf(dir);
  free(dir);
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rounding),      cmocka_unit_test(test_rounding_bits),      cmocka_unit_test(test_gemm),
      cmocka_unit_test(test_gemm_fallback), cmocka_unit_test(test_linear),
      cmocka_unit_test(test_model_bf16),    cmocka_unit_test(test_model_fallback),
      cmocka_unit_test(test_load_bf16),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
