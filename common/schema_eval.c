#include "config.h"

// Keys of the `eval` section (filled in by the module that reads them).
const cfg_key schema_eval[] = {
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};
