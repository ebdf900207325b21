// HDF5 checkpoints: the fixed part (architecture attributes, step, tokenizer, trainer blob) is
// the table `checkpoint_layout` below, written and read by files/file_kind.c (`checkpoint_kind`);
// the tensors follow the model's tensor list, one dataset per tensor under its HF name,
// optionally AdamW moments under optimizer/{m,v}/ (pattern rows of the table), written and read
// by the loops here. Layout: docs/hdf5-layout.md#checkpoints.
#include "files/checkpoint.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"
#include "hf/hf.h"

// ---- the table ------------------------------------------------------------------------------
// The fixed part of a checkpoint as written and read (members as the layout wants them).
typedef struct {
  char *architecture;   // "qwen2" (qkv biases) or "llama": for readers outside nextquill
  int64_t vocab_size, dim, n_layers, n_heads, n_kv_heads, ffn_dim, max_seq_len, qkv_bias,
      tie_embeddings;
  double rope_theta, norm_eps, init_std;
  int64_t step;
  char *tokenizer_digest;   // the shards' tokenizer (nq-train), or NULL
  uint8_t *rng_state;       // the trainer's blob, or NULL
  size_t count[1];          // [0]: bytes of rng_state
  // not in the table: what write_tensors_of writes after it (checkpoint_save's arguments)
  const model *m;
  const ckpt_save_info *info;
} ckpt_header;

// Every row of the table, so the code names a row (never its text) where it needs one.
enum {
  CK_ARCHITECTURE, CK_VOCAB_SIZE, CK_DIM, CK_N_LAYERS, CK_N_HEADS, CK_N_KV_HEADS, CK_FFN_DIM,
  CK_MAX_SEQ_LEN, CK_QKV_BIAS, CK_TIE_EMBEDDINGS, CK_ROPE_THETA, CK_NORM_EPS, CK_INIT_STD, CK_STEP,
  CK_TOKENIZER, CK_RNG_STATE, CK_TENSORS, CK_MOMENT_M, CK_MOMENT_V, CK_N_FIELDS
};

#define CK_I64(name, member, meaning) \
  {name, LF_I64, offsetof(ckpt_header, member), 0, 0, LF_ATTR, "", meaning}
#define CK_F64(name, member, meaning) \
  {name, LF_F64, offsetof(ckpt_header, member), 0, 0, LF_ATTR, "", meaning}
#define CK_PATTERN(name, flags, meaning) \
  {name, LF_F32, 0, 0, 0, LF_PATTERN | (flags), "the tensor's HF shape", meaning}
