// Hugging Face model directories (docs/hf.md): LlamaForCausalLM / Qwen2ForCausalLM
// config.json + model.safetensors (or model.safetensors.index.json + shards) + tokenizer
// files. Load into our model arena (F32/BF16/F16 converted to fp32; a forward-only bf16 model,
// model_create_prec, is filled tensor by tensor without a fp32 copy) and export our models
// (also bf16-only ones: their bf16 matrices are written as they are).
//
//   model_config mc; hf_read_config(dir, &mc, err, sizeof err);   // architecture only
//   model *m = model_create(&mc, 0); hf_load_into(dir, m, err, sizeof err);
//   hf_export(m, out_dir, &(hf_export_opts){.bf16 = 1, .tokenizer = "run/tokenizer.json"}, ...);
// checkpoint_load() and friends dispatch here when given a directory holding config.json,
// so every stage that takes a checkpoint path also takes a HF directory.
#ifndef NQ_HF_H
#define NQ_HF_H

#include <stddef.h>
#include "model/model.h"
#include "settings/settings.h"


// 1 if `path` is a directory that holds a config.json.
int hf_is_model_dir(const char *path);
// config.json -> model_config (max_seq_len = max_position_embeddings). Returns 0, or -1 with
// one line in `err` (unsupported architecture, rope_scaling, hidden_act, o_proj bias, ...).
int hf_read_config(const char *dir, model_config *mc, char *err, size_t errlen);
// Weights of `dir` into `m` (same architecture). Every model tensor must be present with its
// shape; any other tensor is an error (rotary_emb.inv_freq buffers are ignored, and so is a
// tied model's lm_head.weight when it equals the embedding). Returns 0 or -1 with `err`.
int hf_load_into(const char *dir, model *m, char *err, size_t errlen);
// config.json's sizes that scale the arena (vocab_size, hidden_size, num_hidden_layers,
// intermediate_size) against the shapes in the safetensors headers of `dir` (no data is
// read): a mismatch is one line naming config.json and the field (other shape errors are
// hf_load_into's, naming the tensor). Returns 0 or -1 with `err`
// (also when there are no weights).
int hf_check_weights(const char *dir, const model_config *mc, char *err, size_t errlen);
// hf_read_config then hf_check_weights, stopping with the message on error (checkpoint.c:
// before the model's arena is allocated).
void hf_read_config_or_die(const char *dir, model_config *mc);
void hf_load_into_or_die(const char *dir, model *m);

typedef struct {
  int bf16;               // model.safetensors in BF16 (else F32)
  const char *tokenizer;  // tokenizer.json file or HF directory (tokenizer files copied); NULL = none
} hf_export_opts;
// Write `dir` (created if missing): config.json, model.safetensors and the tokenizer files.
// Returns 0 or -1 with `err`.
int hf_export(const model *m, const char *dir, const hf_export_opts *o, char *err, size_t errlen);

// SHA-256 hex of a HF directory for provenance: of the lines "<file>  <sha256 of file>\n" for
// config.json and every *.safetensors / *.safetensors.index.json file, in name order.
// Returns 0, or -1 if a file cannot be read.
int hf_dir_digest(const char *dir, char hex[65]);

// `model.path`: the HF directory, or NULL when the key is "".
const char *hf_model_path(const settings *set);
// The tokenizer to use: tokenizer.path when set, else <model.path>/tokenizer.json, else NULL
// (train one). Caller frees.
char *hf_tokenizer_path(const settings *set);

#endif
