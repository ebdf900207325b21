// HDF5 checkpoints: architecture attributes, one dataset per tensor under its HF name,
// optional AdamW moments under /optimizer/{m,v}/, step and trainer RNG blob, provenance.
#include "formats/checkpoint.h"

#include <stdlib.h>
#include <string.h>

#include "formats/hf.h"
#include "base/log.h"
#include "base/util.h"
#include "formats/provenance.h"

static void write_tensors(hid_t loc, const model *m, const float *arena) {
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *t = &m->tensors[i];
    h5_write_f32_nd(loc, t->name, arena + t->offset, t->ndim, t->dims);
  }
}

void checkpoint_save(const char *path, const model *m, const ckpt_save_info *info) {
  const model_config *c = &m->cfg;
  h5_out o;
  h5_out_create(&o, path);
  hid_t f = o.file;
  h5_attr_set_str(f, "model_architecture", c->qkv_bias ? "qwen2" : "llama");
  h5_attr_set_i64(f, "model_vocab_size", c->vocab_size);
  h5_attr_set_i64(f, "model_dim", c->dim);
  h5_attr_set_i64(f, "model_n_layers", c->n_layers);
  h5_attr_set_i64(f, "model_n_heads", c->n_heads);
  h5_attr_set_i64(f, "model_n_kv_heads", c->n_kv_heads);
  h5_attr_set_i64(f, "model_ffn_dim", c->ffn_dim);
  h5_attr_set_i64(f, "model_max_seq_len", c->max_seq_len);
  h5_attr_set_i64(f, "model_qkv_bias", c->qkv_bias);
  h5_attr_set_i64(f, "model_tie_embeddings", c->tie_embeddings);
  h5_attr_set_f64(f, "model_rope_theta", c->rope_theta);
  h5_attr_set_f64(f, "model_norm_eps", c->norm_eps);
  h5_attr_set_f64(f, "model_init_std", c->init_std);
  h5_attr_set_i64(f, "step", info ? info->step : 0);
  write_tensors(f, m, m->params_mem);
  if (info && info->with_optimizer) {
    if (!m->m_mem) error("checkpoint_save %s: model has no optimizer moments", path);
    hid_t gm = h5_group_create(f, "optimizer/m");
    write_tensors(gm, m, m->m_mem);
    h5_group_close(gm);
    hid_t gv = h5_group_create(f, "optimizer/v");
    write_tensors(gv, m, m->v_mem);
    h5_group_close(gv);
  }
  if (info && info->rng && info->rng_len) {
    hid_t g = h5_group_create(f, "trainer");
    h5_write_u8(g, "rng_state", info->rng, info->rng_len);
    h5_group_close(g);
  }
  h5_provenance minimal = {.stage = "model", .config_text = "", .mpi_size = 1};
  h5_write_provenance(f, info && info->prov ? info->prov : &minimal);
  if (info && info->extra) info->extra(f, info->extra_arg);
  h5_out_commit(&o);
}

static void read_config(hid_t f, model_config *mc) {
  memset(mc, 0, sizeof *mc);
  mc->vocab_size = (int)h5_attr_get_i64(f, "model_vocab_size");
  mc->dim = (int)h5_attr_get_i64(f, "model_dim");
  mc->n_layers = (int)h5_attr_get_i64(f, "model_n_layers");
  mc->n_heads = (int)h5_attr_get_i64(f, "model_n_heads");
  mc->n_kv_heads = (int)h5_attr_get_i64(f, "model_n_kv_heads");
  mc->ffn_dim = (int)h5_attr_get_i64(f, "model_ffn_dim");
  mc->max_seq_len = (int)h5_attr_get_i64(f, "model_max_seq_len");
  mc->qkv_bias = (int)h5_attr_get_i64(f, "model_qkv_bias");
  mc->tie_embeddings = (int)h5_attr_get_i64(f, "model_tie_embeddings");
  mc->rope_theta = (float)h5_attr_get_f64(f, "model_rope_theta");
  mc->norm_eps = (float)h5_attr_get_f64(f, "model_norm_eps");
  mc->init_std = (float)h5_attr_get_f64(f, "model_init_std");
}

void checkpoint_read_config(const char *path, model_config *mc) {
  if (hf_is_model_dir(path)) { hf_read_config_or_die(path, mc); return; }   // docs/hf.md
  hid_t f = h5_open_read(path);
  if (!h5_attr_exists(f, "model_dim")) fatal("%s: not a model checkpoint (no model_dim attribute)", path);
  read_config(f, mc);
  h5_close(f);
  model_config_check(mc);
}

static void read_tensors(hid_t loc, const char *path, const char *where, const model *m, float *arena) {
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *t = &m->tensors[i];
    if (!h5_exists(loc, t->name)) fatal("%s: tensor '%s%s' is missing", path, where, t->name);
    size_t dims[8];
    int nd = h5_dataset_shape(loc, t->name, dims);
    int ok = nd == t->ndim;
    for (int d = 0; ok && d < nd; d++) ok = dims[d] == t->dims[d];
    if (!ok) fatal("%s: tensor '%s%s' has the wrong shape for this architecture", path, where, t->name);
    h5_read_f32_into(loc, t->name, arena + t->offset, t->numel);
  }
}

static void load_into(hid_t f, const char *path, model *m, ckpt_load_info *info) {
  model_config mc;
  read_config(f, &mc);
  const model_config *c = &m->cfg;
  if (mc.vocab_size != c->vocab_size || mc.dim != c->dim || mc.n_layers != c->n_layers ||
      mc.n_heads != c->n_heads || mc.n_kv_heads != c->n_kv_heads || mc.ffn_dim != c->ffn_dim ||
      mc.qkv_bias != c->qkv_bias || mc.tie_embeddings != c->tie_embeddings)
    fatal("%s: checkpoint architecture differs from the model's (dim %d/%d, layers %d/%d, vocab %d/%d)",
          path, mc.dim, c->dim, mc.n_layers, c->n_layers, mc.vocab_size, c->vocab_size);
  read_tensors(f, path, "", m, m->params_mem);
  int has_opt = h5_exists(f, "optimizer/m") && h5_exists(f, "optimizer/v");
  if (has_opt && m->m_mem) {
    hid_t gm = h5_group_open(f, "optimizer/m");
    read_tensors(gm, path, "optimizer/m/", m, m->m_mem);
    h5_group_close(gm);
    hid_t gv = h5_group_open(f, "optimizer/v");
    read_tensors(gv, path, "optimizer/v/", m, m->v_mem);
    h5_group_close(gv);
  }
  if (info) {
    memset(info, 0, sizeof *info);
    info->step = (long)h5_attr_get_i64(f, "step");
    info->has_optimizer = has_opt;
    if (h5_exists(f, "trainer/rng_state")) info->rng = h5_read_u8(f, "trainer/rng_state", &info->rng_len);
  }
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

char *checkpoint_tokenizer_digest(const char *path) {
  if (hf_is_model_dir(path)) return NULL;
  hid_t f = h5_open_read(path);
  char *d = h5_attr_exists(f, "tokenizer_digest") ? h5_attr_get_str(f, "tokenizer_digest") : NULL;
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
