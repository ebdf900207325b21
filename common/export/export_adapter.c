// nq-export for LoRA adapters: our HDF5 adapter files <-> PEFT directories, and merged models.
#include "export/export_adapter.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/util.h"
#include "files/adapter_file.h"
#include "files/checkpoint.h"
#include "h5/h5io.h"
#include "hf/hf.h"
#include "hf/peft.h"

int export_is_adapter_file(const char *path) {
  struct stat st;   // H5Fis_hdf5 prints an error stack on a directory
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || H5Fis_hdf5(path) <= 0) return 0;
  return file_is(&adapter_kind, path);
}

// The base merged with `lo`, written as a HF model directory.
static void write_merged(model *m, const lora *lo, const export_adapter_request *r) {
  if (!m->params.t[P_WQ]) fatal("nq-export: %s: --merge needs the base's fp32 weights", r->base);
  lora_merge(lo, m, 1.0f);
  char err[1024];
  hf_export_opts o = {.bf16 = r->bf16, .tokenizer = r->tokenizer};
  if (hf_export(m, r->out, &o, err, sizeof err)) fatal("nq-export: %s", err);
  message("nq-export: %s merged into %s -> %s (%s)", r->in, r->base, r->out, r->bf16 ? "bf16" : "f32");
}

// Index of the adapter to export: the only one, or --user's in a per-user group file.
static size_t pick_adapter(const adapter_file *f, const export_adapter_request *r) {
  size_t n = f->count[ADAPTER_ADAPTERS];
  if (!r->user) {
    if (n != 1) fatal("nq-export: %s holds %zu users' adapters; name one with --user", r->in, n);
    return 0;
  }
  for (size_t i = 0; f->users && i < n; i++)
    if (!strcmp(f->users[i], r->user)) return i;
  fatal("nq-export: %s: no adapter of user '%s'", r->in, r->user);
}

void export_adapter(const export_adapter_request *r) {
  if (!r->base) fatal("nq-export: %s is an adapter: name its base model with --base", r->in);
  adapter_file f;
  file_read(&adapter_kind, r->in, &f);
  adapter_require_base(&f, r->in, r->base);
  size_t idx = pick_adapter(&f, r);
  lora_config lc = adapter_config_of(&f, r->in);
  model *m = checkpoint_load(r->base, 0, NULL);
  lora *lo = lora_create(&lc, &m->cfg, 0);
  if (f.count[ADAPTER_PARAMS] != lo->n_params)
    fatal("nq-export: %s: %zu adapter parameters, the base's shape wants %zu", r->in, f.count[ADAPTER_PARAMS], lo->n_params);
  memcpy(lo->params_mem, f.params + idx * lo->n_params, lo->n_params * sizeof(float));
  if (r->merge) write_merged(m, lo, r);
  else {
    char err[1024];
    if (peft_export(lo, r->out, r->base, r->bf16, err, sizeof err)) fatal("nq-export: %s", err);
    message("nq-export: %s -> %s (PEFT LoRA r=%d alpha=%g, %d tensors, %s)", r->in, r->out, lc.rank, lc.alpha,
            lo->n_tensors, r->bf16 ? "bf16" : "f32");
  }
  lora_free(lo);
  model_free(m);
  file_free(&adapter_kind, &f);
}

void import_peft(const export_adapter_request *r) {
  char err[1024], *named = r->base ? NULL : peft_base_name(r->in);
  const char *base = r->base ? r->base : named;   // --base, else the directory's own
  if (!base) fatal("nq-export: %s names no base_model_name_or_path: give --base", r->in);
  if (!file_exists(base)) fatal("nq-export: base model '%s' (of %s) does not exist; give --base", base, r->in);
  model *m = checkpoint_load(base, 0, NULL);
  char *ignored = NULL;
  lora *lo = peft_import(r->in, &m->cfg, &ignored, err, sizeof err);
  free(ignored);
  if (!lo) fatal("nq-export: %s", err);
  export_adapter_request rr = *r;
  rr.base = base;
  if (r->merge) write_merged(m, lo, &rr);
  else {
    adapter_file f = {.rank = lo->cfg.rank, .alpha = lo->cfg.alpha, .dropout = lo->cfg.dropout,
                      .targets = adapter_targets_text(lo->cfg.targets), .base_digest = (char *)lora_base_digest(base),
                      .params = lo->params_mem};
    f.count[ADAPTER_ADAPTERS] = 1;
    f.count[ADAPTER_PARAMS] = f.count[ADAPTER_VALUES] = lo->n_params;
    char *st = path_join(r->in, "adapter_model.safetensors");
    const char *inputs[] = {st};
    h5_provenance prov = {.stage = "export", .config_text = "", .mpi_size = 1, .n_inputs = 1, .inputs = inputs};
    file_write(&adapter_kind, r->out, &f, &prov);
    free(f.targets);
    free(st);
    message("nq-export: %s -> %s (adapter of %s, r=%d alpha=%g)", r->in, r->out, base, lo->cfg.rank, lo->cfg.alpha);
  }
  lora_free(lo);
  model_free(m);
  free(named);
}
