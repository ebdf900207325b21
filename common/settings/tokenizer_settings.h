// The `tokenizer` section: load a tokenizer.json, or train one on the corpus (nq-shard).
#ifndef NQ_TOKENIZER_SETTINGS_H
#define NQ_TOKENIZER_SETTINGS_H

#include "config/config.h"

typedef struct {
  const char *path;
  long vocab_size, train_samples;
  string_list specials;
} tokenizer_settings;

extern const cfg_key tokenizer_keys[];

#endif
