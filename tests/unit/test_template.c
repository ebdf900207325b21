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

// {field:N}: a field over N tokens keeps its first N (or last N) tokens' bytes, whole UTF-8
// characters only; under budget, or without a tokenizer, the text is whole.
static void test_budget(void **st) {
  (void)st;
  const char *texts[] = {"one two three four five six caf\xc3\xa9", "seven eight nine"};
  const char *sp[] = {"<|endoftext|>"};
  tokenizer *t = tok_train(texts, 2, 257, sp, 1);   // no merges: a token per byte
  assert_non_null(t);
  json_t *o = json_pack("{s:s, s:s}", "long", "one two three caf\xc3\xa9", "short", "ab");
  char err[256];
  strbuf b;
  sb_init(&b);
  tpl_budget bud = {.tok = t, .cut_start = 0, .truncated = 0};
  assert_int_equal(tpl_render("[{short:5}]", "t", o, NULL, &bud, &b, err, sizeof err), 0);
  assert_string_equal(b.data, "[ab]");
  assert_int_equal(bud.truncated, 0);
  b.len = 0;
  assert_int_equal(tpl_render("[{long:7}]", "t", o, NULL, &bud, &b, err, sizeof err), 0);
  sb_puts(&b, "");
  assert_string_equal(b.data, "[one two]");
  assert_int_equal(bud.truncated, 1);
  b.len = 0;   // 18 tokens end inside the é (2 bytes): the whole é goes
  assert_int_equal(tpl_render("[{long:18}]", "t", o, NULL, &bud, &b, err, sizeof err), 0);
  sb_puts(&b, "");
  assert_string_equal(b.data, "[one two three caf]");
  bud.cut_start = 1;
  b.len = 0;   // from the start: the last 5 bytes are " caf\xc3\xa9" minus its space
  assert_int_equal(tpl_render("[{long:5}]", "t", o, NULL, &bud, &b, err, sizeof err), 0);
  sb_puts(&b, "");
  assert_string_equal(b.data, "[caf\xc3\xa9]");
  b.len = 0;   // from the start, 1 token = the é's last byte alone: dropped
  assert_int_equal(tpl_render("[{long:1}]", "t", o, NULL, &bud, &b, err, sizeof err), 0);
  sb_puts(&b, "");
  assert_string_equal(b.data, "[]");
  b.len = 0;   // no tokenizer: budgets are ignored (tokenizer training sees whole texts)
  assert_int_equal(tpl_render("[{long:5}]", "t", o, NULL, NULL, &b, err, sizeof err), 0);
  sb_puts(&b, "");
  assert_string_equal(b.data, "[one two three caf\xc3\xa9]");
  sb_free(&b);
  json_decref(o);
  tok_free(t);
  expect_fatal(check, "{text:0}", "expected {field:N}");
  expect_fatal(check, "{text:12x}", "expected {field:N}");
  expect_fatal(check, "{:12}", "expected {field:N}");
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_render),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_check),
      cmocka_unit_test(test_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
