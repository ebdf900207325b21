// shard: record -> token sequences (history order and truncation, shared target tail ending in
// <|endoftext|>, truth from byte spans, target truncation, bad records), balancing, byte
// packing, and a write -> read round trip through the reader API.
#include "nqtest.h"

#include <math.h>

#include "pipeline/run_layout.h"

#include "h5/h5io.h"
#include "h5/provenance.h"
#include "shard/shard.h"
#include "base/util.h"

static char *dir;
static tokenizer *tok;

static shard_opts opts(void) {
  shard_opts o = {.f_id = "id", .f_user = "user_id", .f_history = "profile", .f_target = "output",
                  .f_order = "date", .f_split = "split", .f_truth = "spans", .f_truth_rare = "rare",
                  .f_truth_decisive = "",
                  .prompt_tpl = "{history}Q: {input}\nA: ", .item_tpl = "<{title}>\n",
                  .empty_history = "<none>\n", .max_history_items = 2, .max_prompt_tokens = 1000,
                  .max_target_tokens = 1000, .valid_fraction = 0.1, .test_fraction = 0.1};
  return o;
}

static json_t *parse(const char *s) {
  json_error_t e;
  json_t *o = json_loads(s, 0, &e);
  if (!o) fail_msg("bad test JSON: %s", e.text);
  return o;
}

static const char *REC =
    "{\"id\": \"s1\", \"user_id\": \"u1\", \"split\": \"test\", \"input\": \"hello\","
    " \"output\": \"abc def ghi\", \"spans\": [[4, 7], [0, 1]], \"rare\": [true, false], \"decisive\": [[4, 5], [0, 1]],"
    " \"profile\": [{\"title\": \"B\", \"date\": \"2020\"}, {\"title\": \"A\", \"date\": \"2019\"},"
    "               {\"title\": \"C\", \"date\": \"2021\"}]}";

static char *decode(const int32_t *ids, size_t n) {
  char *s = tok_decode(tok, ids, n, NULL);
  assert_non_null(s);
  return s;
}

static void test_sample(void **st) {
  (void)st;
  shard_opts o = opts();
  o.f_truth_decisive = "decisive";   // the first word of each span
  json_t *r = parse(REC);
  shard_sample s;
  shard_counts trunc = {0, 0};
  char err[512];
  assert_int_equal(shard_sample_make(&o, tok, r, NULL, &s, &trunc, err, sizeof err), 0);
  assert_string_equal(s.id, "s1");
  assert_string_equal(s.user, "u1");
  assert_int_equal(s.split, SPLIT_TEST);
  assert_int_equal(s.n_hist, 2);   // newest two by date, oldest first
  int eos = tok_special_id(tok, "<|endoftext|>");
  char *h = decode(s.hist, (size_t)s.hist_len), *n = decode(s.nohist, (size_t)s.nohist_len);
  assert_string_equal(h, "<B>\n<C>\nQ: hello\nA: abc def ghi<|endoftext|>");
  assert_string_equal(n, "<none>\nQ: hello\nA: abc def ghi<|endoftext|>");
  free(h), free(n);
  // the target is the identical tail of both sequences and ends in <|endoftext|>
  int T = s.target_len;
  assert_memory_equal(s.hist + s.hist_len - T, s.nohist + s.nohist_len - T, (size_t)T * 4);
  assert_int_equal(s.hist[s.hist_len - 1], eos);
  // truth: a token is 1 when its bytes overlap a span ("a" at 0 and "def" at 4..7)
  int32_t *t = s.hist + s.hist_len - T;
  size_t at = 0;
  char buf[64];
  for (int i = 0; i < T - 1; i++) {
    int nb = tok_token_bytes(tok, t[i], buf, sizeof buf);
    int over = (at < 1) || (at < 7 && 4 < at + (size_t)nb);
    int over_rare = at < 7 && 4 < at + (size_t)nb;
    int over_decisive = (at < 1) || (at < 5 && 4 < at + (size_t)nb);
    assert_int_equal(s.truth[i], over);
    assert_int_equal(s.truth_rare[i], over_rare);
    assert_int_equal(s.truth_decisive[i], over_decisive);
    at += (size_t)nb;
  }
  assert_int_equal(at, 11);
  assert_int_equal(s.truth[T - 1], 0);
  assert_int_equal(trunc.truncated_targets, 0);

  // pack / unpack round trip
  strbuf b;
  sb_init(&b);
  s.order = 12345;
  shard_sample_pack(&s, &b);
  shard_sample u;
  assert_int_equal(shard_sample_unpack(b.data, b.len, &u), b.len);
  assert_true(u.order == 12345);
  assert_string_equal(u.id, s.id);
  assert_int_equal(u.hist_len, s.hist_len);
  assert_memory_equal(u.hist, s.hist, (size_t)s.hist_len * 4);
  assert_memory_equal(u.truth_rare, s.truth_rare, (size_t)T);
  assert_memory_equal(u.truth_decisive, s.truth_decisive, (size_t)T);
  sb_free(&b);
  shard_sample_free(&u);
  shard_sample_free(&s);

  // a prompt budget of the no-history prompt only: every item is dropped
  shard_sample s2;
  o.max_prompt_tokens = 0;
  assert_int_equal(shard_sample_make(&o, tok, r, NULL, &s2, &trunc, err, sizeof err), -1);
  assert_non_null(strstr(err, "even without history"));
  o = opts();
  o.max_target_tokens = 3;   // two tokens of text + <|endoftext|>
  assert_int_equal(shard_sample_make(&o, tok, r, NULL, &s2, &trunc, err, sizeof err), 0);
  assert_int_equal(s2.target_len, 3);
  assert_int_equal(trunc.truncated_targets, 1);
  shard_sample_free(&s2);
  json_decref(r);
}

