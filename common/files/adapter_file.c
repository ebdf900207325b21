// Writer and reader of LoRA adapter files: the table below names every dataset once.
#include "files/adapter_file.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/util.h"
#include "h5/h5io.h"

static const h5_field adapter_fields[] = {
    {"lora_rank", LF_I64, offsetof(adapter_file, rank), 0, 0, LF_ATTR, "", "r"},
    {"lora_alpha", LF_F64, offsetof(adapter_file, alpha), 0, 0, LF_ATTR, "", "alpha (scale = alpha / r)"},
    {"lora_dropout", LF_F64, offsetof(adapter_file, dropout), 0, 0, LF_ATTR, "", "dropout on the adapter input"},
    {"lora_targets", LF_STR, offsetof(adapter_file, targets), 0, 0, LF_ATTR, "",
     "target projections, comma-separated (q,k,v,o,gate,up,down)"},
    {"base_digest", LF_STR, offsetof(adapter_file, base_digest), 0, 0, LF_ATTR, "",
     "SHA-256 of the base model (checkpoint file, or an HF directory's model.safetensors)"},
    {"tokenizer_digest", LF_STR, offsetof(adapter_file, tokenizer_digest), 0, 0, LF_ATTR | LF_OPTIONAL, "",
     "the shards' tokenizer"},
    {"step", LF_I64, offsetof(adapter_file, step), 0, 0, LF_ATTR, "", "optimizer steps done (per user: steps per user)"},
    {"lora/params", LF_F32, offsetof(adapter_file, params), ADAPTER_VALUES, 0, 0, "adapters x params",
     "each adapter's A and B of every (layer, target), in lora.h's tensor order"},
    {"lora_optimizer/m", LF_F32, offsetof(adapter_file, m), ADAPTER_VALUES, 0, LF_OPTIONAL, "adapters x params",
     "checkpoints: AdamW first moments"},
    {"lora_optimizer/v", LF_F32, offsetof(adapter_file, v), ADAPTER_VALUES, 0, LF_OPTIONAL, "adapters x params",
     "checkpoints: AdamW second moments"},
    {"lora_trainer/rng_state", LF_U8, offsetof(adapter_file, rng), ADAPTER_RNG_BYTES, 0, LF_OPTIONAL, "blob_bytes",
     "checkpoints: nq-train's resume blob"},
    {"users", LF_STR, offsetof(adapter_file, users), ADAPTER_ADAPTERS, 0, LF_OPTIONAL, "adapters",
     "per-user group files: the user of each adapter"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
static const char *const adapter_counts[] = {"adapters", "params", "values", "blob_bytes", NULL};

const h5_layout adapter_layout = {"LoRA adapters", "train", adapter_fields, adapter_counts};

void adapter_file_write(const char *path, const adapter_file *a, const h5_provenance *prov) {
  h5_out o;
  h5_out_create(&o, path);
  h5_layout_write(o.file, &adapter_layout, a, a->count);
  h5_write_provenance(o.file, prov);
  h5_out_commit(&o);
}

void adapter_file_read(const char *path, adapter_file *a) {
  memset(a, 0, sizeof *a);
  hid_t f = h5_open_read(path);
  h5_layout_read(f, path, &adapter_layout, a, a->count);
  h5_close(f);
  if (a->count[ADAPTER_VALUES] != a->count[ADAPTER_ADAPTERS] * a->count[ADAPTER_PARAMS])
    fatal("%s: values %zu != adapters %zu x params %zu", path, a->count[ADAPTER_VALUES],
          a->count[ADAPTER_ADAPTERS], a->count[ADAPTER_PARAMS]);
}

int adapter_file_is(const char *path) {
  const h5_field *params = NULL;   // the table's name of the adapters' dataset
  for (const h5_field *f = adapter_layout.fields; f->name; f++)
    if (f->member == offsetof(adapter_file, params)) params = f;
  hid_t file = h5_open_read(path);
  int r = h5_exists(file, params->name);
  h5_close(file);
  return r;
}

void adapter_file_free(adapter_file *a) {
  h5_layout_free(&adapter_layout, a, a->count);
  memset(a, 0, sizeof *a);
}

lora_config adapter_config_of(const adapter_file *a, const char *path) {
  lora_config c = {.rank = (int)a->rank, .alpha = (float)a->alpha, .dropout = (float)a->dropout};
  char *t = xstrdup(a->targets ? a->targets : ""), *save = NULL;
  for (char *tok = strtok_r(t, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int k = lora_target_kind(tok);
    if (k < 0) fatal("%s: attribute 'lora_targets': unknown target '%s'", path, tok);
    c.targets |= 1u << k;
  }
  free(t);
  return c;
}

char *adapter_targets_text(unsigned targets) {
  static const char *const names[] = {"q", "k", "v", "o", "gate", "up", "down"};
  char *s = xcalloc(64, 1);
  for (int i = 0; i < 7; i++)
    if ((targets >> lora_target_kind(names[i])) & 1u) {
      if (s[0]) strcat(s, ",");
      strcat(s, names[i]);
    }
  return s;
}

const char *lora_base_digest(const char *base_path) {
  struct stat st;
  if (stat(base_path, &st) != 0) fatal("%s: base model missing", base_path);
  if (!S_ISDIR(st.st_mode)) return file_digest(base_path);
  char *p = path_join(base_path, "model.safetensors");
  const char *d = file_digest(p);   // cached per path: lives as long as the process
  free(p);
  return d;
}

void adapter_require_base(const adapter_file *a, const char *path, const char *base_path) {
  const char *d = lora_base_digest(base_path);
  if (!a->base_digest || strcmp(a->base_digest, d))
    fatal("%s: adapter trained on another base model (base_digest %.12s...), not on %s (%.12s...); "
          "retrain the adapter or name its base", path, a->base_digest ? a->base_digest : "none", base_path, d);
}
