// Writes a HF model directory (config.json + model.safetensors in BF16) of random weights,
// for running the stages on a big model without its real weights: the model is created in
// bf16 only and filled tensor by tensor (random_weights.h), and hf_export writes its bf16
// matrices as they are, so fp32 weights never exist (a Qwen2.5-3B shape needs ~6.2 GB of
// memory and 6.2 GB of disk, where our fp32 HDF5 checkpoint would be 12.3 GB, deflated slowly).
// nq-effect loads such a directory straight into bf16 (model.precision = "bf16").
//   bench_hf_write DIR [3b | tiny] [vocab]    (default 3b; vocab only for tiny, default 512)
// prints: params=<n> fill_s=<create + fill> write_s=<export> rss_mb=<peak RSS (getrusage)>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "base/log.h"
#include "base/util.h"
#include "hf/hf.h"
#include "random_weights.h"

int main(int argc, char **argv) {
  const char *shape = argc > 2 ? argv[2] : "3b";
  int vocab = argc > 3 ? atoi(argv[3]) : 512;
  if (argc < 2 || (strcmp(shape, "3b") && strcmp(shape, "tiny")) || vocab < 8) {
    fprintf(stderr, "usage: bench_hf_write DIR [3b | tiny] [vocab >= 8]\n");
    return 2;
  }
  // Qwen2.5-3B's config.json (max_position_embeddings 32768), or a small Qwen2 for tests
  model_config q3 = {.vocab_size = 151936, .dim = 2048, .n_layers = 36, .n_heads = 16, .n_kv_heads = 2,
                     .ffn_dim = 11008, .max_seq_len = 32768, .qkv_bias = 1, .tie_embeddings = 1,
                     .rope_theta = 1e6f, .norm_eps = 1e-6f, .init_std = 0.02f};
  model_config tiny = {.vocab_size = vocab, .dim = 64, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                       .ffn_dim = 160, .max_seq_len = 512, .qkv_bias = 1, .tie_embeddings = 1,
                       .rope_theta = 1e6f, .norm_eps = 1e-6f, .init_std = 0.02f};
  model_config *mc = strcmp(shape, "3b") ? &tiny : &q3;
  double t0 = wall_seconds();
  model *m = model_create_prec(mc, 0, MODEL_BF16);
  random_weights_fill(m, 0);
  double fill_s = wall_seconds() - t0;
  t0 = wall_seconds();
  char err[1024];
  if (hf_export(m, argv[1], &(hf_export_opts){.bf16 = 1}, err, sizeof err)) fatal("bench_hf_write: %s", err);
  double write_s = wall_seconds() - t0;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("params=%zu fill_s=%.1f write_s=%.1f rss_mb=%.0f\n", m->n_params, fill_s, write_s, ru.ru_maxrss / 1024.0);
  model_free(m);
  return 0;
}
