// safetensors reader (mmap + jansson header) and F32/BF16 writer. See safetensors.h.
#include "hf/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/path_guard.h"
#include "base/util.h"

#define ST_MAX_HEADER (100u << 20)   // the reference implementation's limit


// ---- fp conversions ------------------------------------------------------------------------
uint16_t st_f32_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);   // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);                                            // nearest even
  return (uint16_t)(u >> 16);
}

float st_bf16_to_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

float st_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, u;
  if (e == 0x1f) {
    u = sign | 0x7f800000u | (m << 13);                   // inf / nan
  } else if (e) {
    u = sign | ((e + 112u) << 23) | (m << 13);             // normal: rebias 15 -> 127
  } else if (m == 0) {
    u = sign;                                              // zero
  } else {                                                 // subnormal: normalize
    e = 113;
    while (!(m & 0x400u)) { m <<= 1; e--; }
    u = sign | (e << 23) | ((m & 0x3ffu) << 13);
  }
  float f;
  memcpy(&f, &u, 4);
  return f;
}

int st_to_f32(const st_tensor *t, float *out) { return st_to_f32_range(t, 0, t->numel, out); }

int st_to_f32_range(const st_tensor *t, size_t first, size_t n, float *out) {
  if (first > t->numel || n > t->numel - first) return -1;
  switch (t->dtype) {
  case ST_F32:
    memcpy(out, t->data + first * 4, n * 4);
    return 0;
  case ST_BF16:
  case ST_F16:
    for (size_t i = 0; i < n; i++) {
      const unsigned char *p = t->data + 2 * (first + i);
      uint16_t h = (uint16_t)(p[0] | (p[1] << 8));
      out[i] = t->dtype == ST_BF16 ? st_bf16_to_f32(h) : st_f16_to_f32(h);
    }
    return 0;
  default:
    return -1;
  }
}

// ---- reading --------------------------------------------------------------------------------
static size_t dtype_size(const char *d, st_dtype *kind) {
  static const struct { const char *name; size_t size; st_dtype kind; } tab[] = {
      {"F32", 4, ST_F32},   {"BF16", 2, ST_BF16}, {"F16", 2, ST_F16},   {"F64", 8, ST_OTHER},
      {"I64", 8, ST_OTHER}, {"U64", 8, ST_OTHER}, {"I32", 4, ST_OTHER}, {"U32", 4, ST_OTHER},
      {"I16", 2, ST_OTHER}, {"U16", 2, ST_OTHER}, {"I8", 1, ST_OTHER},  {"U8", 1, ST_OTHER},
      {"BOOL", 1, ST_OTHER}, {"F8_E4M3", 1, ST_OTHER}, {"F8_E5M2", 1, ST_OTHER},
  };
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
    if (!strcmp(d, tab[i].name)) { *kind = tab[i].kind; return tab[i].size; }
  return 0;
}

static int parse_tensor(st_tensor *t, const char *path, const char *name, json_t *v,
                        const unsigned char *data, size_t data_len, char *err, size_t errlen) {
  memset(t, 0, sizeof *t);
  const char *dt = json_string_value(json_object_get(v, "dtype"));
  json_t *shape = json_object_get(v, "shape"), *offs = json_object_get(v, "data_offsets");
  if (!dt || !json_is_array(shape) || !json_is_array(offs) || json_array_size(offs) != 2)
    return err_set(err, errlen, "%s: tensor '%s': header entry needs dtype, shape and data_offsets", path, name);
  size_t es = dtype_size(dt, &t->dtype);
  if (!es) return err_set(err, errlen, "%s: tensor '%s': unknown dtype '%s'", path, name, dt);
  snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dt);
  if (json_array_size(shape) > ST_MAX_DIMS)
    return err_set(err, errlen, "%s: tensor '%s': more than %d dimensions", path, name, ST_MAX_DIMS);
  t->ndim = (int)json_array_size(shape);
  t->numel = 1;
  for (int d = 0; d < t->ndim; d++) {
    json_t *x = json_array_get(shape, (size_t)d);
    if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > ((json_int_t)1 << 40))
      return err_set(err, errlen, "%s: tensor '%s': bad shape", path, name);
    t->dims[d] = (size_t)json_integer_value(x);
    // checked before multiplying: 2^24 x 2^40 would wrap to 0 elements and pass
    if (t->dims[d] && t->numel > data_len / t->dims[d])
      return err_set(err, errlen, "%s: tensor '%s': shape larger than the file", path, name);
    t->numel *= t->dims[d];
  }
  json_t *b = json_array_get(offs, 0), *e = json_array_get(offs, 1);
  if (!json_is_integer(b) || !json_is_integer(e) || json_integer_value(b) < 0 ||
      json_integer_value(e) < json_integer_value(b) || (size_t)json_integer_value(e) > data_len)
    return err_set(err, errlen, "%s: tensor '%s': data_offsets outside the data section (%zu bytes)", path, name, data_len);
  size_t begin = (size_t)json_integer_value(b), end = (size_t)json_integer_value(e);
  if (end - begin != t->numel * es)
    return err_set(err, errlen, "%s: tensor '%s': %zu data bytes for %zu %s elements", path, name,
                end - begin, t->numel, dt);
  t->data = data + begin;
  t->nbytes = end - begin;
  t->name = xstrdup(name);
  return 0;
}

