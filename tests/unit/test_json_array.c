// json_array / records: streaming a JSON array (top level or at a dotted path), strings and
// nesting that contain brackets, ranks taking every size-th element (disjoint, covering),
// errors naming file, index and line, a broken array stopping the reading (-2), nothing but
// whitespace after the array, every string of a record checked (NUL, UTF-8), format detection; and the corpus join (pipeline/corpus.c): targets by id from LaMP's outputs
// layout, a missing id and a duplicate id naming both files.
#include "nqtest.h"

#include "base/json_array.h"
#include "base/records.h"
#include "base/util.h"
#include "pipeline/corpus.h"
#include "settings/settings.h"

static char *write_in(const char *name, const char *text) {
  char *p = path_join(nqtest_dir, name);
  nqtest_write(p, text);
  return p;
}

// Reads every kept element's "id" into ids (comma separated).
static int read_ids(const char *path, const char *list, int stride, int phase, char *ids, size_t n, char *err) {
  json_array_reader r;
  ids[0] = 0;
  int rc = json_array_open(&r, path, list, stride, phase, err, 512);
  json_t *o;
  while (rc == 0 && (rc = json_array_next(&r, &o, err, 512)) == 1) {
    snprintf(ids + strlen(ids), n - strlen(ids), "%s%s", ids[0] ? "," : "", json_string_value(json_object_get(o, "id")));
    json_decref(o);
    rc = 0;
  }
  json_array_close(&r);
  return rc;
}

static const char *QUESTIONS =
    "[\n"
    "  {\"id\": \"a\", \"input\": \"brackets ] } [ { in a string, and a quote \\\" and \\\\\", \"profile\": []},\n"
    "  {\"id\": \"b\", \"input\": \"x\", \"profile\": [{\"title\": \"t\", \"n\": [1, [2, {\"k\": 3}]]}]},\n"
    "  {\"id\": \"c\", \"input\": \"caf\\u00e9 \xe2\x98\x95\", \"profile\": []}\n"
    "]\n";

static void test_top_level_and_nested(void **st) {
  (void)st;
  char ids[256], err[512];
  char *q = write_in("q.json", QUESTIONS);
  assert_int_equal(read_ids(q, "", 1, 0, ids, sizeof ids, err), 0);
  assert_string_equal(ids, "a,b,c");
  char *g = write_in("g.json",
                     "{\"task\": \"LaMP_4\", \"meta\": {\"golds\": [1]}, \"golds\": [{\"id\": \"a\", \"output\": \"A\"},"
                     " {\"id\": \"b\", \"output\": \"B\"}]}");
  assert_int_equal(read_ids(g, "golds", 1, 0, ids, sizeof ids, err), 0);
  assert_string_equal(ids, "a,b");
  char *deep = write_in("deep.json", "{\"x\": 1, \"data\": {\"skip\": \"}\", \"rows\": [{\"id\": \"z\"}]}}");
  assert_int_equal(read_ids(deep, "data.rows", 1, 0, ids, sizeof ids, err), 0);
  assert_string_equal(ids, "z");
  char *empty = write_in("empty.json", " [ ] ");
  assert_int_equal(read_ids(empty, "", 1, 0, ids, sizeof ids, err), 0);
  assert_string_equal(ids, "");
  free(q), free(g), free(deep), free(empty);
}

// Ranks take every size-th element: together each element exactly once, in file order.
static void test_stride(void **st) {
  (void)st;
  char ids[3][256], err[512];
  char *q = write_in("q5.json", "[{\"id\":\"0\"},{\"id\":\"1\"},{\"id\":\"2\"},{\"id\":\"3\"},{\"id\":\"4\"}]");
  for (int r = 0; r < 3; r++) assert_int_equal(read_ids(q, "", 3, r, ids[r], sizeof ids[r], err), 0);
  assert_string_equal(ids[0], "0,3");
  assert_string_equal(ids[1], "1,4");
  assert_string_equal(ids[2], "2");
  free(q);
}

