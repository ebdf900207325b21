#include "config/config.h"

// Keys of the `shard` section (read by stages/nq-shard.c).
const cfg_key schema_shard[] = {
    {"shard.count", CFG_INT, "4", 1, 100000, NULL,
     "number of shard files in <run_dir>/shards, balanced by token count"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};