// By begin offset, then end (zero-byte tensors before the one starting where they are).
static int cmp_range(const void *a, const void *b) {
  const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
  if (x->data != y->data) return x->data < y->data ? -1 : 1;
  return (x->nbytes > y->nbytes) - (x->nbytes < y->nbytes);
}

// The tensors t[n] of one file must tile its data section: no byte held by two tensors (one
// tensor's weights read as another's), none by no tensor (a shifted range), as the format
// requires.
static int check_tiling(st_tensor *t, int n, const char *path, const unsigned char *data, size_t data_len,
                        char *err, size_t errlen) {
  st_tensor **by = xcalloc((size_t)n + 1, sizeof *by);
  for (int i = 0; i < n; i++) by[i] = &t[i];
  qsort(by, (size_t)n, sizeof *by, cmp_range);
  int rc = 0;
  size_t at = 0;   // where the previous tensor ends
  const st_tensor *prev = NULL;
  for (int i = 0; i < n && !rc; i++) {
    size_t b = (size_t)(by[i]->data - data), e = b + by[i]->nbytes;
    if (b < at)
      rc = err_set(err, errlen, "%s: tensors '%s' [%zu, %zu) and '%s' [%zu, %zu) overlap in the data section", path,
                   prev->name, (size_t)(prev->data - data), at, by[i]->name, b, e);
    else if (b > at && prev)
      rc = err_set(err, errlen, "%s: %zu data bytes between tensors '%s' (ends at %zu) and '%s' (starts at %zu) belong to no tensor",
                   path, b - at, prev->name, at, by[i]->name, b);
    else if (b > at)
      rc = err_set(err, errlen, "%s: the data section starts with %zu bytes no tensor holds (tensor '%s' starts at %zu)", path,
                   b, by[i]->name, b);
    at = e, prev = by[i];
  }
  if (!rc && at != data_len)
    rc = prev ? err_set(err, errlen, "%s: %zu data bytes after the last tensor '%s' (ends at %zu) belong to no tensor", path,
                        data_len - at, prev->name, at)
              : err_set(err, errlen, "%s: %zu data bytes but no tensor", path, data_len);
  free(by);
  return rc;
}