static void test_errors(void **st) {
  (void)st;
  char ids[256], err[512];
  char *bad = write_in("bad.json", "[{\"id\": \"a\"},\n {\"id\": \"b\",},\n {\"id\": \"c\"}]");
  json_array_reader r;   // a malformed element: -1 naming index and line, then reading goes on
  json_t *o;
  assert_int_equal(json_array_open(&r, bad, "", 1, 0, err, sizeof err), 0);
  assert_int_equal(json_array_next(&r, &o, err, sizeof err), 1);
  json_decref(o);
  assert_int_equal(json_array_next(&r, &o, err, sizeof err), -1);
  assert_non_null(strstr(err, "bad.json[1] (line 2)"));
  assert_int_equal(json_array_next(&r, &o, err, sizeof err), 1);
  assert_string_equal(json_string_value(json_object_get(o, "id")), "c");
  json_decref(o);
  json_array_close(&r);
  char *open_end = write_in("open.json", "[{\"id\": \"a\"},\n{\"id\": \"b\"}\n");
  assert_int_equal(read_ids(open_end, "", 1, 0, ids, sizeof ids, err), -2);
  assert_non_null(strstr(err, "open.json:3: unexpected end of file"));
  char *nocomma = write_in("nocomma.json", "[{\"id\": \"a\"} {\"id\": \"b\"}]");
  assert_int_equal(read_ids(nocomma, "", 1, 0, ids, sizeof ids, err), -2);
  assert_non_null(strstr(err, "expected ',' or ']' after record 0"));
  char *nolist = write_in("nolist.json", "{\"task\": \"x\", \"outputs\": []}");
  assert_int_equal(read_ids(nolist, "golds", 1, 0, ids, sizeof ids, err), -2);
  assert_non_null(strstr(err, "nolist.json:1: no list 'golds'"));
  char *scalar = write_in("scalar.json", "[{\"id\": \"a\"}, 7]");
  assert_int_equal(read_ids(scalar, "", 1, 0, ids, sizeof ids, err), -1);
  assert_non_null(strstr(err, "scalar.json[1] (line 1): "));
  free(bad), free(open_end), free(nocomma), free(nolist), free(scalar);
}

static void test_detect(void **st) {
  (void)st;
  char *a = write_in("a.json", "\n  [{\"id\": \"a\"}]"), *l = write_in("l.jsonl", "{\"id\": \"a\"}\n{\"id\": \"b\"}\n");
  assert_int_equal(rec_detect(a, REC_AUTO, ""), REC_JSON);
  assert_int_equal(rec_detect(l, REC_AUTO, ""), REC_JSONL);
  assert_int_equal(rec_detect(l, REC_AUTO, "golds"), REC_JSON);
  assert_int_equal(rec_detect(a, REC_JSONL, ""), REC_JSONL);
  rec_reader r;   // the same interface over both, with places for messages
  char err[512], where[256];
  json_t *o;
  assert_int_equal(rec_open(&r, l, REC_AUTO, "", 0, 1, err, sizeof err), 0);
  assert_int_equal(rec_next(&r, &o, err, sizeof err), 1);
  json_decref(o);
  assert_int_equal(rec_next(&r, &o, err, sizeof err), 1);
  rec_where(&r, where, sizeof where);
  assert_non_null(strstr(where, "l.jsonl:2"));
  json_decref(o);
  rec_close(&r);
  free(a), free(l);
}

