// files/file_kind: the generic writer and reader over a made-up kind (counts in named members,
// two accepted writers, a mark, a check, something written after the table): a round trip,
// the identity read, and every refusal with the message a user sees (another stage's file, no
// provenance, an older writer without a count, no mark, a failed check on read and on write).
#include "nqtest.h"

#include "base/util.h"
#include "files/file_kind.h"
#include "h5/h5io.h"

// ---- the made-up kind ------------------------------------------------------------------------
typedef struct {
  size_t n_rows;     // count 0
  int32_t *value;    // n_rows
  int64_t *offset;   // n_rows + 1, never decreasing (the kind's check)
  char *label;       // attribute
  size_t n_names;    // count 1
  char **names;      // n_names, optional
} rec;

enum { ROWS, NAMES };
static const char *const rec_counts[] = {"rows", "names", NULL};
enum { F_VALUE, F_OFFSET, F_NAMES, F_LABEL, F_N };
static const h5_field rec_fields[F_N + 1] = {
    [F_VALUE] = {"value", LF_I32, offsetof(rec, value), ROWS, 0, 0, "rows", "test"},
    [F_OFFSET] = {"offset", LF_I64, offsetof(rec, offset), ROWS, 1, 0, "rows + 1", "test"},
    [F_NAMES] = {"names", LF_STR, offsetof(rec, names), NAMES, 0, LF_OPTIONAL, "names", "test"},
    [F_LABEL] = {"label", LF_STR, offsetof(rec, label), 0, 0, LF_ATTR, "", "test"},
    [F_N] = {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
static const h5_layout rec_layout = {"records", "rec", rec_fields, rec_counts};

static int rec_check(const void *obj, char *why, size_t n) {
  const rec *r = obj;
  for (size_t i = 0; i < r->n_rows; i++)
    if (r->offset[i] > r->offset[i + 1]) return file_why(why, n, "offset decreases at row %zu", i);
  return 0;
}

// What follows the table (as checkpoints' tensors do): here one attribute.
static void rec_note(hid_t file, const char *path, const void *obj) {
  (void)path;
  h5_attr_set_i64(file, "note", (int64_t)((const rec *)obj)->n_rows);
}

static const file_kind rec_kind = {
    .layout = &rec_layout,
    .size = sizeof(rec),
    .count_at = {[ROWS] = offsetof(rec, n_rows), [NAMES] = offsetof(rec, n_names)},
    .writers = (const char *const[]){"rec", "import", NULL},
    .mark = &rec_fields[F_VALUE],
    .check = rec_check,
    .write_more = rec_note,
};

// Three rows, two names; `bad` makes the offsets decrease.
static rec rec_make(int bad) {
  rec r = {.n_rows = 3, .n_names = 2, .label = xstrdup("hello")};
  r.value = xmalloc(3 * sizeof *r.value), r.offset = xmalloc(4 * sizeof *r.offset);
  for (int i = 0; i < 3; i++) r.value[i] = 10 * i - 7;
  for (int i = 0; i < 4; i++) r.offset[i] = bad ? 4 - i : 2 * i;
  r.names = xmalloc(2 * sizeof *r.names);
  r.names[0] = xstrdup("amy"), r.names[1] = xstrdup("zed");
  return r;
}

static char *path_of(const char *name) { return path_join(nqtest_dir, name); }

static void write_as(const char *path, const char *stage) {
  rec r = rec_make(0);
  h5_provenance p = {.stage = stage, .config_text = "x = 1;", .mpi_size = 1};
  file_write(&rec_kind, path, &r, &p);
  file_free(&rec_kind, &r);
}

// ---- round trips -----------------------------------------------------------------------------
static void test_roundtrip(void **st) {
  (void)st;
  char *path = path_of("good.h5");
  write_as(path, "import");   // the second writer is accepted too
  assert_true(file_is(&rec_kind, path));
  rec r;
  file_read(&rec_kind, path, &r);
  assert_int_equal(r.n_rows, 3);
  assert_int_equal(r.n_names, 2);
  assert_int_equal(r.value[2], 13);
  assert_true(r.offset[3] == 6);
  assert_string_equal(r.names[1], "zed");
  assert_string_equal(r.label, "hello");
  hid_t f = h5_open_read(path);
  assert_true(h5_attr_get_i64(f, "note") == 3);   // write_more ran before the commit
  h5_close(f);
  file_free(&rec_kind, &r);
  assert_null(r.value);
  assert_int_equal(r.n_rows, 0);

  file_read_attrs(&rec_kind, path, &r);   // counts and attributes only
  assert_int_equal(r.n_rows, 3);
  assert_string_equal(r.label, "hello");
  assert_null(r.value);
  assert_null(r.names);
  file_free(&rec_kind, &r);
  free(path);
}

// ---- refusals --------------------------------------------------------------------------------
static char *bad_path;
static void read_bad(void *arg) {
  (void)arg;
  rec r;
  file_read(&rec_kind, bad_path, &r);
}
static void read_bad_attrs(void *arg) {
  (void)arg;
  rec r;
  file_read_attrs(&rec_kind, bad_path, &r);
}

// A file made by hand: provenance of `stage` (NULL: none), the count attributes of the first
// `counts` counts, and the table itself when `table` (with offsets that decrease when `bad`),
// with its content digest (of the table as written, or of another `value` when `changed`:
// a value changed in place after the write) unless `table` is 2.
static void write_by_hand(const char *stage, int counts, int table, int bad, int changed) {
  h5_out o;
  h5_out_create(&o, bad_path);
  if (stage) h5_write_provenance(o.file, &(h5_provenance){.stage = stage, .config_text = "", .mpi_size = 1});
  if (table) {
    rec r = rec_make(bad);
    size_t c[] = {r.n_rows, r.n_names};
    h5_layout_write(o.file, &rec_layout, &r, c);
    char hex[65];
    r.value[1] += changed;
    h5_layout_digest(&rec_layout, &r, c, hex);
    if (table != 2) h5_attr_set_str(o.file, "nq_digest", hex);
    file_free(&rec_kind, &r);
  } else {
    for (int c = 0; c < counts; c++) h5_attr_set_i64(o.file, rec_counts[c], 0);
  }
  h5_out_commit(&o);
}

static void expect_refused(const char *needle) {
  expect_fatal(read_bad, NULL, needle);
  expect_fatal(read_bad_attrs, NULL, needle);
  assert_false(file_is(&rec_kind, bad_path));
}

static void test_refusals(void **st) {
  (void)st;
  bad_path = path_of("bad.h5");
  write_as(bad_path, "effect");
  expect_refused("bad.h5: written by nq-effect, not nq-rec or nq-import");
  write_by_hand(NULL, 2, 0, 0, 0);
  expect_refused("bad.h5: not an nq-rec output (no provenance)");
  write_by_hand("rec", 1, 0, 0, 0);
  expect_refused("bad.h5: written by an older nq-rec (no 'names' count); rerun nq-rec --force");
  write_by_hand("rec", 2, 0, 0, 0);
  expect_refused("bad.h5: no dataset 'value': not one of nextquill's records");
  write_by_hand("rec", 2, 1, 1, 0);   // whole, but its offsets decrease: the check refuses it
  expect_fatal(read_bad, NULL, "bad.h5: offset decreases at row 0; rerun nq-rec");
  write_by_hand("rec", 2, 2, 0, 0);   // no content digest: an older writer's
  expect_refused("bad.h5: written by an older nq-rec (no content digest 'nq_digest'); rerun nq-rec --force");
  write_by_hand("rec", 2, 1, 0, 7);   // valid HDF5, provenance intact, a value changed in place
  assert_true(file_is(&rec_kind, bad_path));   // the cheap identity check does not read the data
  expect_fatal(read_bad, NULL, "bad.h5: its data does not match its content digest (records changed since nq-rec");
  free(bad_path);
  char *missing = path_of("missing.h5"), *garbage = path_of("garbage.h5");
  nqtest_write(garbage, "not hdf5");
  assert_false(file_is(&rec_kind, missing));
  assert_false(file_is(&rec_kind, garbage));
  free(missing), free(garbage);
}

// A writer whose arrays disagree is a bug: stopped before anything is written.
static void write_bad(void *arg) {
  rec r = rec_make(1);
  h5_provenance p = {.stage = "rec", .config_text = "", .mpi_size = 1};
  file_write(&rec_kind, (const char *)arg, &r, &p);
}

static void test_check_before_write(void **st) {
  (void)st;
  char *path = path_of("unwritten.h5");
  expect_fatal(write_bad, path, "unwritten.h5: not written: offset decreases at row 0");
  assert_false(file_exists(path));
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_check_before_write),
  };
  return cmocka_run_group_tests(tests, nqtest_dir_setup, nqtest_dir_teardown);
}
