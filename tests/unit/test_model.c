// Model tests: whole-model finite differences (untied + bias + GQA, and tied), packing
// (no attention across samples), two activation arenas accumulating into one gradient,
// thread-count independence, KV-cache == full forward, golden greedy decode, init
// determinism, checkpoint round trip (bitwise), AdamW / schedule / clipping.
// FD: float model, eps = 1e-2, central differences on loss = sum_t w_t CE_t (double sum),
// pass when |analytic - fd| <= 5e-4 + 2e-2 * max(|analytic|, |fd|).
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nqtest.h"
#include "blas_probe.h"
#include "model/adamw.h"
#include "files/checkpoint.h"
#include "config/config.h"
#include "model/kernels.h"
#include "model/model.h"
#include "settings/settings.h"

static model_config tiny(int bias, int tied) {
  model_config c = {.vocab_size = 13, .dim = 16, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                    .ffn_dim = 24, .max_seq_len = 32, .qkv_bias = bias, .tie_embeddings = tied,
                    .rope_theta = 10000.0f, .norm_eps = 1e-5f, .init_std = 0.3f};
  return c;
}

static const int32_t toks[] = {1, 5, 7, 2, 9, 3, 12, 4};
static const int32_t tgts[] = {5, 7, 2, -1, 3, 12, 4, 0};
static const int lens[] = {5, 3};
static const float wts[] = {1.0f, 0.5f, 2.0f, 1.0f, 1.0f, 0.25f, 1.0f, 1.5f};
#define NT 8

static double batch_loss(model *m, model_acts *a) {
  float loss[NT];
  model_forward(m, a, toks, lens, 2);
  crossentropy_forward(loss, a->logits, tgts, NT, m->cfg.vocab_size);
  double s = 0;
  for (int i = 0; i < NT; i++) s += (double)wts[i] * loss[i];
  return s;
}

static void grads_of_batch(model *m, model_acts *a) {
  int V = m->cfg.vocab_size;
  float *dl = calloc((size_t)NT * V, sizeof(float));
  batch_loss(m, a);
  crossentropy_backward(dl, a->logits, tgts, wts, NT, V);
  model_backward(m, a, dl);
  free(dl);
}

static void fd_model(int bias, int tied) {
  model_config c = tiny(bias, tied);
  model *m = model_create(&c, 1);
  model_init(m, 7);
  model_acts *a = model_acts_create(m, 16, 8);
  model_zero_grad(m);
  grads_of_batch(m, a);
  int checked = 0;
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *t = &m->tensors[i];
    for (int s = 0; s < 4; s++) {   // 4 elements per tensor, spread over it
      size_t j = t->offset + (size_t)((s * 2654435761u) % t->numel);
      float *p = m->params_mem + j, save = *p, eps = 1e-2f;
      *p = save + eps;
      double lp = batch_loss(m, a);
      *p = save - eps;
      double lm = batch_loss(m, a);
      *p = save;
      double fd = (lp - lm) / (2 * eps), an = m->grads_mem[j];
      if (fabs(fd - an) > 5e-4 + 2e-2 * fmax(fabs(fd), fabs(an)))
        fail_msg("%s (elem %zu): analytic %.6g vs fd %.6g", t->name, j - t->offset, an, fd);
      checked++;
    }
  }
  assert_true(checked == 4 * m->n_tensors);
  model_acts_free(a);
  model_free(m);
}

static void test_fd_untied_bias(void **s) { (void)s; fd_model(1, 0); }
static void test_fd_tied(void **s) { (void)s; fd_model(0, 1); }

// Packed sequences equal separate forwards: no attention across samples, positions restart.
static void test_packing(void **state) {
  (void)state;
  model_config c = tiny(1, 0);
  model *m = model_create(&c, 0);
  model_init(m, 3);
  model_acts *a = model_acts_create(m, 16, 8), *b = model_acts_create(m, 16, 8);
  model_forward(m, a, toks, lens, 2);
  int V = c.vocab_size, l1 = 3;
  model_forward(m, b, toks + 5, &l1, 1);
  for (int i = 0; i < 3 * V; i++) assert_true(fabsf(a->logits[5 * V + i] - b->logits[i]) < 1e-5f);
  model_acts_free(a);
  model_acts_free(b);
  model_free(m);
}

