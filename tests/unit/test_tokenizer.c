// tokenizer: training (golden merges, determinism, speed-sized corpus), save/load round
// trip, GPT-2 files, special tokens in text, round trips on tricky text, invalid UTF-8,
// error messages on bad files, and the heap BPE against a naive GPT-2 reference.
#include "nqtest.h"

#include <jansson.h>

#include "text/tokenizer.h"
#include "base/util.h"

static const char *specials[] = {"<|endoftext|>", "<pad>"};

static char *tmp_path(const char *name) {
  static char buf[8][512];
  static int k = 0;
  k = (k + 1) % 8;
  snprintf(buf[k], sizeof buf[k], "%s/%s", nqtest_dir, name);
  return buf[k];
}

static int32_t *enc(const tokenizer *t, const char *s, size_t *n) {
  int32_t *ids = NULL;
  size_t cap = 0;
  *n = 0;
  assert_int_equal(tok_encode(t, s, strlen(s), &ids, n, &cap), 0);
  return ids;
}

static void assert_roundtrip(const tokenizer *t, const char *s) {
  size_t n, dl;
  int32_t *ids = enc(t, s, &n);
  char *back = tok_decode(t, ids, n, &dl);
  assert_non_null(back);
  assert_int_equal(dl, strlen(s));
  assert_memory_equal(back, s, dl);
  free(back);
  free(ids);
}

// Deterministic pseudo-text: words from a small Zipf-ish lexicon plus digits/punctuation.
static char *make_corpus(size_t nbytes, uint64_t seed) {
  static const char *words[] = {"the", "model", "learns", "user", "preference", "history", "item",
                                "rating", "review", "café", "naïve", "東京", "数据", "😀", "great",
                                "don't", "it's", "we're", "quill", "next", "token", "prediction"};
  const size_t nw = sizeof words / sizeof *words;
  strbuf b;
  sb_init(&b);
  uint64_t x = seed;
  while (b.len < nbytes) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    unsigned r = (unsigned)(x >> 33);
    size_t w = (r % nw) * (r % 3 == 0) + (r % 5) * (r % 3 != 0);  // skew to the first words
    sb_puts(&b, words[w % nw]);
    switch ((r >> 8) % 9) {
      case 0: sb_printf(&b, " %u", (r >> 12) % 1000); break;
      case 1: sb_puts(&b, ", "); break;
      case 2: sb_puts(&b, ".\n"); break;
      default: sb_puts(&b, " ");
    }
  }
  return sb_detach(&b);
}

// ---- training
static void test_train_golden_merges(void **st) {
  (void)st;
  // words: "ab", " ab" x2, " cd" x3. Counts (a,b)=3, (' ',c)=3, (c,d)=3, (' ',a)=2:
  // ties go to the smallest byte strings, so " c" then " cd" then "ab" then " ab".
  const char *texts[] = {"ab ab ab cd cd cd"};
  tokenizer *t = tok_train(texts, 1, 262, specials, 2);
  assert_int_equal(tok_vocab_size(t), 262);
  assert_string_equal(tok_id_string(t, 256), "\xc4\xa0" "c");  // "Ġc"
  assert_string_equal(tok_id_string(t, 257), "\xc4\xa0" "cd");
  assert_string_equal(tok_id_string(t, 258), "ab");
  assert_string_equal(tok_id_string(t, 259), "\xc4\xa0" "ab");
  assert_int_equal(tok_special_id(t, "<|endoftext|>"), 260);
  assert_int_equal(tok_special_id(t, "<pad>"), 261);
  assert_int_equal(tok_special_id(t, "<nope>"), -1);
  size_t n;
  int32_t *ids = enc(t, "ab cd ab", &n);
  assert_int_equal(n, 3);
  assert_int_equal(ids[0], 258);
  assert_int_equal(ids[1], 257);
  assert_int_equal(ids[2], 259);
  free(ids);
  char buf[8];
  assert_int_equal(tok_token_bytes(t, 257, buf, sizeof buf), 3);
  assert_memory_equal(buf, " cd", 3);
  assert_int_equal(tok_token_bytes(t, 9999, buf, sizeof buf), -1);
  tok_free(t);
}

