// HF directories, reading side: config.json (LlamaForCausalLM, Qwen2ForCausalLM) and the
// safetensors weights mapped onto the model arena by HF tensor name. See hf.h, docs/hf.md.
#include "hf/hf_names.h"
#include "hf/hf.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "hf/safetensors.h"
#include "base/util.h"


int hf_is_model_dir(const char *path) {
  struct stat st;
  if (!path || stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
  char *c = path_join(path, HF_CONFIG);
  int ok = file_exists(c);
  free(c);
  return ok;
}

// ---- config.json ------------------------------------------------------------------------------
// Upper bounds of config.json's sizes: several times the largest released models (Llama 3.1
// 405B: 126 layers, hidden 16384, vocab 128256; Gemma: vocab 256000), far below what would
// overflow the arena's size_t arithmetic. A value past one is refused before anything is
// allocated (a 10^9-layer config.json used to end in "out of memory", naming nothing).
enum {
  HF_MAX_VOCAB = 1 << 21, HF_MAX_HIDDEN = 1 << 16, HF_MAX_LAYERS = 1024, HF_MAX_HEADS = 1024,
  HF_MAX_FFN = 1 << 18, HF_MAX_POSITIONS = 1 << 20,
};

// Integer field in [lo, hi], or `def` when absent (def < 0: required).
static int get_int(json_t *root, const char *path, const char *key, long def, long lo, long hi, long *out,
                   char *err, size_t errlen) {
  json_t *v = json_object_get(root, key);
  if (!v || json_is_null(v)) {
    if (def < 0) return err_set(err, errlen, "%s: field '%s' is missing", path, key);
    *out = def;
    return 0;
  }
  if (!json_is_integer(v)) return err_set(err, errlen, "%s: field '%s' must be an integer >= %ld", path, key, lo);
  json_int_t x = json_integer_value(v);
  if (x < lo || x > hi)
    return err_set(err, errlen, "%s: field '%s' = %lld is out of range [%ld, %ld]", path, key, (long long)x, lo, hi);
  *out = (long)x;
  return 0;
}

static int get_num(json_t *root, const char *path, const char *key, double def, double *out,
                   char *err, size_t errlen) {
  json_t *v = json_object_get(root, key);
  if (!v || json_is_null(v)) { *out = def; return 0; }
  if (!json_is_number(v) || !(json_number_value(v) > 0))
    return err_set(err, errlen, "%s: field '%s' must be a positive number", path, key);
  *out = json_number_value(v);
  return 0;
}

static int parse_config(json_t *root, const char *path, model_config *mc, char *err, size_t errlen) {
  memset(mc, 0, sizeof *mc);
  json_t *arch = json_array_get(json_object_get(root, "architectures"), 0);
  const char *a = json_string_value(arch), *mt = json_string_value(json_object_get(root, "model_type"));
  int qwen;
  if (a && !strcmp(a, "Qwen2ForCausalLM")) qwen = 1;
  else if (a && !strcmp(a, "LlamaForCausalLM")) qwen = 0;
  else if (a) return err_set(err, errlen, "%s: unsupported architecture '%s' (LlamaForCausalLM or Qwen2ForCausalLM)", path, a);
  else if (mt && !strcmp(mt, "qwen2")) qwen = 1;
  else if (mt && !strcmp(mt, "llama")) qwen = 0;
  else return err_set(err, errlen, "%s: unsupported model_type '%s' and no architectures (llama or qwen2)", path, mt ? mt : "(none)");
  const char *act = json_string_value(json_object_get(root, "hidden_act"));
  if (act && strcmp(act, "silu"))
    return err_set(err, errlen, "%s: field 'hidden_act': '%s' is not supported (silu)", path, act);
  json_t *rs = json_object_get(root, "rope_scaling");
  if (rs && !json_is_null(rs)) {
    const char *ty = json_string_value(json_object_get(rs, "rope_type"));
    if (!ty) ty = json_string_value(json_object_get(rs, "type"));
    if (!ty || strcmp(ty, "default"))
      return err_set(err, errlen, "%s: field 'rope_scaling': type '%s' is not supported (plain RoPE only)", path, ty ? ty : "?");
  }
  if (json_is_true(json_object_get(root, "mlp_bias")))
    return err_set(err, errlen, "%s: field 'mlp_bias': MLP biases are not supported", path);
  if (!qwen && json_is_true(json_object_get(root, "attention_bias")))
    return err_set(err, errlen, "%s: field 'attention_bias': Llama attention biases (incl. o_proj) are not supported", path);
  if (qwen && json_is_true(json_object_get(root, "use_sliding_window")))
    return err_set(err, errlen, "%s: field 'use_sliding_window': sliding-window attention is not supported", path);
  long V, D, L, H, KV, F, T;
  if (get_int(root, path, "vocab_size", -1, 2, HF_MAX_VOCAB, &V, err, errlen) ||
      get_int(root, path, "hidden_size", -1, 2, HF_MAX_HIDDEN, &D, err, errlen) ||
      get_int(root, path, "num_hidden_layers", -1, 1, HF_MAX_LAYERS, &L, err, errlen) ||
      get_int(root, path, "num_attention_heads", -1, 1, HF_MAX_HEADS, &H, err, errlen) ||
      get_int(root, path, "num_key_value_heads", H, 1, HF_MAX_HEADS, &KV, err, errlen) ||
      get_int(root, path, "intermediate_size", -1, 1, HF_MAX_FFN, &F, err, errlen) ||
      get_int(root, path, "max_position_embeddings", qwen ? 32768 : 2048, 1, HF_MAX_POSITIONS, &T, err, errlen))
    return -1;
  if (D % H || (D / H) % 2) return err_set(err, errlen, "%s: hidden_size %ld / num_attention_heads %ld is not an even head size", path, D, H);
  if (H % KV) return err_set(err, errlen, "%s: num_attention_heads %ld is not a multiple of num_key_value_heads %ld", path, H, KV);
  long hd;
  if (get_int(root, path, "head_dim", D / H, 1, HF_MAX_HIDDEN, &hd, err, errlen)) return -1;
  if (hd != D / H) return err_set(err, errlen, "%s: field 'head_dim' %ld != hidden_size / num_attention_heads (%ld) is not supported", path, hd, D / H);
  double theta, eps, init;
  if (get_num(root, path, "rope_theta", 10000.0, &theta, err, errlen) ||
      get_num(root, path, "rms_norm_eps", 1e-6, &eps, err, errlen) ||
      get_num(root, path, "initializer_range", 0.02, &init, err, errlen))
    return -1;
  json_t *tie = json_object_get(root, "tie_word_embeddings");
  if (tie && !json_is_boolean(tie)) return err_set(err, errlen, "%s: field 'tie_word_embeddings' must be true or false", path);
  mc->vocab_size = (int)V;
  mc->dim = (int)D;
  mc->n_layers = (int)L;
  mc->n_heads = (int)H;
  mc->n_kv_heads = (int)KV;
  mc->ffn_dim = (int)F;
  mc->max_seq_len = (int)T;
  mc->qkv_bias = qwen;
  mc->tie_embeddings = json_is_true(tie);   // both classes default to untied
  mc->rope_theta = (float)theta;
  mc->norm_eps = (float)eps;
  mc->init_std = (float)init;
  return 0;
}

int hf_read_config(const char *dir, model_config *mc, char *err, size_t errlen) {
  char *path = path_join(dir, HF_CONFIG);
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  int rc;
  if (!root) rc = err_set(err, errlen, "%s:%d: invalid JSON: %s", path, je.line, je.text);
  else if (!json_is_object(root)) rc = err_set(err, errlen, "%s: not a JSON object", path);
  else rc = parse_config(root, path, mc, err, errlen);
  json_decref(root);
  free(path);
  return rc;
}

// ---- weights ----------------------------------------------------------------------------------
// Opens the index (preferred) or the single file; *wpath gets the one opened (caller frees).
static int open_weights(const char *dir, st_set *s, char **wpath, char *err, size_t errlen) {
  char *idx = path_join(dir, HF_WEIGHTS_INDEX), *one = path_join(dir, HF_WEIGHTS);
  int rc;
  *wpath = NULL;
  if (file_exists(idx)) rc = st_open(s, *wpath = idx, err, errlen);
  else if (file_exists(one)) rc = st_open(s, *wpath = one, err, errlen);
  else rc = err_set(err, errlen, "%s: no model.safetensors or model.safetensors.index.json "
                 "(PyTorch .bin weights are not supported: convert them to safetensors)", dir);
  if (*wpath != idx) free(idx);
  if (*wpath != one) free(one);
  return rc;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

enum { CONVERT_CHUNK = 1 << 20 };   // elements converted at a time through a buffer

// t's elements into mt's place in the model: straight into the fp32 arena, or (a forward-only
// bf16 model, no fp32 arena) through a small fp32 buffer into its bf16 storage, so a bf16
// model never holds the fp32 weights. The file's pages are dropped after. -1: unknown dtype.
static int store_tensor(const st_set *s, const st_tensor *t, model *m, const model_tensor *mt) {
  int rc = 0;
  if (m->params_mem) {
    rc = st_to_f32(t, m->params_mem + mt->offset);
  } else {
    float *buf = xmalloc(CONVERT_CHUNK * sizeof *buf);
    for (size_t j = 0; j < t->numel && !rc; j += CONVERT_CHUNK) {
      size_t n = t->numel - j < CONVERT_CHUNK ? t->numel - j : CONVERT_CHUNK;
      if (!(rc = st_to_f32_range(t, j, n, buf))) model_tensor_store(m, mt, j, n, buf);
    }
    free(buf);
  }
  st_release(s, t);
  return rc;
}

// Whether a tied model's stored lm_head.weight t equals the embedding already loaded: in fp32,
// or for a bf16-only model in bf16 (both rounded as they were stored).
static int head_is_embedding(const st_set *s, const st_tensor *t, const model *m) {
  const model_tensor *emb = NULL;
  for (int i = 0; i < m->n_tensors && !emb; i++)
    if (m->tensors[i].kind == P_EMBED) emb = &m->tensors[i];
  const float *e32 = model_tensor_f32(m, emb);
  const bf16 *e16 = model_tensor_bf16(m, emb);
  float *a = xmalloc(CONVERT_CHUNK * sizeof *a);
  bf16 *a16 = xmalloc(CONVERT_CHUNK * sizeof *a16);
  int same = 1;
  for (size_t j = 0; j < t->numel && same; j += CONVERT_CHUNK) {
    size_t n = t->numel - j < CONVERT_CHUNK ? t->numel - j : CONVERT_CHUNK;
    same = !st_to_f32_range(t, j, n, a);
    if (same && e32) {
      same = !memcmp(a, e32 + j, n * sizeof *a);
    } else if (same) {
      bf16_from_f32(a16, a, n);
      same = !memcmp(a16, e16 + j, n * sizeof *a16);
    }
  }
  free(a), free(a16);
  st_release(s, t);
  return same;
}

static int load_weights(const st_set *s, const char *wpath, model *m, char *err, size_t errlen) {
  char *used = xcalloc((size_t)s->n + 1, 1);
  int rc = 0;
  for (int i = 0; i < m->n_tensors && !rc; i++) {
    const model_tensor *mt = &m->tensors[i];
    const st_tensor *t = st_find(s, mt->name);
    if (!t) { rc = err_set(err, errlen, "%s: tensor '%s' is missing", wpath, mt->name); break; }
    used[t - s->t] = 1;
    int ok = t->ndim == mt->ndim;
    for (int d = 0; ok && d < t->ndim; d++) ok = t->dims[d] == mt->dims[d];
    if (!ok) {
      char want[64], got[64] = "";
      snprintf(want, sizeof want, mt->ndim == 2 ? "[%zu, %zu]" : "[%zu]", mt->dims[0], mt->dims[1]);
      for (int d = 0; d < t->ndim; d++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%zu", d ? ", " : "[", t->dims[d]);
      rc = err_set(err, errlen, "%s: tensor '%s' has shape %s], config.json implies %s", s->paths[t->file],
                mt->name, t->ndim ? got : "[", want);
    } else if (store_tensor(s, t, m, mt) != 0) {
      rc = err_set(err, errlen, "%s: tensor '%s' has dtype %s (F32, BF16 or F16 supported)", s->paths[t->file],
                mt->name, t->dtype_name);
    }
  }
  for (int j = 0; j < s->n && !rc; j++) {
    const st_tensor *t = &s->t[j];
    if (used[j] || ends_with(t->name, "rotary_emb.inv_freq")) continue;
    if (m->cfg.tie_embeddings && !strcmp(t->name, "lm_head.weight") && t->numel == m->sizes[P_EMBED] &&
        t->dtype != ST_OTHER) {   // some tied checkpoints store the head anyway
      if (head_is_embedding(s, t, m)) continue;
      rc = err_set(err, errlen, "%s: tensor 'lm_head.weight' differs from the embedding but config.json has "
                "tie_word_embeddings=true", s->paths[t->file]);
      break;
    }
    rc = err_set(err, errlen, "%s: unexpected tensor '%s' (not part of this %s architecture)", s->paths[t->file],
              t->name, m->cfg.qkv_bias ? "Qwen2" : "Llama");
  }
  free(used);
  return rc;
}

int hf_load_into(const char *dir, model *m, char *err, size_t errlen) {
  model_config mc;
  if (hf_read_config(dir, &mc, err, errlen)) return -1;
  const model_config *c = &m->cfg;
  if (mc.vocab_size != c->vocab_size || mc.dim != c->dim || mc.n_layers != c->n_layers ||
      mc.n_heads != c->n_heads || mc.n_kv_heads != c->n_kv_heads || mc.ffn_dim != c->ffn_dim ||
      mc.qkv_bias != c->qkv_bias || mc.tie_embeddings != c->tie_embeddings)
    return err_set(err, errlen, "%s: config.json architecture differs from the model's (hidden %d/%d, layers %d/%d, vocab %d/%d)",
                dir, mc.dim, c->dim, mc.n_layers, c->n_layers, mc.vocab_size, c->vocab_size);
  st_set s;
  char *wpath;
  if (open_weights(dir, &s, &wpath, err, errlen)) {
    free(wpath);
    return -1;
  }
  int rc = load_weights(&s, wpath, m, err, errlen);
  st_close(&s);
  free(wpath);
  return rc;
}

// Dimension d of tensor `name` when it is there with `ndim` dimensions, else -1.
static long tensor_dim(const st_set *s, const char *name, int ndim, int d) {
  const st_tensor *t = st_find(s, name);
  return t && t->ndim == ndim ? (long)t->dims[d] : -1;
}

// One config.json size against the weights: `got` < 0 (the tensor is missing or has another
// rank) is left to hf_load_into, which names the tensor.
static int check_size(const char *path, const char *key, long want, long got, const char *what, const char *wpath,
                      char *err, size_t errlen) {
  if (got < 0 || got == want) return 0;
  return err_set(err, errlen, "%s: field '%s' = %ld, but %s holds %ld (%s)", path, key, want, wpath, got, what);
}

int hf_check_weights(const char *dir, const model_config *mc, char *err, size_t errlen) {
  st_set s;
  char *wpath, *path = path_join(dir, HF_CONFIG);
  int rc = open_weights(dir, &s, &wpath, err, errlen);
  if (rc) {
    free(wpath), free(path);
    return -1;
  }
  long layers = 0;   // 1 + the highest N of "model.layers.N."
  for (int i = 0; i < s.n; i++) {
    long n;
    int at = 0;
    if (sscanf(s.t[i].name, "model.layers.%ld.%n", &n, &at) == 1 && at && n >= 0 && n + 1 > layers) layers = n + 1;
  }
  rc = check_size(path, "vocab_size", mc->vocab_size, tensor_dim(&s, "model.embed_tokens.weight", 2, 0),
                  "rows of model.embed_tokens.weight", wpath, err, errlen) ||
       check_size(path, "hidden_size", mc->dim, tensor_dim(&s, "model.embed_tokens.weight", 2, 1),
                  "columns of model.embed_tokens.weight", wpath, err, errlen) ||
       check_size(path, "num_hidden_layers", mc->n_layers, layers, "layers model.layers.N", wpath, err, errlen) ||
       check_size(path, "intermediate_size", mc->ffn_dim, tensor_dim(&s, "model.layers.0.mlp.gate_proj.weight", 2, 0),
                  "rows of model.layers.0.mlp.gate_proj.weight", wpath, err, errlen)
           ? -1 : 0;
  st_close(&s);
  free(wpath), free(path);
  return rc;
}

void hf_read_config_or_die(const char *dir, model_config *mc) {
  char err[1024];
  if (hf_read_config(dir, mc, err, sizeof err)) fatal("%s", err);
  model_config_check(mc);
  // before any arena of that size exists: config.json against the tensors' header shapes
  if (hf_check_weights(dir, mc, err, sizeof err)) fatal("%s", err);
}

void hf_load_into_or_die(const char *dir, model *m) {
  char err[1024];
  if (hf_load_into(dir, m, err, sizeof err)) fatal("%s", err);
}