static const h5_field ckpt_fields[CK_N_FIELDS + 1] = {
    [CK_ARCHITECTURE] = {"model_architecture", LF_STR, offsetof(ckpt_header, architecture), 0, 0,
                         LF_ATTR | LF_DERIVED, "",
                         "\"qwen2\" when model_qkv_bias, else \"llama\" (for readers outside nextquill)"},
    [CK_VOCAB_SIZE] = CK_I64("model_vocab_size", vocab_size,
                             "V, rows of the embedding (may exceed the tokenizer's)"),
    [CK_DIM] = CK_I64("model_dim", dim, "D, hidden size (its presence marks a model checkpoint)"),
    [CK_N_LAYERS] = CK_I64("model_n_layers", n_layers, "L"),
    [CK_N_HEADS] = CK_I64("model_n_heads", n_heads, "H, query heads"),
    [CK_N_KV_HEADS] = CK_I64("model_n_kv_heads", n_kv_heads, "KV, key/value heads (grouped-query attention)"),
    [CK_FFN_DIM] = CK_I64("model_ffn_dim", ffn_dim, "F, MLP intermediate size"),
    [CK_MAX_SEQ_LEN] = CK_I64("model_max_seq_len", max_seq_len,
                              "RoPE table length, longest sequence accepted"),
    [CK_QKV_BIAS] = CK_I64("model_qkv_bias", qkv_bias, "1: biases on the q/k/v projections (Qwen2)"),
    [CK_TIE_EMBEDDINGS] = CK_I64("model_tie_embeddings", tie_embeddings,
                                 "1: lm_head.weight is model.embed_tokens.weight"),
    [CK_ROPE_THETA] = CK_F64("model_rope_theta", rope_theta, "RoPE base"),
    [CK_NORM_EPS] = CK_F64("model_norm_eps", norm_eps, "RMSNorm epsilon"),
    [CK_INIT_STD] = CK_F64("model_init_std", init_std, "std of the random init of weight matrices"),
    [CK_STEP] = CK_I64("step", step, "optimizer steps done"),
    [CK_TOKENIZER] = {"tokenizer_digest", LF_STR, offsetof(ckpt_header, tokenizer_digest), 0, 0,
                      LF_ATTR | LF_OPTIONAL, "",
                      "the shards' tokenizer (nq-train): nq-effect and nq-eval refuse shards of another"},
    [CK_RNG_STATE] = {"trainer/rng_state", LF_U8, offsetof(ckpt_header, rng_state), 0, 0,
                      LF_OPTIONAL | LF_SETS_COUNT, "rng_bytes",
                      "the trainer's blob (nq-train: seed, step, global batch, n_train as 4 x 64 bit)"},
    [CK_TENSORS] = CK_PATTERN("<HF tensor name>", 0,
                              "weights: one dataset per model tensor (HF names: docs/model.md)"),
    [CK_MOMENT_M] = CK_PATTERN("optimizer/m/<HF tensor name>", LF_OPTIONAL,
                               "AdamW first moment (checkpoints saved for training)"),
    [CK_MOMENT_V] = CK_PATTERN("optimizer/v/<HF tensor name>", LF_OPTIONAL,
                               "AdamW second moment (checkpoints saved for training)"),
    [CK_N_FIELDS] = {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
static const char *const ckpt_counts[] = {"rng_bytes", NULL};
const h5_layout checkpoint_layout = {"checkpoints", "train", ckpt_fields, ckpt_counts};

#define CK_NAME(row) (ckpt_fields[row].name)

// The group of an optimizer pattern row ("optimizer/m/<HF tensor name>" -> "optimizer/m").
static void moment_group(int row, char group[32]) {
  const char *name = CK_NAME(row), *slash = strrchr(name, '/');
  size_t n = (size_t)(slash - name);
  if (!slash || n >= 32) error("checkpoint: pattern row '%s' has no group", name);
  memcpy(group, name, n);
  group[n] = 0;
}

static void header_from_model(ckpt_header *h, const model_config *c) {
  memset(h, 0, sizeof *h);
  h->architecture = c->qkv_bias ? "qwen2" : "llama";
  h->vocab_size = c->vocab_size;
  h->dim = c->dim;
  h->n_layers = c->n_layers;
  h->n_heads = c->n_heads;
  h->n_kv_heads = c->n_kv_heads;
  h->ffn_dim = c->ffn_dim;
  h->max_seq_len = c->max_seq_len;
  h->qkv_bias = c->qkv_bias;
  h->tie_embeddings = c->tie_embeddings;
  h->rope_theta = c->rope_theta;
  h->norm_eps = c->norm_eps;
  h->init_std = c->init_std;
}

static void header_to_config(const ckpt_header *h, model_config *mc) {
  memset(mc, 0, sizeof *mc);
  mc->vocab_size = (int)h->vocab_size;
  mc->dim = (int)h->dim;
  mc->n_layers = (int)h->n_layers;
  mc->n_heads = (int)h->n_heads;
  mc->n_kv_heads = (int)h->n_kv_heads;
  mc->ffn_dim = (int)h->ffn_dim;
  mc->max_seq_len = (int)h->max_seq_len;
  mc->qkv_bias = (int)h->qkv_bias;
  mc->tie_embeddings = (int)h->tie_embeddings;
  mc->rope_theta = (float)h->rope_theta;
  mc->norm_eps = (float)h->norm_eps;
  mc->init_std = (float)h->init_std;
}

// ---- the weights' digest ----------------------------------------------------------------------
// The weights are written beside the table, so the table's content digest (nq_digest,
// files/file_kind.c) does not cover them: this root attribute does, the SHA-256 over every
// weight tensor in the model's order (its name, then its fp32 values), checked by every full
// load (load_into). The AdamW moments, which only --resume reads, have their own attribute,
// the SHA-256 over optimizer/m then optimizer/v (each group's name, then its tensors as for the
// weights), checked wherever they are read (load_into for training, checkpoint_read_moments for
// ZeRO-1's pieces): a moment changed in place would resume silently into another run.
static const char WEIGHTS_DIGEST[] = "nq_weights_digest";
static const char MOMENTS_DIGEST[] = "nq_moments_digest";
#define RESUME_FIX "resume from an older checkpoint (remove this one) or rerun nq-train --force"

static void digest_tensor(sha256_ctx *h, const model_tensor *t, const float *v) {
  if (!h) return;
  sha256_update(h, t->name, strlen(t->name) + 1);
  sha256_update(h, v, t->numel * sizeof *v);
}

static void digest_hex(sha256_ctx *h, char hex[65]) {
  uint8_t d[32];
  sha256_final(h, d);
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

// Stops unless the digest `h` of what was read equals the file's attribute `attr`. A file
// without it is taken as it is (checkpoints from Python tools, or nq-train's from before the
// attribute): the digest guards against changes after the write, not a forger, who could
// recompute it as well as drop it.
static void digest_require(hid_t f, const char *path, const char *attr, sha256_ctx *h, const char *what,
                           const char *fix) {
  if (!h5_attr_exists(f, attr)) return;
  char now[65], *want = h5_attr_get_str(f, attr);
  digest_hex(h, now);
  int same = !strcmp(now, want);
  free(want);
  if (!same) fatal("%s: its %s do not match their digest '%s' (changed since written); %s", path, what, attr, fix);
}

// ---- save -----------------------------------------------------------------------------------
static void write_tensors(hid_t loc, const model *m, const float *arena, sha256_ctx *h) {
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *t = &m->tensors[i];
    h5_write_f32_nd(loc, t->name, arena + t->offset, t->ndim, t->dims);
    digest_tensor(h, t, arena + t->offset);
  }
}

static void write_moments(hid_t file, int row, const model *m, const float *arena, sha256_ctx *h) {
  char name[32];
  moment_group(row, name);
  sha256_update(h, name, strlen(name) + 1);
  hid_t g = h5_group_create(file, name);
  write_tensors(g, m, arena, h);
  h5_group_close(g);
}

// A buffer for the largest tensor of m.
static float *tensor_buffer(const model *m) {
  size_t most = 0;
  for (int i = 0; i < m->n_tensors; i++) most = m->tensors[i].numel > most ? m->tensors[i].numel : most;
  return xmalloc((most ? most : 1) * sizeof(float));
}

// Weights from the caller's hook (ckpt_save_info.weights), through one tensor-sized buffer.
static void write_weights_hook(hid_t loc, const model *m, const ckpt_save_info *info, sha256_ctx *h) {
  float *buf = tensor_buffer(m);
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *t = &m->tensors[i];
    info->weights(info->weights_arg, t, buf);
    h5_write_f32_nd(loc, t->name, buf, t->ndim, t->dims);
    digest_tensor(h, t, buf);
  }
  free(buf);
}

// Moments from the sharded optimizer's hook, through one tensor-sized buffer.
static void write_moments_hook(hid_t file, int row, const model *m, const ckpt_save_info *info, sha256_ctx *h) {
  char name[32];
  moment_group(row, name);
  sha256_update(h, name, strlen(name) + 1);
  hid_t g = h5_group_create(file, name);
  float *buf = tensor_buffer(m);
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *t = &m->tensors[i];
    info->moments(info->moments_arg, row == CK_MOMENT_V, t, buf);
    h5_write_f32_nd(g, t->name, buf, t->ndim, t->dims);
    digest_tensor(h, t, buf);
  }
  free(buf);
  h5_group_close(g);
}