// A JSON array ends at its ']' (or, with a list path, at the '}' of the objects around it)
// plus whitespace: a second array after the first, or any text, is an error naming the line.
static void test_array_end(void **st) {
  (void)st;
  char ids[256], err[512];
  char *two = write_in("two.json", "[{\"id\": \"a\"},\n {\"id\": \"b\"}]\n[{\"id\": \"c\"}]\n");
  assert_int_equal(read_ids(two, "", 1, 0, ids, sizeof ids, err), -2);
  assert_string_equal(ids, "a,b");
  assert_non_null(strstr(err, "two.json:3: text after the end of the JSON array ('[')"));
  char *junk = write_in("junk.json", "[{\"id\": \"a\"}]  \n\n x");
  assert_int_equal(read_ids(junk, "", 1, 0, ids, sizeof ids, err), -2);
  assert_non_null(strstr(err, "junk.json:3: text after the end"));
  char *spaces = write_in("spaces.json", "[{\"id\": \"a\"}] \r\n\t \n");
  assert_int_equal(read_ids(spaces, "", 1, 0, ids, sizeof ids, err), 0);
  assert_string_equal(ids, "a");
  char *nested = write_in("nested.json", "{\"golds\": [{\"id\": \"a\"}], \"task\": \"x]\", \"n\": [1, {\"k\": 2}]}\n");
  assert_int_equal(read_ids(nested, "golds", 1, 0, ids, sizeof ids, err), 0);   // the rest of the object
  assert_string_equal(ids, "a");
  char *after = write_in("after.json", "{\"golds\": [{\"id\": \"a\"}]}\n{\"golds\": []}");
  assert_int_equal(read_ids(after, "golds", 1, 0, ids, sizeof ids, err), -2);
  assert_non_null(strstr(err, "after.json:2: text after the end of the JSON object ('{')"));
  char *unclosed = write_in("unclosed.json", "{\"golds\": [{\"id\": \"a\"}] \"task\": 1}");
  assert_int_equal(read_ids(unclosed, "golds", 1, 0, ids, sizeof ids, err), -2);
  assert_non_null(strstr(err, "expected ',' or '}' after the list of records"));
  for (int rank = 0; rank < 2; rank++) {   // every rank reads to the end, so every rank sees it
    assert_int_equal(read_ids(two, "", 2, rank, ids, sizeof ids, err), -2);
    assert_non_null(strstr(err, "two.json:3:"));
  }
  free(two), free(junk), free(spaces), free(nested), free(after), free(unclosed);
}

// Every string of a record, at any depth: UTF-8 without NUL ("\u0000" would cut an id in two
// and join its record to another user), or the record is bad, named file:line: field.
static void test_text_fields(void **st) {
  (void)st;
  char err[512], field[128], why[128], where[256];
  json_t *o;
  rec_reader r;
  char *l = write_in("nul.jsonl",
                     "{\"id\": \"a\", \"user_id\": \"u00000\"}\n"
                     "{\"id\": \"b\", \"user_id\": \"u00000\\u0000other\"}\n"
                     "{\"id\": \"c\", \"profile\": [{\"text\": \"ok\"}, {\"text\": \"x\\u0000\"}]}\n"
                     "{\"id\": \"d\", \"k\\u00e9y\": \"\\ud83d\\ude00 fine\"}\n"
                     "{\"id\": \"e\", \"t\": \"\\ud800 lone\"}\n");
  assert_int_equal(rec_open(&r, l, REC_AUTO, "", 0, 1, err, sizeof err), 0);
  assert_int_equal(rec_next(&r, &o, err, sizeof err), 1);
  json_decref(o);
  assert_int_equal(rec_next(&r, &o, err, sizeof err), -1);
  assert_non_null(strstr(err, "nul.jsonl:2: field 'user_id': contains a NUL character"));
  assert_int_equal(rec_next(&r, &o, err, sizeof err), -1);
  assert_non_null(strstr(err, "nul.jsonl:3: field 'profile[1].text': contains a NUL"));
  assert_int_equal(rec_next(&r, &o, err, sizeof err), 1);   // escaped non-ASCII and a surrogate pair: fine
  assert_string_equal(json_string_value(json_object_get(o, "k\xc3\xa9y")), "\xf0\x9f\x98\x80 fine");
  json_decref(o);
  assert_int_equal(rec_next(&r, &o, err, sizeof err), -1);  // a lone surrogate escape: jansson refuses it
  assert_non_null(strstr(err, "nul.jsonl:5: malformed JSON"));
  assert_int_equal(rec_next(&r, &o, err, sizeof err), 0);
  rec_close(&r);
  char *a = write_in("nul.json", "[{\"id\": \"a\"},\n {\"id\": \"b\",\n  \"h\": [\"x\", \"\\u0000\"]}]");
  assert_int_equal(rec_open(&r, a, REC_AUTO, "", 0, 1, err, sizeof err), 0);
  assert_int_equal(rec_next(&r, &o, err, sizeof err), 1);
  json_decref(o);
  assert_int_equal(rec_next(&r, &o, err, sizeof err), -1);
  assert_non_null(strstr(err, "nul.json[1] (line 2): field 'h[1]': contains a NUL"));
  rec_close(&r);
  json_t *v = json_loads("{\"a\": {\"b\": [1, \"ok\", {\"c\": \"\\u0000\"}]}}", JSON_ALLOW_NUL, NULL);
  assert_int_equal(json_text_check(v, field, sizeof field, why, sizeof why), -1);
  assert_string_equal(field, "a.b[2].c");
  json_decref(v);
  v = json_loads("[\"fine\", {\"x\": [\"y\"]}]", 0, NULL);
  assert_int_equal(json_text_check(v, field, sizeof field, why, sizeof why), 0);
  json_decref(v);
  rec_place(a, REC_JSON, "", 1, where, sizeof where);   // an element's real line, not its index
  assert_non_null(strstr(where, "nul.json[1] (line 2)"));
  rec_place(l, REC_JSONL, "", 4, where, sizeof where);
  assert_non_null(strstr(where, "nul.jsonl:4"));
  free(l), free(a);
}

