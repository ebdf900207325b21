// utf8: the one UTF-8 validator (boundaries of every sequence length, overlong forms, CESU-8
// surrogates, truncation, above U+10FFFF), the corpus string check (NUL, bad UTF-8) and the
// terminal escaping of corpus text (C0, ESC, DEL, C1, bad bytes; text and newlines kept).
#include "nqtest.h"

#include "base/term_escape.h"
#include "base/utf8.h"
#include "base/util.h"

#define VALID(s) assert_true(utf8_valid((s), sizeof(s) - 1, NULL))
#define INVALID_AT(s, at)                                  \
  do {                                                     \
    size_t bad_ = 99;                                      \
    assert_false(utf8_valid((s), sizeof(s) - 1, &bad_));   \
    assert_int_equal(bad_, (at));                          \
  } while (0)

static void test_valid(void **st) {
  (void)st;
  VALID("");
  VALID("plain ascii \x01\x7f");                       // controls are UTF-8 (the check is elsewhere)
  VALID("\xc2\x80 \xdf\xbf");                          // U+0080, U+07FF
  VALID("\xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf");   // U+0800, U+D7FF, U+E000, U+FFFF
  VALID("\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf");          // U+10000, U+10FFFF
  VALID("caf\xc3\xa9 \xf0\x9f\x8f\x95");
}

static void test_invalid(void **st) {
  (void)st;
  INVALID_AT("ab\xff", 2);
  INVALID_AT("ab\x80", 2);                   // a lone continuation byte
  INVALID_AT("a\xc3", 1);                    // truncated: 2-byte
  INVALID_AT("a\xe2\x82", 1);                // truncated: 3-byte
  INVALID_AT("a\xf0\x9f\x8f", 1);            // truncated: 4-byte
  INVALID_AT("x\xc3(", 1);                   // a continuation expected
  INVALID_AT("\xc0\xaf", 0);                 // overlong '/'
  INVALID_AT("\xc1\xbf", 0);                 // overlong U+007F
  INVALID_AT("\xe0\x80\xaf", 0);             // overlong 3-byte
  INVALID_AT("\xe0\x9f\xbf", 0);             // overlong U+07FF
  INVALID_AT("\xf0\x80\x80\xaf", 0);         // overlong 4-byte
  INVALID_AT("\xf0\x8f\xbf\xbf", 0);         // overlong U+FFFF
  INVALID_AT("ok\xed\xa0\x80", 2);           // U+D800, a high surrogate
  INVALID_AT("\xed\xbf\xbf", 0);             // U+DFFF
  INVALID_AT("\xed\xa0\xbd\xed\xb8\x80", 0); // CESU-8: a surrogate pair for U+1F600
  INVALID_AT("\xf4\x90\x80\x80", 0);         // U+110000
  INVALID_AT("\xf5\x80\x80\x80", 0);
  INVALID_AT("\xf8\x88\x80\x80\x80", 0);     // 5-byte forms
  INVALID_AT("\xfe", 0);
}

static void test_text_check(void **st) {
  (void)st;
  char why[128];
  assert_int_equal(text_check("u00000", 6, why, sizeof why), 0);
  assert_int_equal(text_check("", 0, why, sizeof why), 0);
  assert_int_equal(text_check("u00000\0other", 12, why, sizeof why), -1);   // json_string_length counts past it
  assert_non_null(strstr(why, "NUL"));
  assert_non_null(strstr(why, "byte 7"));
  assert_int_equal(text_check("ab\xed\xa0\x80", 5, why, sizeof why), -1);
  assert_non_null(strstr(why, "not valid UTF-8 (byte 0xed at byte 3)"));
}

static void escaped(const char *in, size_t n, int keep_lines, const char *want) {
  strbuf b;
  sb_init(&b);
  term_escape(&b, in, n, keep_lines);
  assert_string_equal(b.data, want);
  sb_free(&b);
}

#define ESCAPED(lit, keep, want) escaped((lit), sizeof(lit) - 1, (keep), (want))

static void test_term_escape(void **st) {
  (void)st;
  ESCAPED("", 0, "");
  ESCAPED("caf\xc3\xa9 \xe2\x98\x95 ok", 0, "caf\xc3\xa9 \xe2\x98\x95 ok");   // text is kept as it is
  ESCAPED("a\x1b]0;PWNED\x07z", 1, "a\\x1b]0;PWNED\\x07z");                   // a window title
  ESCAPED("\x1b[2J\x1b[31mred", 1, "\\x1b[2J\\x1b[31mred");                   // clear, colour
  ESCAPED("del\x7f", 1, "del\\x7f");
  ESCAPED("c1 \xc2\x9b" "31m \xc2\x85", 1, "c1 \\u009b31m \\u0085");           // CSI and NEL as C1
  ESCAPED("\xc2\xa0nbsp", 1, "\xc2\xa0nbsp");                                  // U+00A0 is text
  ESCAPED("bad \xff\xc3", 1, "bad \\xff\\xc3");                                // not UTF-8
  ESCAPED("nul\0x", 1, "nul\\x00x");
  ESCAPED("two\nlines\tand\rcr", 1, "two\nlines\tand\\x0dcr");
  ESCAPED("two\nlines\tx", 0, "two\\x0alines\\x09x");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),
      cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_text_check),
      cmocka_unit_test(test_term_escape),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
