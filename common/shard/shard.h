// nq-shard's logic without MPI: record -> token sequences (prompt rendering with history
// truncation), balancing samples into shards, and the samples of a shard laid out as its
// file. The file itself (layout, writer, reader for nq-effect / nq-train / nq-eval) is
// formats/shards_file.h (docs/hdf5-layout.md).
#ifndef NQ_SHARD_H
#define NQ_SHARD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "h5/provenance.h"
#include "files/shards_file.h"
#include "text/tokenizer.h"
#include "base/util.h"
#include "settings/data_settings.h"

// ---- options (the `data` section) ---------------------------------------------------
typedef struct {
  const char *f_id, *f_user, *f_history, *f_target;      // field names (f_id "" = file:number)
  const char *f_order, *f_split, *f_truth, *f_truth_rare; // "" = absent
  const char *f_truth_decisive;                           // "" = absent
  const char *f_query;                                    // data.fields.query (bm25)
  const char *f_gold_target;                              // data.targets.target: the target
                                                          // field of a joined targets record
  const char *prompt_tpl, *item_tpl, *empty_history;
  int max_history_items, max_prompt_tokens, max_target_tokens;
  double valid_fraction, test_fraction;
  int skip_bad;                                           // on_bad_record = "skip"
  int cut_start;                                          // data.truncate = "start"
  int select_bm25;                                        // data.history_select = "bm25"
  double bm25_k1, bm25_b;
} shard_opts;
// The data section as the shard code uses it; checks the templates (fatal naming the key).
void shard_opts_from_settings(shard_opts *o, const data_settings *d);

// ---- one sample ----------------------------------------------------------------------
// One candidate history item as the selection saw it (--preview prints them).
typedef struct {
  int32_t index;            // position in the record's history array
  double score;             // BM25 score (bm25), else 0
  int8_t kept;              // among the K selected
} shard_hist_cand;

typedef struct {
  int64_t order;            // global position in the corpus (files in order, lines in order)
  char *id, *user;
  int8_t split;             // SPLIT_*
  int32_t n_hist;           // history items in the with-history prompt
  int32_t hist_len, nohist_len, target_len;   // the target (ending in <|endoftext|>) is the
  int32_t *hist, *nohist;                     // tail of both sequences
  uint8_t *truth, *truth_rare;                // per target token, or NULL
  uint8_t *truth_decisive;                    // per target token, or NULL
  int32_t hist_dropped;     // history items dropped to fit max_prompt_tokens  } for the log and
  uint8_t field_cut, target_cut;   // a {field:N} / the target was cut      } --preview; not packed
  shard_hist_cand *cand;    // every history item, time order (oldest first) } --preview;
  int32_t n_cand;           //                                               } not packed
} shard_sample;

// What the record's file adds to it (NULL: nothing).
typedef struct {
  const json_t *gold;     // its targets record (data.targets), which holds the target; or NULL
  int split;              // the split of its file (data.split_files), or -1
  const char *auto_id;    // its id when data.fields.id = "" ("file:number")
} shard_src;

// Counts over records, reported in the log and the shard attributes.
typedef struct {
  long truncated_targets;   // targets cut to max_target_tokens
  long truncated_fields;    // records with a {field:N} placeholder cut to its budget
} shard_counts;

// Render both prompts, tokenize prompt and target separately and concatenate. Returns 0,
// or -1 with `err` = "field 'x': reason" (the caller prefixes file:line). Adds to *n.
int shard_sample_make(const shard_opts *o, const tokenizer *t, const json_t *rec, const shard_src *src,
                      shard_sample *s, shard_counts *n, char *err, size_t errlen);
// The split of a record (its file's, its split field's or its user's hash), or -1 with `err`.
int shard_sample_split(const shard_opts *o, const json_t *rec, const shard_src *src, char *err, size_t errlen);
// Texts for training a tokenizer on this record: the prompt with all (at most
// max_history_items) history items, and the target. Returns 0 or -1 with `err`.
int shard_sample_texts(const shard_opts *o, const json_t *rec, const shard_src *src, char **prompt,
                       char **target, char *err, size_t errlen);

void shard_sample_free(shard_sample *s);
// Byte serialization (for moving samples between ranks).
void shard_sample_pack(const shard_sample *s, strbuf *b);
size_t shard_sample_unpack(const char *p, size_t n, shard_sample *s);  // bytes consumed

// ---- balancing -----------------------------------------------------------------------
// Greedy longest-first: samples sorted by cost descending (ties: smaller index first) go to
// the shard with the least cost so far (ties: lower shard). Depends only on the costs, so
// the assignment is the same for any rank count.
void shard_assign(const int64_t *cost, size_t n, int n_shards, int32_t *shard_of);

// ---- writing -------------------------------------------------------------------------
// What a shard says beyond its samples.
typedef struct {
  int index, count;
  const char *tokenizer_digest;
  int vocab_size, eos_id;
  int64_t bad_records, truncated_targets, truncated_fields;
  int has_truth, has_truth_rare, has_truth_decisive;
  const h5_provenance *prov;
} shard_write_info;
// The shard file of samples s[0..n) (sorted by `order` inside; the file owns copies).
void shard_data_from_samples(shard_data *d, shard_sample *s, size_t n, const shard_write_info *info);
// shard_data_from_samples, then file_write(&shard_kind, ...) to `path` (atomic: .tmp then rename).
void shard_write_samples(const char *path, shard_sample *s, size_t n, const shard_write_info *info);

#endif
