// Unit tests of the synthetic benchmark generator (common/synth/synth.c), without MPI.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka after the standard headers
#include <cmocka.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "synth/synth.h"

static void smoke_params(synth_params *p) {
  synth_params_default(p);
  p->seed = 7;
  p->users = 40;
  p->reviews_min = 5;
  p->reviews_max = 7;
  p->items = 80;
  p->brands = 200;
  p->pool_size = 60;
}

static char *generate(const synth_params *p, int u0, int u1, synth_stats *st) {
  synth_world *w = synth_world_new(p);
  strbuf b;
  sb_init(&b);
  for (int u = u0; u < u1; u++) synth_user_jsonl(w, u, &b, st);
  synth_world_free(w);
  if (!b.data) sb_puts(&b, "");
  return sb_detach(&b);
}

static void test_deterministic(void **state) {
  (void)state;
  synth_params p;
  smoke_params(&p);
  char *a = generate(&p, 0, p.users, NULL);
  char *b = generate(&p, 0, p.users, NULL);
  assert_string_equal(a, b);
  // any split of users gives the same bytes when concatenated (what MPI ranks do)
  char *c1 = generate(&p, 0, 13, NULL), *c2 = generate(&p, 13, p.users, NULL);
  size_t n1 = strlen(c1);
  assert_int_equal(n1 + strlen(c2), strlen(a));
  assert_memory_equal(a, c1, n1);
  assert_string_equal(a + n1, c2);
  // another seed offset is another benchmark
  p.seed_offset = 1;
  char *d = generate(&p, 0, p.users, NULL);
  assert_true(strcmp(a, d) != 0);
  free(a), free(b), free(c1), free(c2), free(d);
}

static void test_params_check(void **state) {
  (void)state;
  synth_params p;
  smoke_params(&p);
  assert_null(synth_params_check(&p));
  p.reviews_max = 4;
  assert_non_null(synth_params_check(&p));
  smoke_params(&p);
  p.min_profile = 4;  // reviews_min 5 < 4 + 2
  assert_non_null(synth_params_check(&p));
}

typedef struct {
  json_t **rows;
  size_t n;
} table;

static table parse_lines(char *text) {
  table t = {0};
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    if (!j) fail_msg("bad JSON line: %s", err.text);
    t.rows = realloc(t.rows, (t.n + 1) * sizeof *t.rows);
    assert_non_null(t.rows);
    t.rows[t.n++] = j;
  }
  return t;
}

static void table_free(table *t) {
  for (size_t i = 0; i < t->n; i++) json_decref(t->rows[i]);
  free(t->rows);
}

static const char *jstr(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  if (!json_is_string(v)) fail_msg("field '%s' is not a string", k);
  return json_string_value(v);
}

