// nq-shard: tokenize a JSONL corpus into <run_dir>/shards/shard-NNNNN.h5
// (docs/hdf5-layout.md); the work is in common/shard/ (shard_run.c drives it).
#include "pipeline/stage.h"
#include "shard/shard_run.h"

int main(int argc, char **argv) {
  stage_ctx s;
  stage_begin(&s, "shard", argc, argv);
  return stage_end(&s, shard_run(s.set, &s.a));
}
