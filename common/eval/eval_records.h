// The results of generation as sent to rank 0: one record per (sample, row), this header then
// n token ids padded to an even count (so the next header stays 8-byte aligned), appended to a
// rank's buffer, gathered in rank order, and indexed on rank 0.
// defines: eval_record, eval_record_append, eval_record_ids, eval_records_gather,
//          eval_records_index
#ifndef NQ_EVAL_RECORDS_H
#define NQ_EVAL_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "pipeline/stage.h"

typedef struct {
  int32_t k, row, n, eos;   // sample, row, generated tokens, stopped at end-of-text
  double nll[6];            // num/den of EM_NLL, EM_NLL_PREF, EM_NLL_OTHER
} eval_record;

void eval_record_append(strbuf *out, const eval_record *h, const int32_t *ids);
// The generated ids that follow a record's header (h->n of them).
static inline const int32_t *eval_record_ids(const eval_record *h) { return (const int32_t *)(h + 1); }

// Every rank's records to rank 0 (NULL elsewhere), in rank order; *total = bytes.
char *eval_records_gather(const stage_args *s, const strbuf *mine, size_t *total);
// Rank 0: the record of (row r, sample k) at [r * n + k], pointing into buf (n_rows * n,
// caller frees the array); stops on a malformed buffer or a missing (row, sample).
const eval_record **eval_records_index(const char *buf, size_t len, size_t n, int n_rows);

#endif
