// PEFT LoRA directories: adapter_config.json + adapter_model.safetensors (see peft.h).
#include "hf/hf_names.h"
#include "hf/peft.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/jsonl.h"
#include "base/log.h"
#include "base/util.h"
#include "hf/safetensors.h"

// PEFT saves the state dict of PeftModel(model) without the adapter name ("default"):
// base_model (LoraModel) . model (the CausalLM) . model.layers... = our names.
static const char peft_prefix[] = "base_model.model.";

int peft_is_dir(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
  char *p = path_join(path, PEFT_CONFIG);
  int r = file_exists(p);
  free(p);
  return r;
}

char *peft_base_name(const char *dir) {
  char *cp = path_join(dir, PEFT_CONFIG);
  json_t *root = json_load_file(cp, 0, NULL);
  const char *b = json_string_value(json_object_get(root, "base_model_name_or_path"));
  char *r = b && *b ? xstrdup(b) : NULL;
  json_decref(root);
  free(cp);
  return r;
}

static void jset(json_t *o, const char *k, json_t *v) {
  if (!v || json_object_set_new(o, k, v) != 0) error("adapter_config.json: setting '%s'", k);
}

static json_t *adapter_config(const lora *lo, const char *base_name) {
  json_t *r = json_object(), *targets = json_array();
  if (!r || !targets) error("adapter_config.json: out of memory");
  for (int k = 0; k < P_COUNT; k++)
    if ((lo->cfg.targets >> k) & 1u) json_array_append_new(targets, json_string(lora_module_name(k)));
  jset(r, "peft_type", json_string("LORA"));
  jset(r, "task_type", json_string("CAUSAL_LM"));
  jset(r, "base_model_name_or_path", base_name ? json_string(base_name) : json_null());
  jset(r, "r", json_integer(lo->cfg.rank));
  float a = lo->cfg.alpha;   // PEFT writes an integer alpha as one (16, not 16.0)
  jset(r, "lora_alpha", a == (float)(long)a ? json_integer((long)a) : json_real(a));
  jset(r, "lora_dropout", json_real(lo->cfg.dropout));
  jset(r, "target_modules", targets);
  jset(r, "bias", json_string("none"));
  jset(r, "fan_in_fan_out", json_false());
  jset(r, "inference_mode", json_true());
  jset(r, "init_lora_weights", json_true());
  jset(r, "use_rslora", json_false());
  jset(r, "use_dora", json_false());
  jset(r, "modules_to_save", json_null());
  jset(r, "layers_to_transform", json_null());
  jset(r, "layers_pattern", json_null());
  jset(r, "rank_pattern", json_object());
  jset(r, "alpha_pattern", json_object());
  jset(r, "revision", json_null());
  return r;
}

int peft_export(const lora *lo, const char *dir, const char *base_name, int bf16, char *err, size_t errlen) {
  make_dirs(dir);
  st_out_tensor *t = xcalloc((size_t)lo->n_tensors, sizeof *t);
  char **names = xcalloc((size_t)lo->n_tensors, sizeof *names);
  for (int i = 0; i < lo->n_tensors; i++) {
    const model_tensor *mt = &lo->tensors[i];
    names[i] = xmalloc(sizeof peft_prefix + strlen(mt->name));
    sprintf(names[i], "%s%s", peft_prefix, mt->name);
    t[i] = (st_out_tensor){.name = names[i], .data = lo->params_mem + mt->offset, .ndim = 2,
                           .dims = {mt->dims[0], mt->dims[1]}};
  }
  char *st = path_join(dir, PEFT_WEIGHTS);
  int rc = st_write(st, t, lo->n_tensors, bf16 ? ST_BF16 : ST_F32, err, errlen);
  free(st);
  for (int i = 0; i < lo->n_tensors; i++) free(names[i]);
  free(names);
  free(t);
  if (rc) return -1;
  json_t *j = adapter_config(lo, base_name);
  char *cp = path_join(dir, PEFT_CONFIG);
  json_write_file(cp, j, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9), 1);
  free(cp);
  json_decref(j);
  return 0;
}

// ---- import ---------------------------------------------------------------------------------
// A field that must be absent, null, false, "none" or empty for our plain LoRA.
static int unsupported(json_t *root, const char *key) {
  json_t *v = json_object_get(root, key);
  if (!v || json_is_null(v) || json_is_false(v)) return 0;
  if (json_is_object(v) || json_is_array(v)) return json_object_size(v) + json_array_size(v) > 0;
  if (json_is_string(v)) return strcmp(json_string_value(v), "none") != 0;
  return 1;
}

