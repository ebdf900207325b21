// Table-driven HDF5 writer and reader: one loop over a file kind's fields.
#include "h5/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/sha256.h"
#include "h5/h5io.h"

#define MEMBER(obj, f) ((char *)(obj) + (f)->member)

static size_t field_len(const h5_field *f, const size_t *counts) {
  return counts[f->count] + (size_t)f->plus;
}

static void write_attr(hid_t file, const h5_field *f, const void *obj) {
  const void *m = MEMBER(obj, f);
  switch (f->type) {
    case LF_I64: h5_attr_set_i64(file, f->name, *(const int64_t *)m); break;
    case LF_I32: h5_attr_set_i64(file, f->name, *(const int32_t *)m); break;
    case LF_F64: h5_attr_set_f64(file, f->name, *(const double *)m); break;
    case LF_STR: {
      const char *s = *(char *const *)m;
      if (s || !(f->flags & LF_OPTIONAL)) h5_attr_set_str(file, f->name, s ? s : "");
      break;
    }
    default: error("layout: attribute '%s' has a type attributes cannot hold", f->name);
  }
}

// Opens the group part of "a/b/name" (created on write), returning the location and the
// last path component.
static hid_t parent_of(hid_t file, const char *path, int create, const char **leaf) {
  const char *slash = strrchr(path, '/');
  *leaf = slash ? slash + 1 : path;
  if (!slash) return file;
  char group[256];
  if ((size_t)(slash - path) >= sizeof group) error("layout: path '%s' too long", path);
  memcpy(group, path, (size_t)(slash - path));
  group[slash - path] = 0;
  if (create) return h5_exists(file, group) ? h5_group_open(file, group) : h5_group_create(file, group);
  return h5_group_open(file, group);
}

static void write_dataset(hid_t file, const h5_field *f, const void *obj, const size_t *counts) {
  const void *v = *(void *const *)MEMBER(obj, f);
  if (!v) {
    if (f->flags & LF_OPTIONAL) return;
    error("layout: required dataset '%s' has no data", f->name);
  }
  const char *leaf;
  hid_t loc = parent_of(file, f->name, 1, &leaf);
  size_t n = field_len(f, counts);
  switch (f->type) {
    case LF_I8: h5_write_i8(loc, leaf, v, n); break;
    case LF_U8: h5_write_u8(loc, leaf, v, n); break;
    case LF_I32: h5_write_i32(loc, leaf, v, n); break;
    case LF_I64: h5_write_i64(loc, leaf, v, n); break;
    case LF_F32: h5_write_f32(loc, leaf, v, n); break;
    case LF_F64: h5_write_f64(loc, leaf, v, n); break;
    case LF_STR: h5_write_strings(loc, leaf, (const char *const *)v, n); break;
  }
  if (loc != file) h5_group_close(loc);
}

int h5_layout_count_stored(const h5_layout *L, int c) {
  for (const h5_field *f = L->fields; f->name; f++)
    if ((f->flags & LF_SETS_COUNT) && f->count == c) return 0;
  return 1;
}

void h5_layout_write(hid_t file, const h5_layout *L, const void *obj, const size_t *counts) {
  for (int c = 0; L->counts && L->counts[c]; c++)
    if (h5_layout_count_stored(L, c)) h5_attr_set_i64(file, L->counts[c], (int64_t)counts[c]);
  for (const h5_field *f = L->fields; f->name; f++) {
    if (f->flags & LF_PATTERN) continue;
    if (f->flags & LF_ATTR) write_attr(file, f, obj);
    else write_dataset(file, f, obj, counts);
  }
}

static void read_attr(hid_t file, const char *path, const h5_layout *L, const h5_field *f, void *obj) {
  void *m = MEMBER(obj, f);
  if (!h5_attr_exists(file, f->name)) {
    if (f->flags & LF_OPTIONAL) return;
    fatal("%s: attribute '%s' is missing; rerun nq-%s", path, f->name, L->writer);
  }
  switch (f->type) {
    case LF_I64: *(int64_t *)m = h5_attr_get_i64(file, f->name); break;
    case LF_I32: {
      int64_t v = h5_attr_get_i64(file, f->name);
      if (v < INT32_MIN || v > INT32_MAX) fatal("%s: attribute '%s' = %lld is out of range", path, f->name, (long long)v);
      *(int32_t *)m = (int32_t)v;
      break;
    }
    case LF_F64: *(double *)m = h5_attr_get_f64(file, f->name); break;
    case LF_STR: *(char **)m = h5_attr_get_str(file, f->name); break;
    default: error("layout: attribute '%s' has a type attributes cannot hold", f->name);
  }
}

static void read_dataset(hid_t file, const char *path, const h5_layout *L, const h5_field *f, void *obj,
                         size_t *counts) {
  void **m = (void **)MEMBER(obj, f);
  if (!h5_exists(file, f->name)) {
    if (f->flags & LF_OPTIONAL) {
      if (f->flags & LF_SETS_COUNT) counts[f->count] = 0;
      return;
    }
    fatal("%s: dataset '%s' is missing; rerun nq-%s", path, f->name, L->writer);
  }
  size_t n = 0, want = field_len(f, counts);
  switch (f->type) {
    case LF_I8: *m = h5_read_i8(file, f->name, &n); break;
    case LF_U8: *m = h5_read_u8(file, f->name, &n); break;
    case LF_I32: *m = h5_read_i32(file, f->name, &n); break;
    case LF_I64: *m = h5_read_i64(file, f->name, &n); break;
    case LF_F32: *m = h5_read_f32(file, f->name, &n); break;
    case LF_F64: *m = h5_read_f64(file, f->name, &n); break;
    case LF_STR: *m = h5_read_strings(file, f->name, &n); break;
  }
  if ((f->flags & LF_SETS_COUNT) && n >= (size_t)f->plus) counts[f->count] = want = n - (size_t)f->plus;
  if (n != want)
    fatal("%s: dataset '%s' has %zu elements, expected %zu (%s); rerun nq-%s", path, f->name, n, want,
          f->shape, L->writer);
}

