// nq-report's pieces without a run: the terminal view's plain text against a golden file
// (tests/unit/golden/report_user.txt), ANSI only when asked, corpus text escaped (its escape
// sequences shown, not obeyed), the shared-word marks of the
// page, and the AUROC of the ROC module on hand-checked cases.
#include "nqtest.h"

#include <math.h>

#include "files/shards_file.h"
#include "report/report_roc.h"
#include "report/report_term.h"
#include "report/report_tokens.h"

static report_unit U(const char *t, float e, int mask, int truth) {
  report_unit u = {(char *)t, e, mask ? 0.9f : 0.1f, (uint8_t)mask, (uint8_t)truth};
  return u;
}

// Two samples of u00013 (a train and a test one) and two eval rows predicting the test one.
static void fixture(report *r, report_sample *s, report_row *rows, report_pred *preds) {
  static report_unit a[6], b[7];
  a[0] = U("Loved", 0.01f, 0, 0), a[1] = U(" it", -0.4f, 0, 0), a[2] = U("!!", 0.72f, 1, 1);
  a[3] = U(" Got", 0.0f, 0, 0), a[4] = U(" it", 0.02f, 0, 0), a[5] = U(" today.", NAN, 0, 0);
  b[0] = U("I", 0.0f, 0, 0), b[1] = U(" got", 0.01f, 0, 0), b[2] = U(" this", 0.08f, 1, 1);
  b[3] = U(" for", 0.06f, 1, 1), b[4] = U(" my", 0.1f, 1, 1), b[5] = U(" book", 0.45f, 1, 1);
  b[6] = U(" club.", 0.2f, 1, 1);
  s[0] = (report_sample){"u00013-r02", "u00013", SPLIT_TRAIN, a, 6};
  s[1] = (report_sample){"u00013-r07", "u00013", SPLIT_TEST, b, 7};
  preds[0] = (report_pred){"u00013-r07", "u00013", "I got it for my club.", 0.5};
  preds[1] = (report_pred){"u00013-r07", "u00013", "Great book!!", 0.2};
  memset(rows, 0, 2 * sizeof *rows);
  rows[0].name = "context_sft", rows[0].preds = &preds[0], rows[0].n_preds = 1;
  rows[1].name = "nextquill", rows[1].preds = &preds[1], rows[1].n_preds = 1;
  memset(r, 0, sizeof *r);
  r->samples = s, r->n_samples = 2, r->rows = rows, r->n_rows = 2;
  r->have_annotations = 1, r->threshold = 0.05;
}

static char *term_output(const report *r, const char *user, int color) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  assert_int_equal(report_term_user(f, r, user, color), 0);
  fclose(f);
  return text;
}

static void test_term_user_plain_golden(void **state) {
  (void)state;
  report r;
  report_sample s[2];
  report_row rows[2];
  report_pred preds[2];
  fixture(&r, s, rows, preds);
  char *got = term_output(&r, "u00013", 0);
  size_t n;
  char *want = read_file("tests/unit/golden/report_user.txt", &n);
  assert_non_null(want);
  if (strcmp(got, want)) fprintf(stderr, "got:\n%s\nwant:\n%s\n", got, want);
  assert_string_equal(got, want);
  assert_null(strchr(got, '\033'));   // plain: no escape sequence
  free(got);
  free(want);
  char *col = term_output(&r, "u00013", 1);
  assert_non_null(strstr(col, "\033[1;97;41m!!\033[0m"));   // strong: bold on red
  free(col);
  FILE *f = fopen("/dev/null", "w");
  assert_int_equal(report_term_user(f, &r, "u99999", 0), 1);   // no such user
  fclose(f);
}

