// jsonl: UTF-8 validation, line-aligned byte ranges (disjoint, covering, right line numbers
// for any rank count), error lines naming file:line, dotted lookups.
#include "nqtest.h"

#include "base/jsonl.h"
#include "base/util.h"

static char dir[] = "/tmp/nq-test-jsonl.XXXXXX";

static void test_utf8(void **st) {
  (void)st;
  size_t at = 99;
  assert_true(utf8_valid("plain", 5, &at));
  assert_true(utf8_valid("caf\xc3\xa9 \xf0\x9f\x8f\x95", 10, &at));
  assert_false(utf8_valid("ab\xff", 3, &at));
  assert_int_equal(at, 2);
  assert_false(utf8_valid("a\xc3", 2, &at));          // truncated sequence
  assert_int_equal(at, 1);
  assert_false(utf8_valid("\xc0\xaf", 2, &at));       // overlong
  assert_false(utf8_valid("\xed\xa0\x80", 3, &at));   // surrogate
  assert_false(utf8_valid("\xf4\x90\x80\x80", 4, &at)); // above U+10FFFF
}

static char *write_lines(const char *name, const char *text) {
  char *p = path_join(dir, name);
  write_file_atomic(p, text, strlen(text));
  return p;
}

// Every rank count splits the file into disjoint ranges covering every record once, and each
// record comes with its true line number.
static void test_ranges_cover(void **st) {
  (void)st;
  strbuf b;
  sb_init(&b);
  for (int i = 1; i <= 23; i++) {
    if (i == 7) { sb_puts(&b, "\n"); continue; }   // blank line: skipped, still counted
    sb_printf(&b, "{\"n\": %d, \"pad\": \"%.*s\"}\n", i, i * 3 % 17, "xxxxxxxxxxxxxxxxxxxxxxx");
  }
  char *p = write_lines("r.jsonl", b.data);
  for (int size = 1; size <= 5; size++) {
    int seen[24] = {0};
    long long prev_end = 0;
    for (int rank = 0; rank < size; rank++) {
      long long a, e;
      jsonl_range(p, rank, size, &a, &e);
      assert_true(a == prev_end);
      prev_end = e;
      jsonl_reader r;
      jsonl_open(&r, p, a, e);
      json_t *o;
      char err[256];
      int rc;
      while ((rc = jsonl_next(&r, &o, err, sizeof err)) == 1) {
        int n = (int)json_integer_value(json_object_get(o, "n"));
        assert_int_equal(n, r.line);
        seen[n]++;
        json_decref(o);
      }
      assert_int_equal(rc, 0);
      jsonl_close(&r);
    }
    assert_true(prev_end == (long long)b.len);
    for (int i = 1; i <= 23; i++) assert_int_equal(seen[i], i == 7 ? 0 : 1);
  }
  sb_free(&b);
  free(p);
}

static void test_bad_lines(void **st) {
  (void)st;
  char *p = write_lines("bad.jsonl", "{\"a\": 1}\n{\"a\": \n[1, 2]\n{\"a\": \"x\xff\"}\n{\"a\": {\"b\": \"deep\"}}");
  jsonl_reader r;
  jsonl_open(&r, p, 0, jsonl_file_size(p));
  json_t *o;
  char err[512];
  assert_int_equal(jsonl_next(&r, &o, err, sizeof err), 1);
  json_decref(o);
  assert_int_equal(jsonl_next(&r, &o, err, sizeof err), -1);
  assert_non_null(strstr(err, "bad.jsonl:2: malformed JSON"));
  assert_int_equal(jsonl_next(&r, &o, err, sizeof err), -1);
  assert_non_null(strstr(err, "bad.jsonl:3: expected a JSON object"));
  assert_int_equal(jsonl_next(&r, &o, err, sizeof err), -1);
  assert_non_null(strstr(err, "bad.jsonl:4: not valid UTF-8 (byte 0xff"));
  assert_int_equal(jsonl_next(&r, &o, err, sizeof err), 1);   // last line without newline
  assert_string_equal(json_string_value(json_path_get(o, "a.b")), "deep");
  assert_null(json_path_get(o, "a.c"));
  assert_null(json_path_get(o, "a.b.c"));
  json_decref(o);
  assert_int_equal(jsonl_next(&r, &o, err, sizeof err), 0);
  jsonl_close(&r);
  free(p);
}

static void size_of(void *arg) { (void)jsonl_file_size((const char *)arg); }

static void test_missing_and_empty(void **st) {
  (void)st;
  char *e = write_lines("empty.jsonl", "");
  expect_fatal(size_of, e, "empty.jsonl: empty file");
  char *m = path_join(dir, "missing.jsonl");
  expect_fatal(size_of, m, "missing.jsonl: cannot open");
  free(e);
  free(m);
}

int main(void) {
  log_set_quiet(1);
  if (!mkdtemp(dir)) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utf8),
      cmocka_unit_test(test_ranges_cover),
      cmocka_unit_test(test_bad_lines),
      cmocka_unit_test(test_missing_and_empty),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) return 1;
  return rc;
}
