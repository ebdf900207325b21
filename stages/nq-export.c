// nq-export: write one of our checkpoints (HDF5, or a HF directory) as a Hugging Face model
// directory that transformers loads: config.json + model.safetensors (F32 or BF16) + the
// tokenizer files. A tool, not a pipeline stage: no config file, no MPI job.
//   build/nq-export CHECKPOINT OUT_DIR [--dtype f32|bf16] [--tokenizer FILE_OR_HF_DIR]
// Example: build/nq-export runs/x/nextquill/ckpt-000500.h5 out/qwen-nq --dtype bf16
//            --tokenizer runs/x/tokenizer.json
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/checkpoint.h"
#include "formats/hf.h"
#include "base/log.h"
#include "model/model.h"
#include "base/util.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: nq-export CHECKPOINT OUT_DIR [--dtype f32|bf16] [--tokenizer PATH]\n"
          "  Export a checkpoint (nq-train's .h5, or a HF directory) as a Hugging Face\n"
          "  LlamaForCausalLM / Qwen2ForCausalLM directory (Qwen2 when the model has q/k/v biases).\n"
          "  --dtype      weights in model.safetensors (default f32; bf16 rounds to nearest even)\n"
          "  --tokenizer  a tokenizer.json (e.g. <run_dir>/tokenizer.json) or a HF directory whose\n"
          "               tokenizer files are copied; without it only config.json and weights\n");
}

int main(int argc, char **argv) {
  const char *pos[2] = {NULL, NULL}, *tokenizer = NULL;
  int npos = 0, bf16 = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); return 0; }
    if (!strcmp(argv[i], "--dtype") && i + 1 < argc) {
      const char *d = argv[++i];
      if (!strcmp(d, "bf16")) bf16 = 1;
      else if (strcmp(d, "f32")) { fprintf(stderr, "nq-export: --dtype '%s': use f32 or bf16\n", d); return 2; }
    } else if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc) {
      tokenizer = argv[++i];
    } else if (argv[i][0] != '-' && npos < 2) {
      pos[npos++] = argv[i];
    } else {
      fprintf(stderr, "nq-export: unexpected argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (npos != 2) { usage(stderr); return 2; }
  if (!file_exists(pos[0])) fatal("nq-export: checkpoint '%s' does not exist", pos[0]);
  if (tokenizer && !file_exists(tokenizer)) fatal("nq-export: --tokenizer '%s' does not exist", tokenizer);
  model *m = checkpoint_load(pos[0], 0, NULL);
  hf_export_opts o = {.bf16 = bf16, .tokenizer = tokenizer};
  char err[1024];
  if (hf_export(m, pos[1], &o, err, sizeof err)) fatal("nq-export: %s", err);
  if (!tokenizer) warning("nq-export: no --tokenizer given: %s has no tokenizer files", pos[1]);
  message("nq-export: %s -> %s (%s, %s, %zu parameters)", pos[0], pos[1],
          m->cfg.qkv_bias ? "Qwen2ForCausalLM" : "LlamaForCausalLM", bf16 ? "bf16" : "f32", m->n_params);
  model_free(m);
  return 0;
}
