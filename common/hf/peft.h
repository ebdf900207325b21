// PEFT LoRA adapter directories (Hugging Face peft's save_pretrained layout), so an adapter we
// trained loads in Python with PeftModel.from_pretrained(base, dir), and one trained there
// loads here (docs/hf.md, "LoRA adapters in PEFT's layout"):
//   adapter_config.json        {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r", "lora_alpha",
//                               "lora_dropout", "target_modules": ["q_proj", ...], "bias": "none",
//                               "base_model_name_or_path", ...}
//   adapter_model.safetensors  "base_model.model.model.layers.{l}.self_attn.q_proj.lora_A.weight"
//                              (r, in) and "...lora_B.weight" (out, r) of every adapted projection
// Errors are returned as one line naming the file (and field or tensor) in `err`.
//
// defines: peft_is_dir, peft_base_name, peft_export, peft_import
#ifndef NQ_PEFT_H
#define NQ_PEFT_H

#include <stddef.h>

#include "model/lora.h"

// Whether `dir` is a directory holding adapter_config.json.
int peft_is_dir(const char *path);
// base_model_name_or_path of the PEFT directory `dir` (caller frees), or NULL.
char *peft_base_name(const char *dir);
// Writes lo's adapters (F32, or BF16 rounded to nearest even) to `dir`; adapter_config.json
// last, so a directory with it is complete. Returns 0, or -1 with `err` filled.
int peft_export(const lora *lo, const char *dir, const char *base_name, int bf16, char *err, size_t errlen);
// Reads a PEFT LoRA directory into new adapters for a model of shape `mc` (inference: no
// gradients). *base_name gets base_model_name_or_path (caller frees; NULL when absent).
// Refuses what our LoRA cannot express (DoRA, rsLoRA, rank/alpha patterns, biases, modules
// to save, layer subsets, fan_in_fan_out, other projections) and any missing, extra or
// misshapen tensor. Returns NULL with `err` filled.
lora *peft_import(const char *dir, const model_config *mc, char **base_name, char *err, size_t errlen);

#endif
