// Model checkpoints in HDF5 (atomic: <path>.tmp then rename): architecture attributes, step,
// the shards' tokenizer and the trainer's blob (the table `checkpoint_layout`), one N-D float
// dataset per model tensor under its HF name, AdamW moments under optimizer/m/, optimizer/v/
// (when saved), provenance. Save then load restores every float bitwise.
// Layout: docs/hdf5-layout.md#checkpoints.
#ifndef NQ_CHECKPOINT_H
#define NQ_CHECKPOINT_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "files/file_kind.h"
#include "h5/h5io.h"
#include "h5/layout.h"
#include "model/model.h"

typedef struct {
  long step;                     // optimizer steps done
  const uint8_t *rng;            // trainer RNG state blob (may be NULL)
  size_t rng_len;
  int with_optimizer;            // save m and v
  const h5_provenance *prov;     // NULL = minimal provenance (stage "model")
  const char *tokenizer_digest;  // the shards' tokenizer (nq-train), or NULL: effect and eval
                                 // refuse a model whose ids mean other strings
  // A sharded optimizer's moments (train_zero.c): with with_optimizer, each tensor's moment
  // `which` (0 = m, 1 = v) is filled into dst (t->numel floats) by this hook, in tensor order,
  // all of m then all of v, instead of being read from m->m_mem / m->v_mem.
  void (*moments)(void *arg, int which, const model_tensor *t, float *dst);
  void *moments_arg;
  // Weights from elsewhere (nq-train's merged LoRA model.h5): each tensor's values are filled
  // into dst (t->numel floats) by this hook, in tensor order, instead of read from
  // m->params_mem, which may then be NULL (a base held in bf16 only).
  void (*weights)(void *arg, const model_tensor *t, float *dst);
  void *weights_arg;
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

// The fixed part of a checkpoint (attributes, trainer blob; tensors as pattern rows).
extern const h5_layout checkpoint_layout;
// The kind, for file_is (a model checkpoint: model_dim present, whoever wrote it); its struct is
// checkpoint.c's own: save and load through the functions below.
extern const file_kind checkpoint_kind;

void checkpoint_save(const char *path, const model *m, const ckpt_save_info *info);
// Architecture from a checkpoint's attributes.
void checkpoint_read_config(const char *path, model_config *mc);
// Create a model from a checkpoint (for_training: allocate grads + moments and load moments
// when present). `info` may be NULL.
model *checkpoint_load(const char *path, int for_training, ckpt_load_info *info);
// checkpoint_load, then model_set_precision(precision); a forward-only bf16 model is filled
// tensor by tensor straight into bf16 (peak memory = the bf16 weights, not fp32 + bf16).
model *checkpoint_load_prec(const char *path, int for_training, int precision, ckpt_load_info *info);
// The AdamW moments of a checkpoint, one tensor at a time (a tensor-sized buffer): take() gets
// moment `which` (0 = m, 1 = v) of each tensor of m's architecture, all of m then all of v.
// Returns 0 (calling nothing) when the checkpoint has no moments.
int checkpoint_read_moments(const char *path, const model *m,
                            void (*take)(void *arg, int which, const model_tensor *t, const float *src),
                            void *arg);
// One weight tensor t of the checkpoint `path`, open as `file` (h5_open_read), into dst (t->numel
// floats); stops when it is missing or has another shape. For streaming a checkpoint's weights.
void checkpoint_read_weight(hid_t file, const char *path, const model_tensor *t, float *dst);
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
