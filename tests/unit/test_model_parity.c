// Writes the C side of the PyTorch parity check (tests/integration/model_torch_parity.sh):
//   test_model_parity --dump DIR   -> DIR/{untied,tied}.h5, and DIR/bf16.h5: the untied model
//   with model.precision bf16, for the PyTorch autocast comparison
// Each file is a checkpoint of a tiny model (GQA; the untied one also has q/k/v biases)
// plus /parity/: the batch (tokens, lens, targets, weights), the C logits (N, V), per-token
// losses, the loss L = sum_t w_t CE_t / sum_t w_t, every parameter gradient of L under
// /parity/grad/<HF name>, and the losses of 5 AdamW steps (warmup + cosine, clipping, decay)
// with their hyper-parameters as attributes. Without arguments (as a unit test) it dumps to a
// temporary directory and checks the files read back.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nqtest.h"
#include "model/adamw.h"
#include "files/checkpoint.h"
#include "h5/h5io.h"
#include "model/kernels.h"
#include "model/model.h"

#define NSEQ 3
static const int lens[NSEQ] = {7, 5, 9};
#define NTOK 21
#define NSTEPS 5

typedef struct {
  model *m;
  int32_t tokens[NTOK], targets[NTOK];
  float weights[NTOK], *logits, *loss, *grads, total, steps[NSTEPS + 1];
  adamw_config opt;
  lr_schedule_config sched;
  double max_norm;
} parity;

static float loss_and_grads(model *m, model_acts *a, const parity *p, float *tokloss) {
  int V = m->cfg.vocab_size;
  model_forward(m, a, p->tokens, lens, NSEQ);
  crossentropy_forward(tokloss, a->logits, p->targets, NTOK, V);
  double wsum = 0, l = 0;
  for (int i = 0; i < NTOK; i++)
    if (p->targets[i] >= 0) { wsum += p->weights[i]; l += (double)p->weights[i] * tokloss[i]; }
  float w[NTOK];
  for (int i = 0; i < NTOK; i++) w[i] = (float)(p->weights[i] / wsum);
  float *dl = calloc((size_t)NTOK * V, sizeof(float));
  crossentropy_backward(dl, a->logits, p->targets, w, NTOK, V);
  model_zero_grad(m);
  model_backward(m, a, dl);
  free(dl);
  return (float)(l / wsum);
}

static void write_extra(hid_t f, void *arg) {
  parity *p = arg;
  model *m = p->m;
  int V = m->cfg.vocab_size;
  hid_t g = h5_group_create(f, "parity");
  h5_write_i32(g, "tokens", p->tokens, NTOK);
  h5_write_i32(g, "lens", lens, NSEQ);
  h5_write_i32(g, "targets", p->targets, NTOK);
  h5_write_f32(g, "weights", p->weights, NTOK);
  h5_write_f32(g, "logits", p->logits, (size_t)NTOK * V);
  h5_write_f32(g, "token_loss", p->loss, NTOK);
  h5_write_f32(g, "loss", &p->total, 1);
  h5_write_f32(g, "adamw_losses", p->steps, NSTEPS + 1);
  h5_attr_set_f64(g, "beta1", p->opt.beta1);
  h5_attr_set_f64(g, "beta2", p->opt.beta2);
  h5_attr_set_f64(g, "eps", p->opt.eps);
  h5_attr_set_f64(g, "weight_decay", p->opt.weight_decay);
  h5_attr_set_f64(g, "lr", p->sched.lr);
  h5_attr_set_f64(g, "min_lr", p->sched.min_lr);
  h5_attr_set_i64(g, "warmup_steps", p->sched.warmup_steps);
  h5_attr_set_i64(g, "total_steps", p->sched.total_steps);
  h5_attr_set_f64(g, "max_norm", p->max_norm);
  hid_t gg = h5_group_create(g, "grad");
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *t = &m->tensors[i];
    h5_write_f32_nd(gg, t->name, p->grads + t->offset, t->ndim, t->dims);
  }
  h5_group_close(gg);
  h5_group_close(g);
}