// Two arenas (NextQuill's two passes): backward of both = sum of each alone.
static void test_two_arenas(void **state) {
  (void)state;
  model_config c = tiny(0, 0);
  model *m = model_create(&c, 1);
  model_init(m, 5);
  model_acts *a = model_acts_create(m, 16, 8), *b = model_acts_create(m, 16, 8);
  float *g1 = malloc(m->n_params * sizeof(float));
  model_zero_grad(m);
  grads_of_batch(m, a);
  memcpy(g1, m->grads_mem, m->n_params * sizeof(float));
  model_zero_grad(m);
  grads_of_batch(m, a);
  grads_of_batch(m, b);   // a's activations are still intact; backprop both
  for (size_t i = 0; i < m->n_params; i++) assert_true(fabsf(m->grads_mem[i] - 2 * g1[i]) <= 1e-6f * (1 + fabsf(g1[i])));
  free(g1);
  model_acts_free(a);
  model_acts_free(b);
  model_free(m);
}

static void test_threads_bitwise(void **state) {
  (void)state;
  model_config c = {.vocab_size = 50, .dim = 32, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                    .ffn_dim = 40, .max_seq_len = 128, .qkv_bias = 1, .rope_theta = 10000.0f,
                    .norm_eps = 1e-5f, .init_std = 0.1f};
  int32_t tk[200];
  for (int i = 0; i < 200; i++) tk[i] = (i * 7 + 3) % 50;
  int ls[] = {90, 70, 40};
  float *ref = NULL, *refg = NULL;
  // 2 threads: the fused one-region paths (N >= 64 nt). (3 threads cut this tiny model's
  // matmuls into pieces small enough for OpenBLAS's small-matrix kernels, which sum in
  // another order: bits differ; real sizes are far above that.)
  for (int nt = 1; nt <= 2; nt++) {
    model_set_threads(nt);
    model *m = model_create(&c, 1);
    model_init(m, 9);
    model_acts *a = model_acts_create(m, 200, 100);
    model_forward(m, a, tk, ls, 3);
    float *dl = malloc((size_t)200 * 50 * sizeof(float));
    for (int i = 0; i < 200 * 50; i++) dl[i] = a->logits[i] * 0.01f;
    model_zero_grad(m);
    model_backward(m, a, dl);
    if (!ref) {
      ref = malloc((size_t)200 * 50 * sizeof(float));
      memcpy(ref, a->logits, (size_t)200 * 50 * sizeof(float));
      refg = malloc(m->n_params * sizeof(float));
      memcpy(refg, m->grads_mem, m->n_params * sizeof(float));
    } else {
      int bitwise = blas_rows_split_invariant();
      assert_int_equal(blas_first_mismatch(ref, a->logits, (size_t)200 * 50, bitwise), -1);
      assert_int_equal(blas_first_mismatch(refg, m->grads_mem, m->n_params, bitwise), -1);
    }
    free(dl);
    model_acts_free(a);
    model_free(m);
  }
  model_set_threads(1);
  free(ref);
  free(refg);
}

static void test_kv_cache(void **state) {
  (void)state;
  model_config c = tiny(1, 0);
  model *m = model_create(&c, 0);
  model_init(m, 11);
  int32_t seq[12] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8};
  int L = 12, V = c.vocab_size;
  model_acts *a = model_acts_create(m, 12, 12);
  model_forward(m, a, seq, &L, 1);
  model_kv *kv = model_kv_create(m, 16);
  float *all = malloc((size_t)5 * V * sizeof(float)), last[13];
  model_kv_forward(m, kv, seq, 5, last, all);   // prefill 5
  for (int i = 0; i < 5 * V; i++) assert_true(fabsf(all[i] - a->logits[i]) < 1e-5f);
  for (int t = 5; t < L; t++) {                 // then one token at a time
    model_kv_forward(m, kv, seq + t, 1, last, NULL);
    for (int j = 0; j < V; j++) assert_true(fabsf(last[j] - a->logits[t * V + j]) < 1e-5f);
  }
  assert_int_equal(kv->len, 12);
  free(all);
  model_kv_free(kv);
  model_acts_free(a);
  model_free(m);
}

