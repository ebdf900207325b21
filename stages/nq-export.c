// nq-export: write a checkpoint (HDF5, or a HF directory) as a Hugging Face model directory
// (config.json + model.safetensors F32/BF16 + tokenizer files; docs/hf.md). A tool, not a
// pipeline stage: no config file, no MPI job. The work is in common/export/export_tool.c.
//   build/nq-export CHECKPOINT OUT_DIR [--dtype f32|bf16] [--tokenizer FILE_OR_HF_DIR]
#include "export/export_tool.h"

int main(int argc, char **argv) { return export_tool_main(argc, argv); }
