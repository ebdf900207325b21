#include "config/config.h"

const cfg_key schema_top[] = {
    {"name", CFG_STRING, NULL, CFG_NO_RANGE, NULL, "experiment name (used in logs and tables)"},
    {"run_dir", CFG_STRING, NULL, CFG_NO_RANGE, NULL,
     "directory for every stage's outputs of this experiment (results/<name>)"},
    {"seed", CFG_INT, "1234", 0, 2147483647, NULL, "base random seed of the experiment"},
    {"memory_limit", CFG_STRING, "\"auto\"", CFG_NO_RANGE, NULL,
     "memory a node may use (nq-train/effect/eval refuse to start above it): auto = cgroup "
     "memory.max, else MemAvailable; none = no check; or a size such as 20G (docs/scaling.md)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};