// model_kv_step (one token, matrix-vector products) against model_kv_forward with n = 1 and
// against the full forward, on 1 and 2 threads: the same logits to float rounding, the cache
// filled the same way.
static void test_kv_step(void **state) {
  (void)state;
  model_config c = tiny(1, 0);
  model *m = model_create(&c, 0);
  model_init(m, 12);
  for (size_t i = 0; i < m->sizes[P_BQ]; i++) m->params.t[P_BQ][i] = 0.01f * (float)(i % 7);
  int32_t seq[12] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8};
  int L = 12, V = c.vocab_size;
  for (int nt = 1; nt <= 2; nt++) {
    model_set_threads(nt);
    model_acts *a = model_acts_create(m, 12, 12);
    model_forward(m, a, seq, &L, 1);
    model_kv *kv = model_kv_create(m, 16), *ref = model_kv_create(m, 16);
    float *last = malloc((size_t)V * sizeof(float)), *want = malloc((size_t)V * sizeof(float));
    model_kv_forward(m, kv, seq, 5, last, NULL);
    model_kv_forward(m, ref, seq, 5, want, NULL);
    double worst = 0;
    for (int t = 5; t < L; t++) {
      model_kv_step(m, kv, seq[t], last);
      model_kv_forward(m, ref, seq + t, 1, want, NULL);
      for (int j = 0; j < V; j++) {
        double d = fabs((double)last[j] - want[j]);
        worst = d > worst ? d : worst;
        assert_true(fabsf(last[j] - a->logits[t * V + j]) < 1e-5f);
      }
    }
    assert_true(worst < 1e-5);
    assert_int_equal(kv->len, 12);
    size_t kd = (size_t)c.n_kv_heads * (c.dim / c.n_heads), diff = 0;
    for (int l = 0; l < c.n_layers; l++)
      for (size_t i = (size_t)l * 16 * kd; i < ((size_t)l * 16 + 12) * kd; i++)   // the filled rows
        diff += fabsf(kv->k[i] - ref->k[i]) > 1e-5f || fabsf(kv->v[i] - ref->v[i]) > 1e-5f;
    assert_int_equal(diff, 0);
    free(last), free(want);
    model_kv_free(kv), model_kv_free(ref);
    model_acts_free(a);
  }
  model_set_threads(1);
  model_free(m);
}

// Golden greedy decode: fixed seed, fixed prompt, stored ids. The margin between the best
// and second-best logit is checked too, so a failure means drift rather than a near-tie.
static void test_golden_greedy(void **state) {
  (void)state;
  model_config c = {.vocab_size = 32, .dim = 32, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                    .ffn_dim = 64, .max_seq_len = 64, .qkv_bias = 1, .tie_embeddings = 1,
                    .rope_theta = 10000.0f, .norm_eps = 1e-5f, .init_std = 0.5f};
  static const int expected[16] = {14, 2, 11, 26, 13, 0, 7, 26, 14, 16, 0, 2, 31, 17, 26, 30};
  model *m = model_create(&c, 0);
  model_init(m, 1234);
  for (int step = 0; step <= 1; step++) {   // model_kv_forward (n = 1), then model_kv_step
    model_kv *kv = model_kv_create(m, 64);
    int32_t prompt[] = {1, 2, 3, 4}, tok;
    float logits[32];
    model_kv_forward(m, kv, prompt, 4, logits, NULL);
    int got[16];
    for (int i = 0; i < 16; i++) {
      tok = argmax_f32(logits, 32);
      got[i] = tok;
      float second = -INFINITY;
      for (int j = 0; j < 32; j++) if (j != tok && logits[j] > second) second = logits[j];
      if (getenv("NQ_PRINT_GOLDEN")) printf("%d%s", tok, i == 15 ? "\n" : ", ");
      if (logits[tok] - second < 1e-3f) fail_msg("step %d: near-tie (margin %g), golden test unreliable", i, logits[tok] - second);
      if (step) model_kv_step(m, kv, tok, logits);
      else model_kv_forward(m, kv, &tok, 1, logits, NULL);
    }
    for (int i = 0; i < 16; i++)
      if (got[i] != expected[i])
        fail_msg("%s: greedy token %d: got %d, expected %d", step ? "model_kv_step" : "model_kv_forward", i,
                 got[i], expected[i]);
    model_kv_free(kv);
  }
  model_free(m);
}

