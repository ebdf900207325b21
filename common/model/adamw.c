// AdamW with torch.optim.AdamW's exact update order, warmup + cosine schedule, clipping.
#include "model/adamw.h"

#include <math.h>

#include "model/kernels.h"
#include "model/model.h"

double lr_schedule(const lr_schedule_config *s, long step) {
  if (s->warmup_steps > 0 && step < s->warmup_steps)
    return s->lr * (double)(step + 1) / (double)s->warmup_steps;
  long span = s->total_steps - s->warmup_steps;
  if (span <= 0) return s->lr;
  double frac = (double)(step - s->warmup_steps) / (double)span;
  if (frac > 1.0) frac = 1.0;
  return s->min_lr + 0.5 * (s->lr - s->min_lr) * (1.0 + cos(M_PI * frac));
}

double grad_global_norm(const float *g, size_t n) {
  double ss = 0.0;
  for (size_t i = 0; i < n; i++) ss += (double)g[i] * g[i];
  return sqrt(ss);
}

double grad_clip(float *g, size_t n, double norm, double max_norm) {
  if (max_norm <= 0) return 1.0;
  double coef = max_norm / (norm + 1e-6);
  if (coef >= 1.0) return 1.0;
  float cf = (float)coef;
#pragma omp parallel for num_threads(kernels_threads()) schedule(static)
  for (size_t i = 0; i < n; i++) g[i] *= cf;
  return coef;
}

void adamw_update(float *p, const float *g, float *m, float *v, size_t n, const adamw_config *c,
                  float lr, float weight_decay, long t) {
  float b1 = c->beta1, b2 = c->beta2;
  // bias corrections in double, as torch computes them in Python
  double bc1 = 1.0 - pow(b1, (double)t), bc2 = 1.0 - pow(b2, (double)t);
  float step = (float)(lr / bc1), bc2s = (float)sqrt(bc2), decay = 1.0f - lr * weight_decay;
#pragma omp parallel for num_threads(kernels_threads()) schedule(static)
  for (size_t i = 0; i < n; i++) {
    float gi = g[i];
    p[i] *= decay;
    m[i] = b1 * m[i] + (1.0f - b1) * gi;
    v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
    p[i] -= step * m[i] / (sqrtf(v[i]) / bc2s + c->eps);
  }
}

void model_adamw_step(model *m, const adamw_config *c, float lr, long t) {
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *ts = &m->tensors[i];
    size_t o = ts->offset;
    adamw_update(m->params_mem + o, m->grads_mem + o, m->m_mem + o, m->v_mem + o, ts->numel, c, lr,
                 ts->decay ? c->weight_decay : 0.0f, t);
  }
}
