// HDF5 helpers. Every call is checked with a message naming the file/object; outputs are
// written as X.tmp and renamed on commit so a crash never leaves a complete-looking file.
#include "h5/h5io.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/path_guard.h"
#include "base/log.h"
#include "base/util.h"

// A failed HDF5 call stops naming the object and, when the system said why (ENOSPC on a
// full disk, EIO, ...), the cause: HDF5's own stack is switched off below.
#define H5OK(expr, ...)                    \
  do {                                     \
    errno = 0;                             \
    if ((expr) < 0) h5_fail(__VA_ARGS__);  \
  } while (0)

__attribute__((format(printf, 1, 2))) static _Noreturn void h5_fail(const char *fmt, ...) {
  int e = errno;
  log_exit_without_finalize();
  char msg[1536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (e) error("%s: %s", msg, strerror(e));
  error("%s", msg);
}

static void quiet_hdf5(void) {
  static int done = 0;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);  // our own messages replace HDF5's stack dumps
    done = 1;
  }
}

// ---- files -------------------------------------------------------------------------

void h5_out_create(h5_out *o, const char *path) {
  quiet_hdf5();
  o->path = xstrdup(path);
  o->tmp_path = xmalloc(strlen(path) + 5);
  sprintf(o->tmp_path, "%s.tmp", path);
  path_guard_check(o->tmp_path);   // H5F_ACC_TRUNC follows a link: refuse one below run_dir
  cleanup_file(o->tmp_path);   // removed if the process stops before the commit
  errno = 0;
  o->file = H5Fcreate(o->tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (o->file < 0) h5_fail("cannot create HDF5 file %s", o->tmp_path);
}

void h5_out_commit(h5_out *o) {
  errno = 0;
  if (H5Fflush(o->file, H5F_SCOPE_GLOBAL) < 0) {
    int e = errno;
    H5Fclose(o->file);   // released now: HDF5 would crash closing it again at MPI_Finalize
    errno = e;
    h5_fail("flushing %s", o->tmp_path);
  }
  H5OK(H5Fclose(o->file), "closing %s", o->tmp_path);
  fsync_path(o->tmp_path);
  rename_atomic(o->tmp_path, o->path);
  cleanup_forget(o->tmp_path);
  free(o->path);
  free(o->tmp_path);
  o->path = o->tmp_path = NULL;
  o->file = -1;
}

void h5_out_abort(h5_out *o) {
  if (o->file >= 0) H5Fclose(o->file);
  if (o->tmp_path) unlink(o->tmp_path), cleanup_forget(o->tmp_path);
  free(o->path);
  free(o->tmp_path);
  o->path = o->tmp_path = NULL;
  o->file = -1;
}

hid_t h5_open_read(const char *path) {
  quiet_hdf5();
  if (!file_exists(path)) fatal("%s: file not found", path);
  if (H5Fis_hdf5(path) <= 0) fatal("%s: not an HDF5 file (or unreadable)", path);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) fatal("%s: cannot open HDF5 file", path);
  return f;
}

hid_t h5_try_open_read(const char *path) {
  quiet_hdf5();
  if (!file_exists(path) || H5Fis_hdf5(path) <= 0) return -1;
  return H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
}

void h5_close(hid_t file) { H5OK(H5Fclose(file), "closing HDF5 file"); }

static char *obj_name(hid_t loc) {
  static char buf[1024];
  char fname[512] = "?";
  H5Fget_name(loc, fname, sizeof fname);
  char oname[512] = "?";
  H5Iget_name(loc, oname, sizeof oname);
  snprintf(buf, sizeof buf, "%s:%s", fname, oname);
  return buf;
}

hid_t h5_group_create(hid_t loc, const char *name) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5OK(lcpl, "H5Pcreate link");
  H5OK(H5Pset_create_intermediate_group(lcpl, 1), "intermediate groups");
  hid_t g = H5Gcreate2(loc, name, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  if (g < 0) error("cannot create group %s in %s", name, obj_name(loc));
  return g;
}

