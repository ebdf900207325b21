// formats/layout: (a) a made-up file kind through h5_layout_write / h5_layout_read (every
// type, nested groups, optional fields present and absent, a derived field, counts) and the
// refusals (a dataset whose length disagrees with its count, a missing required dataset);
// (b) docs/hdf5-layout.md documents every layout of h5_layouts[] exactly: section `## <kind>`,
// first-column backticked names = the table's field names + its count names.
// `test_layout --names` prints every name the registered layouts declare, one per line (for
// tests/integration/structure.sh).
#include "nqtest.h"

#include "base/util.h"
#include "h5/h5io.h"
#include "h5/layout.h"

// ---- the made-up file kind -------------------------------------------------------------
typedef struct {
  int8_t *i8;
  uint8_t *u8;
  int32_t *i32;
  int64_t *i64;
  float *f32;
  double *f64;
  char **str;
  int64_t *offset;  // n_rows + 1, in a group
  float *extra;     // optional, two groups deep
  double *derived;  // written for h5py, not read back
  int64_t a_i64;
  double a_f64;
  char *a_str;
  char *a_opt;      // optional attribute
} toy;

enum { N_ROWS, N_ITEMS, N_COUNTS };
static const char *const toy_counts[] = {"n_rows", "n_items", NULL};

#define DS(name, type, member, count, plus, flags) \
  {name, type, offsetof(toy, member), count, plus, flags, "", "test"}
#define AT(name, type, member, flags) {name, type, offsetof(toy, member), 0, 0, LF_ATTR | (flags), "", "test"}