// The tensors after the table: weights, then the moments when saved for training, then the
// caller's own datasets (file_kind.write_more).
static void write_tensors_of(hid_t file, const char *path, const void *obj) {
  const ckpt_header *h = obj;
  const model *m = h->m;
  const ckpt_save_info *info = h->info;
  sha256_ctx wd;
  sha256_init(&wd);
  if (info && info->weights) write_weights_hook(file, m, info, &wd);
  else if (!m->params_mem) error("checkpoint_save %s: the model holds its weights in bf16 only", path);
  else write_tensors(file, m, m->params_mem, &wd);
  char hex[65];
  digest_hex(&wd, hex);
  h5_attr_set_str(file, WEIGHTS_DIGEST, hex);
  sha256_ctx md;
  sha256_init(&md);
  if (info && info->with_optimizer && info->moments) {
    write_moments_hook(file, CK_MOMENT_M, m, info, &md);
    write_moments_hook(file, CK_MOMENT_V, m, info, &md);
  } else if (info && info->with_optimizer) {
    if (!m->m_mem) error("checkpoint_save %s: model has no optimizer moments", path);
    write_moments(file, CK_MOMENT_M, m, m->m_mem, &md);
    write_moments(file, CK_MOMENT_V, m, m->v_mem, &md);
  }
  if (info && info->with_optimizer) {
    digest_hex(&md, hex);
    h5_attr_set_str(file, MOMENTS_DIGEST, hex);
  }
  if (info && info->extra) info->extra(file, info->extra_arg);
}

