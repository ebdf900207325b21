// template: placeholders, dotted paths, canonical numbers, escapes, {history}, errors.
#include "nqtest.h"

#include "text/template.h"

static json_t *rec(void) {
  json_error_t e;
  json_t *o = json_loads("{\"title\": \"Mug\", \"n\": 42, \"x\": 0.5, \"ok\": true, \"none\": null,"
                         " \"item\": {\"brand\": \"Acme\"}, \"list\": [1]}", 0, &e);
  assert_non_null(o);
  return o;
}

static void test_render(void **st) {
  (void)st;
  json_t *o = rec();
  strbuf b;
  sb_init(&b);
  char err[256];
  assert_int_equal(tpl_render("{title} by {item.brand}: {n}/{x} {ok}[{none}] {{lit}}", "t", o, NULL, NULL, &b, err, sizeof err), 0);
  sb_puts(&b, "");
  assert_string_equal(b.data, "Mug by Acme: 42/0.5 true[] {lit}");
  b.len = 0;
  assert_int_equal(tpl_render("{history}Q: {title}", "t", o, "H1\nH2\n", NULL, &b, err, sizeof err), 0);
  sb_puts(&b, "");
  assert_string_equal(b.data, "H1\nH2\nQ: Mug");
  sb_free(&b);
  json_decref(o);
}

static void test_errors(void **st) {
  (void)st;
  json_t *o = rec();
  strbuf b;
  sb_init(&b);
  char err[256];
  assert_int_equal(tpl_render("{title} {nope}", "data.prompt_template", o, NULL, NULL, &b, err, sizeof err), -1);
  assert_string_equal(err, "field 'nope': missing (used by data.prompt_template)");
  assert_int_equal(tpl_render("{list}", "T", o, NULL, NULL, &b, err, sizeof err), -1);
  assert_non_null(strstr(err, "field 'list': expected a string or number, got an array"));
  assert_int_equal(tpl_render("{item}", "T", o, NULL, NULL, &b, err, sizeof err), -1);
  assert_non_null(strstr(err, "got an object"));
  // {history} without a history text is an ordinary (here missing) field
  assert_int_equal(tpl_render("{history}", "T", o, NULL, NULL, &b, err, sizeof err), -1);
  sb_free(&b);
  json_decref(o);
}

static void check(void *arg) { tpl_check((const char *)arg, "data.history_item_template"); }

static void test_check(void **st) {
  (void)st;
  tpl_check("{a} {{b}} {c.d}", "ok");
  expect_fatal(check, "x {a", "data.history_item_template: unclosed '{' at column 3");
  expect_fatal(check, "x {}", "empty placeholder");
  expect_fatal(check, "a}b", "unmatched '}'");
  expect_fatal(check, "{a{b}", "unclosed '{'");
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_render),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
