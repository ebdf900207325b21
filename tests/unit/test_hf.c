// HF directories: config.json parsing (defaults and unsupported features), export then
// import restores every float bitwise (F32) or its BF16 rounding, checkpoint_load dispatch,
// tokenizer files, and the model.path helpers.
#include "nqtest.h"

#include <jansson.h>

#include "files/checkpoint.h"
#include "config/config.h"
#include "hf/hf.h"
#include "model/model.h"
#include "hf/safetensors.h"
#include "text/tokenizer.h"
#include "base/util.h"
#include "settings/settings.h"


static char *sub(const char *name) { return path_join(nqtest_dir, name); }

static void write_config(const char *d, const char *json) {
  make_dirs(d);
  char *p = path_join(d, "config.json");
  nqtest_write(p, json);
  free(p);
}

#define QWEN_BASE "\"architectures\": [\"Qwen2ForCausalLM\"], \"vocab_size\": 50, \"hidden_size\": 16, " \
                  "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"intermediate_size\": 24"

static void test_config_defaults(void **st) {
  (void)st;
  char *d = sub("cfg");
  write_config(d, "{" QWEN_BASE "}");
  model_config mc;
  char err[512];
  assert_int_equal(hf_read_config(d, &mc, err, sizeof err), 0);
  assert_int_equal(mc.vocab_size, 50);
  assert_int_equal(mc.n_kv_heads, 4);          // defaults to num_attention_heads
  assert_int_equal(mc.qkv_bias, 1);            // Qwen2
  assert_int_equal(mc.tie_embeddings, 0);      // both classes default to untied
  assert_int_equal(mc.max_seq_len, 32768);
  assert_true(mc.rope_theta == 10000.0f && mc.norm_eps == 1e-6f && mc.init_std == 0.02f);
  write_config(d, "{\"model_type\": \"llama\", \"vocab_size\": 50, \"hidden_size\": 16, \"num_hidden_layers\": 1, "
                  "\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"intermediate_size\": 24, "
                  "\"tie_word_embeddings\": true, \"rope_theta\": 500000.0, \"rms_norm_eps\": 1e-05, "
                  "\"max_position_embeddings\": 128, \"rope_scaling\": null, \"head_dim\": 4}");
  assert_int_equal(hf_read_config(d, &mc, err, sizeof err), 0);
  assert_int_equal(mc.qkv_bias, 0);
  assert_int_equal(mc.tie_embeddings, 1);
  assert_int_equal(mc.n_kv_heads, 2);
  assert_int_equal(mc.max_seq_len, 128);
  assert_true(mc.rope_theta == 500000.0f && mc.norm_eps == 1e-5f);
  assert_true(hf_is_model_dir(d));
  assert_false(hf_is_model_dir(nqtest_dir));
  char *cj = path_join(d, "config.json");
  assert_false(hf_is_model_dir(cj));           // a file, not a directory
  free(cj);
  free(d);
}

static void expect_config_error(const char *json, const char *needle) {
  char *d = sub("badcfg");
  write_config(d, json);
  model_config mc;
  char err[512] = "";
  if (hf_read_config(d, &mc, err, sizeof err) == 0) fail_msg("accepted a bad config; expected '%s'", needle);
  if (!strstr(err, needle)) fail_msg("error '%s' lacks '%s'", err, needle);
  if (!strstr(err, "badcfg/config.json")) fail_msg("error '%s' does not name the file", err);
  free(d);
}