// Any writer (checkpoints also come from Python tools and HF imports); model_dim marks one.
const file_kind checkpoint_kind = {
    .layout = &checkpoint_layout,
    .size = sizeof(ckpt_header),
    .count_at = {offsetof(ckpt_header, count[0])},
    .mark = &ckpt_fields[CK_DIM],
    .write_more = write_tensors_of,
};

void checkpoint_save(const char *path, const model *m, const ckpt_save_info *info) {
  ckpt_header h;
  header_from_model(&h, &m->cfg);
  h.m = m, h.info = info;
  if (info) {   // borrowed for the write (the table's members are not const)
    h.step = info->step;
    h.tokenizer_digest = (char *)info->tokenizer_digest;
    if (info->rng && info->rng_len) h.rng_state = (uint8_t *)info->rng, h.count[0] = info->rng_len;
  }
  h5_provenance minimal = {.stage = "model", .config_text = "", .mpi_size = 1};
  file_write(&checkpoint_kind, path, &h, info && info->prov ? info->prov : &minimal);
}

// ---- load -----------------------------------------------------------------------------------
void checkpoint_read_config(const char *path, model_config *mc) {
  if (hf_is_model_dir(path)) { hf_read_config_or_die(path, mc); return; }   // docs/hf.md
  ckpt_header h;
  file_read(&checkpoint_kind, path, &h);
  header_to_config(&h, mc);
  file_free(&checkpoint_kind, &h);
  model_config_check(mc);
}

// Stops unless loc holds tensor t with t's shape.
static void require_tensor(hid_t loc, const char *path, const char *where, const model_tensor *t) {
  if (!h5_exists(loc, t->name)) fatal("%s: tensor '%s%s' is missing", path, where, t->name);
  size_t dims[8];
  int nd = h5_dataset_shape(loc, t->name, dims);
  int ok = nd == t->ndim;
  for (int d = 0; ok && d < nd; d++) ok = dims[d] == t->dims[d];
  if (!ok) fatal("%s: tensor '%s%s' has the wrong shape for this architecture", path, where, t->name);
}

void checkpoint_read_weight(hid_t file, const char *path, const model_tensor *t, float *dst) {
  require_tensor(file, path, "", t);
  h5_read_f32_into(file, t->name, dst, t->numel);
}

// h: the weights' digest of what is read, or NULL (moments).
static void read_tensors(hid_t loc, const char *path, const char *where, const model *m, float *arena,
                         sha256_ctx *h) {
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *t = &m->tensors[i];
    require_tensor(loc, path, where, t);
    if (arena) {
      h5_read_f32_into(loc, t->name, arena + t->offset, t->numel);
      digest_tensor(h, t, arena + t->offset);
      continue;
    }
    // forward-only bf16 model (no fp32 arena): one tensor at a time through a buffer
    float *buf = xmalloc(t->numel * sizeof(float));
    h5_read_f32_into(loc, t->name, buf, t->numel);
    digest_tensor(h, t, buf);
    model_tensor_store((model *)m, t, 0, t->numel, buf);
    free(buf);
  }
}

