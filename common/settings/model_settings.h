// The `model` section: the architecture of a model made from scratch, the Hugging Face
// directory to start from instead, and how every stage runs a model (threads, precision).
#ifndef NQ_MODEL_SETTINGS_H
#define NQ_MODEL_SETTINGS_H

#include "config/config.h"

enum { MODEL_FP32 = 0, MODEL_BF16 = 1 };   // model.precision

typedef struct {
  const char *path;
  long vocab_size, dim, n_layers, n_heads, n_kv_heads, ffn_dim, max_seq_len;
  double rope_theta, norm_eps;
  int qkv_bias, tie_embeddings;
  double init_std;
  long init_seed;               // resolved: -1 in the file means the top-level seed
  long threads;
  int precision;                // MODEL_FP32 / MODEL_BF16
} model_settings;

extern const cfg_key model_keys[];

#endif
