// NextQuill loss through a tiny model: the parameter gradient from the two passes
// (loss.c -> model_backward of both arenas) against central finite differences of the
// forward loss, for the difference-CE and the effect-alignment forms.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nqtest.h"
#include "model/loss.h"
#include "model/model.h"

static const int32_t seq_h[] = {1, 5, 7, 2, 8, 9, 3, 4};   // history prompt + target 9 3 4
static const int32_t seq_0[] = {6, 8, 9, 3, 4};             // empty-history prompt + target
static const int32_t y[] = {9, 3, 4};
static const float w[] = {2.0f, 0.5f, 1.0f};
enum { LH = 8, L0 = 5, T = 3 };

static model_config tiny(void) {
  model_config c = {.vocab_size = 11, .dim = 8, .n_layers = 1, .n_heads = 2, .n_kv_heads = 1,
                    .ffn_dim = 12, .max_seq_len = 16, .rope_theta = 10000.0f, .norm_eps = 1e-5f,
                    .init_std = 0.4f, .tie_embeddings = 0};
  return c;
}

typedef struct {
  model *m, *ref;
  model_acts *ah, *a0, *rh, *r0;
  nq_loss_opts o;
} ctx;

// Forward both passes (and the reference), loss; with grad: backward into m->grads.
static double run(ctx *c, int grad) {
  int lh = LH, l0 = L0;
  int V = c->m->cfg.vocab_size;
  model_forward(c->m, c->ah, seq_h, &lh, 1);
  model_forward(c->m, c->a0, seq_0, &l0, 1);
  const float *rh = NULL, *r0 = NULL;
  if (c->ref) {
    model_forward(c->ref, c->rh, seq_h, &lh, 1);
    model_forward(c->ref, c->r0, seq_0, &l0, 1);
    rh = c->rh->logits + (size_t)(LH - T - 1) * V;
    r0 = c->r0->logits + (size_t)(L0 - T - 1) * V;
  }
  float *dh = calloc((size_t)LH * V, sizeof(float)), *d0 = calloc((size_t)L0 * V, sizeof(float));
  nq_loss_val v = loss_nextquill(grad ? dh + (LH - T - 1) * V : NULL, grad ? d0 + (L0 - T - 1) * V : NULL,
                                 c->ah->logits + (size_t)(LH - T - 1) * V,
                                 c->a0->logits + (size_t)(L0 - T - 1) * V, rh, r0, y, w, T, V, &c->o, 1.f);
  if (grad) {
    model_zero_grad(c->m);
    model_backward(c->m, c->ah, dh);
    model_backward(c->m, c->a0, d0);
  }
  free(dh);
  free(d0);
  return v.L;
}

static void fd_check(ctx *c) {
  run(c, 1);
  model *m = c->m;
  float *g = malloc(m->n_params * sizeof(float));
  memcpy(g, m->grads_mem, m->n_params * sizeof(float));
  const float eps = 1e-2f;
  int checked = 0, nonzero = 0;
  for (size_t i = 0; i < m->n_params; i += 7) {
    float s = m->params_mem[i];
    m->params_mem[i] = s + eps;
    double lp = run(c, 0);
    m->params_mem[i] = s - eps;
    double lm = run(c, 0);
    m->params_mem[i] = s;
    double fd = (lp - lm) / (2.0 * eps);
    if (fabs(fd - g[i]) > 2e-3 + 2e-2 * fabs(fd))
      fail_msg("param %zu: analytic %g vs finite difference %g", i, g[i], fd);
    checked++;
    nonzero += fabs(g[i]) > 1e-4;
  }
  assert_true(checked > 50);
  assert_true(nonzero > checked / 4);   // the check is not vacuous
  free(g);
}

static void setup(ctx *c, int with_ref) {
  model_config mc = tiny();
  memset(c, 0, sizeof *c);
  c->m = model_create(&mc, 1);
  model_init(c->m, 3);
  c->ah = model_acts_create(c->m, LH, LH);
  c->a0 = model_acts_create(c->m, L0, LH);
  if (with_ref) {
    c->ref = model_create(&mc, 0);
    model_init(c->ref, 4);
    c->rh = model_acts_create(c->ref, LH, LH);
    c->r0 = model_acts_create(c->ref, L0, LH);
  }
}
static void teardown(ctx *c) {
  model_acts_free(c->ah);
  model_acts_free(c->a0);
  if (c->ref) {
    model_acts_free(c->rh);
    model_acts_free(c->r0);
    model_free(c->ref);
  }
  model_free(c->m);
}

static void test_model_grad_diff_ce(void **st) {
  (void)st;
  ctx c;
  setup(&c, 0);
  c.o = (nq_loss_opts){.alpha = 0.5f, .weight_pce = 1};
  fd_check(&c);
  teardown(&c);
}

static void test_model_grad_effect_alignment(void **st) {
  (void)st;
  ctx c;
  setup(&c, 1);
  c.o = (nq_loss_opts){.alpha = 1.0f, .effect_alignment = 1};
  fd_check(&c);
  teardown(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_model_grad_diff_ce),
                                     cmocka_unit_test(test_model_grad_effect_alignment)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