// ---- the join ------------------------------------------------------------------------------
static settings *join_config(const char *targets_list) {
  char text[2048];
  snprintf(text, sizeof text,
           "name = \"j\"; run_dir = \"%s/run\";\ndata: { files = [\"%s/q.json\"];\n"
           "  targets: { files = %s; records = \"golds\"; id = \"id\"; target = \"output\"; }; };\n",
           nqtest_dir, nqtest_dir, targets_list);
  char *p = write_in("join.cfg", text);
  settings *c = settings_load(p, NULL, 0);
  free(p);
  return c;
}

static void test_join(void **st) {
  (void)st;
  char list[1024], err[512];
  char *o1 = write_in("o1.json", "{\"task\": \"LaMP_4\", \"golds\": [{\"id\": \"a\", \"output\": \"A\"}, {\"id\": 7, \"output\": \"B\"}]}");
  snprintf(list, sizeof list, "[\"%s\"]", o1);
  settings *c = join_config(list);
  corpus_targets t;
  corpus_targets_load(&t, c);
  assert_string_equal(json_string_value(json_object_get(corpus_target(&t, "a", err, sizeof err), "output")), "A");
  assert_string_equal(json_string_value(json_object_get(corpus_target(&t, "7", err, sizeof err), "output")), "B");
  assert_null(corpus_target(&t, "zz", err, sizeof err));
  assert_non_null(strstr(err, "id 'zz'"));
  assert_non_null(strstr(err, "o1.json"));
  corpus_targets_free(&t);
  settings_free(c);
  free(o1);
}

static void load_targets(void *arg) {
  corpus_targets t;
  corpus_targets_load(&t, arg);
}

// A duplicate id names both places, in one file or across two.
static void test_join_duplicates(void **st) {
  (void)st;
  char list[1024];
  char *o1 = write_in("d1.json", "{\"golds\": [{\"id\": \"a\", \"output\": \"A\"}, {\"id\": \"a\", \"output\": \"A2\"}]}");
  snprintf(list, sizeof list, "[\"%s\"]", o1);
  settings *c = join_config(list);
  const char *msg = expect_fatal(load_targets, c, "d1.json[1]");
  assert_non_null(strstr(msg, "also at "));
  assert_non_null(strstr(msg, "d1.json[0]"));
  settings_free(c);
  char *o2 = write_in("d2.json", "{\"golds\": [{\"id\": \"b\", \"output\": \"B\"}]}");
  char *o3 = write_in("d3.json", "{\"golds\": [{\"id\": \"c\", \"output\": \"C\"},\n {\"id\": \"b\", \"output\": \"B2\"}]}");
  snprintf(list, sizeof list, "[\"%s\", \"%s\"]", o2, o3);
  c = join_config(list);
  msg = expect_fatal(load_targets, c, "d3.json[1]");
  assert_non_null(strstr(msg, "d2.json[0]"));
  settings_free(c);
  free(o1), free(o2), free(o3);
}

int main(void) {
  settings_schema_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_top_level_and_nested), cmocka_unit_test(test_stride), cmocka_unit_test(test_errors),
      cmocka_unit_test(test_detect), cmocka_unit_test(test_array_end), cmocka_unit_test(test_text_fields),
      cmocka_unit_test(test_join), cmocka_unit_test(test_join_duplicates),
  };
  return cmocka_run_group_tests(tests, nqtest_dir_setup, nqtest_dir_teardown);
}
