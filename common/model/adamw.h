// AdamW (decoupled weight decay, torch.optim.AdamW's update), warmup + cosine learning
// rate, and global-norm gradient clipping. Pure functions on arenas: the trainer does the
// MPI_Allreduce of the gradient arena first, then norm -> clip -> step.
#ifndef NQ_ADAMW_H
#define NQ_ADAMW_H

#include <stddef.h>

struct model;

typedef struct {
  float beta1, beta2, eps, weight_decay;
} adamw_config;

typedef struct {
  double lr, min_lr;      // peak and final learning rate
  long warmup_steps;      // linear 0 -> lr over steps 0..warmup-1 ((step+1)/warmup)
  long total_steps;       // cosine lr -> min_lr from warmup to total_steps
} lr_schedule_config;

// Learning rate at 0-based `step`.
double lr_schedule(const lr_schedule_config *s, long step);

// sqrt(sum g^2), accumulated in double (deterministic order).
double grad_global_norm(const float *g, size_t n);
// Scale g by max_norm / (norm + 1e-6) when norm > max_norm (torch clip_grad_norm_).
// Returns the scale applied (1 when not clipped). max_norm <= 0 disables.
double grad_clip(float *g, size_t n, double norm, double max_norm);

// One AdamW update of n elements; t = 1-based step count (bias correction).
void adamw_update(float *p, const float *g, float *m, float *v, size_t n, const adamw_config *c,
                  float lr, float weight_decay, long t);
// Update the whole model: decay on matrices (embeddings, projections, lm_head) only.
void model_adamw_step(struct model *m, const adamw_config *c, float lr, long t);

#endif
