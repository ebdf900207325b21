// Llama / Qwen2-style decoder: parameters, gradients and AdamW moments in one arena each,
// activations in a separate arena object, forward/backward over packed variable-length
// sequences, and KV-cache decoding. Kernels are in kernels.h, the optimizer in adamw.h,
// checkpoints in checkpoint.h, equations and tensor layout in docs/model.md.
//
// ---- API summary ------------------------------------------------------------------------
//   model_config mc; model_config_from_settings(&mc, &set->model, tok_vocab_size(tok));
//   (init seed: cfg model.init_seed, -1 = top-level seed; threads: cfg model.threads)
//   model *m = model_create(&mc, 1);            // 1 = allocate grads + AdamW moments too
//   model_init(m, seed);                        // N(0, init_std) weights, norms = 1, biases = 0
//   model_acts *a = model_acts_create(m, max_tokens, max_seq_len);   // one per live pass
//   model_forward(m, a, tokens, lens, B);       // B packed sequences; a->logits is (N, V)
//   crossentropy_forward(loss, a->logits, targets, N, V);            // kernels.h
//   crossentropy_backward(dlogits, a->logits, targets, weights, N, V); // dlogits += w*(p-y)
//   model_zero_grad(m);  model_backward(m, a, dlogits);  // grads accumulate in m->grads_mem
//   ... MPI_Allreduce(m->grads_mem, m->n_params) by the trainer ...
//   float norm = grad_global_norm(m->grads_mem, m->n_params); grad_clip(..., norm, max_norm);
//   model_adamw_step(m, &opt, lr_schedule(&sched, step), step + 1);   // adamw.h
//   checkpoint_save(path, m, &save_info); m = checkpoint_load(path, 1, &load_info); // checkpoint.h
//   model_kv *kv = model_kv_create(m, max_len);                     // generation
//   model_kv_forward(m, kv, prompt, n, logits_last, NULL);  // prefill; then n = 1 per token
//   model_kv_reset(kv);  model_kv_free(kv);  model_acts_free(a);  model_free(m);
// Two passes of NextQuill: two model_acts, forward both, backward both into the same grads.
// Threads: model_set_threads(n) (OpenMP; each matmul is split by rows across threads, each
// piece one single-threaded cblas_sgemm, so results do not depend on the thread count).
#ifndef NQ_MODEL_H
#define NQ_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "model/matmul_bf16.h"
#include "settings/model_settings.h"


typedef struct {
  int vocab_size;      // V
  int dim;             // D (hidden size)
  int n_layers;        // L
  int n_heads;         // H (query heads); head_dim = D / H
  int n_kv_heads;      // KV (grouped-query heads), H % KV == 0
  int ffn_dim;         // F (intermediate size)
  int max_seq_len;     // RoPE table length and the longest sequence accepted
  int qkv_bias;        // Qwen2: biases on q/k/v projections
  int tie_embeddings;  // lm_head.weight is model.embed_tokens.weight
  float rope_theta;    // 10000 (Llama) / 1000000 (Qwen2)
  float norm_eps;      // RMSNorm epsilon
  float init_std;      // N(0, init_std) init of weight matrices (HF initializer_range)
} model_config;

// Parameter tensors, stacked over layers (l_ slice of layer l = base + l * per-layer size).
// HF names and shapes ([out, in] for Linear weights):
enum {
  P_EMBED,      // model.embed_tokens.weight             (V, D)
  P_ATTN_NORM,  // model.layers.{l}.input_layernorm.weight          (L, D)
  P_WQ,         // model.layers.{l}.self_attn.q_proj.weight         (L, H*hd, D)
  P_WK,         // model.layers.{l}.self_attn.k_proj.weight         (L, KV*hd, D)
  P_WV,         // model.layers.{l}.self_attn.v_proj.weight         (L, KV*hd, D)
  P_BQ,         // model.layers.{l}.self_attn.q_proj.bias           (L, H*hd)  [qkv_bias]
  P_BK,         // model.layers.{l}.self_attn.k_proj.bias           (L, KV*hd) [qkv_bias]
  P_BV,         // model.layers.{l}.self_attn.v_proj.bias           (L, KV*hd) [qkv_bias]
  P_WO,         // model.layers.{l}.self_attn.o_proj.weight         (L, D, H*hd)
  P_MLP_NORM,   // model.layers.{l}.post_attention_layernorm.weight (L, D)
  P_WGATE,      // model.layers.{l}.mlp.gate_proj.weight            (L, F, D)
  P_WUP,        // model.layers.{l}.mlp.up_proj.weight              (L, F, D)
  P_WDOWN,      // model.layers.{l}.mlp.down_proj.weight            (L, D, F)
  P_FINAL_NORM, // model.norm.weight                                (D)
  P_LM_HEAD,    // lm_head.weight                                   (V, D) [untied only]
  P_COUNT
};

