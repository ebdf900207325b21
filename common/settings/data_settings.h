// The `data` section: which corpus files, which record fields, how prompts are rendered and
// cut (nq-shard, nq-eval and nq-shard --preview read it; keys in data_settings.c).
#ifndef NQ_DATA_SETTINGS_H
#define NQ_DATA_SETTINGS_H

#include "config/config.h"

enum { DATA_TRUNCATE_END, DATA_TRUNCATE_START };   // data.truncate
enum { DATA_BAD_FAIL, DATA_BAD_SKIP };             // data.on_bad_record
enum { DATA_SELECT_RECENT, DATA_SELECT_BM25 };     // data.history_select

typedef struct {
  string_list files;
  struct { string_list train, valid, test; } split_files;
  int format;                   // data.format: rec_format (REC_AUTO, REC_JSONL, REC_JSON)
  const char *records;
  struct { string_list files; const char *records, *id, *target; } targets;
  struct {
    const char *id, *user, *history, *target, *history_order, *split, *truth_spans, *truth_rare,
        *truth_decisive, *query;
  } fields;
  const char *prompt_template, *history_item_template, *empty_history;
  long max_history_items, max_prompt_tokens;
  int history_select;           // DATA_SELECT_*
  double bm25_k1, bm25_b;
  int truncate;                 // DATA_TRUNCATE_*
  long max_target_tokens;
  struct { double valid_fraction, test_fraction; } split_fallback;
  int on_bad_record;            // DATA_BAD_*
} data_settings;

extern const cfg_key data_keys[];
// The rules between keys (stops naming `file` and the keys).
void data_settings_check(const data_settings *d, const char *file);

#endif
