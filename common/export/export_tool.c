// nq-export: write one of our checkpoints (HDF5, or a HF directory) as a Hugging Face model
// directory that transformers loads: config.json + model.safetensors (F32 or BF16) + the
// tokenizer files. A tool, not a pipeline stage: no config file, no MPI job.
//   build/nq-export CHECKPOINT OUT_DIR [--dtype f32|bf16] [--tokenizer FILE_OR_HF_DIR]
// Example: build/nq-export runs/x/nextquill/ckpt-000500.h5 out/qwen-nq --dtype bf16
//            --tokenizer runs/x/tokenizer.json
#include "export/export_tool.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/cleanup.h"
#include "base/util.h"
#include "files/checkpoint.h"
#include "export/export_adapter.h"
#include "hf/hf.h"
#include "hf/peft.h"
#include "model/model.h"

// What the command line asks for.
typedef struct {
  const char *checkpoint, *out_dir, *tokenizer, *base, *user;
  int bf16, merge;
} export_request;

static void usage(FILE *f) {
  fprintf(f,
          "usage: nq-export CHECKPOINT OUT_DIR [--dtype f32|bf16] [--tokenizer PATH]\n"
          "  Export a checkpoint (nq-train's .h5, or a HF directory) as a Hugging Face\n"
          "  LlamaForCausalLM / Qwen2ForCausalLM directory (Qwen2 when the model has q/k/v biases).\n"
          "  --dtype      weights in model.safetensors (default f32; bf16 rounds to nearest even)\n"
          "  --tokenizer  a tokenizer.json (e.g. <run_dir>/tokenizer.json) or a HF directory whose\n"
          "               tokenizer files are copied; without it only config.json and weights\n"
          "LoRA adapters (docs/hf.md):\n"
          "  nq-export ADAPTER.h5 OUT_DIR --base BASE [--user NAME]   PEFT directory (adapter_config.json\n"
          "                                               + adapter_model.safetensors)\n"
          "  nq-export PEFT_DIR OUT.h5 [--base BASE]      our adapter file (base: base_model_name_or_path)\n"
          "  --merge      with either input: OUT_DIR is the base with B A merged in, as a HF model\n"
          "  --user       a per-user group file (users/group-<g>.h5): the user whose adapter to take\n");
}

// Fills `r` from argv; returns -1 to go on, else the exit code (help: 0, bad usage: 2).
static int parse_args(export_request *r, int argc, char **argv) {
  const char *pos[2] = {NULL, NULL};
  int npos = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); return 0; }
    if (!strcmp(argv[i], "--dtype") && i + 1 < argc) {
      const char *d = argv[++i];
      if (!strcmp(d, "bf16")) r->bf16 = 1;
      else if (strcmp(d, "f32")) { fprintf(stderr, "nq-export: --dtype '%s': use f32 or bf16\n", d); return 2; }
    } else if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc) {
      r->tokenizer = argv[++i];
    } else if (!strcmp(argv[i], "--base") && i + 1 < argc) {
      r->base = argv[++i];
    } else if (!strcmp(argv[i], "--user") && i + 1 < argc) {
      r->user = argv[++i];
    } else if (!strcmp(argv[i], "--merge")) {
      r->merge = 1;
    } else if (argv[i][0] != '-' && npos < 2) {
      pos[npos++] = argv[i];
    } else {
      fprintf(stderr, "nq-export: unexpected argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (npos != 2) { usage(stderr); return 2; }
  r->checkpoint = pos[0];
  r->out_dir = pos[1];
  return -1;
}

int export_tool_main(int argc, char **argv) {
  export_request r = {0};
  int rc = parse_args(&r, argc, argv);
  if (rc >= 0) return rc;
  if (!file_exists(r.checkpoint)) fatal("nq-export: checkpoint '%s' does not exist", r.checkpoint);
  if (r.tokenizer && !file_exists(r.tokenizer)) fatal("nq-export: --tokenizer '%s' does not exist", r.tokenizer);
  if (r.base && !file_exists(r.base)) fatal("nq-export: --base '%s' does not exist", r.base);
  export_adapter_request ar = {.in = r.checkpoint, .out = r.out_dir, .base = r.base, .user = r.user,
                               .tokenizer = r.tokenizer, .bf16 = r.bf16, .merge = r.merge};
  if (peft_is_dir(r.checkpoint)) {
    import_peft(&ar);
    return 0;
  }
  if (export_is_adapter_file(r.checkpoint)) {
    export_adapter(&ar);
    return 0;
  }
  if (r.merge || r.base || r.user) fatal("nq-export: --merge, --base and --user are for adapters; %s is a model", r.checkpoint);
  model *m = checkpoint_load(r.checkpoint, 0, NULL);
  hf_export_opts o = {.bf16 = r.bf16, .tokenizer = r.tokenizer};
  char err[1024];
  // a directory this run makes goes again on any failure (no half-written HF directory);
  // one that was there keeps its files (each is replaced atomically)
  if (!file_exists(r.out_dir)) cleanup_dir(r.out_dir);
  if (hf_export(m, r.out_dir, &o, err, sizeof err)) fatal("nq-export: %s", err);
  cleanup_forget(r.out_dir);
  if (!r.tokenizer) warning("nq-export: no --tokenizer given: %s has no tokenizer files", r.out_dir);
  message("nq-export: %s -> %s (%s, %s, %zu parameters)", r.checkpoint, r.out_dir,
          m->cfg.qkv_bias ? "Qwen2ForCausalLM" : "LlamaForCausalLM", r.bf16 ? "bf16" : "f32", m->n_params);
  model_free(m);
  return 0;
}
