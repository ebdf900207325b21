// What nq-eval reads back from the JSONL records of data.files (the shards store neither):
// each evaluated sample's full reference text and its planted phrases (docs/eval.md "Scores
// per sample").
// defines: eval_corpus_entry, eval_corpus, eval_corpus_load, eval_corpus_free
#ifndef NQ_EVAL_CORPUS_H
#define NQ_EVAL_CORPUS_H

#include <stddef.h>

#include "eval/eval_opts.h"
#include "eval/eval_samples.h"

typedef struct {
  char *reference;    // the record's full target text, or NULL when the record was not found
  int n_phrases;
  char **phrases;     // planted phrases (kinds in eval.skip_kinds left out)
} eval_corpus_entry;

typedef struct {
  size_t n;
  eval_corpus_entry *e;   // (n) by evaluated sample
  int any_phrases;        // some evaluated record carried eval.phrases_field
} eval_corpus;

void eval_corpus_load(eval_corpus *cp, const eval_opts *o, const eval_samples *d);
void eval_corpus_free(eval_corpus *cp);

#endif
