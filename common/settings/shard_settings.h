// The `shard` section (nq-shard).
#ifndef NQ_SHARD_SETTINGS_H
#define NQ_SHARD_SETTINGS_H

#include "config/config.h"

typedef struct {
  long count;
} shard_settings;

extern const cfg_key shard_keys[];

#endif
