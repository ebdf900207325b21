#include "config.h"

// Keys of the `effect` section (filled in by the module that reads them).
const cfg_key schema_effect[] = {
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};