// The weights read are the ones written (when the file has their digest: checkpoints from
// Python tools may not).
static void read_weights(hid_t f, const char *path, const model *m, float *arena) {
  if (!h5_attr_exists(f, WEIGHTS_DIGEST)) return read_tensors(f, path, "", m, arena, NULL);
  sha256_ctx h;
  sha256_init(&h);
  read_tensors(f, path, "", m, arena, &h);
  digest_require(f, path, WEIGHTS_DIGEST, &h, "weights", "rerun the stage that wrote it");
}

static void read_moments(hid_t file, const char *path, int row, const model *m, float *arena, sha256_ctx *h) {
  char name[32], where[40];
  moment_group(row, name);
  sha256_update(h, name, strlen(name) + 1);
  snprintf(where, sizeof where, "%s/", name);
  hid_t g = h5_group_open(file, name);
  read_tensors(g, path, where, m, arena, h);
  h5_group_close(g);
}

static int has_moments(hid_t file) {
  char m[32], v[32];
  moment_group(CK_MOMENT_M, m);
  moment_group(CK_MOMENT_V, v);
  return h5_exists(file, m) && h5_exists(file, v);
}

static void load_into(hid_t f, const char *path, model *m, ckpt_load_info *info) {
  ckpt_header h;
  file_read_from(&checkpoint_kind, f, path, &h);
  model_config mc;
  header_to_config(&h, &mc);
  const model_config *c = &m->cfg;
  if (mc.vocab_size != c->vocab_size || mc.dim != c->dim || mc.n_layers != c->n_layers ||
      mc.n_heads != c->n_heads || mc.n_kv_heads != c->n_kv_heads || mc.ffn_dim != c->ffn_dim ||
      mc.qkv_bias != c->qkv_bias || mc.tie_embeddings != c->tie_embeddings)
    fatal("%s: checkpoint architecture differs from the model's (dim %d/%d, layers %d/%d, vocab %d/%d)",
          path, mc.dim, c->dim, mc.n_layers, c->n_layers, mc.vocab_size, c->vocab_size);
  read_weights(f, path, m, m->params_mem);
  int has_opt = has_moments(f);
  if (has_opt && m->m_mem) {
    sha256_ctx md;
    sha256_init(&md);
    read_moments(f, path, CK_MOMENT_M, m, m->m_mem, &md);
    read_moments(f, path, CK_MOMENT_V, m, m->v_mem, &md);
    digest_require(f, path, MOMENTS_DIGEST, &md, "AdamW moments", RESUME_FIX);
  }
  if (info) {
    memset(info, 0, sizeof *info);
    info->step = (long)h.step;
    info->has_optimizer = has_opt;
    info->rng = h.rng_state, info->rng_len = h.count[0];   // handed over to the caller
    h.rng_state = NULL;
  }
  file_free(&checkpoint_kind, &h);
}

int checkpoint_read_moments(const char *path, const model *m,
                            void (*take)(void *arg, int which, const model_tensor *t, const float *src),
                            void *arg) {
  hid_t f = h5_open_read(path);
  if (!has_moments(f)) {
    h5_close(f);
    return 0;
  }
  float *buf = tensor_buffer(m);
  sha256_ctx md;
  sha256_init(&md);
  for (int which = 0; which < 2; which++) {
    char name[32];
    moment_group(which ? CK_MOMENT_V : CK_MOMENT_M, name);
    sha256_update(&md, name, strlen(name) + 1);
    hid_t g = h5_group_open(f, name);
    for (int i = 0; i < m->n_tensors; i++) {
      const model_tensor *t = &m->tensors[i];
      if (!h5_exists(g, t->name)) fatal("%s: tensor '%s/%s' is missing", path, name, t->name);
      h5_read_f32_into(g, t->name, buf, t->numel);
      digest_tensor(&md, t, buf);
      take(arg, which, t, buf);
    }
    h5_group_close(g);
  }
  free(buf);
  digest_require(f, path, MOMENTS_DIGEST, &md, "AdamW moments", RESUME_FIX);   // before a step uses them
  h5_close(f);
  return 1;
}

