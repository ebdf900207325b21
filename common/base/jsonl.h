// JSON files: a streaming JSONL reader (jansson), one JSON object per line, read from a byte range of a
// file so ranks can split a corpus. Errors are one line, "file:line: reason", with the
// line number of the whole file even when reading from the middle.
#ifndef NQ_JSONL_H
#define NQ_JSONL_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "base/utf8.h"   // utf8_valid: every line is checked

typedef struct {
  const char *path;
  FILE *f;
  long long pos, end;   // next byte to read, end of the range (exclusive)
  long line;            // 1-based number of the line read last
  char *buf;
  size_t cap;
} jsonl_reader;

// Size of `path` in bytes; fatal if it cannot be opened or is empty.
long long jsonl_file_size(const char *path);
// The part of `path` rank `rank` of `size` reads: [*start, *end) aligned to line starts
// (a line belongs to the rank whose byte range holds its first byte). Disjoint and covering.
void jsonl_range(const char *path, int rank, int size, long long *start, long long *end);
// Open a reader on [start, end) of `path` (fatal if it cannot). Counts the newlines before
// `start` so line numbers are those of the file.
void jsonl_open(jsonl_reader *r, const char *path, long long start, long long end);
// Next record: 1 and *obj (caller json_decref) on success, 0 at the end of the range,
// -1 for a bad line with `err` = "file:line: reason". Empty lines are skipped.
int jsonl_next(jsonl_reader *r, json_t **obj, char *err, size_t errlen);
void jsonl_close(jsonl_reader *r);

// Value at a dotted path ("a.b") in an object, or NULL.
json_t *json_path_get(const json_t *obj, const char *dotted);

// Writes `j` as JSON text (json_dumps `flags`) to `path` atomically (X.tmp, then rename),
// ending in a newline when `newline`; stops naming `path` if it cannot be serialized.
void json_write_file(const char *path, const json_t *j, size_t flags, int newline);

#endif