hid_t h5_group_open(hid_t loc, const char *name) {
  hid_t g = H5Gopen2(loc, name, H5P_DEFAULT);
  if (g < 0) fatal("%s: missing group '%s'", obj_name(loc), name);
  return g;
}

void h5_group_close(hid_t g) { H5OK(H5Gclose(g), "closing group"); }

int h5_exists(hid_t loc, const char *name) {
  // check each component, as H5Lexists fails on a missing intermediate group
  char *p = xstrdup(name);
  int ok = 1;
  for (char *s = p + (p[0] == '/'); ok; s++) {
    char c = *s;
    if (c == '/' || c == 0) {
      *s = 0;
      htri_t e = H5Lexists(loc, p, H5P_DEFAULT);
      ok = e > 0;
      *s = c;
      if (c == 0) break;
    }
  }
  free(p);
  return ok;
}

// ---- datasets ----------------------------------------------------------------------

#define CHUNK_THRESHOLD 4096
#define CHUNK_ELEMS 65536

static void write_nd(hid_t loc, const char *name, hid_t memtype, hid_t filetype, const void *v,
                     int ndim, const hsize_t *dims) {
  hsize_t total = 1;
  for (int i = 0; i < ndim; i++) total *= dims[i];
  hid_t space = H5Screate_simple(ndim, dims, NULL);
  H5OK(space, "dataspace for %s", name);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5OK(dcpl, "dcpl for %s", name);
  if (total > CHUNK_THRESHOLD) {
    hsize_t chunk[8];
    // chunk along the first dimension, about CHUNK_ELEMS elements per chunk
    hsize_t inner = 1;
    for (int i = 1; i < ndim; i++) { chunk[i] = dims[i]; inner *= dims[i]; }
    chunk[0] = CHUNK_ELEMS / (inner ? inner : 1);
    if (chunk[0] < 1) chunk[0] = 1;
    if (chunk[0] > dims[0]) chunk[0] = dims[0];
    H5OK(H5Pset_chunk(dcpl, ndim, chunk), "chunking %s", name);
    H5OK(H5Pset_shuffle(dcpl), "shuffle %s", name);
    H5OK(H5Pset_deflate(dcpl, 4), "deflate %s", name);
  }
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5OK(H5Pset_create_intermediate_group(lcpl, 1), "lcpl");
  hid_t ds = H5Dcreate2(loc, name, filetype, space, lcpl, dcpl, H5P_DEFAULT);
  if (ds < 0) error("cannot create dataset %s in %s", name, obj_name(loc));
  if (total > 0) H5OK(H5Dwrite(ds, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), "writing dataset %s", name);
  H5Dclose(ds);
  H5Pclose(lcpl);
  H5Pclose(dcpl);
  H5Sclose(space);
}

static void write_1d(hid_t loc, const char *name, hid_t memtype, hid_t filetype, const void *v, size_t n) {
  hsize_t d = n;
  write_nd(loc, name, memtype, filetype, v, 1, &d);
}

void h5_write_i8(hid_t loc, const char *name, const int8_t *v, size_t n) { write_1d(loc, name, H5T_NATIVE_INT8, H5T_STD_I8LE, v, n); }
void h5_write_u8(hid_t loc, const char *name, const uint8_t *v, size_t n) { write_1d(loc, name, H5T_NATIVE_UINT8, H5T_STD_U8LE, v, n); }
void h5_write_i32(hid_t loc, const char *name, const int32_t *v, size_t n) { write_1d(loc, name, H5T_NATIVE_INT32, H5T_STD_I32LE, v, n); }
void h5_write_i64(hid_t loc, const char *name, const int64_t *v, size_t n) { write_1d(loc, name, H5T_NATIVE_INT64, H5T_STD_I64LE, v, n); }
void h5_write_f32(hid_t loc, const char *name, const float *v, size_t n) { write_1d(loc, name, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, v, n); }
void h5_write_f64(hid_t loc, const char *name, const double *v, size_t n) { write_1d(loc, name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, v, n); }