static void test_config_errors(void **st) {
  (void)st;
  expect_config_error("{\"architectures\": [\"GPT2LMHeadModel\"]}", "unsupported architecture 'GPT2LMHeadModel'");
  expect_config_error("{\"model_type\": \"gemma\"}", "unsupported model_type 'gemma'");
  expect_config_error("{" QWEN_BASE ", \"hidden_act\": \"gelu\"}", "field 'hidden_act': 'gelu'");
  expect_config_error("{" QWEN_BASE ", \"rope_scaling\": {\"type\": \"yarn\", \"factor\": 4}}", "type 'yarn'");
  expect_config_error("{" QWEN_BASE ", \"use_sliding_window\": true}", "use_sliding_window");
  expect_config_error("{" QWEN_BASE ", \"head_dim\": 8}", "field 'head_dim' 8");
  expect_config_error("{" QWEN_BASE ", \"num_key_value_heads\": 3}", "not a multiple of num_key_value_heads 3");
  expect_config_error("{" QWEN_BASE ", \"tie_word_embeddings\": 1}", "tie_word_embeddings");
  expect_config_error("{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 50}", "field 'hidden_size' is missing");
  expect_config_error("{\"architectures\": [\"LlamaForCausalLM\"], \"attention_bias\": true}", "attention_bias");
  expect_config_error("{" QWEN_BASE ", \"rms_norm_eps\": -1}", "field 'rms_norm_eps'");
  expect_config_error("{" QWEN_BASE ",", "invalid JSON");
  // sizes past any real model stop before an arena of that size is asked for
  expect_config_error("{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 50, \"hidden_size\": 16, "
                      "\"num_hidden_layers\": 1000000000, \"num_attention_heads\": 4, \"intermediate_size\": 24}",
                      "field 'num_hidden_layers' = 1000000000 is out of range [1, 1024]");
  expect_config_error("{" QWEN_BASE ", \"max_position_embeddings\": 1000000000}", "field 'max_position_embeddings'");
}

static model *small_model(int qwen, int tied) {
  model_config mc = {.vocab_size = 40, .dim = 16, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                     .ffn_dim = 24, .max_seq_len = 32, .qkv_bias = qwen, .tie_embeddings = tied,
                     .rope_theta = qwen ? 1e6f : 1e4f, .norm_eps = 1e-6f, .init_std = 0.3f};
  model *m = model_create(&mc, 0);
  model_init(m, 42);
  for (size_t i = 0; i < m->n_params; i++) m->params_mem[i] += 1e-3f * (float)(i % 7);   // norms, biases != 0/1
  return m;
}

static void read_config_of(void *dir) {
  model_config mc;
  checkpoint_read_config(dir, &mc);
}

// config.json's sizes against the tensors in the safetensors header, before allocating: a
// config.json that says 3 layers (or 10^3) over 2 layers of weights names the field.
static void test_config_against_weights(void **st) {
  (void)st;
  char err[512];
  model *m = small_model(0, 0);
  char *d = sub("vs_weights");
  hf_export_opts o = {0};
  assert_int_equal(hf_export(m, d, &o, err, sizeof err), 0);
  model_config mc;
  assert_int_equal(hf_read_config(d, &mc, err, sizeof err), 0);
  assert_int_equal(hf_check_weights(d, &mc, err, sizeof err), 0);
  char *cj = path_join(d, "config.json");
  char *text = read_file(cj, NULL);
  char *at = strstr(text, "\"num_hidden_layers\": 2");
  assert_non_null(at);
  strbuf b;
  sb_init(&b);
  sb_printf(&b, "%.*s\"num_hidden_layers\": 1000%s", (int)(at - text), text, at + strlen("\"num_hidden_layers\": 2"));
  nqtest_write(cj, b.data);
  const char *msg = expect_fatal(read_config_of, d, "field 'num_hidden_layers' = 1000, but ");
  assert_non_null(strstr(msg, "vs_weights/config.json"));
  assert_non_null(strstr(msg, "holds 2"));
  b.len = 0;
  sb_printf(&b, "%.*s\"num_hidden_layers\": 2%s", (int)(at - text), text, at + strlen("\"num_hidden_layers\": 2"));
  char *v = strstr(b.data, "\"vocab_size\": 40");
  assert_non_null(v);
  v[15] = '1';   // "vocab_size": 41
  nqtest_write(cj, b.data);
  expect_fatal(read_config_of, d, "field 'vocab_size' = 41, but ");
  sb_free(&b);
  free(text), free(cj), free(d);
  model_free(m);
}

