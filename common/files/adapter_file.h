// LoRA adapter files (HDF5, the table `adapter_layout`; docs/hdf5-layout.md#lora-adapters):
// one adapter (nq-train's adapter.h5 and its LoRA checkpoints ckpt-<step>.h5, with AdamW
// moments and the resume blob) or many (a per-user group file: one adapter per user, the
// users named). Every adapter is the flat arena of lora.h (A and B of every target, in
// lora->tensors order). base_digest names the base model the adapter was trained on; an
// adapter is refused on any other base (adapter_require_base). Read, write, free and recognize
// them through files/file_kind.h with `adapter_kind`.
//
// defines: adapter_file, adapter_layout, adapter_kind, adapter_config_of, adapter_targets_text,
//          lora_base_digest, adapter_require_base
#ifndef NQ_ADAPTER_FILE_H
#define NQ_ADAPTER_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "files/file_kind.h"
#include "h5/layout.h"
#include "model/lora.h"

enum { ADAPTER_ADAPTERS, ADAPTER_PARAMS, ADAPTER_VALUES, ADAPTER_RNG_BYTES, ADAPTER_N_COUNTS };

typedef struct {
  int64_t rank, step;
  double alpha, dropout;
  char *targets;             // "q,k,v,o,gate,up,down" (the chosen ones)
  char *base_digest;         // lora_base_digest of the base model
  char *tokenizer_digest;    // the shards' tokenizer
  float *params;             // (adapters, params)
  float *m, *v;              // AdamW moments of a single adapter (checkpoints), or NULL
  uint8_t *rng;              // the trainer's resume blob (checkpoints), or NULL
  char **users;              // per-user group files: the user of each adapter, or NULL
  size_t count[ADAPTER_N_COUNTS];
} adapter_file;

extern const h5_layout adapter_layout;
// The kind: written by nq-train, or by nq-export (a PEFT import); marked by its adapters'
// dataset (file_is tells adapters from models by it); values = adapters x params.
extern const file_kind adapter_kind;
// The lora_config the file records (stops naming `path` on an unknown target).
lora_config adapter_config_of(const adapter_file *a, const char *path);
// "q,k,v,o" of a targets mask (caller frees).
char *adapter_targets_text(unsigned targets);
// The digest that names a base model: SHA-256 of the checkpoint file, or of an HF directory's
// model.safetensors (the same weights give the same digest wherever the file is).
const char *lora_base_digest(const char *base_path);
// Stops when the adapter in `path` was trained on another base than `base_path`.
void adapter_require_base(const adapter_file *a, const char *path, const char *base_path);

#endif
