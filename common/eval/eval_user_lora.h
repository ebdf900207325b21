// nq-eval's per-user LoRA rows (eval.user_adapters): every group file of a train.per_user run
// is read once; before each sample the model's weights are reset to the base and that
// sample's user's adapter is merged in (users without an adapter get the base model).
#ifndef NQ_EVAL_USER_LORA_H
#define NQ_EVAL_USER_LORA_H

#include "files/adapter_file.h"
#include "model/model.h"

typedef struct {
  int n_files;
  adapter_file *files;
  lora *lo;             // the adapters' shape; params point into a file's arena when applied
  float *base;          // the base weights (fp32 arena), restored before each merge
  int cur_file;         // the adapter merged now: (file, index), -1 = none
  size_t cur_index;
  long users;           // adapters found
} eval_user_lora;

// Reads the group files of `dir` (refused when trained on another base than `base_path`).
void eval_user_lora_open(eval_user_lora *u, const char *dir, model *m, const char *base_path);
// Puts the adapter of `user` (or none) into m's weights.
void eval_user_lora_apply(eval_user_lora *u, model *m, const char *user);
void eval_user_lora_free(eval_user_lora *u);

#endif
