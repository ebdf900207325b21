// Every file kind's layout, for the docs test (tests/unit/test_layout.c) and tools: add a
// file kind by adding its table's line here.
#include "formats/layout.h"

#include "formats/adapter_file.h"
#include "formats/annotations_file.h"
#include "formats/checkpoint.h"
#include "formats/effects_file.h"
#include "formats/shards_file.h"
#include "formats/train_metrics_file.h"

const h5_layout *const h5_layouts[] = {
    &shard_layout,
    &effects_layout,
    &annotations_layout,
    &checkpoint_layout,
    &train_metrics_layout,
    &adapter_layout,
    NULL,
};
