// A streaming reader of the records of a JSON array file: `[{...}, {...}]` at the top level,
// or a list inside top-level objects named by a dotted path (LaMP's outputs file
// `{"task": ..., "golds": [{...}]}` has the path "golds"). It never holds more than one record:
// a byte scanner finds each element's extent (strings, escapes and nesting), and only the
// elements this reader keeps are parsed (jansson); the others are skipped by the scanner,
// which checks only their quoting and bracket balance. Errors are one line,
// "file[index] (line L): reason", or "file:L: reason" outside the records.
#ifndef NQ_JSON_ARRAY_H
#define NQ_JSON_ARRAY_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "base/util.h"

typedef struct {
  const char *path;
  FILE *f;
  long line;            // 1-based line of the byte read last
  long index;           // array index of the record returned last (-1 before the first)
  long rec_line;        // the line that record starts on
  int stride, phase;    // keep elements with index % stride == phase (ranks split a file)
  int state;            // 0 before the first element, 1 inside, 2 at the end
  int depth;            // objects around the array (the parts of the list path)
  int back;             // one byte of push-back, or -1
  strbuf buf;           // the element being parsed
} json_array_reader;

// Opens `path` and moves to the first element of the array at `list_path` ("" = the file is
// the array). Returns 0, or -2 with `err` naming the file, line and what was expected.
int json_array_open(json_array_reader *r, const char *path, const char *list_path, int stride, int phase,
                    char *err, size_t errlen);
// Next kept element: 1 and *obj (caller json_decref), 0 after the last, -1 with `err` =
// "file[index] (line L): reason" for a malformed element or one that is not an object (the
// next call reads on), -2 with `err` = "file:L: reason" when the array itself is broken
// (unbalanced, not closed, a missing ',', anything but whitespace after the closing ']' or,
// with a list path, after the objects around it): nothing more can be read.
int json_array_next(json_array_reader *r, json_t **obj, char *err, size_t errlen);
void json_array_close(json_array_reader *r);

#endif