static void test_spans_and_layout(void **state) {
  (void)state;
  synth_params p;
  smoke_params(&p);
  synth_stats st = {0};
  char *text = generate(&p, 0, p.users, &st);
  for (const char *q = text; *q; q++) assert_true((unsigned char)*q < 0x80);  // ASCII: bytes = chars
  table t = parse_lines(text);
  assert_int_equal(t.n, st.samples[0] + st.samples[1] + st.samples[2]);
  assert_int_equal(st.users_cold, 8);  // floor(40 * 0.2)
  size_t n_spans = 0, kinds_seen[SK_COUNT] = {0};
  const char *prev_user = "";
  int n_test = 0;
  for (size_t i = 0; i < t.n; i++) {
    json_t *r = t.rows[i];
    const char *out = jstr(r, "output"), *split = jstr(r, "split"), *user = jstr(r, "user_id");
    int len = (int)strlen(out);
    json_t *sp = json_object_get(r, "pref_spans"), *kinds = json_object_get(r, "pref_kinds");
    json_t *rare = json_object_get(r, "pref_rare"), *phr = json_object_get(r, "pref_phrases");
    json_t *dec = json_object_get(r, "pref_decisive");
    size_t ns = json_array_size(sp);
    assert_int_equal(json_array_size(dec), ns);
    assert_int_equal(json_array_size(kinds), ns);
    assert_int_equal(json_array_size(rare), ns);
    assert_int_equal(json_array_size(phr), ns);
    int last_end = 0;
    for (size_t s = 0; s < ns; s++) {
      json_t *pair = json_array_get(sp, s);
      int a = (int)json_integer_value(json_array_get(pair, 0));
      int b = (int)json_integer_value(json_array_get(pair, 1));
      assert_true(a >= last_end);  // sorted and non-overlapping
      assert_true(a < b && b <= len);
      last_end = b;
      // the decisive span: the span's start up to the end of its first word, inside the span
      json_t *dp = json_array_get(dec, s);
      int da = (int)json_integer_value(json_array_get(dp, 0)), db = (int)json_integer_value(json_array_get(dp, 1));
      assert_int_equal(da, a);
      assert_true(db > da && db <= b);
      assert_true(db == b || out[db] == ' ');
      for (int q = da; q < db; q++) if (out[q] != ' ') { for (; q < db; q++) assert_true(out[q] != ' '); }
      const char *ph = json_string_value(json_array_get(phr, s));
      assert_non_null(ph);
      char *piece = strndup(out + a, (size_t)(b - a));
      if (!strstr(piece, ph)) fail_msg("phrase '%s' not inside span '%s'", ph, piece);
      free(piece);
      const char *k = json_string_value(json_array_get(kinds, s));
      int found = -1;
      for (int kk = 0; kk < SK_COUNT; kk++)
        if (!strcmp(k, synth_kind_name(kk))) found = kk;
      assert_true(found >= 0);
      kinds_seen[found]++;
      assert_true(json_is_boolean(json_array_get(rare, s)));
      n_spans++;
    }
    // profile: earlier reviews only, strictly increasing dates, all before the sample's date
    json_t *prof = json_object_get(r, "profile");
    const char *id = jstr(r, "id");
    int idx = atoi(strstr(id, "-r") + 2);
    assert_int_equal(json_array_size(prof), (size_t)idx);
    const char *last_date = "";
    for (size_t j = 0; j < json_array_size(prof); j++) {
      const char *d = jstr(json_array_get(prof, j), "date");
      assert_true(strcmp(d, last_date) > 0);
      last_date = d;
    }
    assert_true(strcmp(jstr(r, "date"), last_date) > 0);
    int cold = json_is_true(json_object_get(json_object_get(r, "user_prefs"), "cold"));
    if (cold) assert_string_not_equal(split, "train");
    if (!strcmp(split, "test")) {
      n_test++;
      assert_string_equal(prev_user, user);  // valid comes right before test, same user
    }
    if (!strcmp(split, "valid")) assert_string_equal(jstr(t.rows[i + 1], "split"), "test");
    prev_user = user;
  }
  assert_int_equal(n_test, p.users);
  assert_int_equal(n_spans, st.spans);
  for (int k = 0; k < SK_COUNT; k++)
    if (!kinds_seen[k]) fail_msg("no span of kind %s in the smoke benchmark", synth_kind_name(k));
  table_free(&t);
  free(text);
}

// Whole-word, case-insensitive occurrence (so "look" does not match "looks").
static int has_phrase(const char *hay, const char *ph) {
  size_t n = strlen(ph);
  for (const char *q = strcasestr(hay, ph); q; q = strcasestr(q + 1, ph)) {
    int left = q == hay || !isalnum((unsigned char)q[-1]) || !isalnum((unsigned char)ph[0]);
    int right = !isalnum((unsigned char)q[n]) || !isalnum((unsigned char)ph[n - 1]);
    if (left && right) return 1;
  }
  return 0;
}