typedef struct {
  float *t[P_COUNT];   // pointers into one arena; NULL for absent tensors (size 0)
} model_params;

typedef struct {
  bf16 *t[P_COUNT];    // the same layout in bf16 (model.precision = "bf16")
} model_params16;

// model.precision (MODEL_FP32 / MODEL_BF16, settings/model_settings.h): which type the
// matmuls of forward and backward take (docs/model.md).

// One named tensor (a per-layer slice for stacked kinds), for checkpoints and AdamW groups.
typedef struct {
  char name[96];       // HF name
  int kind;            // P_*
  int layer;           // -1 for non-layer tensors
  size_t offset;       // float offset into the parameter arena
  size_t numel;
  int ndim;
  size_t dims[2];
  int decay;           // 1 for matrices (weight decay applies), 0 for norms and biases
} model_tensor;

// Adapters on the linear projections (LoRA: lora_attach, lora.h). The model knows them only
// through this table, so model.c needs nothing of lora.c: model_forward adds forward() to the
// output of each projection P_WQ ... P_WDOWN, model_backward adds backward()'s input gradient
// (the adapters accumulate their own gradients). `self` is the adapters' state.
typedef struct {
  void *self;
  // a fresh dropout stream id for one forward pass of n_seqs packed sequences (row offsets
  // seq_off, n_seqs + 1 of them), kept in model_acts.adapter_pass
  uint64_t (*next_pass)(void *self, const int *seq_off, int n_seqs);
  // out (N, OC) += the adapter of projection `kind` of layer l on its input x (N, C); nothing
  // when that projection has none
  void (*forward)(void *self, uint64_t pass, int kind, int l, float *out, const float *x, int N);
  // that adapter's gradients, and dx += its input gradient (dx may be NULL)
  void (*backward)(void *self, uint64_t pass, int kind, int l, float *dx, const float *dout,
                   const float *x, int N);
} model_adapters;

typedef struct model {
  model_config cfg;
  size_t sizes[P_COUNT];      // floats per kind (all layers)
  size_t n_params;            // total floats in each arena
  float *params_mem;          // parameter arena
  float *grads_mem;           // gradient arena (NULL unless created for training)
  float *m_mem, *v_mem;       // AdamW moments (NULL unless created for training)
  model_params params, grads;
  int n_tensors;              // named tensors
  model_tensor *tensors;
  float *rope_cos, *rope_sin; // (max_seq_len, hd/2)
  float *scratch;             // backward scratch (grows with the largest activation arena)
  size_t scratch_floats;
  bf16 *scratch16;            // bf16 backward: the output gradients rounded (model.c, grads16)
  size_t scratch16_n;
  int precision;              // MODEL_FP32 / MODEL_BF16 (model_set_precision)
  bf16 *w16_mem;              // bf16 parameter arena (MODEL_BF16), matrices used by the matmuls
  model_params16 params16;
  float *small_mem;           // forward-only bf16: norms and biases (fp32 matrices freed)
  const model_adapters *adapters;   // adapters on the projections (lora_attach), or NULL; not
                              // owned by the model. With adapters the base may have no
                              // gradients: the backward then gives the adapters' gradients only.
  // nq-train's gradient overlap (docs/scaling.md): when set, model_backward calls
  // grads_ready(grads_ready_arg, stage) on the calling thread as soon as a group of gradients
  // is final for this pass: stage = n_layers after the LM head and final norm, l after layer l,
  // -1 after the embedding. The caller sets it only on a step's last backward pass.
  void (*grads_ready)(void *arg, int stage);
  void *grads_ready_arg;
} model;

