// LoRA tests: the two kernels against finite differences; a frozen model with adapters on
// every projection (with and without dropout) against finite differences of its loss; B = 0
// leaves the model's logits unchanged; a merged model equals the adapted one.
// FD: eps = 1e-2 (kernels: 1e-3), central differences of a double loss,
// pass when |analytic - fd| <= 5e-4 + 2e-2 * max(|analytic|, |fd|).
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nqtest.h"
#include "model/kernels.h"
#include "model/lora.h"
#include "model/model.h"

static void fill(float *x, size_t n, uint64_t *s, float scale) {
  for (size_t i = 0; i < n; i++) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    x[i] = scale * ((float)((*s >> 33) % 20001) / 10000.0f - 1.0f);
  }
}

static int close_enough(double an, double fd) {
  return fabs(an - fd) <= 5e-4 + 2e-2 * fmax(fabs(an), fabs(fd));
}

// ---- kernels ------------------------------------------------------------------------------
enum { KN = 5, KC = 7, KOC = 6, KR = 3 };
typedef struct {
  float x[KN * KC], A[KR * KC], B[KOC * KR], G[KN * KOC], base[KN * KOC];
} kctx;

static double kernel_loss(kctx *c) {   // sum G * (base + lora(x))
  float out[KN * KOC], u[KN * KR];
  memcpy(out, c->base, sizeof out);
  lora_forward(out, u, c->x, c->A, c->B, KN, KC, KOC, KR, 1.7f);
  double s = 0;
  for (int i = 0; i < KN * KOC; i++) s += (double)c->G[i] * out[i];
  return s;
}

static void kernel_fd(const char *what, kctx *c, float *p, const float *g, int n) {
  for (int i = 0; i < n; i++) {
    float keep = p[i];
    p[i] = keep + 1e-3f;
    double lp = kernel_loss(c);
    p[i] = keep - 1e-3f;
    double lm = kernel_loss(c);
    p[i] = keep;
    double fd = (lp - lm) / 2e-3;
    if (!close_enough(g[i], fd)) fail_msg("%s[%d]: analytic %.6g vs fd %.6g", what, i, g[i], fd);
  }
}

static void test_kernels(void **state) {
  (void)state;
  kctx c;
  uint64_t s = 3;
  fill(c.x, KN * KC, &s, 1.f); fill(c.A, KR * KC, &s, .5f); fill(c.B, KOC * KR, &s, .5f);
  fill(c.G, KN * KOC, &s, 1.f); fill(c.base, KN * KOC, &s, 1.f);
  float out[KN * KOC] = {0}, u[KN * KR], du[KN * KR];
  float dx[KN * KC] = {0}, dA[KR * KC] = {0}, dB[KOC * KR] = {0};
  lora_forward(out, u, c.x, c.A, c.B, KN, KC, KOC, KR, 1.7f);
  lora_backward(dx, dA, dB, du, c.G, c.x, u, c.A, c.B, KN, KC, KOC, KR, 1.7f);
  kernel_fd("lora dx", &c, c.x, dx, KN * KC);
  kernel_fd("lora dA", &c, c.A, dA, KR * KC);
  kernel_fd("lora dB", &c, c.B, dB, KOC * KR);
}

// ---- a model with adapters ------------------------------------------------------------------
static model_config tiny(void) {
  model_config c = {.vocab_size = 13, .dim = 16, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                    .ffn_dim = 24, .max_seq_len = 32, .qkv_bias = 1, .tie_embeddings = 0,
                    .rope_theta = 10000.0f, .norm_eps = 1e-5f, .init_std = 0.3f};
  return c;
}

static const int32_t toks[] = {1, 5, 7, 2, 9, 3, 12, 4};
static const int32_t tgts[] = {5, 7, 2, -1, 3, 12, 4, 0};
static const int lens[] = {5, 3};
static const float wts[] = {1.0f, 0.5f, 2.0f, 1.0f, 1.0f, 0.25f, 1.0f, 1.5f};
#define NT 8

// The adapters lora_attach put on m (NULL: none).
static lora *lo_of(const model *m) { return m->adapters ? m->adapters->self : NULL; }

static double batch_loss(model *m, model_acts *a) {
  float loss[NT];
  if (lo_of(m)) lo_of(m)->passes = 0;   // the same dropout masks at every evaluation
  model_forward(m, a, toks, lens, 2);
  crossentropy_forward(loss, a->logits, tgts, NT, m->cfg.vocab_size);
  double s = 0;
  for (int i = 0; i < NT; i++) s += (double)wts[i] * loss[i];
  return s;
}

