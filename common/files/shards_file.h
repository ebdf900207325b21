// The shard file: nq-shard's output, read by nq-effect, nq-train and nq-eval. One struct
// (the file in memory) and one table of its datasets and attributes, `shard_layout`, which the
// writer, the reader and the docs test walk (docs/hdf5-layout.md, section `shards`).
// How samples are built from JSONL and balanced over shards is nq-shard's (shard/shard.h).
// Read, write and free a shard through files/file_kind.h with `shard_kind`: file_read (a whole
// shard), file_read_attrs (its header: counts and attributes, no dataset), file_write, file_free.
//
// defines: SPLIT_TRAIN, SPLIT_VALID, SPLIT_TEST, shard_data, shard_layout, shard_kind, shard_seq,
//          shard_target, shard_set_check
#ifndef NQ_SHARDS_FILE_H
#define NQ_SHARDS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "files/file_kind.h"
#include "h5/layout.h"

enum { SPLIT_TRAIN = 0, SPLIT_VALID = 1, SPLIT_TEST = 2 };

// One shard. The arrays are shard_layout's datasets, the scalars its attributes; the four
// counts are attributes too.
typedef struct {
  size_t n_samples, n_tokens, n_targets, n_users;
  int32_t *tokens;                    // n_tokens
  char **id;                          // n_samples
  int32_t *user;                      // index into users
  int8_t *split;                      // SPLIT_*
  int64_t *hist_offset, *nohist_offset, *target_offset;   // target_offset: into truth
  int32_t *hist_length, *nohist_length, *target_length, *history_items;
  char **users;                       // n_users, sorted
  uint8_t *truth, *truth_rare;        // n_targets, or NULL when the data had none
  uint8_t *truth_decisive;            // n_targets, or NULL when the data had none
  char *tokenizer_digest;
  int32_t vocab_size, eos_id;
  int64_t bad_records, truncated_targets, truncated_fields;   // in the whole corpus
  int64_t shard_index, shard_count;
} shard_data;

extern const h5_layout shard_layout;
// The kind: written by nq-shard (older shards without the n_targets and n_users counts are
// refused); every sequence lies inside the token array and the targets add up to n_targets.
extern const file_kind shard_kind;

// Sequence of sample i (with or without history): pointer into tokens and its length.
const int32_t *shard_seq(const shard_data *d, size_t i, int with_history, size_t *len);
// Target tokens of sample i (the tail of both sequences).
const int32_t *shard_target(const shard_data *d, size_t i, size_t *len);

// The n shard files `paths` (numbered `numbers` by their names, ascending), checked against
// what nq-shard recorded: shards 0 .. count-1, each readable, its index and count matching,
// all from one nq-shard run (same config and inputs). A deleted, truncated or foreign shard
// stops naming it and "rerun nq-shard". (The run layout lists them: run_shard_files.)
void shard_set_check(char *const *paths, const long *numbers, int n);

#endif