static void test_export_import(void **st) {
  (void)st;
  char err[512];
  for (int v = 0; v < 4; v++) {
    int qwen = v & 1, tied = v >> 1;
    model *m = small_model(qwen, tied);
    for (int bf = 0; bf < 2; bf++) {
      char *d = sub(bf ? "exp_bf16" : "exp_f32");
      hf_export_opts o = {.bf16 = bf};
      assert_int_equal(hf_export(m, d, &o, err, sizeof err), 0);
      assert_true(hf_is_model_dir(d));
      model_config mc;
      assert_int_equal(hf_read_config(d, &mc, err, sizeof err), 0);
      assert_memory_equal(&mc, &m->cfg, sizeof mc);   // every field, floats bitwise
      model *r = model_create(&mc, 0);
      if (hf_load_into(d, r, err, sizeof err) != 0) fail_msg("%s", err);
      for (size_t i = 0; i < m->n_params; i++) {
        float want = bf ? st_bf16_to_f32(st_f32_to_bf16(m->params_mem[i])) : m->params_mem[i];
        if (memcmp(&want, &r->params_mem[i], 4)) fail_msg("variant %d bf16 %d: param %zu differs", v, bf, i);
      }
      model *c = checkpoint_load(d, 1, NULL);   // dispatch from checkpoint.c
      assert_memory_equal(c->params_mem, r->params_mem, m->n_params * sizeof(float));
      assert_non_null(c->m_mem);
      model_free(c);
      model_free(r);
      free(d);
    }
    model_free(m);
  }
}

static void bf16_storage_equal(const model *a, const model *b) {
  for (int i = 0; i < a->n_tensors; i++) {
    const model_tensor *t = &a->tensors[i];
    const float *fa = model_tensor_f32(a, t), *fb = model_tensor_f32(b, t);
    assert_true(!fa == !fb);
    if (fa) assert_memory_equal(fa, fb, t->numel * sizeof *fa);
    assert_memory_equal(model_tensor_bf16(a, t), model_tensor_bf16(b, t), t->numel * sizeof(bf16));
  }
}

static void file_bytes_equal(const char *d1, const char *d2) {
  char *p1 = path_join(d1, "model.safetensors"), *p2 = path_join(d2, "model.safetensors");
  size_t n1, n2;
  char *b1 = read_file(p1, &n1), *b2 = read_file(p2, &n2);
  assert_int_equal(n1, n2);
  assert_memory_equal(b1, b2, n1);
  free(b1), free(b2), free(p1), free(p2);
}

// A BF16 directory loaded into a forward-only bf16 model goes tensor by tensor into bf16 (no
// fp32 arena) and ends with the storage the fp32 load + model_set_precision gives; exporting
// that bf16-only model writes the same file (BF16) or its exact widening (F32).
static void test_bf16_direct_load(void **st) {
  (void)st;
  char err[512];
  for (int v = 0; v < 2; v++) {
    model *m = small_model(1, v);
    char *d = sub("direct"), *d2 = sub("direct_again"), *d3 = sub("direct_f32");
    assert_int_equal(hf_export(m, d, &(hf_export_opts){.bf16 = 1}, err, sizeof err), 0);
    model *a = checkpoint_load_prec(d, 0, MODEL_BF16, NULL);
    assert_null(a->params_mem);                 // the fp32 arena never existed
    model *b = checkpoint_load(d, 0, NULL);     // the fp32 way, then rounded
    model_set_precision(b, MODEL_BF16);
    bf16_storage_equal(a, b);
    assert_int_equal(hf_export(a, d2, &(hf_export_opts){.bf16 = 1}, err, sizeof err), 0);
    file_bytes_equal(d, d2);
    assert_int_equal(hf_export(a, d3, &(hf_export_opts){.bf16 = 0}, err, sizeof err), 0);
    model *c = checkpoint_load(d3, 0, NULL);
    for (size_t i = 0; i < m->n_params; i++) {
      float want = st_bf16_to_f32(st_f32_to_bf16(m->params_mem[i]));
      if (memcmp(&want, &c->params_mem[i], 4)) fail_msg("tied %d: F32 export of bf16 param %zu differs", v, i);
    }
    model_free(c), model_free(b), model_free(a), model_free(m);
    free(d), free(d2), free(d3);
  }
}

static void test_dir_digest(void **st) {
  (void)st;
  char err[512], h1[65], h2[65], h3[65];
  model *m = small_model(1, 1);
  char *d = sub("digest");
  hf_export_opts o = {0};
  assert_int_equal(hf_export(m, d, &o, err, sizeof err), 0);
  assert_int_equal(hf_dir_digest(d, h1), 0);
  char *other = path_join(d, "README.md");   // not part of the digest
  nqtest_write(other, "hello");
  assert_int_equal(hf_dir_digest(d, h2), 0);
  assert_string_equal(h1, h2);
  m->params_mem[5] += 1.0f;                  // different weights, different digest
  assert_int_equal(hf_export(m, d, &o, err, sizeof err), 0);
  assert_int_equal(hf_dir_digest(d, h3), 0);
  assert_string_not_equal(h1, h3);
  assert_int_equal(strlen(h3), 64);
  assert_int_equal(hf_dir_digest("/nonexistent-nq-dir", h3), -1);
  free(other);
  free(d);
  model_free(m);
}