static void dump_one(const char *path, int bias, int tied, int precision) {
  model_config c = {.vocab_size = 64, .dim = 32, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                    .ffn_dim = 48, .max_seq_len = 32, .qkv_bias = bias, .tie_embeddings = tied,
                    .rope_theta = 10000.0f, .norm_eps = 1e-5f, .init_std = 0.1f};
  parity p = {.opt = {0.9f, 0.95f, 1e-8f, 0.1f},
              .sched = {.lr = 3e-3, .min_lr = 3e-4, .warmup_steps = 2, .total_steps = 5},
              .max_norm = 0.5};
  model *m = model_create(&c, 1);
  model_init(m, 2024 + tied);
  if (bias)   // non-zero biases so their effect is visible
    for (int k = P_BQ; k <= P_BV; k++)
      for (size_t i = 0; i < m->sizes[k]; i++)   // fp32 files: as they always were (see below)
        m->params.t[k][i] = precision == MODEL_BF16 ? 0.05f * (float)((long)(i * 37 % 11) - 5)
                                                    : 0.05f * (float)((i * 37 % 11) - 5);
  for (size_t i = 0; i < m->sizes[P_FINAL_NORM]; i++) m->params.t[P_FINAL_NORM][i] = 1.0f + 0.01f * (float)(i % 7);
  p.m = m;
  model_set_precision(m, precision);
  uint64_t s = 77;
  for (int i = 0, o = 0; i < NSEQ; o += lens[i++])
    for (int t = 0; t < lens[i]; t++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      p.tokens[o + t] = (int32_t)((s >> 33) % 64);
      p.weights[o + t] = 0.5f + (float)((s >> 20) % 4) * 0.5f;
    }
  for (int i = 0, o = 0; i < NSEQ; o += lens[i++])
    for (int t = 0; t < lens[i]; t++)
      p.targets[o + t] = t + 1 < lens[i] ? p.tokens[o + t + 1] : -1;
  p.targets[2] = -1;   // an ignored position inside a sequence
  model_acts *a = model_acts_create(m, NTOK, 16);
  p.loss = malloc(NTOK * sizeof(float));
  p.total = loss_and_grads(m, a, &p, p.loss);
  p.logits = malloc((size_t)NTOK * c.vocab_size * sizeof(float));
  memcpy(p.logits, a->logits, (size_t)NTOK * c.vocab_size * sizeof(float));
  p.grads = malloc(m->n_params * sizeof(float));
  memcpy(p.grads, m->grads_mem, m->n_params * sizeof(float));
  // checkpoint = the weights the gradients were taken at; steps run on a copy
  model *w = model_create(&c, 1);
  memcpy(w->params_mem, m->params_mem, m->n_params * sizeof(float));
  model_set_precision(w, precision);
  float tl[NTOK];
  for (int st = 0; st <= NSTEPS; st++) {
    p.steps[st] = loss_and_grads(w, a, &p, tl);
    if (st == NSTEPS) break;
    double n = grad_global_norm(w->grads_mem, w->n_params);
    grad_clip(w->grads_mem, w->n_params, n, p.max_norm);
    model_adamw_step(w, &p.opt, (float)lr_schedule(&p.sched, st), st + 1);
  }
  ckpt_save_info si = {.step = 0, .extra = write_extra, .extra_arg = &p};
  checkpoint_save(path, m, &si);
  model_free(w);
  model_acts_free(a);
  free(p.loss);
  free(p.logits);
  free(p.grads);
  model_free(m);
}

static void dump_all(const char *dir) {
  char path[1024];
  snprintf(path, sizeof path, "%s/untied.h5", dir);
  dump_one(path, 1, 0, MODEL_FP32);
  snprintf(path, sizeof path, "%s/tied.h5", dir);
  dump_one(path, 0, 1, MODEL_FP32);
  snprintf(path, sizeof path, "%s/bf16.h5", dir);
  dump_one(path, 1, 0, MODEL_BF16);
}

static void test_dump_reads_back(void **state) {
  (void)state;
  char *dir = nqtest_tmpdir(), path[1024];
  dump_all(dir);
  snprintf(path, sizeof path, "%s/untied.h5", dir);
  model *m = checkpoint_load(path, 0, NULL);
  assert_int_equal(m->cfg.qkv_bias, 1);
  hid_t f = h5_open_read(path);
  size_t n;
  float *st = h5_read_f32(f, "parity/adamw_losses", &n);
  assert_int_equal((int)n, NSTEPS + 1);
  assert_true(isfinite(st[0]) && st[NSTEPS] < st[0]);   // AdamW steps reduce the loss
  assert_true(h5_exists(f, "parity/grad/model.layers.1.self_attn.v_proj.bias"));
  free(st);
  h5_close(f);
  model_free(m);
  nqtest_rmrf(dir);
  free(dir);
}

int main(int argc, char **argv) {
  log_set_quiet(1);
  if (argc == 3 && !strcmp(argv[1], "--dump")) {
    dump_all(argv[2]);
    return 0;
  }
  if (argc != 1) {
    fprintf(stderr, "usage: %s [--dump DIR]\n", argv[0]);
    return 2;
  }
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_dump_reads_back)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
