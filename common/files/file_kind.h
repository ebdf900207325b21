// Our own HDF5 file kinds (shards, effects, annotations, checkpoints, training metrics, LoRA
// adapters) read and written by one generic code path over their layout tables (h5/layout.h).
// A kind is its table plus what the table cannot say: where the counts live in the in-memory
// struct, which stages write it, what marks it, what must hold between its arrays. Each kind
// declares its `file_kind` beside its table in <kind>_file.c; creating the file atomically,
// writing the table and the provenance, checking the writer on the way back, reading and
// freeing are here, once, so a rule about files (refuse another stage's output) holds for all.
//
// defines: file_kind, FILE_MAX_COUNTS, file_write, file_read, file_read_attrs, file_read_from,
//          file_free, file_is, file_why
#ifndef NQ_FILE_KIND_H
#define NQ_FILE_KIND_H

#include <hdf5.h>
#include <stddef.h>

#include "h5/layout.h"
#include "h5/provenance.h"

enum { FILE_MAX_COUNTS = 8 };

typedef struct {
  const h5_layout *layout;
  size_t size;                        // sizeof the in-memory struct (zeroed before a read, after a free)
  size_t count_at[FILE_MAX_COUNTS];   // offsetof the size_t member holding each of layout->counts
  // The stages (nq_stage) whose files are this kind, NULL-terminated, the layout's writer first;
  // NULL: any file, provenance or not (checkpoints also come from Python tools).
  const char *const *writers;
  const h5_field *mark;   // a row of the table whose presence marks the kind, or NULL
  // What the table cannot check: its arrays agree with each other (offsets inside the token
  // array, ...). Returns 0, or nonzero with the reason in why[n]. Run before a write (a failure
  // is the writer's bug) and after a read (a damaged file). NULL: nothing to check.
  int (*check)(const void *obj, char *why, size_t n);
  // Writes what the file holds beyond the table (checkpoints' tensors), before the provenance.
  void (*write_more)(hid_t file, const char *path, const void *obj);
} file_kind;

// Writes `obj` (the kind's struct) and `prov` to `path` atomically (path.tmp, then rename).
void file_write(const file_kind *k, const char *path, const void *obj, const h5_provenance *prov);
// Reads the whole table of `path` into `obj` (zeroed first; free with file_free). Stops naming
// `path` when the file is not of this kind ("written by nq-effect, not nq-shard", an older
// writer without a count, no mark), a field is missing or short, or the check fails.
void file_read(const file_kind *k, const char *path, void *obj);
// The cheap identity read: the same checks, then only the counts and attributes (no dataset).
void file_read_attrs(const file_kind *k, const char *path, void *obj);
// file_read of a file the caller holds open (`f`, from h5_open_read), for a kind whose files
// hold more than the table (checkpoints: the tensors are read from the same handle).
void file_read_from(const file_kind *k, hid_t f, const char *path, void *obj);
// Frees every array and string of `obj` (read, or filled by the caller) and zeroes it.
void file_free(const file_kind *k, void *obj);
// For a kind's check: formats the reason into why[n] and returns 1 (`return file_why(...)`).
int file_why(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
// Whether `path` opens as a file of this kind (writer, counts, mark): 0 for a missing,
// truncated or foreign file, without stopping.
int file_is(const file_kind *k, const char *path);

#endif
