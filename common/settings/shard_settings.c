// Keys of the `shard` section; each row names the shard_settings member it fills.
#include "settings/shard_settings.h"

#include <stddef.h>

#define F(m) offsetof(shard_settings, m)

const cfg_key shard_keys[] = {
    {"shard.count", CFG_INT, "4", 1, 100000, NULL,
     "number of shard files in <run_dir>/shards, balanced by token count", F(count)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
};
