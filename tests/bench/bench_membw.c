// The machine's memory read bandwidth: the limit of decoding, which streams every weight
// once per token. A streaming read of a buffer far larger than the last-level cache by T
// OpenMP threads, each over its contiguous share (the buffer is first written by the same
// threads, so its pages are resident); best of P passes.
//   bench_membw [MiB] [threads] [passes]
// prints: read_gbs=<best GB/s (1e9 bytes/s)> mib=<buffer> threads=<T>
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

// Sum of n bytes as floats (n a multiple of 256): 4 independent 64-byte loads a step.
__attribute__((target("avx512f"))) static float read_avx512(const char *p, size_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < n; i += 256) {
    a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + i + 64));
    a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + i + 128));
    a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + i + 192));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

static float read_plain(const char *p, size_t n) {
  const float *f = (const float *)p;
  float s[8] = {0};
  for (size_t i = 0; i < n / sizeof(float); i += 8)
    for (int j = 0; j < 8; j++) s[j] += f[i + j];
  return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

int main(int argc, char **argv) {
  int mib = argc > 1 ? atoi(argv[1]) : 256, nt = argc > 2 ? atoi(argv[2]) : 2, passes = argc > 3 ? atoi(argv[3]) : 5;
  if (mib < 1 || nt < 1 || passes < 1) {
    fprintf(stderr, "usage: bench_membw [MiB] [threads] [passes]\n");
    return 2;
  }
  __builtin_cpu_init();
  int avx512 = __builtin_cpu_supports("avx512f");
  size_t per = ((size_t)mib << 20) / (size_t)nt / 256 * 256, n = per * (size_t)nt;
  char *buf = xmalloc(n);
#pragma omp parallel num_threads(nt)
  memset(buf + per * (size_t)omp_get_thread_num(), 1, per);
  double best = 1e30;
  volatile float sink = 0;
  for (int r = 0; r < passes; r++) {
    float sum = 0;
    double t0 = wall_seconds();
#pragma omp parallel num_threads(nt) reduction(+ : sum)
    {
      const char *p = buf + per * (size_t)omp_get_thread_num();
      sum += avx512 ? read_avx512(p, per) : read_plain(p, per);
    }
    double dt = wall_seconds() - t0;
    sink += sum;
    if (dt < best) best = dt;
  }
  printf("read_gbs=%.1f mib=%d threads=%d\n", (double)n / best / 1e9, mib, nt);
  free(buf);
  return 0;
}
