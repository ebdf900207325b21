// BM25 scores (text/bm25.h) against values computed by hand.
#include "nqtest.h"

#include <math.h>

#include "text/bm25.h"

// Three documents, query "Red kettle!" -> terms [red, kettle] (lowercased, '!' splits):
//   D0 "red KETTLE, red" -> [red, kettle, red] |D0| = 3
//   D1 "blue kettle"     -> [blue, kettle]     |D1| = 2
//   D2 "green lamp"      -> [green, lamp]      |D2| = 2       N = 3, avgdl = 7/3
//   idf(red)    = ln(1 + (3 - 1 + 0.5) / (1 + 0.5)) = ln(8/3)    (red in D0 only)
//   idf(kettle) = ln(1 + (3 - 2 + 0.5) / (2 + 0.5)) = ln(1.6)    (kettle in D0, D1)
// k1 = 1.2, b = 0.75:
//   D0: norm = 1 - b + b * 3 / (7/3) = 17/14, k1 * norm = 51/35
//       red:    f = 2: 2 * 2.2 / (2 + 51/35) = 14/11;  kettle: f = 1: 2.2 / (1 + 51/35) = 77/86
//       score = ln(8/3) * 14/11 + ln(1.6) * 77/86 = 1.669145343
//   D1: norm = 1 - b + b * 2 / (7/3) = 25/28, k1 * norm = 15/14
//       kettle: 2.2 / (1 + 15/14) = 154/145;  score = ln(1.6) * 154/145 = 0.499176268
//   D2: no query term: 0
// k1 = 1.2, b = 0 (no length normalisation):
//   D0: red 4.4 / (2 + 1.2) = 1.375, kettle 2.2 / 2.2 = 1: ln(8/3) * 1.375 + ln(1.6) = 1.818643852
static void test_hand_values(void **st) {
  (void)st;
  const char *docs[] = {"red KETTLE, red", "blue kettle", "green lamp"};
  double s[3];
  bm25_scores("Red kettle!", docs, 3, 1.2, 0.75, s);
  assert_float_equal(s[0], log(8.0 / 3) * 14 / 11 + log(1.6) * 77 / 86, 1e-12);
  assert_float_equal(s[0], 1.669145343, 1e-9);
  assert_float_equal(s[1], 0.499176268, 1e-9);
  assert_float_equal(s[2], 0.0, 0);
  bm25_scores("Red kettle!", docs, 3, 1.2, 0.0, s);
  assert_float_equal(s[0], 1.818643852, 1e-9);
  assert_float_equal(s[1], log(1.6), 1e-12);   // f = 1, norm = 1: 2.2 / 2.2 = 1
}

// A repeated query term counts once per occurrence (as LaMP's rank_bm25 does); a term in
// every document still has idf ln(1 + 0.5 / (N + 0.5)) > 0; empty documents score 0.
static void test_repeats_and_edges(void **st) {
  (void)st;
  const char *docs[] = {"lamp", "lamp desk", ""};
  double once[3], twice[3];
  bm25_scores("desk", docs, 3, 1.2, 0.75, once);
  bm25_scores("desk desk", docs, 3, 1.2, 0.75, twice);
  assert_float_equal(twice[1], 2 * once[1], 1e-12);
  const char *all[] = {"lamp", "lamp"};
  double a[2];
  bm25_scores("lamp", all, 2, 1.2, 0.75, a);
  // idf = ln(1 + 0.5 / 2.5) = ln(1.2); f = 1, |D| = avgdl: 2.2 / 2.2 = 1
  assert_float_equal(a[0], log(1.2), 1e-12);
  assert_float_equal(once[2], 0.0, 0);
  assert_float_equal(once[0], 0.0, 0);
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_hand_values), cmocka_unit_test(test_repeats_and_edges)};
  return cmocka_run_group_tests_name("bm25", tests, NULL, NULL);
}