void checkpoint_load_into(const char *path, model *m, ckpt_load_info *info) {
  if (hf_is_model_dir(path)) {   // a HF directory: weights only, step 0
    hf_load_into_or_die(path, m);
    if (info) memset(info, 0, sizeof *info);
    return;
  }
  hid_t f = h5_open_read(path);
  load_into(f, path, m, info);
  h5_close(f);
}

model *checkpoint_load(const char *path, int for_training, ckpt_load_info *info) {
  model_config mc;
  checkpoint_read_config(path, &mc);
  model *m = model_create(&mc, for_training);
  checkpoint_load_into(path, m, info);
  return m;
}

model *checkpoint_load_prec(const char *path, int for_training, int precision, ckpt_load_info *info) {
  if (for_training || precision != MODEL_BF16) {
    model *m = checkpoint_load(path, for_training, info);
    model_set_precision(m, precision);
    return m;
  }
  model_config mc;
  checkpoint_read_config(path, &mc);
  model *m = model_create_prec(&mc, 0, MODEL_BF16);   // bf16 arena only
  checkpoint_load_into(path, m, info);                  // HDF5 or HF directory, tensor by tensor
  return m;
}

// ---- checks of a checkpoint's inputs ------------------------------------------------------
char *checkpoint_tokenizer_digest(const char *path) {
  if (hf_is_model_dir(path)) return NULL;
  hid_t f = h5_open_read(path);
  const char *name = CK_NAME(CK_TOKENIZER);
  char *d = h5_attr_exists(f, name) ? h5_attr_get_str(f, name) : NULL;
  h5_close(f);
  return d;
}

void checkpoint_require_tokenizer(const char *path, const char *digest, const char *what) {
  char *d = checkpoint_tokenizer_digest(path);
  if (d && strcmp(d, digest) != 0)
    fatal("%s: %s was trained on shards of another tokenizer (digest %.12s..., the shards' is "
          "%.12s...); retrain it (nq-train) on these shards", path, what, d, digest);
  free(d);
}

static const char *base_name(const char *p) {
  const char *b = strrchr(p, '/');
  return b ? b + 1 : p;
}

void checkpoint_require_current_inputs(const char *path, const char *what, char *const *shards,
                                       int n_shards) {
  if (hf_is_model_dir(path)) return;
  hid_t f = h5_open_read(path);
  char *in = h5_attr_exists(f, "nq_inputs") ? h5_attr_get_str(f, "nq_inputs") : NULL;
  h5_close(f);
  if (!in) return;
  char *save = NULL;
  for (char *line = strtok_r(in, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *sep = strstr(line, "  ");  // "<sha256>  <path>"
    if (!sep) continue;
    *sep = 0;
    const char *ip = sep + 2, *base = base_name(ip);
    if (!strncmp(base, "shard-", 6)) {  // a shard: must be one of ours, unchanged (by name)
      if (!shards) continue;
      int found = 0;
      for (int k = 0; k < n_shards && !found; k++) {
        if (strcmp(base_name(shards[k]), base)) continue;
        found = 1;
        if (strcmp(file_digest(shards[k]), line))
          fatal("%s: trained on %s (sha256 %.12s...), but %s is now %.12s...; retrain, or evaluate "
                "with the shards it was trained on", path, ip, line, shards[k], file_digest(shards[k]));
      }
      if (!found) fatal("%s: trained on %s, which this run's shards do not include", path, ip);
    } else if (file_exists(ip) && strcmp(file_digest(ip), line) != 0) {
      fatal("%s: %s was trained from %s, which has changed since (retrained?); rerun the "
            "nq-train run that wrote %s", path, what, ip, path);
    }
  }
  free(in);
}
