// HDF5 helpers: 1-D datasets (chunked + deflate when large), string/number attributes,
// atomic outputs (write X.tmp, fsync, rename). Provenance: h5/provenance.h.
// Every HDF5 call is checked; failures stop with a line naming the file and object.
#ifndef NQ_H5IO_H
#define NQ_H5IO_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

// ---- files -------------------------------------------------------------------------
// Create `<path>.tmp` for writing (serial driver: each output file has one writer rank).
typedef struct { hid_t file; char *path; char *tmp_path; } h5_out;
void h5_out_create(h5_out *o, const char *path);
// Close, fsync, rename to the final path. After this the output is complete.
void h5_out_commit(h5_out *o);
// Close and delete the temp file (error paths).
void h5_out_abort(h5_out *o);
hid_t h5_open_read(const char *path);   // stops with a clear message if missing/not HDF5
// The same, returning -1 instead of stopping: for rerun checks, where an unreadable old output
// is a reason to regenerate (--force) rather than an error.
hid_t h5_try_open_read(const char *path);
void h5_close(hid_t file);
// Groups: create (with parents) / open.
hid_t h5_group_create(hid_t loc, const char *name);
hid_t h5_group_open(hid_t loc, const char *name);
void h5_group_close(hid_t g);
int h5_exists(hid_t loc, const char *name);  // link exists (handles nested paths)

// ---- datasets ----------------------------------------------------------------------
// Write a 1-D dataset of n elements. Large arrays (> 4096 elements) are chunked and
// deflated (level 4, with shuffle); small ones are contiguous.
void h5_write_i8(hid_t loc, const char *name, const int8_t *v, size_t n);
void h5_write_u8(hid_t loc, const char *name, const uint8_t *v, size_t n);
void h5_write_i32(hid_t loc, const char *name, const int32_t *v, size_t n);
void h5_write_i64(hid_t loc, const char *name, const int64_t *v, size_t n);
void h5_write_f32(hid_t loc, const char *name, const float *v, size_t n);
void h5_write_f64(hid_t loc, const char *name, const double *v, size_t n);
// N-D float dataset (tensors in checkpoints), dims[ndim].
void h5_write_f32_nd(hid_t loc, const char *name, const float *v, int ndim, const size_t *dims);
// Variable-length UTF-8 strings, 1-D.
void h5_write_strings(hid_t loc, const char *name, const char *const *s, size_t n);

// Readers allocate (caller frees) and return the element count in *n; the stored type is
// converted to the requested one by HDF5. They stop if the dataset is missing.
int8_t *h5_read_i8(hid_t loc, const char *name, size_t *n);
uint8_t *h5_read_u8(hid_t loc, const char *name, size_t *n);
int32_t *h5_read_i32(hid_t loc, const char *name, size_t *n);
int64_t *h5_read_i64(hid_t loc, const char *name, size_t *n);
float *h5_read_f32(hid_t loc, const char *name, size_t *n);
double *h5_read_f64(hid_t loc, const char *name, size_t *n);
// Read into a caller buffer of exactly `n` elements (shape product must match).
void h5_read_f32_into(hid_t loc, const char *name, float *dst, size_t n);
// Shape of a dataset: returns ndim, fills dims (up to 8).
int h5_dataset_shape(hid_t loc, const char *name, size_t dims[8]);
char **h5_read_strings(hid_t loc, const char *name, size_t *n);  // free with h5_free_strings
void h5_free_strings(char **s, size_t n);

// ---- attributes (on a file, group or dataset given by loc) --------------------------
void h5_attr_set_str(hid_t loc, const char *name, const char *value);
void h5_attr_set_i64(hid_t loc, const char *name, int64_t value);
void h5_attr_set_f64(hid_t loc, const char *name, double value);
int h5_attr_exists(hid_t loc, const char *name);
char *h5_attr_get_str(hid_t loc, const char *name);      // caller frees; stops if missing
int64_t h5_attr_get_i64(hid_t loc, const char *name);
double h5_attr_get_f64(hid_t loc, const char *name);

#endif
