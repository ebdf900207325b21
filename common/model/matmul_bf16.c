// bf16 matrix products (see matmul_bf16.h): oneDNN matmul primitives cached per shape, the
// matrix-vector kernels of gemv_bf16.c for a few rows (decoding), and an sgemm fallback.
#include "model/matmul_bf16.h"

#include <cblas.h>
#include <dnnl.h>
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "model/gemv_bf16.h"

#define MAX_THREADS 256
#define GEMV_ROWS GEMV_MAX_ROWS   // up to this many rows of A: gemv_bf16.c (weights read once, no copy)

// ---- conversion -----------------------------------------------------------------------------
static inline bf16 round_bf16(float f) {
  union { float f; uint32_t u; } v = {.f = f};
  if ((v.u & 0x7fffffffu) > 0x7f800000u) return (bf16)((v.u >> 16) | 0x40);   // quiet NaN
  return (bf16)((v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16);
}

// The same rounding, 16 floats per step with AVX-512 integer ops (bit-identical to round_bf16;
// not vcvtneps2bf16, which flushes denormals). The compiler does not vectorize the scalar
// loop well (the NaN branch), and every bf16 activation and gradient passes through here.
__attribute__((target("avx512f"))) static void from_f32_avx512(bf16 *dst, const float *src, size_t n) {
  const __m512i lsb = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7fff);
  const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
  const __m512i quiet = _mm512_set1_epi32(0x40);
  size_t i = 0;
  for (; i < n; i += 16) {
    __mmask16 mk = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
    __m512i u = _mm512_maskz_loadu_epi32(mk, src + i);
    __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), lsb);
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(bias, odd)), 16);
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, abs_mask), inf);
    r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), quiet);
    _mm512_mask_cvtepi32_storeu_epi16(dst + i, mk, r);
  }
}

void bf16_from_f32(bf16 *dst, const float *src, size_t n) {
  static int avx512 = -1;   // probed once; every thread stores the same value
  int have = __atomic_load_n(&avx512, __ATOMIC_RELAXED);
  if (have < 0) {
    __builtin_cpu_init();
    have = __builtin_cpu_supports("avx512f");
    __atomic_store_n(&avx512, have, __ATOMIC_RELAXED);
  }
  if (have) {
    from_f32_avx512(dst, src, n);
    return;
  }
  for (size_t i = 0; i < n; i++) dst[i] = round_bf16(src[i]);
}

void bf16_from_f32_2d(bf16 *dst, const float *src, int rows, int cols, size_t ld_src) {
  for (int r = 0; r < rows; r++) bf16_from_f32(dst + (size_t)r * cols, src + (size_t)r * ld_src, (size_t)cols);
}

__attribute__((target_clones("arch=x86-64-v4", "default")))
void bf16_to_f32(float *dst, const bf16 *src, size_t n) {
  for (size_t i = 0; i < n; i++) {
    union { uint32_t u; float f; } v = {.u = (uint32_t)src[i] << 16};
    dst[i] = v.f;
  }
}

// ---- per-thread scratch ---------------------------------------------------------------------
typedef struct {
  void *p;
  size_t bytes;
} buf;
static buf g_scratch[MAX_THREADS][4];   // slots 0, 1: callers; 2, 3: this module

static void *scratch_bytes(int slot, size_t bytes) {
  int t = omp_get_thread_num();
  if (t >= MAX_THREADS) error("bf16 scratch: thread %d beyond %d", t, MAX_THREADS);
  buf *b = &g_scratch[t][slot];
  if (b->bytes < bytes) {
    free(b->p);
    b->bytes = bytes + bytes / 4;
    b->p = xmalloc(b->bytes);
  }
  return b->p;
}

bf16 *bf16_scratch(int slot, size_t n) {
  if (slot < 0 || slot > 1) error("bf16_scratch: slot %d", slot);
  return scratch_bytes(slot, n * sizeof(bf16));
}

// ---- path choice ----------------------------------------------------------------------------
static int g_path = -1;   // 0 fallback, 1 onednn
static char g_desc[160];
static dnnl_engine_t g_engine;