static void test_train_deterministic(void **st) {
  (void)st;
  char *corpus[4];
  for (int i = 0; i < 4; i++) corpus[i] = make_corpus(60000, 11 + (uint64_t)i);
  tokenizer *a = tok_train((const char *const *)corpus, 4, 1000, specials, 2);
  tokenizer *b = tok_train((const char *const *)corpus, 4, 1000, specials, 2);
  assert_int_equal(tok_vocab_size(a), 1000);
  assert_string_equal(tok_digest(a), tok_digest(b));
  for (int i = 0; i < 1000; i++) assert_string_equal(tok_id_string(a, i), tok_id_string(b, i));
  // a different size gives a different tokenizer
  tokenizer *c = tok_train((const char *const *)corpus, 4, 900, specials, 2);
  assert_string_not_equal(tok_digest(a), tok_digest(c));
  // compresses its own corpus well and round-trips it
  size_t n;
  int32_t *ids = enc(a, corpus[0], &n);
  assert_true(n * 3 < strlen(corpus[0]));
  free(ids);
  assert_roundtrip(a, corpus[1]);
  tok_free(a);
  tok_free(b);
  tok_free(c);
  for (int i = 0; i < 4; i++) free(corpus[i]);
}

static tokenizer *small_trained(void) {
  char *corpus = make_corpus(30000, 5);
  const char *texts[] = {corpus, "hello world<|endoftext|>hello again 12345 12345"};
  tokenizer *t = tok_train(texts, 2, 600, specials, 2);
  free(corpus);
  return t;
}


// ---- trainer vs a naive one (recount every pair from scratch before each merge)
#define NV_MAXP 64
typedef struct { char parts[NV_MAXP][48]; int n; int count; } nv_word;

static int nv_find_word(nv_word *w, int nw, const char *s) {
  for (int i = 0; i < nw; i++) {
    char buf[128] = "";
    for (int j = 0; j < w[i].n; j++) strcat(buf, w[i].parts[j]);
    if (strcmp(buf, s) == 0) return i;
  }
  return -1;
}

static void to_byte_level(const char *s, char *out) {  // ' ' -> "Ġ"
  for (; *s; s++) {
    if (*s == ' ') { *out++ = (char)0xc4; *out++ = (char)0xa0; }
    else *out++ = *s;
  }
  *out = 0;
}

