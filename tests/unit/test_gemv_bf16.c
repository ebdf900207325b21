// The bf16 matrix-vector kernels of decoding (gemv_bf16.h) against the naive reference, and
// the bf16 decoding step (model_kv_step_bf16) against model_kv_forward(n = 1).
// Kernel tolerance: fp32 sums in another order than the double reference,
// |err| <= 1e-5 * sum_k |a_k w_k|. Sizes cover every tail: K below, at and above the 32-wide
// step, N not a multiple of the 8- or 4-row block, M = 1..6 (M > 4: blocks of 4), strides
// wider than K.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nqtest.h"
#include "model/gemv_bf16.h"
#include "model/model.h"

typedef void gemv_fn(int M, int N, int K, const bf16 *A, long lda, const bf16 *W, long ldw, float *C, long ldc,
                     int accumulate);

static bf16 rbf16(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  float f = (float)((*s >> 40) / 16777216.0) * 2.0f - 1.0f;
  bf16 b;
  bf16_from_f32(&b, &f, 1);
  return b;
}

static void check(gemv_fn *fn, const char *name, int M, int N, int K, int acc) {
  long lda = K + 3, ldw = K + 5, ldc = N + 2;
  uint64_t s = (uint64_t)(M * 1009 + N * 31 + K * 7 + acc);
  bf16 *A = malloc(sizeof(bf16) * (size_t)M * lda), *W = malloc(sizeof(bf16) * (size_t)N * ldw);
  float *C = malloc(sizeof(float) * (size_t)M * ldc), *R = malloc(sizeof(float) * (size_t)M * ldc);
  for (long i = 0; i < M * lda; i++) A[i] = rbf16(&s);
  for (long i = 0; i < N * ldw; i++) W[i] = rbf16(&s);
  for (long i = 0; i < M * ldc; i++) C[i] = R[i] = (float)(i % 5) - 2.0f;   // the padding too
  fn(M, N, K, A, lda, W, ldw, C, ldc, acc);
  gemv_bf16_ref(M, N, K, A, lda, W, ldw, R, ldc, acc);
  for (int m = 0; m < M; m++)
    for (long n = 0; n < ldc; n++) {
      double mag = 0;
      for (int k = 0; n < N && k < K; k++) mag += fabs((double)bf16_get(A[m * lda + k]) * bf16_get(W[n * ldw + k]));
      if (n >= N) mag = 0;   // past N: untouched
      if (fabs((double)C[m * ldc + n] - R[m * ldc + n]) > 1e-5 * (mag + fabs(R[m * ldc + n]) * acc) + 1e-30)
        fail_msg("%s M%d N%d K%d acc%d at (%d, %ld): %.9g vs reference %.9g", name, M, N, K, acc, m, n,
                 C[m * ldc + n], R[m * ldc + n]);
    }
  free(A), free(W), free(C), free(R);
}

static void cases(gemv_fn *fn, const char *name) {
  static const int Ms[] = {1, 2, 3, 4, 5, 6}, Ns[] = {1, 3, 7, 8, 9, 17, 67}, Ks[] = {1, 5, 31, 32, 33, 64, 95, 901};
  for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
    for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
      for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++)
        for (int acc = 0; acc < 2; acc++) check(fn, name, Ms[a], Ns[b], Ks[c], acc);
}

static void test_gemv_dpbf16(void **state) {
  (void)state;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512bf16")) skip();   // the dispatch never calls it there
  cases(gemv_bf16_dpbf16, "gemv_bf16_dpbf16");
}

static void test_gemv_portable(void **state) {
  (void)state;
  cases(gemv_bf16_portable, "gemv_bf16_portable");
}

// The decoding step of a bf16-only model (forward-only storage, tied head, q/k/v biases,
// odd sizes) equals model_kv_forward(n = 1) bitwise, logits and cache, on 1 and 2 threads,
// on the path picked for this CPU and on the fallback.
static void kv_step_case(int nt) {
  model_config c = {.vocab_size = 203, .dim = 72, .n_layers = 2, .n_heads = 6, .n_kv_heads = 2, .ffn_dim = 130,
                    .max_seq_len = 32, .qkv_bias = 1, .tie_embeddings = 1, .rope_theta = 10000.0f,
                    .norm_eps = 1e-5f, .init_std = 0.3f};
  model *m = model_create(&c, 0);
  model_init(m, 21);
  for (size_t i = 0; i < m->sizes[P_BQ]; i++) m->params.t[P_BQ][i] = 0.01f * (float)(i % 7);
  model_set_precision(m, MODEL_BF16);
  assert_null(m->params_mem);   // inference holds no fp32 matrices, and the tied head is the embedding
  assert_ptr_equal(m->params16.t[P_LM_HEAD], m->params16.t[P_EMBED]);
  model_set_threads(nt);
  int32_t seq[12] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 200};
  int V = c.vocab_size;
  model_kv *kv = model_kv_create(m, 16), *ref = model_kv_create(m, 16);
  float *got = malloc((size_t)V * sizeof(float)), *want = malloc((size_t)V * sizeof(float));
  model_kv_forward(m, kv, seq, 5, got, NULL);
  model_kv_forward(m, ref, seq, 5, want, NULL);
  for (int t = 5; t < 12; t++) {
    model_kv_step(m, kv, seq[t], got);
    model_kv_forward(m, ref, seq + t, 1, want, NULL);
    for (int j = 0; j < V; j++)
      if (memcmp(&got[j], &want[j], sizeof(float)))
        fail_msg("%d threads, %s: token %d logit %d: step %.9g, model_kv_forward %.9g", nt, gemm_bf16_path(), t, j,
                 got[j], want[j]);
  }
  assert_int_equal(kv->len, 12);
  size_t kd = (size_t)c.n_kv_heads * (c.dim / c.n_heads), row = 12 * kd;   // the filled rows
  for (int l = 0; l < c.n_layers; l++) {
    assert_memory_equal(kv->k + (size_t)l * 16 * kd, ref->k + (size_t)l * 16 * kd, row * sizeof(float));
    assert_memory_equal(kv->v + (size_t)l * 16 * kd, ref->v + (size_t)l * 16 * kd, row * sizeof(float));
  }
  free(got), free(want);
  model_kv_free(kv), model_kv_free(ref);
  model_free(m);
  model_set_threads(1);
}

static void test_kv_step_bf16(void **state) {
  (void)state;
  for (int fb = 0; fb < 2; fb++) {
    gemm_bf16_force_fallback(fb);
    for (int nt = 1; nt <= 2; nt++) kv_step_case(nt);
  }
  gemm_bf16_force_fallback(0);
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gemv_dpbf16),
      cmocka_unit_test(test_gemv_portable),
      cmocka_unit_test(test_kv_step_bf16),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
