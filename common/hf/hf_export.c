// HF directories, writing side: config.json, model.safetensors (F32/BF16) and the tokenizer
// files of one of our models; and the `model.path` helpers. See hf.h, docs/hf.md.
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hf/hf_names.h"
#include "hf/hf.h"
#include "base/jsonl.h"
#include "base/log.h"
#include "hf/safetensors.h"
#include "base/sha256.h"
#include "text/tokenizer.h"
#include "base/util.h"


// The shortest decimal that reads back as the same float (1e-06, not 9.9999999747e-07).
static json_t *jfloat(float x) {
  char buf[32];
  for (int p = 1; p <= 9; p++) {
    snprintf(buf, sizeof buf, "%.*g", p, (double)x);
    if ((float)strtod(buf, NULL) == x) break;
  }
  return json_real(strtod(buf, NULL));
}

static void jset(json_t *o, const char *k, json_t *v) {
  if (!v || json_object_set_new(o, k, v) != 0) error("config.json: setting '%s'", k);
}

// `ids`: bos/eos/pad token ids to record (may be NULL).
static char *config_json(const model *m, int bf16, json_t *ids) {
  const model_config *c = &m->cfg;
  int qwen = c->qkv_bias;
  json_t *r = json_object();
  if (!r) error("config.json: out of memory");
  jset(r, "architectures", json_pack("[s]", qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM"));
  jset(r, "model_type", json_string(qwen ? "qwen2" : "llama"));
  jset(r, "vocab_size", json_integer(c->vocab_size));
  jset(r, "hidden_size", json_integer(c->dim));
  jset(r, "intermediate_size", json_integer(c->ffn_dim));
  jset(r, "num_hidden_layers", json_integer(c->n_layers));
  jset(r, "num_attention_heads", json_integer(c->n_heads));
  jset(r, "num_key_value_heads", json_integer(c->n_kv_heads));
  jset(r, "hidden_act", json_string("silu"));
  jset(r, "max_position_embeddings", json_integer(c->max_seq_len));
  jset(r, "rope_theta", jfloat(c->rope_theta));
  jset(r, "rope_scaling", json_null());
  jset(r, "rms_norm_eps", jfloat(c->norm_eps));
  jset(r, "initializer_range", jfloat(c->init_std));
  jset(r, "tie_word_embeddings", json_boolean(c->tie_embeddings));
  jset(r, "attention_dropout", json_real(0.0));
  if (qwen) {
    jset(r, "use_sliding_window", json_false());
    jset(r, "sliding_window", json_integer(c->max_seq_len));
    jset(r, "max_window_layers", json_integer(c->n_layers));
  } else {
    jset(r, "attention_bias", json_false());
    jset(r, "mlp_bias", json_false());
    jset(r, "pretraining_tp", json_integer(1));
  }
  if (ids && json_object_update(r, ids) != 0) error("config.json: adding token ids");
  jset(r, "torch_dtype", json_string(bf16 ? "bfloat16" : "float32"));
  jset(r, "use_cache", json_true());
  char *s = json_dumps(r, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
  json_decref(r);
  if (!s) error("config.json: serializing");
  return s;
}

static int copy_file(const char *from, const char *to, char *err, size_t errlen) {
  size_t n;
  char *b = read_file(from, &n);
  if (!b) return err_set(err, errlen, "%s: cannot read: %s", from, strerror(errno));
  write_file_atomic(to, b, n);
  free(b);
  return 0;
}

// Copies the tokenizer files; *ids gets the bos/eos/pad ids for config.json: those of the
// source directory's config.json, else <|endoftext|>'s id as bos and eos.
static int export_tokenizer(const model *m, const char *dir, const char *src, json_t **ids, char *err,
                            size_t errlen) {
  static const char *const files[] = {HF_TOKENIZER, HF_TOKENIZER_CONFIG, HF_SPECIAL_TOKENS,
                                      HF_GENERATION_CONFIG, HF_VOCAB, HF_MERGES};
  struct stat st;
  int from_dir = stat(src, &st) == 0 && S_ISDIR(st.st_mode);
  char *tj = from_dir ? path_join(src, HF_TOKENIZER) : xstrdup(src);
  char terr[512];
  tokenizer *t = tok_load_json(tj, terr, sizeof terr);
  int rc = 0;
  if (!t) rc = err_set(err, errlen, "%s", terr);
  else if (tok_vocab_size(t) > m->cfg.vocab_size)
    rc = err_set(err, errlen, "%s: %d tokens but the model's vocabulary is %d", tj, tok_vocab_size(t), m->cfg.vocab_size);
  int eos = t ? tok_special_id(t, "<|endoftext|>") : -1;
  *ids = json_object();
  if (!*ids) error("config.json: out of memory");
  static const char *const id_keys[] = {"bos_token_id", "eos_token_id", "pad_token_id"};
  char *src_cfg = from_dir ? path_join(src, HF_CONFIG) : NULL;
  json_t *sc = src_cfg && file_exists(src_cfg) ? json_load_file(src_cfg, 0, NULL) : NULL;
  for (size_t k = 0; k < 3; k++) {
    json_t *v = json_object_get(sc, id_keys[k]);
    if (v) jset(*ids, id_keys[k], json_incref(v));
  }
  if (!json_object_size(*ids) && eos >= 0) {
    jset(*ids, "bos_token_id", json_integer(eos));
    jset(*ids, "eos_token_id", json_integer(eos));
  }
  json_decref(sc);
  free(src_cfg);
  for (size_t i = 0; !rc && i < sizeof files / sizeof files[0]; i++) {
    char *in = from_dir ? path_join(src, files[i]) : (i == 0 ? xstrdup(src) : NULL);
    char *out = path_join(dir, files[i]);
    if (in && file_exists(in)) rc = copy_file(in, out, err, errlen);
    free(in);
    free(out);
  }
  char *tc = path_join(dir, HF_TOKENIZER_CONFIG);
  if (!rc && !file_exists(tc)) {   // minimal config so AutoTokenizer finds tokenizer.json
    json_t *j = json_pack("{s:s, s:i, s:b}", "tokenizer_class", "PreTrainedTokenizerFast",
                          "model_max_length", m->cfg.max_seq_len, "clean_up_tokenization_spaces", 0);
    if (!j) error("tokenizer_config.json: out of memory");
    if (eos >= 0) jset(j, "eos_token", json_string("<|endoftext|>"));
    if (tok_special_id(t, "<pad>") >= 0) jset(j, "pad_token", json_string("<pad>"));
    json_write_file(tc, j, JSON_INDENT(2), 0);
    json_decref(j);
  }
  free(tc);
  free(tj);
  tok_free(t);
  return rc;
}

int hf_export(const model *m, const char *dir, const hf_export_opts *o, char *err, size_t errlen) {
  make_dirs(dir);
  json_t *ids = NULL;
  if (o->tokenizer && export_tokenizer(m, dir, o->tokenizer, &ids, err, errlen)) {
    json_decref(ids);
    return -1;
  }
  st_out_tensor *t = xcalloc((size_t)m->n_tensors, sizeof *t);
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *mt = &m->tensors[i];
    t[i].name = mt->name;
    t[i].data = model_tensor_f32(m, mt);     // NULL for a bf16-only model's matrices:
    t[i].data16 = model_tensor_bf16(m, mt);  // their bf16 storage is written (as is in BF16)
    t[i].ndim = mt->ndim;
    for (int d = 0; d < mt->ndim; d++) t[i].dims[d] = mt->dims[d];
  }
  char *st = path_join(dir, HF_WEIGHTS);
  int rc = st_write(st, t, m->n_tensors, o->bf16 ? ST_BF16 : ST_F32, err, errlen);
  free(st);
  free(t);
  if (rc) {
    json_decref(ids);
    return -1;
  }
  // config.json last: a directory with config.json is taken as complete by hf_is_model_dir
  char *cj = config_json(m, o->bf16, ids), *cp = path_join(dir, HF_CONFIG);
  json_decref(ids);
  write_file_atomic(cp, cj, strlen(cj));
  free(cj);
  free(cp);
  return 0;
}

// ---- provenance -------------------------------------------------------------------------------
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

int hf_dir_digest(const char *dir, char hex[65]) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  char **names = NULL;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    const char *nm = de->d_name;
    if (strcmp(nm, HF_CONFIG) && !ends_with(nm, HF_SAFETENSORS_EXT) && !ends_with(nm, HF_SAFETENSORS_INDEX_EXT))
      continue;
    names = xrealloc(names, (n + 1) * sizeof *names);
    names[n++] = xstrdup(nm);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  strbuf b;
  sb_init(&b);
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    char *p = path_join(dir, names[i]), h[65];
    if (sha256_file_hex(p, h) != 0) rc = -1;
    else sb_printf(&b, "%s  %s\n", names[i], h);
    free(p);
    free(names[i]);
  }
  free(names);
  if (!rc) sha256_hex(b.data ? b.data : "", b.len, hex);
  sb_free(&b);
  return rc;
}

// ---- model.path -------------------------------------------------------------------------------
const char *hf_model_path(const settings *set) { return set->model.path[0] ? set->model.path : NULL; }

char *hf_tokenizer_path(const settings *set) {
  const char *t = set->tokenizer.path;
  if (t[0]) return xstrdup(t);
  const char *d = hf_model_path(set);
  return d ? path_join(d, HF_TOKENIZER) : NULL;
}