static void test_train_matches_naive(void **st) {
  (void)st;
  // ASCII letters and single spaces: pre-tokens are "w" (first) and " w" (the rest)
  char text[3000] = "";
  uint64_t x = 17;
  for (int k = 0; k < 400; k++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    int len = 1 + (int)((x >> 50) % 6);
    if (k) strcat(text, " ");
    for (int i = 0; i < len; i++) {
      char c[2] = {"abcde"[(x >> (5 * i + 7)) % 5], 0};
      strcat(text, c);
    }
  }
  const char *texts[] = {text};
  const int vocab = 256 + 150;
  tokenizer *t = tok_train(texts, 1, vocab, NULL, 0);
  // naive words
  static nv_word w[512];
  int nw = 0;
  char *copy = xstrdup(text), *save = NULL;
  int first = 1;
  for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save), first = 0) {
    char word[16];
    snprintf(word, sizeof word, "%s%s", first ? "" : " ", tok);
    int i = nv_find_word(w, nw, word);
    if (i < 0) {
      i = nw++;
      w[i].n = (int)strlen(word);
      w[i].count = 0;
      for (int j = 0; j < w[i].n; j++) { w[i].parts[j][0] = word[j]; w[i].parts[j][1] = 0; }
    }
    w[i].count++;
  }
  free(copy);
  static char toks[1024][48];
  int ntok = 0, made = 256;
  while (made < vocab) {
    // best pair by count, then (a, b) bytewise smallest
    char ba[48] = "", bb[48] = "";
    int bc = 0;
    for (int i = 0; i < nw; i++)
      for (int j = 0; j + 1 < w[i].n; j++) {
        const char *a = w[i].parts[j], *b = w[i].parts[j + 1];
        int c = 0;
        for (int i2 = 0; i2 < nw; i2++)
          for (int j2 = 0; j2 + 1 < w[i2].n; j2++)
            if (strcmp(w[i2].parts[j2], a) == 0 && strcmp(w[i2].parts[j2 + 1], b) == 0)
              c += w[i2].count;  // overlapping occurrences count (as in HF's trainer)
        int cmp = strcmp(a, ba);
        if (c > bc || (c == bc && (cmp < 0 || (cmp == 0 && strcmp(b, bb) < 0)))) {
          bc = c;
          strcpy(ba, a);
          strcpy(bb, b);
        }
      }
    if (bc == 0) break;
    char m[48];
    size_t la = strlen(ba), lb = strlen(bb);
    assert_true(la + lb < sizeof m);
    memcpy(m, ba, la);
    memcpy(m + la, bb, lb + 1);
    int dup = 0;
    for (int k = 0; k < ntok; k++) dup |= strcmp(toks[k], m) == 0;
    if (!dup) { strcpy(toks[ntok++], m); made++; }
    for (int i = 0; i < nw; i++) {
      int o = 0;
      for (int j = 0; j < w[i].n;) {
        if (j + 1 < w[i].n && strcmp(w[i].parts[j], ba) == 0 && strcmp(w[i].parts[j + 1], bb) == 0) {
          strcpy(w[i].parts[o++], m);
          j += 2;
        } else {
          if (o != j) strcpy(w[i].parts[o], w[i].parts[j]);
          o++, j++;
        }
      }
      w[i].n = o;
    }
  }
  assert_int_equal(tok_vocab_size(t), made);
  for (int k = 0; k < ntok; k++) {
    char bl[128];
    to_byte_level(toks[k], bl);
    assert_string_equal(tok_id_string(t, 256 + k), bl);
  }
  tok_free(t);
}