static void pick_path(void) {
  if (g_path >= 0) return;
#pragma omp critical(bf16_init)
  if (g_path < 0) {
    const char *env = getenv("NQ_BF16_PATH");
    int want_fallback = env && !strcmp(env, "fallback");
    __builtin_cpu_init();
    int has_bf16 = __builtin_cpu_supports("avx512bf16");
    int path = 0;
    if (has_bf16 && !want_fallback && dnnl_engine_create(&g_engine, dnnl_cpu, 0) == dnnl_success) path = 1;
    const dnnl_version_t *v = dnnl_version();
    if (path)
      snprintf(g_desc, sizeof g_desc, "bf16 matmul: oneDNN %d.%d.%d matmul (AVX512_BF16), own dpbf16 kernel for <= %d rows",
               v->major, v->minor, v->patch, GEMV_ROWS);
    else
      snprintf(g_desc, sizeof g_desc, "bf16 matmul: fallback (%s): bf16-rounded inputs through fp32 sgemm, slower",
               want_fallback ? "NQ_BF16_PATH=fallback" : "CPU without AVX512_BF16");
    __atomic_store_n(&g_path, path, __ATOMIC_RELEASE);
  }
}

static int g_picked = -1;   // the path pick_path chose, for gemm_bf16_force_fallback(0)

void gemm_bf16_force_fallback(int on) {
  pick_path();
  if (g_picked < 0) g_picked = g_path;
  g_path = on ? 0 : g_picked;
}

const char *gemm_bf16_path(void) {
  pick_path();
  return g_path ? "onednn" : "fallback";
}

const char *gemm_bf16_describe(void) {
  pick_path();
  return g_desc;
}

// ---- oneDNN primitive cache -------------------------------------------------------------------
typedef struct {
  long key[9];
  dnnl_primitive_t prim;
  dnnl_memory_desc_t a, b, c, s;
  size_t scratch;
} prim_entry;

static prim_entry *g_cache;
static size_t g_cache_n, g_cache_cap;

#define DNNL_CHECK(call, what)                                                                  \
  do {                                                                                          \
    dnnl_status_t st_ = (call);                                                                 \
    if (st_ != dnnl_success) error("oneDNN %s failed (status %d)", what, (int)st_);            \
  } while (0)

static void create_entry(prim_entry *e, const long *k) {
  memcpy(e->key, k, sizeof e->key);
  dnnl_dims_t da = {k[0], k[2]}, sa = {k[3], k[4]}, db = {k[2], k[1]}, sb = {k[5], k[6]};
  dnnl_dims_t dc = {k[0], k[1]}, sc = {k[7], 1};
  DNNL_CHECK(dnnl_memory_desc_init_by_strides(&e->a, 2, da, dnnl_bf16, sa), "memory desc");
  DNNL_CHECK(dnnl_memory_desc_init_by_strides(&e->b, 2, db, dnnl_bf16, sb), "memory desc");
  DNNL_CHECK(dnnl_memory_desc_init_by_strides(&e->c, 2, dc, dnnl_f32, sc), "memory desc");
  dnnl_matmul_desc_t md;
  DNNL_CHECK(dnnl_matmul_desc_init(&md, &e->a, &e->b, NULL, &e->c), "matmul desc");
  dnnl_primitive_attr_t attr;
  DNNL_CHECK(dnnl_primitive_attr_create(&attr), "attr");
  DNNL_CHECK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode");
  dnnl_post_ops_t po = NULL;
  if (k[8]) {   // C += A B: a sum post-op, accumulated in fp32
    DNNL_CHECK(dnnl_post_ops_create(&po), "post ops");
    DNNL_CHECK(dnnl_post_ops_append_sum(po, 1.0f), "sum post op");
    DNNL_CHECK(dnnl_primitive_attr_set_post_ops(attr, po), "set post ops");
  }
  dnnl_primitive_desc_t pd;
  DNNL_CHECK(dnnl_primitive_desc_create(&pd, &md, attr, g_engine, NULL), "matmul primitive desc");
  e->s = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  e->scratch = dnnl_memory_desc_get_size(&e->s);
  DNNL_CHECK(dnnl_primitive_create(&e->prim, pd), "matmul primitive");
  dnnl_primitive_desc_destroy(pd);
  if (po) dnnl_post_ops_destroy(po);
  dnnl_primitive_attr_destroy(attr);
}

// The cached primitive of this shape (created on first use), copied out under the lock (the
// table may move when it grows; primitives are never destroyed, so the copy stays valid).
static prim_entry lookup(const long *k) {
  prim_entry out;
#pragma omp critical(bf16_cache)
  {
    size_t i = 0;
    for (; i < g_cache_n; i++)
      if (!memcmp(g_cache[i].key, k, sizeof g_cache[i].key)) break;
    if (i == g_cache_n) {
      if (g_cache_n == g_cache_cap) {
        g_cache_cap = g_cache_cap ? 2 * g_cache_cap : 64;
        g_cache = xrealloc(g_cache, g_cache_cap * sizeof *g_cache);
      }
      int was = omp_get_max_threads();   // configured for the one thread it runs on
      omp_set_num_threads(1);
      create_entry(&g_cache[g_cache_n++], k);
      omp_set_num_threads(was);
    }
    out = g_cache[i];
  }
  return out;
}