// ---- configuration -------------------------------------------------------------------
// Fill from the `model` section (settings/model_settings.c); vocab_size = model.vocab_size, or
// `tokenizer_vocab` when that key is 0. Stops with a clear line on an inconsistent config.
void model_config_from_settings(model_config *mc, const model_settings *s, int tokenizer_vocab);
// Checks (H % KV, D % H, even head_dim, ...); fatal() naming the field on error.
void model_config_check(const model_config *mc);
// Floats per parameter kind: the one function listing every tensor.
void model_param_sizes(const model_config *mc, size_t sizes[P_COUNT]);
// Training FLOPs per token (6 x matmul params + attention at average position T/2), for bench.
double model_flops_per_token(const model_config *mc, int seq_len, int training);

// ---- model ---------------------------------------------------------------------------
model *model_create(const model_config *mc, int for_training);
void model_free(model *m);
// Deterministic init from `seed` (independent of threads).
void model_init(model *m, uint64_t seed);
void model_zero_grad(model *m);
// OpenMP threads for the kernels (OpenBLAS itself is kept at 1 thread). Default 1.
void model_set_threads(int n);
int model_threads(void);

// ---- memory (the memory plan of nq-train / nq-effect / nq-eval) ---------------------------
// Bytes model_acts_create allocates for (max_tokens, max_seq) at `precision`.
size_t model_acts_bytes(const model_config *c, int precision, int max_tokens, int max_seq);
// Bytes of model_backward's scratch for a pass of max_tokens tokens with `threads` threads.
size_t model_backward_scratch_bytes(const model_config *c, int precision, int threads, int max_tokens,
                                    int max_seq);

// ---- precision -------------------------------------------------------------------------
const char *model_precision_name(int precision);
// Bytes of one matmul operand element at `precision` (fp32 4, bf16 2): the one place a size per
// precision is written (memory plans, activation sizes).
size_t model_precision_bytes(int precision);
// Bytes of a forward-only model's weights at `precision`: the matrices at
// model_precision_bytes, norms and biases in fp32 (model_set_precision without gradients).
double model_weight_bytes(const model_config *mc, int precision);
// Call after the weights are in place (init / checkpoint load), before model_acts_create.
// MODEL_BF16 with gradients (training): fp32 master weights stay, a bf16 copy is refreshed at
// every model_forward. Without gradients (forward only): the weights are kept in bf16 only
// (params.t of the matrices become NULL, params_mem is freed; norms and biases stay fp32),
// so the model can no longer be saved or trained.
void model_set_precision(model *m, int precision);
// model_create + model_set_precision for weights still to be filled: a forward-only bf16 model
// gets the bf16 arena only (the fp32 matrices never exist); fill it with model_tensor_store.
model *model_create_prec(const model_config *mc, int for_training, int precision);
// Store elements [first, first + n) of tensor t (HF layout, fp32) in the model's storage: the
// fp32 arena and/or the bf16 one (checkpoint_load_prec reads a bf16 model this way).
void model_tensor_store(model *m, const model_tensor *t, size_t first, size_t n, const float *src);
// Where tensor t's elements are: in fp32 (NULL for a matrix of a forward-only bf16 model) and
// in bf16 (NULL unless the model is MODEL_BF16). Exporters read a bf16-only model this way.
const float *model_tensor_f32(const model *m, const model_tensor *t);
const bf16 *model_tensor_bf16(const model *m, const model_tensor *t);
// Refresh the bf16 copy from the fp32 master weights (model_forward does it when training).
void model_sync_bf16(model *m);
// One line naming the precision and, for bf16, the matmul path taken (for stage logs).
const char *model_precision_describe(const model *m);
// out (N, OC) = inp (N, C) W^T + bias (+ out when accumulate), W = parameter `kind` at float
// offset `off` (a layer's slice), in the model's precision; all kernel threads. For code that
// runs the model's linear layers outside model_forward (KV decoding).
void model_linear(const model *m, float *out, const float *inp, int kind, size_t off, const float *bias, int N,
                  int C, int OC, int accumulate);
// out (n, D) = the embeddings of tokens (n), fp32 or widened from bf16-only weights.
void model_embed(const model *m, float *out, const int32_t *tokens, int n);