// Map one file and append its tensors.
static int open_one(st_set *s, const char *path, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return err_set(err, errlen, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) { close(fd); return err_set(err, errlen, "%s: cannot stat: %s", path, strerror(errno)); }
  size_t len = (size_t)st.st_size;
  if (len < 8) { close(fd); return err_set(err, errlen, "%s: not a safetensors file (%zu bytes)", path, len); }
  void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return err_set(err, errlen, "%s: cannot mmap: %s", path, strerror(errno));
  const unsigned char *p = map;
  uint64_t hl = 0;
  for (int i = 7; i >= 0; i--) hl = (hl << 8) | p[i];
  if (hl > ST_MAX_HEADER || hl > len - 8) {
    munmap(map, len);
    return err_set(err, errlen, "%s: header length %llu does not fit the file (%zu bytes)", path,
                (unsigned long long)hl, len);
  }
  int fi = s->n_files++;
  s->paths = xrealloc(s->paths, (size_t)s->n_files * sizeof *s->paths);
  s->maps = xrealloc(s->maps, (size_t)s->n_files * sizeof *s->maps);
  s->map_len = xrealloc(s->map_len, (size_t)s->n_files * sizeof *s->map_len);
  s->paths[fi] = xstrdup(path);
  s->maps[fi] = map;
  s->map_len[fi] = len;
  json_error_t je;
  json_t *h = json_loadb((const char *)p + 8, (size_t)hl, JSON_REJECT_DUPLICATES, &je);
  if (!json_is_object(h)) {
    json_decref(h);
    return err_set(err, errlen, "%s: header is not a JSON object (%s)", path, je.text);
  }
  const unsigned char *data = p + 8 + hl;
  size_t data_len = len - 8 - (size_t)hl;
  const char *name;
  json_t *v;
  int rc = 0, first = s->n;
  json_object_foreach(h, name, v) {
    if (!strcmp(name, "__metadata__")) continue;
    if (st_find(s, name)) { rc = err_set(err, errlen, "%s: tensor '%s' appears twice", path, name); break; }
    s->t = xrealloc(s->t, (size_t)(s->n + 1) * sizeof *s->t);
    if ((rc = parse_tensor(&s->t[s->n], path, name, v, data, data_len, err, errlen)) != 0) break;
    s->t[s->n++].file = fi;
  }
  json_decref(h);
  if (!rc) rc = check_tiling(s->t + first, s->n - first, path, data, data_len, err, errlen);
  return rc;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

static int open_index(st_set *s, const char *path, char *err, size_t errlen) {
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  if (!root) return err_set(err, errlen, "%s:%d: invalid JSON: %s", path, je.line, je.text);
  json_t *wm = json_object_get(root, "weight_map");
  if (!json_is_object(wm) || !json_object_size(wm)) {
    json_decref(root);
    return err_set(err, errlen, "%s: no \"weight_map\" object", path);
  }
  char *dir = xstrdup(path);
  char *slash = strrchr(dir, '/');
  if (slash) slash[1] = 0; else dir[0] = 0;
  int rc = 0;
  const char *name;
  json_t *v;
  json_object_foreach(wm, name, v) {   // open each shard once, in order of first mention
    const char *shard = json_string_value(v);
    if (!shard || !*shard || strchr(shard, '/')) {
      rc = err_set(err, errlen, "%s: weight_map['%s'] is not a file name", path, name);
      break;
    }
    char *sp = xmalloc(strlen(dir) + strlen(shard) + 1);
    sprintf(sp, "%s%s", dir, shard);
    int seen = 0;
    for (int f = 0; f < s->n_files && !seen; f++) seen = !strcmp(s->paths[f], sp);
    if (!seen) rc = open_one(s, sp, err, errlen);
    free(sp);
    if (rc) break;
  }
  json_object_foreach(wm, name, v) {   // the index and the shards agree
    if (rc) break;
    const st_tensor *t = st_find(s, name);
    const char *shard = json_string_value(v);
    char *sp = xmalloc(strlen(dir) + strlen(shard) + 1);
    sprintf(sp, "%s%s", dir, shard);
    if (!t) rc = err_set(err, errlen, "%s: tensor '%s' is listed in weight_map but not in shard %s", path, name, shard);
    else if (strcmp(s->paths[t->file], sp))
      rc = err_set(err, errlen, "%s: tensor '%s' is in %s, weight_map says %s", path, name, s->paths[t->file], shard);
    free(sp);
  }
  for (int i = 0; !rc && i < s->n; i++)
    if (!json_object_get(wm, s->t[i].name))
      rc = err_set(err, errlen, "%s: tensor '%s' of shard %s is not in weight_map", path, s->t[i].name, s->paths[s->t[i].file]);
  free(dir);
  json_decref(root);
  return rc;
}

int st_open(st_set *s, const char *path, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  int rc = ends_with(path, ".json") ? open_index(s, path, err, errlen) : open_one(s, path, err, errlen);
  if (rc) st_close(s);
  return rc;
}

void st_close(st_set *s) {
  for (int i = 0; i < s->n; i++) free(s->t[i].name);
  for (int f = 0; f < s->n_files; f++) {
    munmap(s->maps[f], s->map_len[f]);
    free(s->paths[f]);
  }
  free(s->t);
  free(s->paths);
  free(s->maps);
  free(s->map_len);
  memset(s, 0, sizeof *s);
}

const st_tensor *st_find(const st_set *s, const char *name) {
  for (int i = 0; i < s->n; i++)
    if (s->t[i].name && !strcmp(s->t[i].name, name)) return &s->t[i];
  return NULL;
}

void st_release(const st_set *s, const st_tensor *t) {
  if (!t->nbytes) return;
  // whole pages around the tensor: the map is read-only and never written, so a page shared
  // with a neighbour is read again from the file if the neighbour still needs it
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), map = (uintptr_t)s->maps[t->file];
  uintptr_t a = (uintptr_t)t->data & ~(page - 1), b = (uintptr_t)t->data + t->nbytes;
  if (a < map) a = map;
  b = (b + page - 1) & ~(page - 1);
  (void)madvise((void *)a, b - a, MADV_DONTNEED);   // advice only: on failure the pages just stay
}