static dnnl_stream_t g_stream[MAX_THREADS];

static void gemm_onednn(int M, int N, int K, const bf16 *A, long sa0, long sa1, const bf16 *B, long sb0,
                        long sb1, float *C, long ldc, int accumulate) {
  long k[9] = {M, N, K, sa0, sa1, sb0, sb1, ldc, accumulate ? 1 : 0};
  prim_entry e = lookup(k);
  int t = omp_get_thread_num();
  if (!g_stream[t]) DNNL_CHECK(dnnl_stream_create(&g_stream[t], g_engine, dnnl_stream_default_flags), "stream");
  dnnl_memory_t ma, mb, mc, ms = NULL;
  DNNL_CHECK(dnnl_memory_create(&ma, &e.a, g_engine, (void *)A), "memory");
  DNNL_CHECK(dnnl_memory_create(&mb, &e.b, g_engine, (void *)B), "memory");
  DNNL_CHECK(dnnl_memory_create(&mc, &e.c, g_engine, C), "memory");
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
  int nargs = 3;
  if (e.scratch) {
    DNNL_CHECK(dnnl_memory_create(&ms, &e.s, g_engine, scratch_bytes(2, e.scratch)), "memory");
    args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, ms};
  }
  // Outside an active parallel region (model.threads = 1: a team of one is inactive) oneDNN
  // would start its own team of omp_get_max_threads() threads, i.e. every core, under every
  // MPI rank. One call is single-threaded: this task's thread count is 1 while it runs.
  int solo = !omp_in_parallel(), was = omp_get_max_threads();
  if (solo) omp_set_num_threads(1);
  DNNL_CHECK(dnnl_primitive_execute(e.prim, g_stream[t], nargs, args), "matmul execute");
  DNNL_CHECK(dnnl_stream_wait(g_stream[t]), "stream wait");
  if (solo) omp_set_num_threads(was);
  dnnl_memory_destroy(ma);
  dnnl_memory_destroy(mb);
  dnnl_memory_destroy(mc);
  if (ms) dnnl_memory_destroy(ms);
}

// ---- fallback: widen to fp32, sgemm -------------------------------------------------------------
static void gemm_fallback(int M, int N, int K, const bf16 *A, long sa0, long sa1, const bf16 *B, long sb0,
                          long sb1, float *C, long ldc, int accumulate) {
  float *a = scratch_bytes(2, (size_t)M * K * sizeof(float));
  float *b = scratch_bytes(3, (size_t)K * N * sizeof(float));
  // widen in the operands' own layout: (M, K) row-major when sa1 == 1, else (K, M)
  int ta = sa1 != 1, tb = sb1 != 1;
  for (int i = 0; i < (ta ? K : M); i++) bf16_to_f32(a + (size_t)i * (ta ? M : K), A + i * (ta ? sa1 : sa0), (size_t)(ta ? M : K));
  for (int i = 0; i < (tb ? N : K); i++) bf16_to_f32(b + (size_t)i * (tb ? K : N), B + i * (tb ? sb1 : sb0), (size_t)(tb ? K : N));
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, a,
              ta ? M : K, b, tb ? K : N, accumulate ? 1.0f : 0.0f, C, (int)ldc);
}

void gemm_bf16(int M, int N, int K, const bf16 *A, long sa0, long sa1, const bf16 *B, long sb0, long sb1,
               float *C, long ldc, int accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof(float));
    return;
  }
  if ((sa0 != 1 && sa1 != 1) || (sb0 != 1 && sb1 != 1)) error("gemm_bf16: operands must be row- or column-major");
  pick_path();
  if (M <= GEMV_ROWS && sa1 == 1 && sb0 == 1)   // decoding: row-major weights, read once
    (g_path ? gemv_bf16_dpbf16 : gemv_bf16_portable)(M, N, K, A, sa0, B, sb1, C, ldc, accumulate);
  else if (!g_path)
    gemm_fallback(M, N, K, A, sa0, sa1, B, sb0, sb1, C, ldc, accumulate);
  else
    gemm_onednn(M, N, K, A, sa0, sa1, B, sb0, sb1, C, ldc, accumulate);
}
