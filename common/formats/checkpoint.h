// Model checkpoints in HDF5 (atomic: <path>.tmp then rename):
//   root attributes: architecture (model_* keys), step, provenance (nq_*)
//   /<HF name>                 one N-D float dataset per tensor (e.g. model.norm.weight)
//   /optimizer/m/<HF name>, /optimizer/v/<HF name>   AdamW moments (when saved)
//   /trainer/rng_state         uint8 blob given by the trainer (when given)
// Save then load restores every float bitwise. Layout in docs/model.md.
#ifndef NQ_CHECKPOINT_H
#define NQ_CHECKPOINT_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>
#include "formats/h5io.h"
#include "formats/provenance.h"
#include "model/model.h"

typedef struct {
  long step;                     // optimizer steps done
  const uint8_t *rng;            // trainer RNG state blob (may be NULL)
  size_t rng_len;
  int with_optimizer;            // save m and v
  const h5_provenance *prov;     // NULL = minimal provenance (stage "model")
  // Optional hook to add the trainer's own datasets/attributes before commit.
  void (*extra)(hid_t file, void *arg);
  void *extra_arg;
} ckpt_save_info;

typedef struct {
  long step;
  uint8_t *rng;                  // caller frees (NULL if absent)
  size_t rng_len;
  int has_optimizer;
} ckpt_load_info;

void checkpoint_save(const char *path, const model *m, const ckpt_save_info *info);
// Architecture from a checkpoint's attributes.
void checkpoint_read_config(const char *path, model_config *mc);
// Create a model from a checkpoint (for_training: allocate grads + moments and load moments
// when present). `info` may be NULL.
model *checkpoint_load(const char *path, int for_training, ckpt_load_info *info);
// Load weights into an existing model of the same architecture (stops on any mismatch).
void checkpoint_load_into(const char *path, model *m, ckpt_load_info *info);
// The `tokenizer_digest` attribute nq-train records (the shards' tokenizer), or NULL when the
// checkpoint has none (HF directories, older files). Caller frees.
char *checkpoint_tokenizer_digest(const char *path);
// Stops when the checkpoint records a tokenizer other than `digest` (the shards'): its ids
// would mean other strings. `what` names the checkpoint's role in the message.
void checkpoint_require_tokenizer(const char *path, const char *digest, const char *what);
// Stops when an input recorded in the checkpoint's nq_inputs is stale: a checkpoint it was
// trained from (train.init, train.reference) that still exists but has changed since (e.g.
// the base model was retrained after this run; missing files are not checked: moved runs),
// or, when `shards` is given, a shard that is not one of `shards` (matched by file name) or
// whose digest differs. `what` names the checkpoint's role in the message.
void checkpoint_require_current_inputs(const char *path, const char *what, char *const *shards,
                                       int n_shards);

#endif