// ---- writing --------------------------------------------------------------------------------
static int put(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n ? 0 : -1; }

static int little_endian(void) {
  const uint16_t one = 1;
  return *(const unsigned char *)&one == 1;
}

// Elements [j, j + m) of t as dtype, little-endian, through buf (m <= its 32-bit words): fp32
// rounded to bf16, bf16 as is, or bf16 widened to fp32 (exact).
static int put_converted(FILE *f, const st_out_tensor *t, size_t j, size_t m, st_dtype dtype, uint32_t *buf) {
  unsigned char *q = (unsigned char *)buf;
  size_t es = dtype == ST_F32 ? 4 : 2;
  for (size_t k = 0; k < m; k++) {
    uint32_t v = t->data ? st_f32_to_bf16(t->data[j + k]) : t->data16[j + k];
    if (dtype == ST_F32) v <<= 16;   // only bf16 sources get here for F32
    for (size_t b = 0; b < es; b++) q[k * es + b] = (unsigned char)(v >> (8 * b));
  }
  return put(f, buf, m * es);
}

int st_write(const char *path, const st_out_tensor *t, int n, st_dtype dtype, char *err, size_t errlen) {
  if (dtype != ST_F32 && dtype != ST_BF16) return err_set(err, errlen, "%s: can only write F32 or BF16", path);
  size_t es = dtype == ST_F32 ? 4 : 2;
  strbuf h;
  sb_init(&h);
  sb_puts(&h, "{\"__metadata__\":{\"format\":\"pt\"}");
  size_t off = 0;
  for (int i = 0; i < n; i++) {
    if (strpbrk(t[i].name, "\"\\")) {
      sb_free(&h);
      return err_set(err, errlen, "%s: tensor name '%s' needs JSON escaping", path, t[i].name);
    }
    size_t numel = 1;
    sb_printf(&h, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t[i].name, dtype == ST_F32 ? "F32" : "BF16");
    for (int d = 0; d < t[i].ndim; d++) {
      sb_printf(&h, d ? ",%zu" : "%zu", t[i].dims[d]);
      numel *= t[i].dims[d];
    }
    sb_printf(&h, "],\"data_offsets\":[%zu,%zu]}", off, off + numel * es);
    off += numel * es;
  }
  sb_puts(&h, "}");
  while (h.len % 8) sb_puts(&h, " ");   // data section 8-byte aligned
  char *tmp = xmalloc(strlen(path) + 5);
  sprintf(tmp, "%s.tmp", path);
  path_guard_check(tmp);
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    sb_free(&h);
    int r = err_set(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
    free(tmp);
    return r;
  }
  cleanup_file(tmp);
  unsigned char hl[8];
  for (int i = 0; i < 8; i++) hl[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
  int bad = put(f, hl, 8) || put(f, h.data, h.len);
  sb_free(&h);
  enum { CHUNK = 1 << 16 };
  uint32_t *buf = xmalloc(CHUNK * sizeof *buf);
  for (int i = 0; i < n && !bad; i++) {
    size_t numel = 1;
    for (int d = 0; d < t[i].ndim; d++) numel *= t[i].dims[d];
    if (dtype == ST_F32 && t[i].data) { bad = put(f, t[i].data, numel * 4); continue; }
    if (dtype == ST_BF16 && !t[i].data && little_endian()) { bad = put(f, t[i].data16, numel * 2); continue; }
    for (size_t j = 0; j < numel && !bad; j += CHUNK) {
      size_t m = numel - j < CHUNK ? numel - j : CHUNK;
      bad = put_converted(f, &t[i], j, m, dtype, buf);
    }
  }
  free(buf);
  if (fflush(f) != 0 || fsync(fileno(f)) != 0) bad = 1;
  if (fclose(f) != 0) bad = 1;
  if (bad) {
    int r = err_set(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
    unlink(tmp);
    cleanup_forget(tmp);
    free(tmp);
    return r;
  }
  rename_atomic(tmp, path);
  cleanup_forget(tmp);
  free(tmp);
  return 0;
}
