// Per-user adapters at evaluation: merge into the weights, restore from a copy of the base.
#include "eval/eval_user_lora.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

static int is_group_file(const char *name) {
  size_t n = strlen(name);
  return !strncmp(name, "group-", 6) && n > 9 && !strcmp(name + n - 3, ".h5");
}

void eval_user_lora_open(eval_user_lora *u, const char *dir, model *m, const char *base_path) {
  memset(u, 0, sizeof *u);
  u->cur_file = -1;
  if (!m->params.t[P_WQ]) fatal("%s: per-user adapters need the fp32 weights (model.precision = \"fp32\")", dir);
  DIR *dp = opendir(dir);
  if (!dp) fatal("%s: per-user adapters missing; run the train.per_user run first", dir);
  struct dirent *e;
  while ((e = readdir(dp))) {
    if (!is_group_file(e->d_name)) continue;
    char *p = path_join(dir, e->d_name);
    u->files = xrealloc(u->files, (size_t)(u->n_files + 1) * sizeof *u->files);
    adapter_file *f = &u->files[u->n_files++];
    file_read(&adapter_kind, p, f);
    adapter_require_base(f, p, base_path);
    if (!f->users) fatal("%s: not a per-user group file (no users)", p);
    lora_config lc = adapter_config_of(f, p);
    if (!u->lo) u->lo = lora_create(&lc, &m->cfg, 0);
    if (f->count[ADAPTER_PARAMS] != u->lo->n_params) fatal("%s: adapters of another shape than the other groups'", p);
    u->users += (long)f->count[ADAPTER_ADAPTERS];
    free(p);
  }
  closedir(dp);
  if (!u->n_files) fatal("%s: no group-*.h5 files", dir);
  u->base = xmalloc(m->n_params * sizeof(float));
  memcpy(u->base, m->params_mem, m->n_params * sizeof(float));
}

void eval_user_lora_apply(eval_user_lora *u, model *m, const char *user) {
  int fi = -1;
  size_t idx = 0;
  for (int i = 0; i < u->n_files && fi < 0; i++)
    for (size_t j = 0; j < u->files[i].count[ADAPTER_ADAPTERS]; j++)
      if (!strcmp(u->files[i].users[j], user)) {
        fi = i;
        idx = j;
        break;
      }
  if (fi == u->cur_file && idx == u->cur_index) return;
  memcpy(m->params_mem, u->base, m->n_params * sizeof(float));
  u->cur_file = fi;
  u->cur_index = idx;
  if (fi < 0) return;
  size_t P = u->lo->n_params;
  memcpy(u->lo->params_mem, u->files[fi].params + idx * P, P * sizeof(float));
  lora_merge(u->lo, m, 1.0f);
}

void eval_user_lora_free(eval_user_lora *u) {
  for (int i = 0; i < u->n_files; i++) file_free(&adapter_kind, &u->files[i]);
  free(u->files);
  lora_free(u->lo);
  free(u->base);
  memset(u, 0, sizeof *u);
}