// ---- save / load
static const char *tricky[] = {
    "",
    "a",
    "Hello, world! It's we're they've I'm you'll he'd",
    "Café naïve — “quotes” 😀🎉👍🏽 👨‍👩‍👧‍👦 日本語 中文 한국어",
    "   three spaces\t\ttabs\n\n\nnewlines  \r\n trailing   ",
    "digits 0 12 345 6789 3.14159 1,000,000 ٣٤٥",
    "<|endoftext|><|endoftext|>x<pad> <|endoftext|",
    "\xef\xbb\xbf BOM \xc2\x85 NEL \xe1\xa0\x8e MVS \xc2\xa0 nbsp",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

static void test_save_load_roundtrip(void **st) {
  (void)st;
  tokenizer *t = small_trained();
  const char *p = tmp_path("tok.json");
  assert_int_equal(tok_save_json(t, p), 0);
  char err[512] = "";
  tokenizer *u = tok_load_json(p, err, sizeof err);
  if (!u) fail_msg("load: %s", err);
  assert_string_equal(tok_digest(t), tok_digest(u));
  assert_int_equal(tok_vocab_size(t), tok_vocab_size(u));
  assert_int_equal(tok_special_id(t, "<pad>"), tok_special_id(u, "<pad>"));
  for (size_t k = 0; k < sizeof tricky / sizeof *tricky; k++) {
    size_t na, nb;
    int32_t *a = enc(t, tricky[k], &na), *b = enc(u, tricky[k], &nb);
    assert_int_equal(na, nb);
    if (na) assert_memory_equal(a, b, na * sizeof *a);
    free(a);
    free(b);
    assert_roundtrip(u, tricky[k]);
  }
  tok_free(t);
  tok_free(u);
}

// The same file with merges as "a b" strings loads to the same tokenizer.
static void test_merges_string_form(void **st) {
  (void)st;
  tokenizer *t = small_trained();
  const char *p = tmp_path("arr.json"), *q = tmp_path("str.json");
  tok_save_json(t, p);
  json_error_t je;
  json_t *root = json_load_file(p, 0, &je);
  assert_non_null(root);
  json_t *merges = json_object_get(json_object_get(root, "model"), "merges");
  size_t i;
  json_t *m;
  assert_true(json_array_size(merges) > 100);
  json_array_foreach(merges, i, m) {
    char s[512];
    snprintf(s, sizeof s, "%s %s", json_string_value(json_array_get(m, 0)), json_string_value(json_array_get(m, 1)));
    json_array_set_new(merges, i, json_string(s));
  }
  assert_int_equal(json_dump_file(root, q, 0), 0);
  json_decref(root);
  char err[512];
  tokenizer *u = tok_load_json(q, err, sizeof err);
  if (!u) fail_msg("load: %s", err);
  assert_string_equal(tok_digest(t), tok_digest(u));
  tok_free(t);
  tok_free(u);
}

// A Split(Regex) pre-tokenizer in the file replaces GPT-2's pattern.
static void test_split_regex_pattern(void **st) {
  (void)st;
  tokenizer *t = small_trained();
  const char *p = tmp_path("re.json");
  tok_save_json(t, p);
  json_error_t je;
  json_t *root = json_load_file(p, 0, &je);
  json_t *pre = json_pack("{s:s, s:{s:s}, s:s, s:b}", "type", "Split", "pattern", "Regex",
                          "\\p{N}", "behavior", "Isolated", "invert", 0);
  json_object_set_new(root, "pre_tokenizer", pre);
  json_dump_file(root, p, 0);
  json_decref(root);
  char err[512];
  tokenizer *u = tok_load_json(p, err, sizeof err);
  if (!u) fail_msg("load: %s", err);
  assert_string_not_equal(tok_digest(t), tok_digest(u));
  size_t na, nb;
  int32_t *a = enc(t, "12345", &na), *b = enc(u, "12345", &nb);
  assert_true(na < 5);      // GPT-2 pattern: one word, merged digits
  assert_int_equal(nb, 5);  // single digits
  free(a);
  free(b);
  assert_roundtrip(u, "x 12 yz 345\t6");
  tok_free(t);
  tok_free(u);
}

// ---- specials and text
static void test_specials_in_text(void **st) {
  (void)st;
  tokenizer *t = small_trained();
  int eot = tok_special_id(t, "<|endoftext|>"), pad = tok_special_id(t, "<pad>");
  assert_true(eot >= 0 && pad >= 0);
  size_t n;
  int32_t *ids = enc(t, "hello<|endoftext|>world<pad><pad>", &n);
  int seen_eot = 0, seen_pad = 0;
  for (size_t i = 0; i < n; i++) { seen_eot += ids[i] == eot; seen_pad += ids[i] == pad; }
  assert_int_equal(seen_eot, 1);
  assert_int_equal(seen_pad, 2);
  assert_int_equal(ids[n - 1], pad);
  free(ids);
  ids = enc(t, "<|endoftext|", &n);  // incomplete: ordinary text
  for (size_t i = 0; i < n; i++) assert_int_not_equal(ids[i], eot);
  free(ids);
  ids = enc(t, "<|endoftext|>", &n);
  assert_int_equal(n, 1);
  assert_int_equal(ids[0], eot);
  free(ids);
  for (size_t k = 0; k < sizeof tricky / sizeof *tricky; k++) assert_roundtrip(t, tricky[k]);
  tok_free(t);
}

static void test_invalid_utf8(void **st) {
  (void)st;
  tokenizer *t = small_trained();
  static const char *bad[] = {"\xff", "ok\xc0\x80", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80",
                              "abc\x80", "\xc3"};
  int32_t *ids = NULL;
  size_t n = 0, cap = 0;
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
    assert_int_equal(tok_encode(t, bad[k], strlen(bad[k]), &ids, &n, &cap), -1);
  assert_int_equal(n, 0);
  const char *good = "\xf4\x8f\xbf\xbf \xf0\x9f\x98\x80 \xe2\x82\xac";
  assert_int_equal(tok_encode(t, good, strlen(good), &ids, &n, &cap), 0);
  assert_true(n > 0);
  free(ids);
  tok_free(t);
}

// ---- GPT-2 files
static void test_gpt2_files(void **st) {
  (void)st;
  tokenizer *base = small_trained();  // ids 0..255 are the byte tokens
  json_t *enc_obj = json_object();
  for (int i = 0; i < 256; i++) json_object_set_new(enc_obj, tok_id_string(base, i), json_integer(i));
  json_object_set_new(enc_obj, "ab", json_integer(256));
  json_object_set_new(enc_obj, "\xc4\xa0" "ab", json_integer(257));
  json_object_set_new(enc_obj, "<|endoftext|>", json_integer(258));
  const char *ej = tmp_path("encoder.json"), *vb = tmp_path("vocab.bpe");
  json_dump_file(enc_obj, ej, 0);
  json_decref(enc_obj);
  nqtest_write(vb, "#version: 0.2\na b\n\xc4\xa0 ab\n");
  char err[512];
  tokenizer *t = tok_load_gpt2(ej, vb, err, sizeof err);
  if (!t) fail_msg("load: %s", err);
  size_t n;
  int32_t *ids = enc(t, "abab ab<|endoftext|>", &n);
  assert_int_equal(n, 4);
  assert_int_equal(ids[0], 256);
  assert_int_equal(ids[1], 256);
  assert_int_equal(ids[2], 257);
  assert_int_equal(ids[3], 258);
  free(ids);
  assert_int_equal(tok_special_id(t, "<|endoftext|>"), 258);
  tok_free(t);
  // a merge naming an unknown token
  nqtest_write(vb, "#version: 0.2\na b\nzz q\n");
  assert_null(tok_load_gpt2(ej, vb, err, sizeof err));
  assert_non_null(strstr(err, "vocab.bpe:3: merge 'zz q'"));
  assert_null(tok_load_gpt2(tmp_path("missing.json"), vb, err, sizeof err));
  assert_non_null(strstr(err, "missing.json"));
  tok_free(base);
}

// ---- bad tokenizer.json files
static void expect_load_error(const char *json_text, const char *needle) {
  const char *p = tmp_path("bad.json");
  nqtest_write(p, json_text);
  char err[512] = "";
  tokenizer *t = tok_load_json(p, err, sizeof err);
  if (t) { tok_free(t); fail_msg("loaded a bad file; expected '%s'", needle); }
  if (!strstr(err, needle)) fail_msg("error '%s' lacks '%s'", err, needle);
  if (!strstr(err, "bad.json")) fail_msg("error '%s' does not name the file", err);
}

static void test_bad_json(void **st) {
  (void)st;
  expect_load_error("{\"model\": {\"type\": \"BPE\",\n \"vocab\": {", "bad.json:2");
  expect_load_error("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", "unsupported model type 'WordPiece'");
  expect_load_error("{\"version\": \"1.0\"}", "no \"model\" object");
  expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
                    "lacks the byte token");
  expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a b\"]}}",
                    "model.merges[0]");
  expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"\xe2\x96\x81the\": 0}, \"merges\": []}}",
                    "not byte-level");
  expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": [], \"merges\": []}}", "model.vocab");
  // an unsupported regex in an otherwise good file
  tokenizer *t = small_trained();
  const char *p = tmp_path("bad.json");
  tok_save_json(t, p);
  tok_free(t);
  json_error_t je;
  json_t *root = json_load_file(p, 0, &je);
  json_object_set_new(root, "pre_tokenizer", json_pack("{s:s, s:{s:s}}", "type", "Split", "pattern", "Regex", "(unclosed"));
  json_dump_file(root, p, 0);
  json_decref(root);
  char err[512];
  assert_null(tok_load_json(p, err, sizeof err));
  assert_non_null(strstr(err, "regex"));
}

