// Trainer data order: the epoch permutation is a deterministic permutation, and the
// (micro-step, rank, j) -> global slot map covers the global batch exactly once for any
// rank count, which is what makes -np 1 and -np 2 see the same samples per step.
#include <stdlib.h>
#include <string.h>

#include "nqtest.h"
#include "train/trainer.h"
#include "train/train_lm.h"

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

// ---- lm streams -------------------------------------------------------------------------
// A tiny corpus in token ids: item i = [90, 10i+1..10i+5, 91] ("[Past] text\n"), empty
// history E = [90, 99, 91], query q(k) = [92, 50+k, 93], target t(k) = [80, 10k+2..10k+5, 1]
// (its text is item k's, tokenized at a text start; 1 = <|endoftext|>). Sample k of a user
// has the profile items max(0, k-2)..k-1 (at most 2 kept, oldest first).
typedef struct {
  shard_data d;
  size_t cap_tok, cap_s;
} fake_shard;

static void put(fake_shard *f, const int32_t *t, int n) {
  if (f->d.n_tokens + n > f->cap_tok) {
    f->cap_tok = (f->d.n_tokens + n) * 2;
    f->d.tokens = realloc(f->d.tokens, f->cap_tok * sizeof(int32_t));
  }
  memcpy(f->d.tokens + f->d.n_tokens, t, n * sizeof(int32_t));
  f->d.n_tokens += n;
}

static int item(int32_t *o, int i) {
  o[0] = 90;
  for (int j = 1; j <= 5; j++) o[j] = 10 * i + j;
  o[6] = 91;
  return 7;
}

static void add_sample(fake_shard *f, int user, int k, int split) {
  size_t i = f->d.n_samples++;
  if (i >= f->cap_s) {
    f->cap_s = 2 * i + 4;
#define G(x) f->d.x = realloc(f->d.x, f->cap_s * sizeof *f->d.x)
    G(id); G(user); G(split); G(hist_offset); G(nohist_offset); G(target_offset); G(hist_length);
    G(nohist_length); G(target_length); G(history_items);
#undef G
  }
  int32_t h[64], z[64], q[3] = {92, 50 + k, 93}, t[6] = {80, 10 * k + 2, 10 * k + 3, 10 * k + 4, 10 * k + 5, 1};
  int nh = 0, nz = 0, items = 0;
  for (int p = k - 2 < 0 ? 0 : k - 2; p < k; p++, items++) nh += item(h + nh, p);
  if (!items) { h[0] = 90; h[1] = 99; h[2] = 91; nh = 3; }
  z[0] = 90; z[1] = 99; z[2] = 91; nz = 3;
  memcpy(h + nh, q, sizeof q); memcpy(z + nz, q, sizeof q); nh += 3; nz += 3;
  memcpy(h + nh, t, sizeof t); memcpy(z + nz, t, sizeof t); nh += 6; nz += 6;
  f->d.hist_offset[i] = (int64_t)f->d.n_tokens;
  f->d.hist_length[i] = nh;
  put(f, h, nh);
  f->d.nohist_offset[i] = (int64_t)f->d.n_tokens;
  f->d.nohist_length[i] = nz;
  put(f, z, nz);
  f->d.target_length[i] = 6;
  f->d.target_offset[i] = 0;
  f->d.history_items[i] = items;
  f->d.split[i] = (int8_t)split;
  f->d.user[i] = user;
  char buf[32];
  snprintf(buf, sizeof buf, "u%d-r%02d", user, k);
  f->d.id[i] = strdup(buf);
}

static void fake_free(fake_shard *f) {
  for (size_t i = 0; i < f->d.n_samples; i++) free(f->d.id[i]);
  free(f->d.id); free(f->d.user); free(f->d.split); free(f->d.hist_offset); free(f->d.nohist_offset);
  free(f->d.target_offset); free(f->d.hist_length); free(f->d.nohist_length);
  free(f->d.target_length); free(f->d.history_items); free(f->d.tokens);
}

// Expected stream of user samples 1..K: item 0, then per sample the query and target (the
// items that slid into later profiles are earlier targets, so they are not repeated).
static size_t expected_stream(int32_t *o, int K) {
  size_t n = (size_t)item(o, 0);
  for (int k = 1; k <= K; k++) {
    if (k > 1) o[n++] = 91;   // the newline before [Query] belongs to the shared suffix
    int32_t q[9] = {92, 50 + k, 93, 80, 10 * k + 2, 10 * k + 3, 10 * k + 4, 10 * k + 5, 1};
    memcpy(o + n, q, sizeof q);
    n += 9;
  }
  return n;
}

static void test_lm_streams(void **st) {
  (void)st;
  // user 0: samples 1..4 spread over two shards, out of order; user 1: samples 1..2 (and a
  // valid sample 3, not in the train streams)
  fake_shard f[2] = {0};
  char *users[2] = {"a", "b"};
  for (int s = 0; s < 2; s++) { f[s].d.users = users; f[s].d.n_users = 2; }
  add_sample(&f[1], 0, 3, SPLIT_TRAIN);
  add_sample(&f[0], 0, 1, SPLIT_TRAIN);
  add_sample(&f[0], 1, 2, SPLIT_TRAIN);
  add_sample(&f[1], 0, 4, SPLIT_TRAIN);
  add_sample(&f[0], 0, 2, SPLIT_TRAIN);
  add_sample(&f[1], 1, 1, SPLIT_TRAIN);
  add_sample(&f[1], 1, 3, SPLIT_VALID);
  shard_data sh[2] = {f[0].d, f[1].d};
  int32_t e0[128], e1[128];
  size_t n0 = expected_stream(e0, 4), n1 = expected_stream(e1, 2);
  lm_windows w;
  lm_windows_build(&w, sh, 2, SPLIT_TRAIN, 1000);   // one window per user
  assert_int_equal(w.n, 2);
  assert_int_equal(w.users, 2);
  assert_int_equal(w.off[1], (int64_t)n0);
  assert_memory_equal(w.tokens, e0, n0 * sizeof(int32_t));
  assert_int_equal(w.off[2] - w.off[1], (int64_t)n1);
  assert_memory_equal(w.tokens + n0, e1, n1 * sizeof(int32_t));
  assert_int_equal(w.stream_tokens, n0 + n1);
  lm_windows_free(&w);
  // windows of 8: consecutive windows share one token, every next-token pair once
  lm_windows_build(&w, sh, 2, SPLIT_TRAIN, 8);
  size_t pairs = 0, at = 0;
  int user = 0;
  for (int k = 0; k < w.n; k++) {
    size_t L = (size_t)(w.off[k + 1] - w.off[k]);
    assert_true(L >= 2 && L <= 8);
    const int32_t *ex = user == 0 ? e0 : e1;
    size_t ne = user == 0 ? n0 : n1;
    assert_memory_equal(w.tokens + w.off[k], ex + at, L * sizeof(int32_t));
    pairs += L - 1;
    at += L - 1;
    if (at + 1 == ne) { user++; at = 0; }
  }
  assert_int_equal(user, 2);
  assert_int_equal(pairs, n0 - 1 + n1 - 1);
  lm_windows_free(&w);
  lm_windows_build(&w, sh, 2, SPLIT_VALID, 1000);
  assert_int_equal(w.n, 1);
  lm_windows_free(&w);
  fake_free(&f[0]);
  fake_free(&f[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_perm), cmocka_unit_test(test_slots),
                                     cmocka_unit_test(test_lm_streams)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
