// Writes the C side of the LoRA PyTorch parity check (tests/integration/lora_torch_parity.sh):
//   test_lora_parity --dump DIR   -> DIR/lora.h5
// A checkpoint of a tiny frozen base (GQA, q/k/v biases, untied head) plus /parity/: the batch
// (tokens, lens, targets, weights), LoRA r = 3, alpha = 6 on every projection (A from lora_init,
// B filled non-zero so the adapters change the output), each A and B under /parity/lora/<PEFT
// name without the base_model.model. prefix>, the C logits (N, V), per-token losses, the loss
// L = sum_t w_t CE_t / sum_t w_t and the gradient of L with respect to every A and B under
// /parity/lora_grad/<name>. Without arguments (as a unit test) it dumps to a temporary
// directory and checks the file reads back.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nqtest.h"
#include "base/util.h"
#include "files/checkpoint.h"
#include "h5/h5io.h"
#include "model/kernels.h"
#include "model/lora.h"
#include "model/model.h"

#define NSEQ 3
static const int lens[NSEQ] = {7, 5, 9};
#define NTOK 21

typedef struct {
  model *m;
  int32_t tokens[NTOK], targets[NTOK];
  float weights[NTOK], *logits, loss[NTOK], total;
} parity;

static void make_batch(parity *p, int V) {
  uint64_t s = 77;
  for (int i = 0, o = 0; i < NSEQ; o += lens[i++])
    for (int t = 0; t < lens[i]; t++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      p->tokens[o + t] = (int32_t)((s >> 33) % (uint64_t)V);
      p->weights[o + t] = 0.5f + (float)((s >> 20) % 4) * 0.5f;
    }
  for (int i = 0, o = 0; i < NSEQ; o += lens[i++])
    for (int t = 0; t < lens[i]; t++) p->targets[o + t] = t + 1 < lens[i] ? p->tokens[o + t + 1] : -1;
  p->targets[2] = -1;   // an ignored position inside a sequence
}

// Forward, weighted cross-entropy and backward into the adapters' gradient arena.
static void loss_and_grads(parity *p, model_acts *a) {
  model *m = p->m;
  int V = m->cfg.vocab_size;
  model_forward(m, a, p->tokens, lens, NSEQ);
  crossentropy_forward(p->loss, a->logits, p->targets, NTOK, V);
  double wsum = 0, l = 0;
  for (int i = 0; i < NTOK; i++)
    if (p->targets[i] >= 0) { wsum += p->weights[i]; l += (double)p->weights[i] * p->loss[i]; }
  float w[NTOK];
  for (int i = 0; i < NTOK; i++) w[i] = (float)(p->weights[i] / wsum);
  float *dl = xcalloc((size_t)NTOK * V, sizeof(float));
  crossentropy_backward(dl, a->logits, p->targets, w, NTOK, V);
  lora_zero_grad(m->adapters->self);
  model_backward(m, a, dl);
  free(dl);
  p->total = (float)(l / wsum);
  p->logits = xmalloc((size_t)NTOK * V * sizeof(float));
  memcpy(p->logits, a->logits, (size_t)NTOK * V * sizeof(float));
}

static void write_extra(hid_t f, void *arg) {
  parity *p = arg;
  const lora *lo = p->m->adapters->self;
  hid_t g = h5_group_create(f, "parity");
  h5_write_i32(g, "tokens", p->tokens, NTOK);
  h5_write_i32(g, "lens", lens, NSEQ);
  h5_write_i32(g, "targets", p->targets, NTOK);
  h5_write_f32(g, "weights", p->weights, NTOK);
  h5_write_f32(g, "logits", p->logits, (size_t)NTOK * p->m->cfg.vocab_size);
  h5_write_f32(g, "token_loss", p->loss, NTOK);
  h5_write_f32(g, "loss", &p->total, 1);
  h5_attr_set_i64(g, "lora_rank", lo->cfg.rank);
  h5_attr_set_f64(g, "lora_alpha", lo->cfg.alpha);
  hid_t ga = h5_group_create(g, "lora"), gg = h5_group_create(g, "lora_grad");
  for (int i = 0; i < lo->n_tensors; i++) {
    const model_tensor *t = &lo->tensors[i];
    h5_write_f32_nd(ga, t->name, lo->params_mem + t->offset, t->ndim, t->dims);
    h5_write_f32_nd(gg, t->name, lo->grads_mem + t->offset, t->ndim, t->dims);
  }
  h5_group_close(gg);
  h5_group_close(ga);
  h5_group_close(g);
}

static void dump(const char *dir) {
  model_config c = {.vocab_size = 64, .dim = 32, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                    .ffn_dim = 48, .max_seq_len = 32, .qkv_bias = 1, .tie_embeddings = 0,
                    .rope_theta = 10000.0f, .norm_eps = 1e-5f, .init_std = 0.1f};
  model *m = model_create(&c, 0);   // frozen base: no gradient arena
  model_init(m, 2024);
  for (int k = P_BQ; k <= P_BV; k++)
    for (size_t i = 0; i < m->sizes[k]; i++) m->params.t[k][i] = 0.05f * (float)((long)(i * 37 % 11) - 5);
  lora_config lc = {.rank = 3, .alpha = 6, .dropout = 0, .targets = lora_all_targets()};
  lora *lo = lora_create(&lc, &m->cfg, 1);
  lora_attach(lo, m);
  lora_init(lo, 7);
  uint64_t s = 5;
  for (int i = 0; i < lo->n_tensors; i++) {   // B != 0: the adapters act
    const model_tensor *t = &lo->tensors[i];
    if (!strstr(t->name, "lora_B")) continue;
    for (size_t j = 0; j < t->numel; j++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      lo->params_mem[t->offset + j] = 0.2f * (float)((double)(s >> 11) / 9007199254740992.0 - 0.5);
    }
  }
  parity p = {.m = m};
  make_batch(&p, c.vocab_size);
  model_acts *a = model_acts_create(m, NTOK, 16);
  loss_and_grads(&p, a);
  char path[1024];
  snprintf(path, sizeof path, "%s/lora.h5", dir);
  checkpoint_save(path, m, &(ckpt_save_info){.step = 0, .extra = write_extra, .extra_arg = &p});
  model_acts_free(a);
  free(p.logits);
  model_free(m);
  lora_free(lo);
}

static void test_dump_reads_back(void **state) {
  (void)state;
  char *dir = nqtest_tmpdir(), path[1024];
  dump(dir);
  snprintf(path, sizeof path, "%s/lora.h5", dir);
  hid_t f = h5_open_read(path);
  assert_true(h5_exists(f, "parity/lora_grad/model.layers.1.mlp.down_proj.lora_A.weight"));
  size_t n;
  float *g = h5_read_f32(f, "parity/lora_grad/model.layers.0.self_attn.q_proj.lora_B.weight", &n);
  double norm = 0;
  for (size_t i = 0; i < n; i++) norm += (double)g[i] * g[i];
  assert_true(n == 32 * 3 && norm > 0);   // the gradient reached the first layer's adapters
  free(g);
  h5_close(f);
  nqtest_rmrf(dir);
  free(dir);
}

int main(int argc, char **argv) {
  log_set_quiet(1);
  if (argc == 3 && !strcmp(argv[1], "--dump")) {
    dump(argv[2]);
    return 0;
  }
  if (argc != 1) {
    fprintf(stderr, "usage: %s [--dump DIR]\n", argv[0]);
    return 2;
  }
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_dump_reads_back)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
