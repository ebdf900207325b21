// The generic writer and reader of our file kinds (see file_kind.h): what used to be a wrapper
// per kind (count the arrays, create, write the table, provenance, commit; open, check the
// writer, read, close; free), once over a kind's descriptor.
#include "files/file_kind.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "h5/h5io.h"

// The root attribute holding the content digest of the table (h5_layout_digest), written here only.
static const char DIGEST_ATTR[] = "nq_digest";

// ---- counts: the layout's counts array <-> the struct's members -----------------------------
static int n_counts(const file_kind *k) {
  int n = 0;
  while (k->layout->counts && k->layout->counts[n]) n++;
  if (n > FILE_MAX_COUNTS) error("file kind %s: %d counts, at most %d", k->layout->kind, n, FILE_MAX_COUNTS);
  return n;
}

static void counts_get(const file_kind *k, const void *obj, size_t *c) {
  for (int i = 0; i < n_counts(k); i++) c[i] = *(const size_t *)((const char *)obj + k->count_at[i]);
}

static void counts_set(const file_kind *k, void *obj, const size_t *c) {
  for (int i = 0; i < n_counts(k); i++) *(size_t *)((char *)obj + k->count_at[i]) = c[i];
}

// ---- is it this kind? -------------------------------------------------------------------------
int file_why(char *why, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, n, fmt, ap);
  va_end(ap);
  return 1;
}

// "written by nq-effect, not nq-shard" (or "not nq-train or nq-export") into why[n].
static void written_by_other(const file_kind *k, const char *stage, char *why, size_t n) {
  size_t used = (size_t)snprintf(why, n, "written by nq-%s, not", stage);
  for (const char *const *w = k->writers; *w && used < n; w++)
    used += (size_t)snprintf(why + used, n - used, "%s nq-%s", w == k->writers ? "" : " or", *w);
}

// Whether `f` was written by a stage other than k's writers (another stage's output read by
// mistake, or a file from outside nextquill), with the reason in why[n].
static int writer_problem(const file_kind *k, hid_t f, char *why, size_t n) {
  char *stage = h5_provenance_stage(f);
  if (!stage) return file_why(why, n, "not an nq-%s output (no provenance)", k->writers[0]);
  int ours = 0;
  for (const char *const *w = k->writers; *w; w++) ours |= !strcmp(stage, *w);
  if (!ours) written_by_other(k, stage, why, n);
  free(stage);
  return !ours;
}

// Why the open file `f` is not of kind k, into why[n]; 0 when it is. The writer first, then the
// counts (a file of the right writer without one is an older writer's: the counts came with
// the tables), then the mark, then the content digest (also an older writer's when missing).
static int kind_problem(const file_kind *k, hid_t f, char *why, size_t n) {
  const h5_layout *L = k->layout;
  if (k->writers && writer_problem(k, f, why, n)) return 1;
  for (int c = 0; k->writers && c < n_counts(k); c++)
    if (h5_layout_count_stored(L, c) && !h5_attr_exists(f, L->counts[c]))
      return file_why(why, n, "written by an older nq-%s (no '%s' count); rerun nq-%s --force", k->writers[0],
                      L->counts[c], k->writers[0]);
  if (k->mark) {
    int attr = (k->mark->flags & LF_ATTR) != 0;
    if (!(attr ? h5_attr_exists(f, k->mark->name) : h5_exists(f, k->mark->name)))
      return file_why(why, n, "no %s '%s': not one of nextquill's %s", attr ? "attribute" : "dataset",
                      k->mark->name, L->kind);
  }
  if (k->writers && !h5_attr_exists(f, DIGEST_ATTR))
    return file_why(why, n, "written by an older nq-%s (no content digest '%s'); rerun nq-%s --force", k->writers[0],
                    DIGEST_ATTR, k->writers[0]);
  return 0;
}

static void require_kind(const file_kind *k, hid_t f, const char *path) {
  char why[512];
  if (kind_problem(k, f, why, sizeof why)) fatal("%s: %s", path, why);
}

int file_is(const file_kind *k, const char *path) {
  hid_t f = h5_try_open_read(path);   // missing, truncated or not HDF5: not this kind
  if (f < 0) return 0;
  char why[512];
  int is = !kind_problem(k, f, why, sizeof why);
  h5_close(f);
  return is;
}

// ---- write, read, free ------------------------------------------------------------------------
void file_write(const file_kind *k, const char *path, const void *obj, const h5_provenance *prov) {
  char why[512];
  if (k->check && k->check(obj, why, sizeof why)) error("%s: not written: %s", path, why);
  size_t c[FILE_MAX_COUNTS];
  counts_get(k, obj, c);
  h5_out o;
  h5_out_create(&o, path);
  h5_layout_write(o.file, k->layout, obj, c);
  char hex[65];
  h5_layout_digest(k->layout, obj, c, hex);
  h5_attr_set_str(o.file, DIGEST_ATTR, hex);
  if (k->write_more) k->write_more(o.file, path, obj);
  h5_write_provenance(o.file, prov);
  h5_out_commit(&o);
}

// The data read is what the writer wrote: a file whose values were changed in place (still
// valid HDF5, provenance intact) stops here. A checkpoint from outside nextquill (no writers
// listed) may have no digest.
static void check_digest(const file_kind *k, hid_t f, const char *path, const void *obj, const size_t *c) {
  if (!h5_attr_exists(f, DIGEST_ATTR)) return;   // kind_problem requires it of our own kinds
  char now[65], *want = h5_attr_get_str(f, DIGEST_ATTR);
  h5_layout_digest(k->layout, obj, c, now);
  int same = !strcmp(now, want);
  free(want);
  if (!same)
    fatal("%s: its data does not match its content digest (%s changed since nq-%s wrote it); rerun nq-%s --force",
          path, k->layout->kind, k->layout->writer, k->layout->writer);
}

void file_read_from(const file_kind *k, hid_t f, const char *path, void *obj) {
  require_kind(k, f, path);
  memset(obj, 0, k->size);
  size_t c[FILE_MAX_COUNTS];
  h5_layout_read(f, path, k->layout, obj, c);
  counts_set(k, obj, c);
  check_digest(k, f, path, obj, c);
  char why[512];
  if (k->check && k->check(obj, why, sizeof why)) fatal("%s: %s; rerun nq-%s", path, why, k->layout->writer);
}

void file_read(const file_kind *k, const char *path, void *obj) {
  hid_t f = h5_open_read(path);
  file_read_from(k, f, path, obj);
  h5_close(f);
}

void file_read_attrs(const file_kind *k, const char *path, void *obj) {
  hid_t f = h5_open_read(path);
  require_kind(k, f, path);
  memset(obj, 0, k->size);
  size_t c[FILE_MAX_COUNTS] = {0};
  if (!h5_layout_read_attrs(f, k->layout, obj, c))
    fatal("%s: a count or attribute of the %s layout is missing; rerun nq-%s --force", path, k->layout->kind,
          k->layout->writer);
  counts_set(k, obj, c);
  h5_close(f);
}

void file_free(const file_kind *k, void *obj) {
  size_t c[FILE_MAX_COUNTS];
  counts_get(k, obj, c);
  h5_layout_free(k->layout, obj, c);
  memset(obj, 0, k->size);
}
