// LoRA adapter files: the table below names every dataset once; its file_kind is read and
// written by files/file_kind.c.
#include "files/adapter_file.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/util.h"

// Every row of the table, so the code names a row (never its text) where it needs one.
enum { AF_RANK, AF_ALPHA, AF_DROPOUT, AF_TARGETS, AF_BASE, AF_TOKENIZER, AF_STEP, AF_PARAMS, AF_M, AF_V, AF_RNG,
       AF_USERS, AF_N_FIELDS };
#define M(member) offsetof(adapter_file, member)
static const h5_field adapter_fields[AF_N_FIELDS + 1] = {
    [AF_RANK] = {"lora_rank", LF_I64, M(rank), 0, 0, LF_ATTR, "", "r"},
    [AF_ALPHA] = {"lora_alpha", LF_F64, M(alpha), 0, 0, LF_ATTR, "", "alpha (scale = alpha / r)"},
    [AF_DROPOUT] = {"lora_dropout", LF_F64, M(dropout), 0, 0, LF_ATTR, "", "dropout on the adapter input"},
    [AF_TARGETS] = {"lora_targets", LF_STR, M(targets), 0, 0, LF_ATTR, "",
                    "target projections, comma-separated (q,k,v,o,gate,up,down)"},
    [AF_BASE] = {"base_digest", LF_STR, M(base_digest), 0, 0, LF_ATTR, "",
                 "SHA-256 of the base model (checkpoint file, or an HF directory's model.safetensors)"},
    [AF_TOKENIZER] = {"tokenizer_digest", LF_STR, M(tokenizer_digest), 0, 0, LF_ATTR | LF_OPTIONAL, "",
                      "the shards' tokenizer"},
    [AF_STEP] = {"step", LF_I64, M(step), 0, 0, LF_ATTR, "", "optimizer steps done (per user: steps per user)"},
    [AF_PARAMS] = {"lora/params", LF_F32, M(params), ADAPTER_VALUES, 0, 0, "adapters x params",
                   "each adapter's A and B of every (layer, target), in lora.h's tensor order"},
    [AF_M] = {"lora_optimizer/m", LF_F32, M(m), ADAPTER_VALUES, 0, LF_OPTIONAL, "adapters x params",
              "checkpoints: AdamW first moments"},
    [AF_V] = {"lora_optimizer/v", LF_F32, M(v), ADAPTER_VALUES, 0, LF_OPTIONAL, "adapters x params",
              "checkpoints: AdamW second moments"},
    [AF_RNG] = {"lora_trainer/rng_state", LF_U8, M(rng), ADAPTER_RNG_BYTES, 0, LF_OPTIONAL, "blob_bytes",
                "checkpoints: nq-train's resume blob"},
    [AF_USERS] = {"users", LF_STR, M(users), ADAPTER_ADAPTERS, 0, LF_OPTIONAL, "adapters",
                  "per-user group files: the user of each adapter"},
    [AF_N_FIELDS] = {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
static const char *const adapter_counts[] = {"adapters", "params", "values", "blob_bytes", NULL};

const h5_layout adapter_layout = {"LoRA adapters", "train", adapter_fields, adapter_counts};

// Every adapter a whole arena: what the readers' params + i * n_params slicing relies on.
static int adapter_check(const void *obj, char *why, size_t n) {
  const size_t *c = ((const adapter_file *)obj)->count;
  if (c[ADAPTER_VALUES] != c[ADAPTER_ADAPTERS] * c[ADAPTER_PARAMS])
    return file_why(why, n, "values %zu != adapters %zu x params %zu", c[ADAPTER_VALUES], c[ADAPTER_ADAPTERS],
                    c[ADAPTER_PARAMS]);
  return 0;
}

const file_kind adapter_kind = {
    .layout = &adapter_layout,
    .size = sizeof(adapter_file),
    .count_at = {M(count[ADAPTER_ADAPTERS]), M(count[ADAPTER_PARAMS]), M(count[ADAPTER_VALUES]),
                 M(count[ADAPTER_RNG_BYTES])},
    .writers = (const char *const[]){"train", "export", NULL},
    .mark = &adapter_fields[AF_PARAMS],
    .check = adapter_check,
};
#undef M

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