// ---- activations ---------------------------------------------------------------------
typedef struct {
  int max_tokens, max_seq;   // capacity
  int n_tokens, n_seqs;      // current batch (set by model_forward)
  int *seq_off;              // (n_seqs + 1) start of each sequence in the packed batch
  int *tokens, *pos;         // (N) inputs and positions (restart at 0 per sequence)
  float *mem;                // the one allocation; the pointers below are into it
  size_t n_floats;
  float *x;       // (L+1, maxN, D) residual stream entering layer l; x[L] leaves the last
  float *ln1;     // (L, maxN, D)
  float *rstd1;   // (L, maxN)
  float *q;       // (L, maxN, H*hd) after bias and RoPE
  float *k;       // (L, maxN, KV*hd) after bias and RoPE
  float *v;       // (L, maxN, KV*hd)
  float *att;     // (L, H * maxN * max_seq) softmax probabilities, per sequence (H, T, T)
  float *atty;    // (L, maxN, H*hd) attention output before o_proj
  float *x2;      // (L, maxN, D) residual after attention
  float *ln2;     // (L, maxN, D)
  float *rstd2;   // (L, maxN)
  float *gate;    // (L, maxN, F)
  float *up;      // (L, maxN, F)
  float *hmlp;    // (L, maxN, F) silu(gate) * up
  float *lnf;     // (maxN, D)
  float *rstdf;   // (maxN)
  float *logits;  // (maxN, V) logits of every position
  int no_logits;  // set by the caller: model_forward stops at lnf (model_logits_rows after)
  // MODEL_BF16 only (else NULL): the matmul inputs rounded to bf16, kept for the weight
  // gradients: ln1, ln2 (L, maxN, D), atty (L, maxN, H*hd), hmlp (L, maxN, F), lnf (maxN, D)
  bf16 *mem16, *ln1_16, *atty16, *ln2_16, *h16, *lnf16;
  uint64_t adapter_pass;   // the adapters' dropout stream of the last forward (model_adapters)
} model_acts;

model_acts *model_acts_create(const model *m, int max_tokens, int max_seq);
void model_acts_free(model_acts *a);

// Forward of B packed sequences: tokens concatenated, lens[B]; no attention across them.
// Logits of every position go to a->logits (N = sum lens rows of V).
void model_forward(model *m, model_acts *a, const int32_t *tokens, const int *lens, int B);
// Logits (n, V) of the listed rows of the last forward on `a` (its lnf): the LM head for the
// positions a caller needs only (nq-effect: the target tokens), after a forward with
// a->no_logits set. Same sgemm shape per row count as model_forward's LM head.
void model_logits_rows(const model *m, const model_acts *a, const int64_t *rows, int n, float *out);
// Backward from dlogits (N, V) of the last forward on `a`; accumulates into m->grads.
// `a` is not modified, so several arenas can be backpropagated in any order.
void model_backward(model *m, model_acts *a, const float *dlogits);

// ---- KV-cache decoding (one sequence) --------------------------------------------------
typedef struct {
  int max_len, len;
  float *k, *v;        // (L, max_len, KV*hd)
  float *mem;          // one allocation (also holds per-step scratch)
  size_t n_floats;
  int cap_tokens;      // tokens per call the scratch holds (grows on demand)
  float *work;         // per-call scratch (grows with the tokens per call)
  size_t work_floats;
  int *pos;            // (cap_tokens) positions of the tokens of a call
} model_kv;

model_kv *model_kv_create(const model *m, int max_len);
void model_kv_free(model_kv *kv);
void model_kv_reset(model_kv *kv);
// Append n tokens at positions len..len+n-1; writes the logits of the LAST of them (V) to
// `logits`, and of all of them (n, V) to `all_logits` when non-NULL.
void model_kv_forward(const model *m, model_kv *kv, const int32_t *tokens, int n, float *logits,
                      float *all_logits);
// One token at position len (the decoding step): the same as model_kv_forward(m, kv, &token,
// 1, logits, NULL) with matrix-vector products (model_decode.c); logits agree to rounding.
void model_kv_step(const model *m, model_kv *kv, int32_t token, float *logits);
// model_kv_step of a bf16 model (model_decode_bf16.c): bitwise model_kv_forward(n = 1).
void model_kv_step_bf16(const model *m, model_kv *kv, int32_t token, float *logits);
// One query head against T cached positions (internal to model_kv.c / model_decode.c).
void kv_attend(float *y, const float *q, const float *K0, const float *V0, float *sc, int T, int kd,
               int hd, float scale);
// Index of the largest logit (first on ties).
int argmax_f32(const float *x, int n);

#endif
