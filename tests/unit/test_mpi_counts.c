// MPI int counts (base/mpi_counts.h): counts and displacements of the shard exchange, the shard
// cost gather and the eval result gather are refused, naming the collective, when a count, a
// displacement or the total passes INT_MAX, instead of wrapping in the cast.
#include "nqtest.h"

#include <limits.h>

#include "base/mpi_counts.h"

static void test_counts_fit(void **st) {
  (void)st;
  size_t n[3] = {5, 0, 7};
  int cnt[3], dsp[3];
  char err[256];
  assert_int_equal(mpi_int_counts(n, 3, 3, cnt, dsp, "x", err, sizeof err), 36);
  assert_int_equal(cnt[0], 15), assert_int_equal(cnt[1], 0), assert_int_equal(cnt[2], 21);
  assert_int_equal(dsp[0], 0), assert_int_equal(dsp[1], 15), assert_int_equal(dsp[2], 15);
  size_t edge[2] = {(size_t)INT_MAX - 1, 1};   // a total of exactly INT_MAX fits
  assert_int_equal(mpi_int_counts(edge, 2, 1, cnt, dsp, "x", err, sizeof err), INT_MAX);
}

static void test_counts_overflow(void **st) {
  (void)st;
  int cnt[2], dsp[2];
  char err[256] = "";
  size_t one[2] = {(size_t)INT_MAX + 1, 0};   // one rank's count alone
  assert_int_equal(mpi_int_counts(one, 2, 1, cnt, dsp, "shard exchange", err, sizeof err), -1);
  assert_non_null(strstr(err, "shard exchange: 2147483648 items from rank 0"));
  size_t sum[2] = {(size_t)INT_MAX, 1};       // the displacement of rank 1 fits, the total does not
  assert_int_equal(mpi_int_counts(sum, 2, 1, cnt, dsp, "eval", err, sizeof err), -1);
  assert_non_null(strstr(err, "eval: 2147483648 items in total"));
  size_t unit[1] = {(size_t)INT_MAX / 3 + 1};  // fits as items, not as items * 3 int64 words
  assert_int_equal(mpi_int_counts(unit, 1, 3, cnt, dsp, "costs", err, sizeof err), -1);
  assert_non_null(strstr(err, "costs:"));
}

static void count_too_big(void *arg) { (void)arg; (void)mpi_int_count((size_t)INT_MAX + 5, "eval: bytes"); }

static void test_count_or_die(void **st) {
  (void)st;
  assert_int_equal(mpi_int_count(12, "x"), 12);
  expect_fatal(count_too_big, NULL, "eval: bytes: 2147483652 items do not fit MPI's int counts");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_counts_fit),
      cmocka_unit_test(test_counts_overflow),
      cmocka_unit_test(test_count_or_die),
  };
  return cmocka_run_group_tests_name("mpi_counts", tests, NULL, NULL);
}
