// The corpus a config names (the `data` section), as nq-shard and nq-eval both read it: the
// input files with the split each file gives its records (data.split_files) or none (the
// split field or the user hash decides), their format, and the optional targets table
// joined to the records by sample id (data.targets: LaMP's outputs file). No MPI here.
#ifndef NQ_CORPUS_H
#define NQ_CORPUS_H

#include <jansson.h>

#include "base/records.h"
#include "files/shards_file.h"
#include "settings/settings.h"

// One input file. `split` is SPLIT_* (formats/shards_file.h) from data.split_files, or -1.
typedef struct {
  char *path;
  int split;
} corpus_file;

// data.files, then the files matching each data.split_files.{train,valid,test} glob (sorted),
// "{run_dir}" expanded. Fatal when there is none, a glob matches nothing or a file is named twice.
corpus_file *corpus_files(const settings *set, int *n);
void corpus_files_free(corpus_file *f, int n);

// Opens the part of an input file rank `rank` of `size` reads, in data.format with data.records.
int corpus_open(rec_reader *r, const data_settings *d, const char *path, int rank, int size, char *err, size_t errlen);

// data.targets: every record of every targets file by its id (data.targets.id).
typedef struct {
  json_t *by_id;      // id -> [record, file index, record number]; NULL when not configured
  char **files;
  int n_files;
  char *names;        // the files, comma separated, for messages
} corpus_targets;

// Loads data.targets.files (nothing when the list is empty). Fatal on a duplicate id, naming
// both places (file and record), or on a malformed targets file.
void corpus_targets_load(corpus_targets *t, const settings *set);
// The targets record of sample `id`, or NULL with `err` = "id 'x' ... not in <files>".
const json_t *corpus_target(const corpus_targets *t, const char *id, char *err, size_t errlen);
void corpus_targets_free(corpus_targets *t);

// The id of the record `r` returned last when data.fields.id = "": the file's name (without
// its directory) and the record's place, "train.jsonl:12" (line) or "questions.json[3]" (index).
void corpus_auto_id(const rec_reader *r, char *buf, size_t n);

// A record's id or user field as text (a string, or an integer in decimal). Returns 0, or
// -1 with `err` = "field 'x': reason".
int corpus_key_text(const json_t *rec, const char *field, char **out, char *err, size_t errlen);

#endif
