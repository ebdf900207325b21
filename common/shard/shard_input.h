// nq-shard's view of the corpus (no MPI): the options, the input files with their splits,
// the targets table, and for each record what its file adds (shard_src). Shared by the
// driver (shard_run.c) and --preview (shard_preview.c); also trains a tokenizer on the
// train split.
#ifndef NQ_SHARD_INPUT_H
#define NQ_SHARD_INPUT_H

#include "base/records.h"
#include "pipeline/corpus.h"
#include "shard/shard.h"

typedef struct {
  const settings *set;
  shard_opts o;
  corpus_file *files;
  int n_files;
  corpus_targets targets;
} shard_input;

// Options, files (missing or empty ones: fatal) and the targets table (fatal on a duplicate id).
void shard_input_open(shard_input *in, const settings *set);
void shard_input_close(shard_input *in);
// What file `f` adds to the record `r` returned last: split, joined targets record (a
// missing id gives -1 and `err` naming the targets files) and its id when data.fields.id
// is "" (written into id_buf).
int shard_input_src(const shard_input *in, int f, const rec_reader *r, const json_t *rec, shard_src *src,
                    char *id_buf, size_t id_len, char *err, size_t errlen);
// Trains a tokenizer (tokenizer.vocab_size, tokenizer.specials) on the prompts and targets of
// the first tokenizer.train_samples records of the train split; *n_texts = texts used. Bad
// records stop it naming the first (data.on_bad_record = "fail"), or are left out (skip mode,
// or `skip_bad`: --preview shows them in its listing instead).
tokenizer *shard_input_train_tokenizer(const shard_input *in, int skip_bad, size_t *n_texts);

#endif