static int parse_config(json_t *root, const char *path, lora_config *c, char *err, size_t errlen) {
  static const char *const refused[] = {"use_dora", "use_rslora", "fan_in_fan_out", "bias", "modules_to_save",
                                        "layers_to_transform", "rank_pattern", "alpha_pattern", "layer_replication"};
  const char *pt = json_string_value(json_object_get(root, "peft_type"));
  if (!pt || strcmp(pt, "LORA")) return err_set(err, errlen, "%s: field 'peft_type': '%s', want \"LORA\"", path, pt ? pt : "?");
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    if (unsupported(root, refused[i]))
      return err_set(err, errlen, "%s: field '%s': not supported (plain LoRA only)", path, refused[i]);
  json_t *r = json_object_get(root, "r"), *a = json_object_get(root, "lora_alpha"),
         *d = json_object_get(root, "lora_dropout"), *tm = json_object_get(root, "target_modules");
  if (!json_is_integer(r) || json_integer_value(r) < 1 || json_integer_value(r) > 4096)
    return err_set(err, errlen, "%s: field 'r': want an integer 1..4096", path);
  if (!json_is_number(a) || !(json_number_value(a) > 0)) return err_set(err, errlen, "%s: field 'lora_alpha': want a number > 0", path);
  if (d && !json_is_null(d) && !(json_is_number(d) && json_number_value(d) >= 0 && json_number_value(d) < 1))
    return err_set(err, errlen, "%s: field 'lora_dropout': want a number in [0, 1)", path);
  *c = (lora_config){.rank = (int)json_integer_value(r), .alpha = (float)json_number_value(a),
                     .dropout = d && json_is_number(d) ? (float)json_number_value(d) : 0.0f};
  if (!json_is_array(tm) || !json_array_size(tm))
    return err_set(err, errlen, "%s: field 'target_modules': want a list of projection names (q_proj, ...)", path);
  for (size_t i = 0; i < json_array_size(tm); i++) {
    const char *name = json_string_value(json_array_get(tm, i));
    int kind = -1;
    for (int k = 0; name && k < P_COUNT && kind < 0; k++)
      if (lora_module_name(k) && !strcmp(lora_module_name(k), name)) kind = k;
    if (kind < 0)
      return err_set(err, errlen, "%s: field 'target_modules': '%s' is not one of q_proj, k_proj, v_proj, o_proj, "
                     "gate_proj, up_proj, down_proj", path, name ? name : "?");
    c->targets |= 1u << kind;
  }
  return 0;
}

// Fills lo's arena from the safetensors file: every tensor present with its shape, no other.
static int read_tensors(lora *lo, const char *path, char *err, size_t errlen) {
  st_set s;
  if (st_open(&s, path, err, errlen)) return -1;
  int rc = 0;
  char name[sizeof peft_prefix + sizeof lo->tensors[0].name];
  for (int i = 0; !rc && i < lo->n_tensors; i++) {
    const model_tensor *mt = &lo->tensors[i];
    snprintf(name, sizeof name, "%s%s", peft_prefix, mt->name);
    const st_tensor *t = st_find(&s, name);
    if (!t) rc = err_set(err, errlen, "%s: tensor '%s' missing", path, name);
    else if (t->ndim != 2 || t->dims[0] != mt->dims[0] || t->dims[1] != mt->dims[1])
      rc = err_set(err, errlen, "%s: tensor '%s' has shape %s, want [%zu, %zu]", path, name,
                   t->ndim == 2 ? "other" : "of another rank", mt->dims[0], mt->dims[1]);
    else if (st_to_f32(t, lo->params_mem + mt->offset))
      rc = err_set(err, errlen, "%s: tensor '%s': dtype %s (want F32, BF16 or F16)", path, name, t->dtype_name);
  }
  if (!rc && s.n != lo->n_tensors)
    rc = err_set(err, errlen, "%s: %d tensors, want %d (the adapters of the targets in adapter_config.json)", path, s.n,
                 lo->n_tensors);
  st_close(&s);
  return rc;
}

lora *peft_import(const char *dir, const model_config *mc, char **base_name, char *err, size_t errlen) {
  char *cp = path_join(dir, PEFT_CONFIG), *sp = path_join(dir, PEFT_WEIGHTS);
  json_error_t je;
  json_t *root = json_load_file(cp, 0, &je);
  lora *lo = NULL;
  lora_config c;
  *base_name = NULL;
  if (!root) err_set(err, errlen, "%s:%d: %s", cp, je.line, je.text);
  else if (!parse_config(root, cp, &c, err, errlen)) {
    const char *b = json_string_value(json_object_get(root, "base_model_name_or_path"));
    lo = lora_create(&c, mc, 0);
    if (read_tensors(lo, sp, err, errlen)) {
      lora_free(lo);
      lo = NULL;
    } else if (b) *base_name = xstrdup(b);
  }
  json_decref(root);
  free(cp);
  free(sp);
  return lo;
}
