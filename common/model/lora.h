// LoRA adapters (Hu et al. 2021, PEFT's LoraLayer): y = W x + (alpha / r) * B A dropout(x) on
// the chosen linear projections of every layer; the base weights stay frozen. A (r, in) and
// B (out, r) of every target live in one arena (its gradients and AdamW moments in three
// more), so the trainer's all-reduce, clipping and checkpoints see one flat array, as for the
// full model. Equations and layout: docs/model.md, "LoRA adapters".
//
//   lora_config lc = {.rank = 16, .alpha = 32, .dropout = 0, .targets = lora_all_targets()};
//   lora *lo = lora_create(&lc, &m->cfg, 1);  lora_init(lo, seed);   // B = 0: y = W x
//   lora_attach(lo, m);   // model_forward / model_backward then apply and differentiate the
//   adapters (through m->adapters, model.h model_adapters: model.c calls nothing here); the
//   base model needs no gradients (model_create(mc, 0)) and may hold its weights in bf16 only.
//   lora_merge(lo, m, 1): W += (alpha / r) B A in the fp32 weights (export, eval).
//   lora_free(lo) after the model is done with it (m->adapters = NULL to detach earlier).
#ifndef NQ_LORA_H
#define NQ_LORA_H

#include <stddef.h>
#include <stdint.h>

#include "model/adamw.h"
#include "model/model.h"

typedef struct {
  int rank;           // r
  float alpha;        // scale = alpha / r
  float dropout;      // probability a LoRA input element is zeroed (training only)
  unsigned targets;   // bit P_WQ ... P_WDOWN: the projections that get an adapter
} lora_config;

typedef struct lora {
  lora_config cfg;
  float scale;                  // alpha / r
  int n_layers;
  int in[P_COUNT], out[P_COUNT];   // per target kind: the projection's in / out features
  size_t a_off[P_COUNT], b_off[P_COUNT];   // A stack (L, r, in), B stack (L, out, r) offsets
  size_t n_params;              // floats in each arena
  float *params_mem, *grads_mem, *m_mem, *v_mem;   // grads/moments NULL unless for training
  int n_tensors;                // A and B of every (layer, target), HF-style names
  model_tensor *tensors;        // "model.layers.{l}.self_attn.q_proj.lora_A.weight", ...
  int training;                 // dropout active (set by the trainer; 0 = inference)
  uint64_t seed, passes;        // dropout masks: see lora_set_batch
  // the micro-batch's sample keys (lora_set_batch; NULL: none given) and, per recent forward
  // pass, what its masks are keyed by (a backward finds its forward's: ring[pass % LORA_RING])
  const long *batch_keys;
  int n_batch_keys, batch_passes;
  struct lora_pass {
    uint64_t pass;
    int in_batch;               // forwards of this micro-batch before this one (nextquill: 0, 1)
    int n_seqs;                 // sequences keyed (0: masks by row index and pass)
    int *seq_off;               // (n_seqs + 1) row offsets of the sequences
    long *key;                  // (n_seqs) their sample keys
    int cap;
  } ring[4];
  float *scratch;               // recomputed inputs and products of one projection
  size_t scratch_floats;
  model_adapters hooks;         // what lora_attach gives the model
} lora;

// ---- kernels (finite-difference tested in tests/unit/test_lora.c) -------------------------
// u (N, r) = x (N, C) A^T; out (N, OC) += s * u B^T.   A (r, C), B (OC, r).
void lora_forward(float *out, float *u, const float *x, const float *A, const float *B, int N, int C,
                  int OC, int r, float s);
// Given u from the forward: dB += s * dout^T u; du = s * dout B; dA += du^T x; dx += du A
// (dx may be NULL). du (N, r) is scratch.
void lora_backward(float *dx, float *dA, float *dB, float *du, const float *dout, const float *x,
                   const float *u, const float *A, const float *B, int N, int C, int OC, int r, float s);

// ---- configuration ----------------------------------------------------------------------
// "q", "k", "v", "o", "gate", "up", "down" -> P_WQ ... P_WDOWN; -1 when unknown.
int lora_target_kind(const char *name);
// PEFT's module name of a target kind ("q_proj", ...), and whether it is in self_attn or mlp.
const char *lora_module_name(int kind);
const char *lora_module_parent(int kind);
unsigned lora_all_targets(void);

// ---- adapters --------------------------------------------------------------------------
lora *lora_create(const lora_config *c, const model_config *mc, int for_training);
void lora_free(lora *lo);
// PEFT's init: A ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform a = sqrt 5), B = 0; deterministic.
void lora_init(lora *lo, uint64_t seed);
void lora_zero_grad(lora *lo);
// AdamW on every A and B (weight decay on all of them, as torch.optim.AdamW over PEFT's params).
void lora_adamw_step(lora *lo, const adamw_config *c, float lr, long t);
// W += sign * scale * B A for every target, in the model's fp32 weights (stops when the model
// holds them in bf16 only); sign -1 undoes a merge up to rounding.
void lora_merge(const lora *lo, model *m, float sign);
// The same on one model tensor's values w (t->numel floats, HF layout): nothing unless t is a
// target projection's weight. nq-train writes the merged model.h5 a tensor at a time this way.
void lora_merge_tensor(const lora *lo, const model_tensor *t, float *w, float sign);
// The tensor called `name` ("model.layers.0.self_attn.q_proj.lora_A.weight"), or NULL.
const model_tensor *lora_find(const lora *lo, const char *name);

// ---- on a model ----------------------------------------------------------------------------
// model_forward / model_backward apply the adapters from now on (m->adapters = &lo->hooks);
// dropout masks apply while lo->training is set.
void lora_attach(lora *lo, model *m);
// The samples of the micro-batch whose forward passes come next: keys[b] (the sample's global
// slot in the training stream) for the model's packed sequence b (n of them; `keys` must
// outlive those passes). Dropout masks are then f(lo->seed, key, position in the sequence,
// pass within the micro-batch, layer, kind, channel), so the same sample gets the same mask
// however the global batch is split over ranks and micro-batches (lo->seed must not depend on
// the rank). Without keys (NULL), masks are f(lo->seed, pass, layer, kind, element).
void lora_set_batch(lora *lo, const long *keys, int n);

#endif
