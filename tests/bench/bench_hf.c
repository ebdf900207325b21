// What a CPU run of a real model costs: a model shaped like Qwen2.5-0.5B (hidden 896,
// 24 layers, 14 heads, 2 KV heads, intermediate 4864, vocab 151936, tied, q/k/v biases;
// random weights, ~494M parameters) in fp32, or with `bf16` in bf16 (forward only: the
// weights are kept in bf16 only and filled tensor by tensor, as checkpoint_load_prec does).
//   bench_hf [T] [threads] [decode_tokens] [--load | bf16]
// prints: params=<n> fwd_tok_s=<scoring forward of one T-token sequence, best of 2>
//         fwd_gflops=<...> decode_tok_s=<KV-cache decoding, one token per model_kv_step call
//         after a T-token prefill> decode_gb_per_tok=<weight bytes a decode step streams, 1e9>
//         init_s=<create + random fill> gen_rss_mb=<peak RSS (getrusage, MiB) after the prefill
//         and decoding, which run first: what generation needs> rss_mb=<peak RSS of the whole
//         run, the scoring forward's activation arena (kept for a backward) and T x V logits included>
//         [load_s=<nq-export-style BF16 export + HF load back, seconds>]
// --load also writes the model as a HF directory (BF16, ~1 GB) under /tmp and times
// loading it (hf_load_into), then removes it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hf/hf.h"
#include "base/log.h"
#include "model/model.h"
#include "base/util.h"

// Uniform random weights with std 0.02 (norm weights 1): model_init's Gaussian draw takes
// ~30 s for 494M parameters on this machine; the timings do not depend on the values.
static void fill_random(model *m) {
  uint64_t s = 0x9e3779b97f4a7c15ULL;
  const float a = 0.02f * 1.7320508f;
  enum { CHUNK = 1 << 20 };
  float *p = xmalloc(CHUNK * sizeof *p);
  for (int i = 0; i < m->n_tensors; i++) {   // in chunks: a bf16 model never holds fp32 matrices
    const model_tensor *t = &m->tensors[i];
    int norm = t->kind == P_ATTN_NORM || t->kind == P_MLP_NORM || t->kind == P_FINAL_NORM;
    for (size_t j0 = 0; j0 < t->numel; j0 += CHUNK) {
      size_t n = t->numel - j0 < CHUNK ? t->numel - j0 : CHUNK;
      for (size_t j = 0; j < n; j++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        p[j] = norm ? 1.0f : a * (2.0f * (float)(s >> 40) / 16777216.0f - 1.0f);
      }
      model_tensor_store(m, t, j0, n, p);
    }
  }
  free(p);
}

int main(int argc, char **argv) {
  int T = argc > 1 ? atoi(argv[1]) : 128, threads = argc > 2 ? atoi(argv[2]) : 2;
  int n_dec = argc > 3 ? atoi(argv[3]) : 8, do_load = argc > 4 && !strcmp(argv[4], "--load");
  int bf16 = argc > 4 && !strcmp(argv[4], "bf16");
  if (T < 1 || threads < 1 || n_dec < 0) {
    fprintf(stderr, "usage: bench_hf [T] [threads] [decode_tokens] [--load]\n");
    return 2;
  }
  model_config mc = {.vocab_size = 151936, .dim = 896, .n_layers = 24, .n_heads = 14, .n_kv_heads = 2,
                     .ffn_dim = 4864, .max_seq_len = T + n_dec, .qkv_bias = 1, .tie_embeddings = 1,
                     .rope_theta = 1e6f, .norm_eps = 1e-6f, .init_std = 0.02f};
  model_set_threads(threads);
  double t0 = wall_seconds();
  model *m = model_create_prec(&mc, 0, bf16 ? MODEL_BF16 : MODEL_FP32);   // bf16: bf16 arena only
  fill_random(m);
  double init_s = wall_seconds() - t0;
  int32_t *tok = xmalloc((size_t)(T + n_dec) * sizeof *tok);
  uint64_t s = 12345;
  for (int i = 0; i < T + n_dec; i++) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    tok[i] = (int32_t)((s >> 33) % (uint64_t)mc.vocab_size);
  }
  double dec_s = 0;
  if (n_dec > 0) {
    model_kv *kv = model_kv_create(m, T + n_dec);
    float *logits = xmalloc((size_t)mc.vocab_size * sizeof *logits);
    model_kv_forward(m, kv, tok, T, logits, NULL);
    t0 = wall_seconds();
    for (int i = 0; i < n_dec; i++) model_kv_step(m, kv, tok[T + i], logits);   // as nq-eval decodes
    dec_s = wall_seconds() - t0;
    free(logits);
    model_kv_free(kv);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);   // generation's peak: before the scoring forward's activations
  double gen_rss = ru.ru_maxrss / 1024.0;
  model_acts *a = model_acts_create(m, T, T);
  double best = 1e30;
  for (int r = 0; r < 2; r++) {
    t0 = wall_seconds();
    model_forward(m, a, tok, &T, 1);
    double dt = wall_seconds() - t0;
    if (dt < best) best = dt;
  }
  model_acts_free(a);
  double load_s = -1;
  if (do_load) {
    char dir[] = "/tmp/nq-bench-hf-XXXXXX";
    if (!mkdtemp(dir)) error("bench_hf: mkdtemp");
    char err[1024];
    hf_export_opts o = {.bf16 = 1};
    if (hf_export(m, dir, &o, err, sizeof err)) error("bench_hf: %s", err);
    t0 = wall_seconds();
    if (hf_load_into(dir, m, err, sizeof err)) error("bench_hf: %s", err);
    load_s = wall_seconds() - t0;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) warning("bench_hf: could not remove %s", dir);
  }
  getrusage(RUSAGE_SELF, &ru);
  double flops = model_flops_per_token(&mc, T, 0);
  // a decode step reads every matrix once (the tied embedding as the LM head; of an untied
  // one only the token's row) plus the norms and biases
  size_t sz[P_COUNT];
  model_param_sizes(&mc, sz);
  double step_bytes = model_weight_bytes(&mc, bf16 ? MODEL_BF16 : MODEL_FP32) -
                      (mc.tie_embeddings ? 0.0 : (double)sz[P_EMBED] * model_precision_bytes(bf16 ? MODEL_BF16 : MODEL_FP32));
  printf("params=%zu fwd_tok_s=%.1f fwd_gflops=%.1f decode_tok_s=%.2f decode_gb_per_tok=%.3f init_s=%.1f "
         "gen_rss_mb=%.0f rss_mb=%.0f", m->n_params, T / best, flops * T / best / 1e9, n_dec ? n_dec / dec_s : 0.0,
         step_bytes / 1e9, init_s, gen_rss, ru.ru_maxrss / 1024.0);
  if (do_load) printf(" load_s=%.1f", load_s);
  printf("\n");
  free(tok);
  model_free(m);
  return 0;
}