static void test_load_mismatch(void **st) {
  (void)st;
  char err[512];
  model *m = small_model(1, 0), *other = small_model(0, 0);
  char *d = sub("mismatch");
  hf_export_opts o = {0};
  assert_int_equal(hf_export(m, d, &o, err, sizeof err), 0);
  assert_int_equal(hf_load_into(d, other, err, sizeof err), -1);
  assert_non_null(strstr(err, "architecture differs"));
  char *ms = path_join(d, "model.safetensors");
  unlink(ms);
  assert_int_equal(hf_load_into(d, m, err, sizeof err), -1);
  assert_non_null(strstr(err, "no model.safetensors or model.safetensors.index.json"));
  free(ms);
  free(d);
  model_free(m);
  model_free(other);
}

// A tied checkpoint that stores lm_head.weight anyway: accepted when it equals the embedding.
static void test_tied_head_copy(void **st) {
  (void)st;
  char err[512];
  model *m = small_model(0, 1);
  char *d = sub("tiedcopy");
  hf_export_opts o = {0};
  assert_int_equal(hf_export(m, d, &o, err, sizeof err), 0);
  st_out_tensor *t = xcalloc((size_t)m->n_tensors + 1, sizeof *t);
  for (int i = 0; i < m->n_tensors; i++)
    t[i] = (st_out_tensor){.name = m->tensors[i].name, .data = m->params_mem + m->tensors[i].offset,
                           .ndim = m->tensors[i].ndim, .dims = {m->tensors[i].dims[0], m->tensors[i].dims[1]}};
  t[m->n_tensors] = t[0];   // embed first
  assert_string_equal(t[0].name, "model.embed_tokens.weight");
  t[m->n_tensors].name = "lm_head.weight";
  char *ms = path_join(d, "model.safetensors");
  assert_int_equal(st_write(ms, t, m->n_tensors + 1, ST_F32, err, sizeof err), 0);
  model *r = model_create(&m->cfg, 0);
  assert_int_equal(hf_load_into(d, r, err, sizeof err), 0);
  model *r16 = model_create_prec(&m->cfg, 0, MODEL_BF16);   // compared in bf16 there
  assert_int_equal(hf_load_into(d, r16, err, sizeof err), 0);
  float *other = xmalloc(m->sizes[P_EMBED] * sizeof *other);
  memcpy(other, m->params.t[P_EMBED], m->sizes[P_EMBED] * sizeof *other);
  other[3] += 1.0f;
  t[m->n_tensors].data = other;
  assert_int_equal(st_write(ms, t, m->n_tensors + 1, ST_F32, err, sizeof err), 0);
  assert_int_equal(hf_load_into(d, r, err, sizeof err), -1);
  assert_non_null(strstr(err, "lm_head.weight' differs from the embedding"));
  other[3] = st_bf16_to_f32(st_f32_to_bf16(other[3]));   // a change that survives bf16 rounding
  assert_int_equal(st_write(ms, t, m->n_tensors + 1, ST_BF16, err, sizeof err), 0);
  assert_int_equal(hf_load_into(d, r16, err, sizeof err), -1);
  assert_non_null(strstr(err, "lm_head.weight' differs from the embedding"));
  model_free(r16);
  free(other);
  free(ms);
  free(t);
  free(d);
  model_free(r);
  model_free(m);
}