// ---- heap BPE vs the naive GPT-2 loop (merge the lowest-ranked pair everywhere, repeat)
typedef struct { char **a, **b; size_t n; } merge_list;

static int naive_rank(const merge_list *m, const char *x, const char *y) {
  for (size_t r = 0; r < m->n; r++)
    if (strcmp(m->a[r], x) == 0 && strcmp(m->b[r], y) == 0) return (int)r;
  return -1;
}

// word: byte-level string of single characters (ASCII here); returns the number of parts
static size_t naive_bpe(const merge_list *m, const char *word, char parts[][64]) {
  size_t n = strlen(word);
  for (size_t i = 0; i < n; i++) { parts[i][0] = word[i]; parts[i][1] = 0; }
  for (;;) {
    int best = -1;
    for (size_t i = 0; i + 1 < n; i++) {
      int r = naive_rank(m, parts[i], parts[i + 1]);
      if (r >= 0 && (best < 0 || r < best)) best = r;
    }
    if (best < 0) return n;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
      if (i + 1 < n && strcmp(parts[i], m->a[best]) == 0 && strcmp(parts[i + 1], m->b[best]) == 0) {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%s%s", parts[i], parts[i + 1]);
        strcpy(parts[o++], tmp);
        i += 2;
      } else {
        if (o != i) strcpy(parts[o], parts[i]);
        o++, i++;
      }
    }
    n = o;
  }
}

