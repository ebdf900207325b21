// nq-shard: tokenize a JSONL corpus into <run_dir>/shards/shard-NNNNN.h5
// (docs/hdf5-layout.md); the work is in common/shard_run.c and common/shard.c.
#include "shard/shard_run.h"
#include "pipeline/stage.h"

static const stage_info info = {
    .name = "shard",
    .summary = "Tokenize the JSONL corpus (with- and without-history prompts) into balanced HDF5 shards.",
    .sections = "data,tokenizer,shard",
};

int main(int argc, char **argv) {
  stage_ctx s;
  stage_begin(&s, &info, argc, argv);
  shard_run(&s);
  stage_end(&s);
  return 0;
}
