// nq-shard: tokenize a JSONL corpus into <run_dir>/shards/shard-NNNNN.h5
// (docs/hdf5-layout.md); the work is in common/shard_run.c and common/shard.c.
#include "shard/shard_run.h"
#include "pipeline/stage.h"

int main(int argc, char **argv) {
  stage_ctx s;
  stage_begin(&s, "shard", argc, argv);
  shard_run(&s);
  return stage_end(&s, 0);
}