static void test_bpe_matches_naive(void **st) {
  (void)st;
  const char *texts[] = {"aaaa abab abba baab bbbb aabb abababab baba aaab bbba abaa"};
  tokenizer *t = tok_train(texts, 1, 280, NULL, 0);
  const char *p = tmp_path("naive.json");
  tok_save_json(t, p);
  json_error_t je;
  json_t *root = json_load_file(p, 0, &je);
  json_t *jm = json_object_get(json_object_get(root, "model"), "merges");
  merge_list m = {NULL, NULL, json_array_size(jm)};
  m.a = xmalloc(m.n * sizeof *m.a);
  m.b = xmalloc(m.n * sizeof *m.b);
  for (size_t r = 0; r < m.n; r++) {
    m.a[r] = xstrdup(json_string_value(json_array_get(json_array_get(jm, r), 0)));
    m.b[r] = xstrdup(json_string_value(json_array_get(json_array_get(jm, r), 1)));
  }
  json_decref(root);
  assert_true(m.n > 10);
  uint64_t x = 3;
  for (int trial = 0; trial < 300; trial++) {
    char word[40];
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    int len = 1 + (int)((x >> 40) % 30);
    for (int i = 0; i < len; i++) word[i] = "ab"[(x >> (i + 3)) & 1];
    word[len] = 0;
    char parts[40][64];
    size_t np = naive_bpe(&m, word, parts);
    size_t n;
    int32_t *ids = enc(t, word, &n);
    assert_int_equal(n, np);
    for (size_t i = 0; i < n; i++) assert_string_equal(tok_id_string(t, ids[i]), parts[i]);
    free(ids);
  }
  for (size_t r = 0; r < m.n; r++) { free(m.a[r]); free(m.b[r]); }
  free(m.a);
  free(m.b);
  tok_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_train_golden_merges),
      cmocka_unit_test(test_train_deterministic),
      cmocka_unit_test(test_train_matches_naive),
      cmocka_unit_test(test_save_load_roundtrip),
      cmocka_unit_test(test_merges_string_form),
      cmocka_unit_test(test_split_regex_pattern),
      cmocka_unit_test(test_specials_in_text),
      cmocka_unit_test(test_invalid_utf8),
      cmocka_unit_test(test_gpt2_files),
      cmocka_unit_test(test_bad_json),
      cmocka_unit_test(test_bpe_matches_naive),
  };
  return cmocka_run_group_tests_name("tokenizer", tests, nqtest_dir_setup, nqtest_dir_teardown);
}
