// Every file kind's layout, for the docs test (tests/unit/test_layout.c) and tools: add a
// file kind by adding its table's line here.
#include "h5/layout.h"

#include "files/adapter_file.h"
#include "files/annotations_file.h"
#include "files/checkpoint.h"
#include "files/effects_file.h"
#include "files/shards_file.h"
#include "files/train_metrics_file.h"

const h5_layout *const h5_layouts[] = {
    &shard_layout,
    &effects_layout,
    &annotations_layout,
    &checkpoint_layout,
    &train_metrics_layout,
    &adapter_layout,
    NULL,
};