static void test_truncate_history(void **st) {
  (void)st;
  shard_opts o = opts();
  json_t *r = parse(REC);
  shard_sample full, s;
  shard_counts trunc = {0, 0};
  char err[512];
  o.max_history_items = 3;
  assert_int_equal(shard_sample_make(&o, tok, r, NULL, &full, &trunc, err, sizeof err), 0);
  assert_int_equal(full.n_hist, 3);
  int32_t full_prompt = full.hist_len - full.target_len;
  o.max_prompt_tokens = full_prompt - 1;   // one token short: the oldest item goes
  assert_int_equal(shard_sample_make(&o, tok, r, NULL, &s, &trunc, err, sizeof err), 0);
  assert_int_equal(s.n_hist, 2);
  char *h = decode(s.hist, (size_t)(s.hist_len - s.target_len));
  assert_string_equal(h, "<B>\n<C>\nQ: hello\nA: ");
  free(h);
  shard_sample_free(&s);
  shard_sample_free(&full);
  json_decref(r);
}

// data.history_select = "bm25": the oldest item is the only one sharing words with the query,
// so bm25 keeps it where recent does not; the other slot is a tie at 0, won by the newest
// item; the prompt lists the kept items least relevant first. The file order is not the
// time order (dates decide).
static void test_history_bm25(void **st) {
  (void)st;
  json_t *r = parse("{\"id\": \"s\", \"user_id\": \"u\", \"split\": \"test\", \"input\": \"a steel Kettle\","
                    " \"output\": \"o\", \"spans\": [], \"rare\": [], \"profile\": ["
                    "{\"title\": \"desk\", \"date\": \"2020\"}, {\"title\": \"kettle, steel\", \"date\": \"2018\"},"
                    "{\"title\": \"chair\", \"date\": \"2021\"}, {\"title\": \"lamp\", \"date\": \"2019\"}]}");
  shard_opts o = opts();
  o.f_query = "input", o.bm25_k1 = 1.2, o.bm25_b = 0.75;
  shard_sample s;
  shard_counts n = {0, 0};
  char err[512];
  assert_int_equal(shard_sample_make(&o, tok, r, NULL, &s, &n, err, sizeof err), 0);
  char *h = decode(s.hist, (size_t)(s.hist_len - s.target_len));
  assert_string_equal(h, "<desk>\n<chair>\nQ: a steel Kettle\nA: ");   // recent: the newest two
  free(h);
  shard_sample_free(&s);
  o.select_bm25 = 1;
  assert_int_equal(shard_sample_make(&o, tok, r, NULL, &s, &n, err, sizeof err), 0);
  h = decode(s.hist, (size_t)(s.hist_len - s.target_len));
  assert_string_equal(h, "<chair>\n<kettle, steel>\nQ: a steel Kettle\nA: ");
  free(h);
  // candidates in time order: kettle (2018, file index 1), lamp, desk, chair
  assert_int_equal(s.n_cand, 4);
  int idx[4] = {1, 3, 0, 2}, kept[4] = {1, 0, 0, 1};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(s.cand[i].index, idx[i]);
    assert_int_equal(s.cand[i].kept, kept[i]);
  }
  // kettle's score by hand: <kettle, steel> -> [kettle, steel], every doc 2 terms except
  // "<desk>" etc. (1 term): avgdl = 5/4; N = 4, n = 1: idf = ln(1 + 3.5 / 1.5) = ln(10/3);
  // norm = 0.25 + 0.75 * 2 / 1.25 = 1.45; per term 2.2 / (1 + 1.2 * 1.45) = 2.2 / 2.74; two terms
  assert_float_equal(s.cand[0].score, 2 * log(10.0 / 3) * 2.2 / 2.74, 1e-9);
  assert_float_equal(s.cand[1].score, 0.0, 0);
  shard_sample_free(&s);
  o.f_query = "missing";
  assert_int_equal(shard_sample_make(&o, tok, r, NULL, &s, &n, err, sizeof err), -1);
  assert_non_null(strstr(err, "field 'missing': missing (data.fields.query)"));
  json_decref(r);
}

