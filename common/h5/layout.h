// File layouts declared once, as tables. Each file kind (shards, effects, annotations,
// checkpoints, training metrics, LoRA adapters) lists its datasets and attributes in one
// `h5_field[]` table beside its struct; the writer, the reader and the docs test
// (docs/hdf5-layout.md) all walk that table, so a dataset name appears in exactly one place in
// the code. The kinds are read and written through files/file_kind.h, which calls these.
//
// A field names a member of the file's in-memory struct by offset: a pointer to an array
// for a dataset (its length is one of the file's counts), or a scalar for an attribute.
//
// defines: h5_field, h5_layout, h5_layout_write, h5_layout_read, h5_layout_free,
//          h5_layout_read_attrs, h5_layout_find, h5_layout_count_stored, h5_layout_digest,
//          h5_layouts
#ifndef NQ_LAYOUT_H
#define NQ_LAYOUT_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  LF_I8, LF_U8, LF_I32, LF_I64, LF_F32, LF_F64,
  LF_STR,     // dataset: char ** (vlen UTF-8); attribute: char *
} layout_type;

enum {
  LF_ATTR = 1u << 0,      // a scalar attribute (member is int64_t, int32_t, double or char *;
                          // an LF_I32 attribute is stored as int64)
  LF_OPTIONAL = 1u << 1,  // dataset: absent when the member is NULL; attribute: may be absent
  LF_DERIVED = 1u << 2,   // written for readers outside nextquill (h5py); not read back
  LF_SETS_COUNT = 1u << 3,  // dataset: its length in the file is its count (count - plus), which
                            // is then not stored as an attribute; list it before the other
                            // datasets of that count (they are checked against it)
  LF_PATTERN = 1u << 4,   // a family of datasets named by a pattern ("optimizer/m/<HF tensor
                          // name>"), written and read by the file kind's own loop; for the docs
                          // only (write, read and free skip it)
};

typedef struct {
  const char *name;     // path in the file: a dataset such as samples/offset, or an attribute
  layout_type type;
  size_t member;        // offsetof(the file's struct, member)
  int count;            // dataset: index into the counts array of write/read (its length);
                        // attribute: unused
  int plus;             // dataset: extra elements (offsets arrays hold count + 1)
  unsigned flags;       // LF_*
  const char *shape;    // for docs: the length, e.g. n_samples + 1; "" for attributes
  const char *meaning;  // for docs: one line
} h5_field;

typedef struct {
  const char *kind;           // its heading in docs/hdf5-layout.md (the shards, ...)
  const char *writer;         // the stage that writes it (nq-<writer>)
  const h5_field *fields;     // terminated by a field with name NULL
  const char *const *counts;  // names of the counts (attributes of the file), NULL-terminated
} h5_layout;

// Writes every field of `L` present in `obj`, with dataset lengths from counts[] (in the
// order of L->counts), and the counts themselves as int64 attributes.
void h5_layout_write(hid_t file, const h5_layout *L, const void *obj, const size_t *counts);
// Reads the counts (into counts[]) and every field into `obj` (arrays allocated: free with
// h5_layout_free); stops naming `path` and the dataset when a required field is missing or a
// dataset's length disagrees with its count.
void h5_layout_read(hid_t file, const char *path, const h5_layout *L, void *obj, size_t *counts);
// Reads only the counts and the attributes (no datasets): a cheap look at a file's identity.
// Returns 0, without stopping, when a count or a required attribute is missing (a file of
// an older or foreign writer); what was read is freed by h5_layout_free as usual.
int h5_layout_read_attrs(hid_t file, const h5_layout *L, void *obj, size_t *counts);
// Frees every array and string member a read (or the caller) filled, and zeroes them.
void h5_layout_free(const h5_layout *L, void *obj, const size_t *counts);
// SHA-256 hex of what a read gives back: every field that is read (not LF_DERIVED or
// LF_PATTERN), in table order, as its name, its length and its values' bytes (strings with
// their lengths; an absent optional field as a marker). The writer stores it and the reader
// recomputes it (files/file_kind.c): a value changed in place in a file that is still valid
// HDF5 is found, whatever the chunking or compression.
void h5_layout_digest(const h5_layout *L, const void *obj, const size_t *counts, char hex[65]);
// The field called `name`, or NULL.
const h5_field *h5_layout_find(const h5_layout *L, const char *name);
// Whether count c is stored as an attribute (else a LF_SETS_COUNT dataset gives it).
int h5_layout_count_stored(const h5_layout *L, int c);

// Every file kind's layout, NULL-terminated (files/layouts.c): for the docs test and tools.
extern const h5_layout *const h5_layouts[];

#endif