static const h5_field toy_fields[] = {
    DS("i8", LF_I8, i8, N_ROWS, 0, 0),
    DS("u8", LF_U8, u8, N_ITEMS, 0, 0),
    DS("i32", LF_I32, i32, N_ROWS, 0, 0),
    DS("i64", LF_I64, i64, N_ITEMS, 0, 0),
    DS("f32", LF_F32, f32, N_ROWS, 0, 0),
    DS("f64", LF_F64, f64, N_ITEMS, 0, 0),
    DS("str", LF_STR, str, N_ROWS, 0, 0),
    DS("samples/offset", LF_I64, offset, N_ROWS, 1, 0),
    DS("samples/deep/extra", LF_F32, extra, N_ITEMS, 0, LF_OPTIONAL),
    DS("derived", LF_F64, derived, N_ROWS, 0, LF_DERIVED),
    AT("a_i64", LF_I64, a_i64, 0),
    AT("a_f64", LF_F64, a_f64, 0),
    AT("a_str", LF_STR, a_str, 0),
    AT("a_opt", LF_STR, a_opt, LF_OPTIONAL),
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
static const h5_layout toy_layout = {"toy", "toy", toy_fields, toy_counts};

// The same kind as broken writers would make it: `i8` one element short; only `i8`.
static const h5_field short_fields[] = {
    DS("i8", LF_I8, i8, N_ROWS, -1, 0),
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
static const h5_layout short_layout = {"toy", "toy", short_fields, toy_counts};
static const h5_field gap_fields[] = {
    DS("i8", LF_I8, i8, N_ROWS, 0, 0),
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
static const h5_layout gap_layout = {"toy", "toy", gap_fields, toy_counts};

// A toy with n rows and m items, every value distinct; `optional` fills the optional fields.
static toy toy_make(size_t n, size_t m, int optional) {
  toy t = {0};
  t.i8 = xmalloc(n), t.u8 = xmalloc(m);
  t.i32 = xmalloc(n * sizeof *t.i32), t.i64 = xmalloc(m * sizeof *t.i64);
  t.f32 = xmalloc(n * sizeof *t.f32), t.f64 = xmalloc(m * sizeof *t.f64);
  t.str = xmalloc(n * sizeof *t.str), t.offset = xmalloc((n + 1) * sizeof *t.offset);
  t.derived = xmalloc(n * sizeof *t.derived);
  for (size_t i = 0; i < n; i++) {
    t.i8[i] = (int8_t)(-(int)i - 1);
    t.i32[i] = (int32_t)(i * 1000 + 7);
    t.f32[i] = 0.5f * (float)i;
    t.derived[i] = (double)i / 3;
    t.str[i] = xstrdup(i % 2 ? "ünïcode" : "");
  }
  for (size_t i = 0; i <= n; i++) t.offset[i] = (int64_t)(3 * i);
  for (size_t i = 0; i < m; i++) {
    t.u8[i] = (uint8_t)(200 + i);
    t.i64[i] = (int64_t)1 << (40 + i);
    t.f64[i] = 1.0 / (double)(i + 1);
  }
  if (optional) {
    t.extra = xmalloc(m * sizeof *t.extra);
    for (size_t i = 0; i < m; i++) t.extra[i] = -(float)i;
    t.a_opt = xstrdup("present");
  }
  t.a_i64 = -123456789012;
  t.a_f64 = 0.125;
  t.a_str = xstrdup("hello");
  return t;
}

static char *toy_write(const char *name, const h5_layout *L, const toy *t, size_t n, size_t m) {
  char *path = path_join(nqtest_dir, name);
  h5_out o;
  h5_out_create(&o, path);
  size_t counts[N_COUNTS] = {n, m};
  h5_layout_write(o.file, L, t, counts);
  h5_out_commit(&o);
  return path;
}

static void assert_toys_equal(const toy *a, const toy *b, size_t n, size_t m) {
  assert_memory_equal(a->i8, b->i8, n);
  assert_memory_equal(a->u8, b->u8, m);
  assert_memory_equal(a->i32, b->i32, n * sizeof *a->i32);
  assert_memory_equal(a->i64, b->i64, m * sizeof *a->i64);
  assert_memory_equal(a->f32, b->f32, n * sizeof *a->f32);
  assert_memory_equal(a->f64, b->f64, m * sizeof *a->f64);
  assert_memory_equal(a->offset, b->offset, (n + 1) * sizeof *a->offset);
  for (size_t i = 0; i < n; i++) assert_string_equal(a->str[i], b->str[i]);
  assert_int_equal(a->a_i64, b->a_i64);
  assert_true(a->a_f64 == b->a_f64);
  assert_string_equal(a->a_str, b->a_str);
}

// ---- (a) round trips ---------------------------------------------------------------------
static void test_roundtrip_all_fields(void **st) {
  (void)st;
  size_t n = 5, m = 3;
  toy w = toy_make(n, m, 1);
  char *path = toy_write("all.h5", &toy_layout, &w, n, m);
  hid_t f = h5_open_read(path);
  assert_true(h5_exists(f, "samples/deep/extra"));
  assert_true(h5_exists(f, "derived"));
  assert_int_equal(h5_attr_get_i64(f, "n_rows"), 5);
  assert_int_equal(h5_attr_get_i64(f, "n_items"), 3);
  toy r = {0};
  size_t counts[N_COUNTS] = {0};
  h5_layout_read(f, path, &toy_layout, &r, counts);
  h5_close(f);
  assert_int_equal(counts[N_ROWS], n);
  assert_int_equal(counts[N_ITEMS], m);
  assert_toys_equal(&w, &r, n, m);
  assert_memory_equal(w.extra, r.extra, m * sizeof *w.extra);
  assert_string_equal(r.a_opt, "present");
  assert_null(r.derived);  // LF_DERIVED: for outside readers only
  assert_ptr_equal(h5_layout_find(&toy_layout, "samples/offset"), &toy_fields[7]);
  assert_null(h5_layout_find(&toy_layout, "offset"));
  h5_layout_free(&toy_layout, &r, counts);
  assert_null(r.i8);
  assert_null(r.str);
  assert_null(r.a_str);
  h5_layout_free(&toy_layout, &w, counts);
  free(path);
}

static void test_roundtrip_optional_absent(void **st) {
  (void)st;
  size_t n = 4, m = 2;
  toy w = toy_make(n, m, 0);
  char *path = toy_write("absent.h5", &toy_layout, &w, n, m);
  hid_t f = h5_open_read(path);
  assert_false(h5_exists(f, "samples/deep/extra"));
  assert_false(h5_attr_exists(f, "a_opt"));
  toy r = {0};
  size_t counts[N_COUNTS] = {0};
  h5_layout_read(f, path, &toy_layout, &r, counts);
  h5_close(f);
  assert_toys_equal(&w, &r, n, m);
  assert_null(r.extra);
  assert_null(r.a_opt);
  h5_layout_free(&toy_layout, &r, counts);
  h5_layout_free(&toy_layout, &w, counts);
  free(path);
}

static void test_roundtrip_empty(void **st) {
  (void)st;
  toy w = toy_make(0, 0, 1);
  char *path = toy_write("empty.h5", &toy_layout, &w, 0, 0);
  hid_t f = h5_open_read(path);
  toy r = {0};
  size_t counts[N_COUNTS] = {9, 9};
  h5_layout_read(f, path, &toy_layout, &r, counts);
  h5_close(f);
  assert_int_equal(counts[N_ROWS], 0);
  assert_int_equal(counts[N_ITEMS], 0);
  assert_int_equal(r.offset[0], 0);  // offsets hold count + 1
  h5_layout_free(&toy_layout, &r, counts);
  h5_layout_free(&toy_layout, &w, counts);
  free(path);
}

// ---- (a) refusals (in a forked child: the reader stops the process) ----------------------
static void read_toy(void *arg) {
  const char *path = arg;
  hid_t f = h5_open_read(path);
  toy r = {0};
  size_t counts[N_COUNTS];
  h5_layout_read(f, path, &toy_layout, &r, counts);
}

// A 3-row, 2-item toy written with the broken layout `L`.
static char *write_broken_file(const char *name, const h5_layout *L) {
  toy w = toy_make(3, 2, 0);
  char *path = toy_write(name, L, &w, 3, 2);
  size_t counts[N_COUNTS] = {3, 2};
  h5_layout_free(&toy_layout, &w, counts);
  return path;
}

static void test_refuses_length_mismatch(void **st) {
  (void)st;
  char *path = write_broken_file("short.h5", &short_layout);
  const char *msg = expect_fatal(read_toy, path, "dataset 'i8' has 2 elements, expected 3");
  assert_non_null(strstr(msg, "rerun nq-toy"));
  free(path);
}

static void test_refuses_missing_dataset(void **st) {
  (void)st;
  char *path = write_broken_file("missing.h5", &gap_layout);
  expect_fatal(read_toy, path, "missing.h5: dataset 'u8' is missing; rerun nq-toy");
  free(path);
}

static void write_without_required(void *arg) {
  (void)arg;
  toy w = {0};
  size_t counts[N_COUNTS] = {1, 1};
  char *path = path_join(nqtest_dir, "noreq.h5");
  h5_out o;
  h5_out_create(&o, path);
  h5_layout_write(o.file, &toy_layout, &w, counts);
}

static void test_refuses_writing_without_required(void **st) {
  (void)st;
  expect_fatal(write_without_required, NULL, "required dataset 'i8' has no data");
}

// ---- (b) the docs page -------------------------------------------------------------------
// The backticked names in the first column of every table row of the section `## <kind>`
// (up to the next `## ` heading), one per line in a new string; NULL if there is no section.
static char *docs_first_column(const char *md, const char *kind) {
  size_t klen = strlen(kind);
  const char *p = md;
  for (;;) {
    if (!strncmp(p, "## ", 3) && !strncmp(p + 3, kind, klen) && strspn(p + 3 + klen, " \t\r") ==
        strcspn(p + 3 + klen, "\n"))
      break;
    p = strchr(p, '\n');
    if (!p) return NULL;
    p++;
  }
  char *out = xcalloc(strlen(md) + 1, 1);
  size_t o = 0;
  for (p = strchr(p, '\n'); p && strncmp(p + 1, "## ", 3); p = strchr(p + 1, '\n')) {
    const char *line = p + 1, *eol = strchr(line, '\n');
    if (*line != '|') continue;
    const char *end = strchr(line + 1, '|');
    if (!end || (eol && end > eol)) continue;
    for (const char *b = memchr(line, '`', (size_t)(end - line)); b && b < end;) {
      const char *e = memchr(b + 1, '`', (size_t)(end - b - 1));
      if (!e) break;
      memcpy(out + o, b + 1, (size_t)(e - b - 1));
      o += (size_t)(e - b - 1);
      out[o++] = '\n';
      b = memchr(e + 1, '`', (size_t)(end - e - 1));
    }
  }
  return out;
}

static int line_in(const char *lines, const char *name) {
  size_t n = strlen(name);
  for (const char *p = lines; (p = strstr(p, name)); p++)
    if ((p == lines || p[-1] == '\n') && p[n] == '\n') return 1;
  return 0;
}

// The layout's names in the file (fields, then the counts stored as attributes), one per
// line in a new string.
static char *layout_names(const h5_layout *L) {
  size_t len = 1;
  for (const h5_field *f = L->fields; f->name; f++) len += strlen(f->name) + 1;
  for (int c = 0; L->counts && L->counts[c]; c++) len += strlen(L->counts[c]) + 1;
  char *s = xcalloc(len, 1);
  for (const h5_field *f = L->fields; f->name; f++) strcat(strcat(s, f->name), "\n");
  for (int c = 0; L->counts && L->counts[c]; c++)
    if (h5_layout_count_stored(L, c)) strcat(strcat(s, L->counts[c]), "\n");
  return s;
}

// Every line of `a` not in `b`, as " `name`" (a new string, "" when none).
static char *lines_missing(const char *a, const char *b) {
  char *out = xcalloc(2 * strlen(a) + 1, 1), *copy = xstrdup(a), *save = NULL;
  for (char *t = strtok_r(copy, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
    if (!line_in(b, t)) strcat(strcat(strcat(out, " `"), t), "`");
  free(copy);
  return out;
}

// NULL when the section of L->kind in `md` lists exactly L's names; else what differs.
static char *docs_diff(const char *md, const h5_layout *L) {
  char *doc = docs_first_column(md, L->kind);
  if (!doc) {
    char *m = xmalloc(strlen(L->kind) + 64);
    sprintf(m, "no section '## %s'", L->kind);
    return m;
  }
  char *want = layout_names(L);
  char *missing = lines_missing(want, doc), *extra = lines_missing(doc, want);
  char *m = NULL;
  if (*missing || *extra) {
    m = xmalloc(strlen(L->kind) + strlen(missing) + strlen(extra) + 128);
    sprintf(m, "## %s: missing in docs:%s; in the docs table but not in the layout:%s", L->kind,
            *missing ? missing : " none", *extra ? extra : " none");
  }
  free(doc), free(want), free(missing), free(extra);
  return m;
}

static void test_docs_check_itself(void **st) {
  (void)st;
  const char *good =
      "# page\n\n## toys\n\nnot this one\n\n## toy\n\n| dataset | type |\n|---|---|\n"
      "| `i8` | int8 (`not_a_name`) |\n| `u8`, `i32` | |\n| `i64` | |\n| `f32` | |\n| `f64` | |\n"
      "| `str` | |\n| `samples/offset` | |\n| `samples/deep/extra` | |\n| `derived` | |\n\n"
      "### attributes\n\n| attribute | meaning |\n|---|---|\n| `a_i64`, `a_f64` | |\n"
      "| `a_str` | |\n| `a_opt` | |\n| `n_rows`, `n_items` | counts |\n\n## other\n\n| `zzz` | |\n";
  char *d = docs_diff(good, &toy_layout);
  if (d) fail_msg("%s", d);
  // drop `a_str`, add `a_stray`
  char *bad = xstrdup(good);
  char *at = strstr(bad, "`a_str`");
  memcpy(at, "`a_sxr`", 7);
  d = docs_diff(bad, &toy_layout);
  assert_non_null(d);
  assert_non_null(strstr(d, "missing in docs: `a_str`;"));
  assert_non_null(strstr(d, "not in the layout: `a_sxr`"));
  free(d);
  free(bad);
  d = docs_diff("## toys\n| `i8` |\n", &toy_layout);
  assert_string_equal(d, "no section '## toy'");
  free(d);
}

static void test_docs_page_matches_layouts(void **st) {
  (void)st;
  size_t len = 0;
  char *md = read_file("docs/hdf5-layout.md", &len);
  if (!md) fail_msg("cannot read docs/hdf5-layout.md (run from the repo root)");
  int bad = 0;
  assert_non_null(h5_layouts[0]);  // an empty registry would check nothing
  for (int i = 0; h5_layouts[i]; i++) {
    char *d = docs_diff(md, h5_layouts[i]);
    if (d) print_error("docs/hdf5-layout.md %s\n", d), bad = 1;
    free(d);
  }
  free(md);
  if (bad) fail_msg("docs/hdf5-layout.md disagrees with the layout tables (above)");
}

// Every name the registered layouts declare (fields, then counts), one per line.
static int print_names(void) {
  for (int i = 0; h5_layouts[i]; i++) {
    char *s = layout_names(h5_layouts[i]);
    fputs(s, stdout);
    free(s);
  }
  return fflush(stdout) != 0 || ferror(stdout);
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--names")) return print_names();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_all_fields),
      cmocka_unit_test(test_roundtrip_optional_absent),
      cmocka_unit_test(test_roundtrip_empty),
      cmocka_unit_test(test_refuses_length_mismatch),
      cmocka_unit_test(test_refuses_missing_dataset),
      cmocka_unit_test(test_refuses_writing_without_required),
      cmocka_unit_test(test_docs_check_itself),
      cmocka_unit_test(test_docs_page_matches_layouts),
  };
  return cmocka_run_group_tests(tests, nqtest_dir_setup, nqtest_dir_teardown);
}