static void test_bad_records(void **st) {
  (void)st;
  shard_opts o = opts();
  const char *bad[][2] = {
      {"{\"id\": \"x\", \"user_id\": \"u\", \"split\": \"train\", \"input\": \"q\", \"profile\": [], \"spans\": [], \"rare\": []}",
       "field 'output': missing"},
      {"{\"id\": \"x\", \"user_id\": \"u\", \"split\": \"train\", \"input\": \"q\", \"output\": \"o\", \"profile\": {}, \"spans\": [], \"rare\": []}",
       "field 'profile': expected an array"},
      {"{\"id\": \"x\", \"user_id\": \"u\", \"split\": \"later\", \"input\": \"q\", \"output\": \"o\", \"profile\": [], \"spans\": [], \"rare\": []}",
       "field 'split': expected"},
      {"{\"id\": \"x\", \"user_id\": \"u\", \"split\": \"train\", \"input\": \"q\", \"output\": \"o\", \"profile\": [], \"spans\": [[0, 5]], \"rare\": [false]}",
       "field 'spans[0]': span [0, 5) is outside the 1-byte target"},
      {"{\"id\": \"x\", \"user_id\": \"u\", \"split\": \"train\", \"input\": \"q\", \"output\": \"o\", \"profile\": [{\"date\": \"1\"}], \"spans\": [], \"rare\": []}",
       "field 'title': missing (used by data.history_item_template)"},
      {"{\"id\": \"x\", \"user_id\": \"u\", \"split\": \"train\", \"input\": \"q\", \"output\": \"o\", \"profile\": [{\"title\": \"t\"}], \"spans\": [], \"rare\": []}",
       "field 'profile[0].date': missing"},
      {"{\"id\": [1], \"user_id\": \"u\", \"split\": \"train\", \"input\": \"q\", \"output\": \"o\", \"profile\": [], \"spans\": [], \"rare\": []}",
       "field 'id': expected a string or integer"},
      {"{\"id\": \"x\", \"user_id\": \"u\", \"split\": \"train\", \"input\": \"q\", \"output\": \"o\", \"profile\": [], \"spans\": [[0, 1]], \"rare\": []}",
       "field 'rare': expected an array of booleans"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    json_t *r = parse(bad[k][0]);
    shard_sample s;
    shard_counts trunc = {0, 0};
    char err[512];
    assert_int_equal(shard_sample_make(&o, tok, r, NULL, &s, &trunc, err, sizeof err), -1);
    if (!strstr(err, bad[k][1])) fail_msg("case %zu: '%s' lacks '%s'", k, err, bad[k][1]);
    json_decref(r);
  }
}

static void test_split_fallback(void **st) {
  (void)st;
  shard_opts o = opts();
  o.f_split = "";
  o.valid_fraction = 0.3, o.test_fraction = 0.2;
  int count[3] = {0};
  for (int u = 0; u < 400; u++) {
    char js[256];
    snprintf(js, sizeof js, "{\"id\": %d, \"user_id\": \"user%d\", \"input\": \"q\", \"output\": \"o\", \"profile\": [], \"spans\": [], \"rare\": []}", u, u);
    json_t *r = parse(js);
    shard_sample s, s2;
    shard_counts trunc = {0, 0};
    char err[512];
    assert_int_equal(shard_sample_make(&o, tok, r, NULL, &s, &trunc, err, sizeof err), 0);
    assert_int_equal(shard_sample_make(&o, tok, r, NULL, &s2, &trunc, err, sizeof err), 0);
    assert_int_equal(s.split, s2.split);
    count[s.split]++;
    shard_sample_free(&s), shard_sample_free(&s2);
    json_decref(r);
  }
  assert_in_range(count[SPLIT_TEST], 50, 110);
  assert_in_range(count[SPLIT_VALID], 85, 155);
}

static void test_assign(void **st) {
  (void)st;
  int64_t cost[9] = {5, 9, 1, 9, 3, 7, 2, 2, 4};
  int32_t a[9], b[9];
  shard_assign(cost, 9, 3, a);
  shard_assign(cost, 9, 3, b);
  assert_memory_equal(a, b, sizeof a);
  int64_t load[3] = {0};
  for (int i = 0; i < 9; i++) load[a[i]] += cost[i];
  // longest first: 9,9,7 open the shards, then the lightest shard takes the next
  assert_true(load[0] == 14 && load[1] == 14 && load[2] == 14);
  assert_int_equal(a[1], 0);
  assert_int_equal(a[3], 1);
  assert_int_equal(a[5], 2);
}

static void test_write_read(void **st) {
  (void)st;
  shard_opts o = opts();
  shard_sample s[3];
  const char *users[3] = {"zed", "amy", "zed"};
  for (int i = 0; i < 3; i++) {
    char js[512];
    snprintf(js, sizeof js, "{\"id\": \"s%d\", \"user_id\": \"%s\", \"split\": \"%s\", \"input\": \"q%d\", \"output\": \"out %d\","
             " \"profile\": [{\"title\": \"t\", \"date\": \"1\"}], \"spans\": [[0, 3]], \"rare\": [%s]}",
             i, users[i], i ? "train" : "valid", i, i, i == 1 ? "true" : "false");
    json_t *r = parse(js);
    shard_counts trunc = {0, 0};
    char err[512];
    assert_int_equal(shard_sample_make(&o, tok, r, NULL, &s[i], &trunc, err, sizeof err), 0);
    s[i].order = 10 - i;   // written sorted by order: s2, s1, s0
    json_decref(r);
  }
  char *path = path_join(dir, "shard-00000.h5");
  const char *in[1] = {path};
  h5_provenance prov = {.stage = "shard", .config_text = "seed = 1;", .mpi_size = 1, .n_inputs = 0, .inputs = in};
  shard_write_info wi = {.index = 0, .count = 1, .tokenizer_digest = tok_digest(tok), .vocab_size = tok_vocab_size(tok),
                         .eos_id = tok_special_id(tok, "<|endoftext|>"), .bad_records = 3, .has_truth = 1,
                         .has_truth_rare = 1, .prov = &prov};
  shard_write_samples(path, s, 3, &wi);
  shard_data d;
  file_read(&shard_kind, path, &d);
  assert_int_equal(d.n_samples, 3);
  assert_int_equal(d.n_users, 2);
  assert_string_equal(d.users[0], "amy");
  assert_string_equal(d.id[0], "s2");
  assert_string_equal(d.users[d.user[0]], "zed");
  assert_string_equal(d.users[d.user[1]], "amy");
  assert_int_equal(d.split[2], SPLIT_VALID);
  assert_string_equal(d.tokenizer_digest, tok_digest(tok));
  size_t tot = 0;
  for (size_t i = 0; i < 3; i++) {
    size_t lh, ln, lt;
    const int32_t *h = shard_seq(&d, i, 1, &lh), *n = shard_seq(&d, i, 0, &ln), *t = shard_target(&d, i, &lt);
    assert_memory_equal(h + lh - lt, t, lt * 4);
    assert_memory_equal(n + ln - lt, t, lt * 4);
    assert_int_equal(d.history_items[i], 1);
    assert_true(d.target_offset[i] == (int64_t)tot);
    assert_int_equal(d.truth_rare[tot], i == 1);   // s1 is the second sample written
    tot += lt;
  }
  assert_int_equal(d.n_targets, tot);
  hid_t f = h5_open_read(path);
  assert_true(h5_attr_get_i64(f, "bad_records") == 3);
  h5_close(f);
  file_free(&shard_kind, &d);
  int n;
  char **l = run_shard_files(dir, &n, 1);   // one complete set (shard 0 of 1)
  assert_int_equal(n, 1);
  free(l[0]), free(l);
  for (int i = 0; i < 3; i++) shard_sample_free(&s[i]);
  free(path);
}

// A file that is not a shard: written by another stage, or by nq-shard before the counts.
static char *other_path;
static void read_other(void *arg) {
  (void)arg;
  shard_data d;
  file_read(&shard_kind, other_path, &d);
}

static void write_other(const char *stage, int with_counts) {
  h5_out o;
  h5_out_create(&o, other_path);
  h5_provenance prov = {.stage = stage, .config_text = "seed = 1;", .mpi_size = 1};
  h5_write_provenance(o.file, &prov);
  if (with_counts) h5_attr_set_i64(o.file, "n_samples", 0);
  h5_out_commit(&o);
}

static void test_header_and_refusals(void **st) {
  (void)st;
  // the header of the shard test_write_read wrote: counts and attributes, no dataset
  char *path = path_join(dir, "shard-00000.h5");
  assert_true(file_is(&shard_kind, path));
  shard_data h;
  file_read_attrs(&shard_kind, path, &h);
  assert_int_equal(h.n_samples, 3);
  assert_int_equal(h.n_users, 2);
  assert_null(h.tokens);
  assert_string_equal(h.tokenizer_digest, tok_digest(tok));
  assert_int_equal(h.eos_id, tok_special_id(tok, "<|endoftext|>"));
  assert_true(h.bad_records == 3 && h.shard_count == 1);
  file_free(&shard_kind, &h);
  free(path);

  other_path = path_join(dir, "other.h5");
  write_other("effect", 0);
  expect_fatal(read_other, NULL, "written by nq-effect, not nq-shard");
  assert_false(file_is(&shard_kind, other_path));
  write_other("shard", 1);
  expect_fatal(read_other, NULL, "older nq-shard");
  assert_false(file_is(&shard_kind, other_path));
  free(other_path);
}

static int setup(void **st) {
  (void)st;
  dir = nqtest_tmpdir();
  const char *texts[] = {"abc def ghi hello world", "<B>\n<C>\nQ: hello\nA: out", "the quick brown fox", "Q: q0 A: out 1"};
  const char *sp[] = {"<|endoftext|>", "<pad>"};
  tok = tok_train(texts, 4, 300, sp, 2);
  return tok ? 0 : 1;
}
static int teardown(void **st) {
  (void)st;
  tok_free(tok);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  int rc = system(cmd);
  free(dir);
  return rc;
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sample),        cmocka_unit_test(test_truncate_history),
      cmocka_unit_test(test_bad_records),   cmocka_unit_test(test_split_fallback),
      cmocka_unit_test(test_assign),        cmocka_unit_test(test_write_read),
      cmocka_unit_test(test_header_and_refusals), cmocka_unit_test(test_history_bm25),
  };
  return cmocka_run_group_tests_name("shard", tests, setup, teardown);
}