// The acceptance figure: a target's preference phrase is found in the same user's history
// far more often than in another user's history, and rare phrases even more so.
static void test_recoverable_from_history(void **state) {
  (void)state;
  synth_params p;
  smoke_params(&p);
  p.users = 120;
  char *text = generate(&p, 0, p.users, NULL);
  table t = parse_lines(text);
  // each user's whole history = the profile of its test sample
  strbuf *hist = calloc((size_t)p.users, sizeof *hist);
  json_t **test = calloc((size_t)p.users, sizeof *test);
  assert_non_null(hist);
  assert_non_null(test);
  int nu = 0;
  for (size_t i = 0; i < t.n; i++) {
    if (strcmp(jstr(t.rows[i], "split"), "test")) continue;
    json_t *prof = json_object_get(t.rows[i], "profile");
    sb_init(&hist[nu]);
    for (size_t j = 0; j < json_array_size(prof); j++) {
      sb_puts(&hist[nu], jstr(json_array_get(prof, j), "text"));
      sb_puts(&hist[nu], "\n");
    }
    test[nu++] = t.rows[i];
  }
  assert_int_equal(nu, p.users);
  double same[2] = {0}, other[2] = {0}, cnt[2] = {0};
  for (int u = 0; u < nu; u++) {
    json_t *phr = json_object_get(test[u], "pref_phrases");
    json_t *kinds = json_object_get(test[u], "pref_kinds"), *rare = json_object_get(test[u], "pref_rare");
    for (size_t s = 0; s < json_array_size(phr); s++) {
      if (!strcmp(json_string_value(json_array_get(kinds, s)), "case")) continue;
      const char *ph = json_string_value(json_array_get(phr, s));
      int rr = json_is_true(json_array_get(rare, s));
      same[rr] += has_phrase(hist[u].data, ph);
      int o = 0;
      for (int v = 0; v < nu; v++) o += v != u && has_phrase(hist[v].data, ph);
      other[rr] += (double)o / (nu - 1);
      cnt[rr]++;
    }
  }
  double sr[2], orr[2];
  for (int r = 0; r < 2; r++) sr[r] = same[r] / cnt[r], orr[r] = other[r] / cnt[r];
  double all_s = (same[0] + same[1]) / (cnt[0] + cnt[1]), all_o = (other[0] + other[1]) / (cnt[0] + cnt[1]);
  printf("synth recoverability (%d users, test targets): phrase in same user's history vs another "
         "user's history\n  all    %5.3f vs %5.3f (x%.1f, n=%.0f)\n  common %5.3f vs %5.3f (x%.1f, "
         "n=%.0f)\n  rare   %5.3f vs %5.3f (x%.1f, n=%.0f)\n",
         nu, all_s, all_o, all_s / all_o, cnt[0] + cnt[1], sr[0], orr[0], sr[0] / orr[0], cnt[0], sr[1],
         orr[1], sr[1] / orr[1], cnt[1]);
  assert_true(cnt[1] >= 20);  // enough rare phrases to measure
  assert_true(all_s >= 3 * all_o);
  assert_true(sr[0] >= 2 * orr[0]);
  assert_true(sr[1] >= 10 * orr[1]);
  assert_true(sr[1] / orr[1] > sr[0] / orr[0]);
  for (int u = 0; u < nu; u++) sb_free(&hist[u]);
  free(hist);
  free(test);
  table_free(&t);
  free(text);
}

// synth.persona_topic_share: every persona span is in a review of the user's topic category
// (user_prefs.persona_topic), and the topic's reviews hold about that share of all; off, a
// persona shows in other categories too (the check can fail).
static void test_persona_topic(void **state) {
  (void)state;
  synth_params p;
  smoke_params(&p);
  p.persona_topic_share = 0.3;
  for (int on = 1; on >= 0; on--) {
    if (!on) p.persona_topic_share = 0;
    char *text = generate(&p, 0, 40, NULL);
    table t = parse_lines(text);
    size_t outside = 0, persona = 0, topical = 0, items = 0;
    for (size_t i = 0; i < t.n; i++) {
      json_t *r = t.rows[i], *kinds = json_object_get(r, "pref_kinds");
      json_t *topic = json_object_get(json_object_get(r, "user_prefs"), "persona_topic");
      assert_true(on ? json_is_string(topic) : topic == NULL);
      const char *cat = jstr(r, "category");
      for (size_t k = 0; k < json_array_size(kinds); k++)
        if (!strcmp(json_string_value(json_array_get(kinds, k)), "persona"))
          persona++, outside += !topic || strcmp(cat, json_string_value(topic));
      if (on) items++, topical += !strcmp(cat, json_string_value(topic));
    }
    assert_true(persona > 5);
    if (on) {
      assert_int_equal(outside, 0);
      assert_in_range(topical * 100 / items, 15, 45);
    } else {
      assert_true(outside > 0);
    }
    table_free(&t);
    free(text);
  }
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_params_check),
      cmocka_unit_test(test_spans_and_layout),
      cmocka_unit_test(test_recoverable_from_history),
      cmocka_unit_test(test_persona_topic),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
