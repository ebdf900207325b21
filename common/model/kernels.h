// Model kernels: one op, one forward, one backward (llm.c style). Shapes in each first
// comment; N = tokens, D = channels. Backward functions ACCUMULATE (+=) into their outputs.
// Matmuls go through cblas_sgemm, split across OpenMP threads by rows (deterministic).
#ifndef NQ_KERNELS_H
#define NQ_KERNELS_H

#include <stddef.h>
#include <stdint.h>

// tokens (N), wte (V, D) -> out (N, D)
void embedding_forward(float *out, const int32_t *tokens, const float *wte, int N, int D);
// dwte (V, D) += scatter of dout (N, D)
void embedding_backward(float *dwte, const float *dout, const int32_t *tokens, int N, int D);

// x (N, D), w (D) -> out (N, D) = x / rms(x) * w; rstd (N) kept for backward
void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int N, int D, float eps);
// dx (N, D) += ..., dw (D) += ...
void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                      const float *rstd, int N, int D);

// The two parts of rmsnorm_backward, for callers that split the work themselves: dx of N
// rows; dw columns [c0, c1) over all N rows (in row order, as rmsnorm_backward).
void rmsnorm_backward_dx(float *dx, const float *dout, const float *x, const float *w,
                         const float *rstd, int N, int D);
void rmsnorm_backward_dw(float *dw, const float *dout, const float *x, const float *rstd, int N, int D,
                         int c0, int c1);

// inp (N, C), w (OC, C) [HF Linear], bias (OC) or NULL -> out (N, OC) = inp w^T + bias;
// accumulate != 0 adds to out instead of overwriting.
void matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N, int C,
                    int OC, int accumulate);
// dinp (N, C) += dout w; dw (OC, C) += dout^T inp; dbias (OC) += sum_n dout (any may be NULL)
void matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                     const float *w, int N, int C, int OC);

// RoPE in place, HF rotate_half convention: x (N, nh, hd), pos (N), cos/sin (max_pos, hd/2).
void rope_forward(float *x, const int *pos, const float *cos, const float *sin, int N, int nh, int hd);
// dx (N, nh, hd) in place: the transpose rotation (dout -> dinp)
void rope_backward(float *dx, const int *pos, const float *cos, const float *sin, int N, int nh, int hd);
// RoPE tables, computed in float32 like HF (inv_freq = 1 / theta^(2i/hd), angle = pos*inv_freq).
void rope_tables(float *cos, float *sin, int max_pos, int hd, float theta);

// Causal attention over packed sequences, grouped-query heads.
// q (N, H*hd), k, v (N, KV*hd), seq_off (S+1) -> out (N, H*hd);
// att: per sequence s at offset o, length T: (H, T, T) probabilities at att + H*o*max_seq.
void attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                       const int *seq_off, int S, int H, int KV, int hd, int max_seq);
// Task `task` (= s * KV + g: sequence s, kv group g) of attention_forward, for callers that
// hand out the S * KV tasks inside their own parallel region.
void attention_forward_task(int task, float *out, float *att, const float *q, const float *k,
                            const float *v, const int *seq_off, int H, int KV, int hd, int max_seq);
// dq (N, H*hd), dk, dv (N, KV*hd) += ...; scratch: model_threads() * max_seq * max_seq floats
void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                        const float *q, const float *k, const float *v, const float *att,
                        const int *seq_off, int S, int H, int KV, int hd, int max_seq);

// Task `task` of attention_backward; dP: this thread's max_seq * max_seq scratch.
void attention_backward_task(int task, float *dq, float *dk, float *dv, float *dP, const float *dout,
                             const float *q, const float *k, const float *v, const float *att,
                             const int *seq_off, int H, int KV, int hd, int max_seq);

// gate, up (n) -> h (n) = silu(gate) * up
void swiglu_forward(float *h, const float *gate, const float *up, size_t n);
// dgate, dup (n) += ...
void swiglu_backward(float *dgate, float *dup, const float *dh, const float *gate,
                     const float *up, size_t n);

// logits (N, V), targets (N) (-1 = ignored) -> loss (N) = -log softmax(logits)[target] (0 if ignored)
void crossentropy_forward(float *loss, const float *logits, const int32_t *targets, int N, int V);
// dlogits (N, V) += weights[i] * (softmax(logits_i) - onehot(target_i)); weights NULL = 1;
// ignored rows get nothing.
void crossentropy_backward(float *dlogits, const float *logits, const int32_t *targets,
                           const float *weights, int N, int V);

// Both in one pass over the logits: loss (N) (may be NULL) and dlogits OVERWRITTEN with
// weights[i] * (softmax(logits_i) - onehot(target_i)) (ignored rows: 0), so the caller does
// not clear dlogits first.
void crossentropy_forward_backward(float *loss, float *dlogits, const float *logits,
                                   const int32_t *targets, const float *weights, int N, int V);

// exp(x) as the kernels compute it (vectorizable, within 2 ulp of expf; 0 below -87).
float kernels_exp(float x);

// Thread count used by the kernels (OpenMP); OpenBLAS is kept single-threaded.
void kernels_set_threads(int n);
int kernels_threads(void);

#endif