static model *adapted(float dropout, uint64_t seed) {
  model_config c = tiny();
  model *m = model_create(&c, 0);   // frozen base: no gradient arena
  model_init(m, 7);
  lora_config lc = {.rank = 3, .alpha = 6, .dropout = dropout, .targets = lora_all_targets()};
  lora *lo = lora_create(&lc, &m->cfg, 1);
  lora_attach(lo, m);
  lora_init(lo, seed);
  uint64_t s = seed + 11;   // B = 0 would hide A's gradient: random B for the checks
  for (int i = 0; i < lo->n_tensors; i++) {
    const model_tensor *t = &lo->tensors[i];
    if (strstr(t->name, "lora_B")) fill(lo->params_mem + t->offset, t->numel, &s, 0.3f);
  }
  lo->training = dropout > 0;
  lo->seed = 99;
  return m;
}

static void fd_adapters(float dropout) {
  model *m = adapted(dropout, 5);
  model_acts *a = model_acts_create(m, 16, 8);
  lora *lo = lo_of(m);
  lora_zero_grad(lo);
  int V = m->cfg.vocab_size;
  float *dl = calloc((size_t)NT * V, sizeof(float));
  batch_loss(m, a);
  crossentropy_backward(dl, a->logits, tgts, wts, NT, V);
  model_backward(m, a, dl);
  free(dl);
  float *g = lo->grads_mem, *p = lo->params_mem;
  int checked = 0;
  for (size_t i = 0; i < lo->n_params; i += 7, checked++) {
    float keep = p[i];
    p[i] = keep + 1e-2f;
    double lp = batch_loss(m, a);
    p[i] = keep - 1e-2f;
    double lm = batch_loss(m, a);
    p[i] = keep;
    double fd = (lp - lm) / 2e-2;
    if (!close_enough(g[i], fd)) fail_msg("adapter param %zu (dropout %g): analytic %.6g vs fd %.6g", i, dropout, g[i], fd);
  }
  assert_true(checked > 50);
  model_acts_free(a);
  model_free(m);
  lora_free(lo);
}

static void test_model_fd(void **state) {
  (void)state;
  fd_adapters(0.0f);
  fd_adapters(0.3f);
}

// B = 0 (PEFT's init): the adapted model's logits are the base model's, bit for bit.
static void test_init_identity(void **state) {
  (void)state;
  model_config c = tiny();
  model *base = model_create(&c, 0), *m = model_create(&c, 0);
  model_init(base, 7);
  model_init(m, 7);
  lora_config lc = {.rank = 4, .alpha = 8, .targets = lora_all_targets()};
  lora *lo = lora_create(&lc, &m->cfg, 0);
  lora_attach(lo, m);
  lora_init(lo, 1);
  model_acts *a = model_acts_create(base, 16, 8), *b = model_acts_create(m, 16, 8);
  model_forward(base, a, toks, lens, 2);
  model_forward(m, b, toks, lens, 2);
  assert_memory_equal(a->logits, b->logits, (size_t)NT * c.vocab_size * sizeof(float));
  model_acts_free(a);
  model_acts_free(b);
  model_free(base);
  model_free(m);
  lora_free(lo);
}

// W + (alpha / r) B A in the weights gives the adapted model's logits.
static void test_merge(void **state) {
  (void)state;
  model *m = adapted(0.0f, 9);
  model_config c = tiny();
  model *merged = model_create(&c, 0);
  memcpy(merged->params_mem, m->params_mem, m->n_params * sizeof(float));
  lora *lo = lo_of(m);
  lora_merge(lo, merged, 1.0f);
  model_acts *a = model_acts_create(m, 16, 8), *b = model_acts_create(merged, 16, 8);
  model_forward(m, a, toks, lens, 2);
  model_forward(merged, b, toks, lens, 2);
  for (int i = 0; i < NT * c.vocab_size; i++)
    if (fabsf(a->logits[i] - b->logits[i]) > 1e-4f) fail_msg("logit %d: adapted %g merged %g", i, a->logits[i], b->logits[i]);
  lora_merge(lo, merged, -1.0f);   // undone up to rounding
  for (size_t i = 0; i < m->n_params; i++)
    if (fabsf(merged->params_mem[i] - m->params_mem[i]) > 1e-5f) fail_msg("unmerge: param %zu", i);
  model_acts_free(a);
  model_acts_free(b);
  model_free(m);
  model_free(merged);
  lora_free(lo);
}

static void test_targets(void **state) {
  (void)state;
  assert_int_equal(lora_target_kind("q"), P_WQ);
  assert_int_equal(lora_target_kind("down_proj"), P_WDOWN);
  assert_int_equal(lora_target_kind("embed"), -1);
  model_config c = tiny();
  lora_config lc = {.rank = 2, .alpha = 2, .targets = 1u << P_WV};
  lora *lo = lora_create(&lc, &c, 0);
  assert_int_equal(lo->n_tensors, 2 * c.n_layers);
  assert_non_null(lora_find(lo, "model.layers.1.self_attn.v_proj.lora_B.weight"));
  assert_int_equal(lo->n_params, (size_t)c.n_layers * 2 * (16 + 8));   // r x D + kd x r
  lora_free(lo);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kernels),      cmocka_unit_test(test_model_fd),
      cmocka_unit_test(test_init_identity), cmocka_unit_test(test_merge),
      cmocka_unit_test(test_targets),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
