// The records of one input file, whatever its format: JSONL (one object per line; ranks read
// line-aligned byte ranges) or a JSON array (streamed, json_array.h; ranks take every
// size-th element). One interface so nq-shard and nq-eval read any corpus the same way.
#ifndef NQ_RECORDS_H
#define NQ_RECORDS_H

#include <jansson.h>
#include <stddef.h>

#include "base/json_array.h"
#include "base/jsonl.h"

typedef enum { REC_AUTO = 0, REC_JSONL, REC_JSON } rec_format;

typedef struct {
  rec_format format;
  jsonl_reader jl;
  json_array_reader ja;
} rec_reader;

// The format of `path` for `want`: REC_AUTO looks at the first non-blank byte ('[' is a JSON
// array, anything else JSONL), and a non-empty `list_path` means a JSON file. Fatal when the
// file cannot be opened or is empty.
rec_format rec_detect(const char *path, rec_format want, const char *list_path);
// Opens the part of `path` rank `rank` of `size` reads. Returns 0, or -1 with `err`.
int rec_open(rec_reader *r, const char *path, rec_format format, const char *list_path, int rank, int size,
             char *err, size_t errlen);
// Next record: 1 and *obj (caller json_decref), 0 at the end, -1 with `err` naming the place
// of a bad record (reading can go on), -2 when the file cannot be read further (JSON array).
// A record is bad when it is not JSON, not an object, or any of its strings (keys included,
// at any depth) fails text_check (base/utf8.h): `err` = "file:line: field 'a.b[2]': reason"
// ("file[index] (line L): field ..." in a JSON array).
int rec_next(rec_reader *r, json_t **obj, char *err, size_t errlen);
// Every string of `v`, keys included: text_check. 0, or -1 with `field` = the path of the
// first bad one ("profile[2].text", "" for `v` itself) and `why` = text_check's reason.
int json_text_check(const json_t *v, char *field, size_t fieldlen, char *why, size_t whylen);
// The record returned last: its number in the file (JSONL: line, JSON: array index) and where
// it is, as "file:line" or "file[index]" for messages.
long rec_number(const rec_reader *r);
void rec_where(const rec_reader *r, char *buf, size_t n);
// The place of record `number` (rec_number's) of `path` read as `format` (REC_JSONL or
// REC_JSON) for a message about a record another rank read: "file:line", or for a JSON array
// "file[index] (line L)", the line found by reading the file again up to that element.
void rec_place(const char *path, rec_format format, const char *list_path, long number, char *buf, size_t n);
void rec_close(rec_reader *r);

#endif