void h5_write_f32_nd(hid_t loc, const char *name, const float *v, int ndim, const size_t *dims) {
  if (ndim < 1 || ndim > 8) error("dataset %s: unsupported rank %d", name, ndim);
  hsize_t d[8];
  for (int i = 0; i < ndim; i++) d[i] = dims[i];
  write_nd(loc, name, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, v, ndim, d);
}

static hid_t str_type(void) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5OK(t, "string type");
  H5OK(H5Tset_size(t, H5T_VARIABLE), "vlen string");
  H5OK(H5Tset_cset(t, H5T_CSET_UTF8), "utf8 string");
  return t;
}

void h5_write_strings(hid_t loc, const char *name, const char *const *s, size_t n) {
  hid_t t = str_type();
  write_1d(loc, name, t, t, s, n);
  H5Tclose(t);
}

static hid_t open_ds(hid_t loc, const char *name, size_t *n) {
  if (!h5_exists(loc, name)) fatal("%s: missing dataset '%s'", obj_name(loc), name);
  hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
  if (ds < 0) fatal("%s: cannot open dataset '%s'", obj_name(loc), name);
  hid_t sp = H5Dget_space(ds);
  H5OK(sp, "dataspace of %s", name);
  hssize_t np = H5Sget_simple_extent_npoints(sp);
  H5OK(np, "size of %s", name);
  H5Sclose(sp);
  *n = (size_t)np;
  return ds;
}

static void *read_any(hid_t loc, const char *name, hid_t memtype, size_t elem, size_t *n) {
  hid_t ds = open_ds(loc, name, n);
  void *buf = xmalloc(*n * elem);
  if (*n) H5OK(H5Dread(ds, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), "reading dataset %s", name);
  H5Dclose(ds);
  return buf;
}

int8_t *h5_read_i8(hid_t loc, const char *name, size_t *n) { return read_any(loc, name, H5T_NATIVE_INT8, 1, n); }
uint8_t *h5_read_u8(hid_t loc, const char *name, size_t *n) { return read_any(loc, name, H5T_NATIVE_UINT8, 1, n); }
int32_t *h5_read_i32(hid_t loc, const char *name, size_t *n) { return read_any(loc, name, H5T_NATIVE_INT32, 4, n); }
int64_t *h5_read_i64(hid_t loc, const char *name, size_t *n) { return read_any(loc, name, H5T_NATIVE_INT64, 8, n); }
float *h5_read_f32(hid_t loc, const char *name, size_t *n) { return read_any(loc, name, H5T_NATIVE_FLOAT, 4, n); }
double *h5_read_f64(hid_t loc, const char *name, size_t *n) { return read_any(loc, name, H5T_NATIVE_DOUBLE, 8, n); }

void h5_read_f32_into(hid_t loc, const char *name, float *dst, size_t n) {
  size_t have;
  hid_t ds = open_ds(loc, name, &have);
  if (have != n) fatal("%s: dataset '%s' has %zu elements, expected %zu", obj_name(loc), name, have, n);
  if (n) H5OK(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst), "reading dataset %s", name);
  H5Dclose(ds);
}

int h5_dataset_shape(hid_t loc, const char *name, size_t dims[8]) {
  size_t n;
  hid_t ds = open_ds(loc, name, &n);
  hid_t sp = H5Dget_space(ds);
  int nd = H5Sget_simple_extent_ndims(sp);
  H5OK(nd, "rank of %s", name);
  if (nd > 8) error("dataset %s has rank %d > 8", name, nd);
  hsize_t d[8];
  H5OK(H5Sget_simple_extent_dims(sp, d, NULL), "dims of %s", name);
  for (int i = 0; i < nd; i++) dims[i] = (size_t)d[i];
  H5Sclose(sp);
  H5Dclose(ds);
  return nd;
}

