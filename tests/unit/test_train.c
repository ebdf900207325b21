// Trainer data order: the epoch permutation is a deterministic permutation, and the
// (micro-step, rank, j) -> global slot map covers the global batch exactly once for any
// rank count, which is what makes -np 1 and -np 2 see the same samples per step.
#include <stdlib.h>
#include <string.h>

#include "nqtest.h"
#include "train.h"

static void test_perm(void **st) {
  (void)st;
  enum { N = 97 };
  int a[N], b[N], c[N], seen[N] = {0};
  train_perm(1234, 0, N, a);
  train_perm(1234, 0, N, b);
  train_perm(1234, 1, N, c);
  assert_memory_equal(a, b, sizeof a);
  assert_true(memcmp(a, c, sizeof a) != 0);   // another epoch, another order
  for (int i = 0; i < N; i++) {
    assert_true(a[i] >= 0 && a[i] < N);
    seen[a[i]]++;
  }
  for (int i = 0; i < N; i++) assert_int_equal(seen[i], 1);
  int moved = 0;
  for (int i = 0; i < N; i++) moved += a[i] != i;
  assert_true(moved > N / 2);
}

static void test_slots(void **st) {
  (void)st;
  int shapes[][3] = {{1, 12, 1}, {2, 2, 3}, {3, 4, 1}, {4, 1, 3}};   // size, mb, accum: G = 12
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
    int size = shapes[s][0], mb = shapes[s][1], accum = shapes[s][2], seen[12] = {0};
    for (int a = 0; a < accum; a++)
      for (int r = 0; r < size; r++)
        for (int j = 0; j < mb; j++) {
          long k = train_slot(a, r, j, size, mb);
          assert_true(k >= 0 && k < 12);
          seen[k]++;
        }
    for (int k = 0; k < 12; k++) assert_int_equal(seen[k], 1);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_perm), cmocka_unit_test(test_slots)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