static void test_export_tokenizer(void **st) {
  (void)st;
  const char *texts[] = {"the cat sat on the mat", "the dog ate the cat food", "a mat for the cat"};
  const char *specials[] = {"<|endoftext|>", "<pad>"};
  tokenizer *t = tok_train(texts, 3, 280, specials, 2);
  char *tj = sub("tok.json");
  assert_int_equal(tok_save_json(t, tj), 0);
  model_config mc = {.vocab_size = tok_vocab_size(t), .dim = 8, .n_layers = 1, .n_heads = 2, .n_kv_heads = 1,
                     .ffn_dim = 8, .max_seq_len = 16, .rope_theta = 1e4f, .norm_eps = 1e-5f, .init_std = 0.02f};
  model *m = model_create(&mc, 0);
  model_init(m, 1);
  char *d = sub("exp_tok"), err[512];
  hf_export_opts o = {.tokenizer = tj};
  assert_int_equal(hf_export(m, d, &o, err, sizeof err), 0);
  char *p = path_join(d, "tokenizer.json");
  tokenizer *back = tok_load_json(p, err, sizeof err);
  assert_non_null(back);
  assert_string_equal(tok_digest(back), tok_digest(t));
  free(p);
  p = path_join(d, "tokenizer_config.json");
  char *text = read_file(p, NULL);
  assert_non_null(text);
  assert_non_null(strstr(text, "PreTrainedTokenizerFast"));
  assert_non_null(strstr(text, "\"pad_token\": \"<pad>\""));
  free(text);
  free(p);
  p = path_join(d, "config.json");
  json_t *cj = json_load_file(p, 0, NULL);
  assert_int_equal(json_integer_value(json_object_get(cj, "eos_token_id")), tok_special_id(t, "<|endoftext|>"));
  json_object_set_new(cj, "eos_token_id", json_integer(3));   // as if the source were an instruct model
  json_object_set_new(cj, "pad_token_id", json_integer(5));
  assert_int_equal(json_dump_file(cj, p, 0), 0);
  json_decref(cj);
  free(p);
  // from a HF directory: its tokenizer files are copied and its token ids kept
  char *d2 = sub("exp_tok2");
  o.tokenizer = d;
  assert_int_equal(hf_export(m, d2, &o, err, sizeof err), 0);
  p = path_join(d2, "tokenizer_config.json");
  assert_true(file_exists(p));
  free(p);
  p = path_join(d2, "config.json");
  cj = json_load_file(p, 0, NULL);
  assert_int_equal(json_integer_value(json_object_get(cj, "eos_token_id")), 3);
  assert_int_equal(json_integer_value(json_object_get(cj, "pad_token_id")), 5);
  json_decref(cj);
  free(p);
  // a model smaller than the tokenizer is refused
  mc.vocab_size = 100;
  model *small = model_create(&mc, 0);
  o.tokenizer = tj;
  assert_int_equal(hf_export(small, d2, &o, err, sizeof err), -1);
  assert_non_null(strstr(err, "the model's vocabulary is 100"));
  model_free(small);
  model_free(m);
  tok_free(back);
  tok_free(t);
  free(d);
  free(d2);
  free(tj);
}

static void test_model_path_keys(void **st) {
  (void)st;
  char *cfgp = sub("x.cfg");
  nqtest_write(cfgp, "name = \"t\"; run_dir = \"r\"; model: { path = \"/models/Qwen2.5-0.5B-Instruct\"; };\n");
  settings *c = settings_load(cfgp, NULL, 0);
  assert_string_equal(hf_model_path(c), "/models/Qwen2.5-0.5B-Instruct");
  char *tp = hf_tokenizer_path(c);
  assert_string_equal(tp, "/models/Qwen2.5-0.5B-Instruct/tokenizer.json");
  free(tp);
  settings_free(c);
  const char *set[] = {"tokenizer.path=own.json"};
  c = settings_load(cfgp, set, 1);
  tp = hf_tokenizer_path(c);
  assert_string_equal(tp, "own.json");
  free(tp);
  settings_free(c);
  nqtest_write(cfgp, "name = \"t\"; run_dir = \"r\"; seed = 1;\n");
  c = settings_load(cfgp, NULL, 0);
  assert_null(hf_model_path(c));
  assert_null(hf_tokenizer_path(c));
  settings_free(c);
  free(cfgp);
}

int main(void) {
  settings_schema_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_config_defaults), cmocka_unit_test(test_config_errors),
      cmocka_unit_test(test_export_import),   cmocka_unit_test(test_load_mismatch),
      cmocka_unit_test(test_tied_head_copy),  cmocka_unit_test(test_export_tokenizer),
      cmocka_unit_test(test_model_path_keys), cmocka_unit_test(test_dir_digest),
      cmocka_unit_test(test_bf16_direct_load), cmocka_unit_test(test_config_against_weights),
  };
  return cmocka_run_group_tests(tests, nqtest_dir_setup, nqtest_dir_teardown);
}
