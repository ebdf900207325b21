#include "config.h"

// Keys of the `annotate` section (filled in by the module that reads them).
const cfg_key schema_annotate[] = {
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};