// Corpus text with escape sequences (a window title, a screen clear, a C1 CSI) is shown
// escaped by --user (plain and coloured) and --top: only the report's own colours reach the
// terminal.
static void test_term_escapes_corpus_text(void **state) {
  (void)state;
  static report_unit a[3];
  a[0] = U("Hi \033]0;PWNED\007", 0.01f, 0, 0), a[1] = U(" \033[2J", 0.72f, 1, 1), a[2] = U(" \xc2\x9b" "31m", 0.3f, 1, 0);
  report_sample s[1] = {{"id-\033[5m", "u\033[1", SPLIT_TEST, a, 3}};
  report_pred preds[1] = {{"id-\033[5m", "u\033[1", "out \033[31mred\nline two", 0.5}};
  report_row rows[1];
  memset(rows, 0, sizeof rows);
  rows[0].name = "base", rows[0].preds = preds, rows[0].n_preds = 1;
  report r;
  memset(&r, 0, sizeof r);
  r.samples = s, r.n_samples = 1, r.rows = rows, r.n_rows = 1, r.threshold = 0.05;
  for (int color = 0; color < 2; color++) {
    char *got = term_output(&r, "u\033[1", color);
    if (!color) assert_null(strchr(got, '\033'));
    assert_null(strstr(got, "\033]"));
    assert_null(strstr(got, "\033[2J"));
    assert_null(strstr(got, "\033[5m"));
    assert_null(strstr(got, "\033[31m"));
    assert_null(strchr(got, '\007'));
    assert_null(strstr(got, "\xc2\x9b"));
    assert_non_null(strstr(got, "Hi \\x1b]0;PWNED\\x07"));
    assert_non_null(strstr(got, "id-\\x1b[5m"));
    assert_non_null(strstr(got, "user u\\x1b[1:"));
    assert_non_null(strstr(got, "\\u009b31m"));
    assert_non_null(strstr(got, "out \\x1b[31mred\nline two"));   // a prediction's newline is kept
    free(got);
  }
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  report_term_top(f, &r, "u\033[1", 5);
  fclose(f);
  assert_null(strchr(text, '\033'));
  assert_non_null(strstr(text, "\" \\u009b31m\""));
  free(text);
}

static void test_shared_words_marked(void **state) {
  (void)state;
  strbuf b;
  sb_init(&b);
  report_shared_html(&b, "Great book for my <club>!!", "I got this for my Book club.");
  assert_string_equal(b.data, "Great <mark>book</mark> for my &lt;<mark>club</mark>&gt;!!");
  sb_free(&b);
}

static void test_auroc(void **state) {
  (void)state;
  float score[6] = {0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f};
  uint8_t perfect[6] = {1, 1, 1, 0, 0, 0}, inverse[6] = {0, 0, 0, 1, 1, 1}, mixed[6] = {1, 0, 1, 0, 1, 0};
  report_roc roc;
  report_roc_compute(score, perfect, NULL, 6, &roc);
  assert_true(fabs(roc.auroc - 1.0) < 1e-12);
  assert_true(roc.fpr[roc.n - 1] == 1.0 && roc.tpr[roc.n - 1] == 1.0);
  report_roc_compute(score, inverse, NULL, 6, &roc);
  assert_true(fabs(roc.auroc) < 1e-12);
  report_roc_compute(score, mixed, NULL, 6, &roc);   // pairs won: 3 + 2 + 1 of 9
  assert_true(fabs(roc.auroc - 6.0 / 9.0) < 1e-12);
  float tied[4] = {0.5f, 0.5f, 0.5f, 0.5f};
  report_roc_compute(tied, perfect, NULL, 4, &roc);   // ties count one half
  assert_true(fabs(roc.auroc - 0.5) < 1e-12);
  uint8_t use[6] = {1, 0, 1, 1, 1, 1};
  report_roc_compute(score, perfect, use, 6, &roc);
  assert_int_equal(roc.positives, 2);
  report_roc_compute(score, perfect, perfect, 6, &roc);   // no negatives: undefined
  assert_true(isnan(roc.auroc));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_term_user_plain_golden),
      cmocka_unit_test(test_term_escapes_corpus_text),
      cmocka_unit_test(test_shared_words_marked),
      cmocka_unit_test(test_auroc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