static void read_fields(hid_t file, const char *path, const h5_layout *L, void *obj, size_t *counts,
                        int datasets) {
  for (int c = 0; L->counts && L->counts[c]; c++) {
    if (!h5_layout_count_stored(L, c)) {   // set when its dataset is read
      counts[c] = 0;
      continue;
    }
    if (!h5_attr_exists(file, L->counts[c]))
      fatal("%s: attribute '%s' is missing (not an nq-%s output?)", path, L->counts[c], L->writer);
    int64_t v = h5_attr_get_i64(file, L->counts[c]);
    if (v < 0) fatal("%s: attribute '%s' is negative (%lld)", path, L->counts[c], (long long)v);
    counts[c] = (size_t)v;
  }
  for (const h5_field *f = L->fields; f->name; f++) {
    if (f->flags & (LF_DERIVED | LF_PATTERN)) continue;
    if (f->flags & LF_ATTR) read_attr(file, path, L, f, obj);
    else if (datasets) read_dataset(file, path, L, f, obj, counts);
  }
}

void h5_layout_read(hid_t file, const char *path, const h5_layout *L, void *obj, size_t *counts) {
  read_fields(file, path, L, obj, counts, 1);
}

int h5_layout_read_attrs(hid_t file, const h5_layout *L, void *obj, size_t *counts) {
  for (int c = 0; L->counts && L->counts[c]; c++)
    if (!h5_attr_exists(file, L->counts[c])) return 0;
  for (const h5_field *f = L->fields; f->name; f++)
    if ((f->flags & LF_ATTR) && !(f->flags & (LF_DERIVED | LF_OPTIONAL)) && !h5_attr_exists(file, f->name))
      return 0;
  read_fields(file, "", L, obj, counts, 0);  // everything it needs is there: it cannot stop
  return 1;
}

void h5_layout_free(const h5_layout *L, void *obj, const size_t *counts) {
  for (const h5_field *f = L->fields; f->name; f++) {
    if (f->flags & LF_PATTERN) continue;
    void **m = (void **)MEMBER(obj, f);
    if (f->flags & LF_ATTR) {
      if (f->type == LF_STR) free(*m), *m = NULL;
      continue;
    }
    if (f->type == LF_STR && *m) h5_free_strings(*m, field_len(f, counts));
    else free(*m);
    *m = NULL;
  }
}

const h5_field *h5_layout_find(const h5_layout *L, const char *name) {
  for (const h5_field *f = L->fields; f->name; f++)
    if (!strcmp(f->name, name)) return f;
  return NULL;
}

// ---- content digest ---------------------------------------------------------------------------
static size_t type_size(layout_type t) {
  static const size_t sizes[] = {[LF_I8] = 1, [LF_U8] = 1, [LF_I32] = 4, [LF_I64] = 8, [LF_F32] = 4, [LF_F64] = 8};
  return t == LF_STR ? sizeof(char *) : sizes[t];
}

static void digest_u64(sha256_ctx *h, uint64_t v) { sha256_update(h, &v, sizeof v); }

static void digest_str(sha256_ctx *h, const char *s) {
  size_t n = s ? strlen(s) : 0;   // a NULL string is written as ""
  digest_u64(h, n);
  sha256_update(h, s ? s : "", n);
}

static void digest_attr(sha256_ctx *h, const h5_field *f, const void *obj) {
  const void *m = MEMBER(obj, f);
  switch (f->type) {
    case LF_I64: digest_u64(h, (uint64_t)*(const int64_t *)m); break;
    case LF_I32: digest_u64(h, (uint64_t)(int64_t)*(const int32_t *)m); break;   // stored as int64
    case LF_F64: sha256_update(h, m, sizeof(double)); break;
    case LF_STR: {
      const char *s = *(char *const *)m;
      if (!s && (f->flags & LF_OPTIONAL)) digest_u64(h, UINT64_MAX);   // absent
      else digest_str(h, s);
      break;
    }
    default: error("layout: attribute '%s' has a type attributes cannot hold", f->name);
  }
}

static void digest_dataset(sha256_ctx *h, const h5_field *f, const void *obj, const size_t *counts) {
  const void *v = *(void *const *)MEMBER(obj, f);
  if (!v) return digest_u64(h, UINT64_MAX);   // an absent optional dataset
  size_t n = field_len(f, counts);
  digest_u64(h, n);
  if (f->type != LF_STR) return sha256_update(h, v, n * type_size(f->type));
  for (size_t i = 0; i < n; i++) digest_str(h, ((char *const *)v)[i]);
}

void h5_layout_digest(const h5_layout *L, const void *obj, const size_t *counts, char hex[65]) {
  sha256_ctx h;
  sha256_init(&h);
  for (const h5_field *f = L->fields; f->name; f++) {
    if (f->flags & (LF_DERIVED | LF_PATTERN)) continue;
    sha256_update(&h, f->name, strlen(f->name) + 1);
    if (f->flags & LF_ATTR) digest_attr(&h, f, obj);
    else digest_dataset(&h, f, obj, counts);
  }
  uint8_t d[32];
  sha256_final(&h, d);
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
}
