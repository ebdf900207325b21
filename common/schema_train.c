#include "config.h"

// Keys of the `train` section (filled in by the module that reads them).
const cfg_key schema_train[] = {
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};