static void test_init_deterministic(void **state) {
  (void)state;
  model_config c = tiny(1, 0);
  model *a = model_create(&c, 0), *b = model_create(&c, 0);
  model_init(a, 99);
  model_init(b, 99);
  assert_memory_equal(a->params_mem, b->params_mem, a->n_params * sizeof(float));
  model_init(b, 100);
  assert_memory_not_equal(a->params_mem, b->params_mem, a->n_params * sizeof(float));
  // norms are 1, biases 0, weights have roughly the asked std
  assert_true(a->params.t[P_FINAL_NORM][0] == 1.0f && a->params.t[P_BQ][0] == 0.0f);
  double ss = 0;
  for (size_t i = 0; i < a->sizes[P_WGATE]; i++) ss += (double)a->params.t[P_WGATE][i] * a->params.t[P_WGATE][i];
  double sd = sqrt(ss / a->sizes[P_WGATE]);
  assert_true(sd > 0.25 && sd < 0.35);
  // names and count: embed + 2 layers x 12 + norm + lm_head
  assert_int_equal(a->n_tensors, 1 + 2 * 12 + 2);
  assert_string_equal(a->tensors[3].name, "model.layers.0.self_attn.k_proj.weight");
  assert_int_equal((int)a->tensors[3].dims[0], 8);
  assert_int_equal((int)a->tensors[3].dims[1], 16);
  model_free(a);
  model_free(b);
}

static char *g_dir;
static void load_wrong(void *arg) {
  model_config c = tiny(0, 0);   // the checkpoint has biases: architecture mismatch
  model *m = model_create(&c, 0);
  checkpoint_load_into((const char *)arg, m, NULL);
}

static void test_checkpoint_roundtrip(void **state) {
  (void)state;
  g_dir = nqtest_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/ckpt.h5", g_dir);
  model_config c = tiny(1, 0);
  model *m = model_create(&c, 1);
  model_init(m, 21);
  for (size_t i = 0; i < m->n_params; i++) { m->m_mem[i] = (float)i * 1e-3f; m->v_mem[i] = 1.0f / (1 + i); }
  uint8_t rng[5] = {1, 2, 3, 250, 0};
  ckpt_save_info si = {.step = 17, .rng = rng, .rng_len = 5, .with_optimizer = 1};
  checkpoint_save(path, m, &si);
  ckpt_load_info li;
  model *r = checkpoint_load(path, 1, &li);
  assert_true(memcmp(&r->cfg, &m->cfg, sizeof c) == 0);
  assert_memory_equal(r->params_mem, m->params_mem, m->n_params * sizeof(float));
  assert_memory_equal(r->m_mem, m->m_mem, m->n_params * sizeof(float));
  assert_memory_equal(r->v_mem, m->v_mem, m->n_params * sizeof(float));
  assert_int_equal(li.step, 17);
  assert_int_equal(li.has_optimizer, 1);
  assert_int_equal((int)li.rng_len, 5);
  assert_memory_equal(li.rng, rng, 5);
  free(li.rng);
  expect_fatal(load_wrong, path, "architecture differs");
  model_free(r);
  model_free(m);
  nqtest_rmrf(g_dir);
  free(g_dir);
}