char **h5_read_strings(hid_t loc, const char *name, size_t *n) {
  hid_t ds = open_ds(loc, name, n);
  hid_t t = str_type();
  char **raw = xcalloc(*n ? *n : 1, sizeof *raw);
  if (*n) H5OK(H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw), "reading strings %s", name);
  // copy into our own allocations so callers free with free()
  char **out = xcalloc(*n ? *n : 1, sizeof *out);
  for (size_t i = 0; i < *n; i++) out[i] = xstrdup(raw[i] ? raw[i] : "");
  if (*n) {
    hid_t sp = H5Dget_space(ds);
    H5Dvlen_reclaim(t, sp, H5P_DEFAULT, raw);
    H5Sclose(sp);
  }
  free(raw);
  H5Tclose(t);
  H5Dclose(ds);
  return out;
}

void h5_free_strings(char **s, size_t n) {
  if (!s) return;
  for (size_t i = 0; i < n; i++) free(s[i]);
  free(s);
}

// ---- attributes ----------------------------------------------------------------------

static void attr_write(hid_t loc, const char *name, hid_t type, const void *v) {
  if (H5Aexists(loc, name) > 0) H5OK(H5Adelete(loc, name), "replacing attribute %s", name);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) error("cannot create attribute %s on %s", name, obj_name(loc));
  H5OK(H5Awrite(a, type, v), "writing attribute %s", name);
  H5Aclose(a);
  H5Sclose(sp);
}

void h5_attr_set_str(hid_t loc, const char *name, const char *value) {
  hid_t t = str_type();
  attr_write(loc, name, t, &value);
  H5Tclose(t);
}
void h5_attr_set_i64(hid_t loc, const char *name, int64_t value) { attr_write(loc, name, H5T_NATIVE_INT64, &value); }
void h5_attr_set_f64(hid_t loc, const char *name, double value) { attr_write(loc, name, H5T_NATIVE_DOUBLE, &value); }

int h5_attr_exists(hid_t loc, const char *name) { return H5Aexists(loc, name) > 0; }

static hid_t attr_open(hid_t loc, const char *name) {
  if (H5Aexists(loc, name) <= 0) fatal("%s: missing attribute '%s'", obj_name(loc), name);
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  if (a < 0) fatal("%s: cannot open attribute '%s'", obj_name(loc), name);
  return a;
}

char *h5_attr_get_str(hid_t loc, const char *name) {
  hid_t a = attr_open(loc, name);
  hid_t ft = H5Aget_type(a);
  char *out;
  if (H5Tis_variable_str(ft) > 0) {
    hid_t t = str_type();
    char *v = NULL;
    H5OK(H5Aread(a, t, &v), "reading attribute %s", name);
    out = xstrdup(v ? v : "");
    H5free_memory(v);
    H5Tclose(t);
  } else {
    size_t sz = H5Tget_size(ft);
    out = xcalloc(sz + 1, 1);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, sz + 1);
    H5OK(H5Aread(a, t, out), "reading attribute %s", name);
    H5Tclose(t);
  }
  H5Tclose(ft);
  H5Aclose(a);
  return out;
}

// One number attribute, converted by HDF5 to the memory type `type` (v holds one of it).
static void attr_read_number(hid_t loc, const char *name, hid_t type, void *v) {
  hid_t a = attr_open(loc, name);
  H5OK(H5Aread(a, type, v), "reading attribute %s", name);
  H5OK(H5Aclose(a), "closing attribute %s", name);
}

int64_t h5_attr_get_i64(hid_t loc, const char *name) {
  int64_t v;
  attr_read_number(loc, name, H5T_NATIVE_INT64, &v);
  return v;
}

double h5_attr_get_f64(hid_t loc, const char *name) {
  double v;
  attr_read_number(loc, name, H5T_NATIVE_DOUBLE, &v);
  return v;
}