static void test_adamw(void **state) {
  (void)state;
  adamw_config c = {0.9f, 0.95f, 1e-8f, 0.1f};
  float p[2] = {1.0f, -2.0f}, g[2] = {0.5f, -0.25f}, mm[2] = {0}, vv[2] = {0};
  adamw_update(p, g, mm, vv, 2, &c, 0.01f, 0.1f, 1);
  // step 1: m_hat = g, v_hat = g^2 -> p = p (1 - lr wd) - lr sign(g)
  assert_true(fabsf(p[0] - (1.0f * (1 - 0.001f) - 0.01f)) < 1e-6f);
  assert_true(fabsf(p[1] - (-2.0f * (1 - 0.001f) + 0.01f)) < 1e-6f);
  lr_schedule_config s = {.lr = 1.0, .min_lr = 0.1, .warmup_steps = 4, .total_steps = 14};
  assert_true(fabs(lr_schedule(&s, 0) - 0.25) < 1e-12);
  assert_true(fabs(lr_schedule(&s, 3) - 1.0) < 1e-12);
  assert_true(fabs(lr_schedule(&s, 4) - 1.0) < 1e-12);
  assert_true(fabs(lr_schedule(&s, 9) - 0.55) < 1e-12);
  assert_true(fabs(lr_schedule(&s, 14) - 0.1) < 1e-12);
  assert_true(fabs(lr_schedule(&s, 100) - 0.1) < 1e-12);
  float gg[3] = {3.0f, 4.0f, 0.0f};
  double n = grad_global_norm(gg, 3);
  assert_true(fabs(n - 5.0) < 1e-12);
  assert_true(grad_clip(gg, 3, n, 10.0) == 1.0);
  grad_clip(gg, 3, n, 1.0);
  assert_true(fabs(grad_global_norm(gg, 3) - 1.0) < 1e-5);
  // no decay on norms: a zero-gradient norm weight stays exactly 1 after a step
  model_config mc = tiny(1, 0);
  model *m = model_create(&mc, 1);
  model_init(m, 1);
  model_zero_grad(m);
  float w0 = m->params.t[P_WGATE][0];
  model_adamw_step(m, &c, 0.01f, 1);
  assert_true(m->params.t[P_FINAL_NORM][0] == 1.0f);
  assert_true(m->params.t[P_WGATE][0] == w0 * (1.0f - 0.01f * 0.1f));
  model_free(m);
}

static void bad_heads(void *arg) {
  model_config mc;
  model_config_from_settings(&mc, &((const settings *)arg)->model, 100);
}

// The `model` config section: defaults, the tokenizer's vocabulary, and a clear error.
static void test_config_section(void **state) {
  (void)state;
  char *dir = nqtest_tmpdir(), path[512];
  snprintf(path, sizeof path, "%s/m.cfg", dir);
  nqtest_write(path, "name = \"t\";\nrun_dir = \"/tmp/x\";\nmodel: { dim = 64; n_heads = 4; n_kv_heads = 2; };\n");
  settings *c = settings_load(path, NULL, 0);
  model_config mc;
  model_config_from_settings(&mc, &c->model, 300);
  assert_int_equal(mc.vocab_size, 300);
  assert_int_equal(mc.dim, 64);
  assert_int_equal(mc.n_layers, 6);
  assert_int_equal(mc.ffn_dim, 512);
  assert_int_equal(mc.tie_embeddings, 1);
  assert_true(fabsf(mc.rope_theta - 10000.0f) < 1e-3f);
  settings_free(c);
  const char *set[] = {"model.n_kv_heads=3"};
  c = settings_load(path, set, 1);
  expect_fatal(bad_heads, c, "n_kv_heads");
  settings_free(c);
  nqtest_rmrf(dir);
  free(dir);
}

int main(void) {
  settings_schema_install();
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fd_untied_bias),     cmocka_unit_test(test_fd_tied),
      cmocka_unit_test(test_packing),            cmocka_unit_test(test_two_arenas),
      cmocka_unit_test(test_threads_bitwise),    cmocka_unit_test(test_kv_cache),
      cmocka_unit_test(test_kv_step),
      cmocka_unit_test(test_golden_greedy),      cmocka_unit_test(test_init_deterministic),
      cmocka_unit_test(test_checkpoint_roundtrip), cmocka_unit_test(test_adamw),  cmocka_unit_test(test_config_section),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
