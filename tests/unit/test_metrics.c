// Unit tests of common/metrics*: every expected number names where it comes from.
// METEOR parity on hundreds of pairs against NLTK itself is the integration test
// tests/integration/metrics_meteor_nltk.sh; here are the documented fixtures.
#include <math.h>

#include "metrics/metrics.h"
#include "nqtest.h"

#define near(a, b, tol) near_at((a), (b), (tol), #a, __LINE__)
static void near_at(double got, double want, double tol, const char *what, int line) {
  if (!(fabs(got - want) <= tol))
    fail_msg("line %d: %s = %.12g, expected %.12g (tol %g)", line, what, got, want, tol);
}

static void expect_tokens(const nq_tokens *t, const char *const *want, size_t n) {
  if (t->n != n) {
    for (size_t i = 0; i < t->n; i++) print_message("[%s] ", t->tok[i]);
    fail_msg("got %zu tokens, expected %zu", t->n, n);
  }
  for (size_t i = 0; i < n; i++)
    if (strcmp(t->tok[i], want[i]) != 0) fail_msg("token %zu: '%s' != '%s'", i, t->tok[i], want[i]);
}

// ---- tokenizers ---------------------------------------------------------------------------
static void test_rouge_tokenize(void **state) {
  (void)state;
  nq_tokens t;
  // tokenize.py: lowercase, non [a-z0-9] -> space (so "don't" -> "don" "t", "U.S." -> "u" "s")
  rouge_tokenize("Don't STOP, U.S.-made   caf\xc3\xa9 x2!", 0, &t);
  const char *w1[] = {"don", "t", "stop", "u", "s", "made", "caf", "x2"};
  expect_tokens(&t, w1, 8);
  tokens_free(&t);
  // stemming only for tokens longer than 3 characters ("runs" -> "run", "ran"/"dies" kept
  // short or stemmed by NLTK's own rules: "dies" -> "die" is NLTK_EXTENSIONS' len-4 rule)
  rouge_tokenize("The cats were running; dies ran", 1, &t);
  const char *w2[] = {"the", "cat", "were", "run", "die", "ran"};
  expect_tokens(&t, w2, 6);
  tokens_free(&t);
  // Python: "\u0130x".lower() = "i\u0307x" -> "i x"; "\u212a" (Kelvin) -> "k"
  rouge_tokenize("\xc4\xb0x \xe2\x84\xaa" "B", 0, &t);
  const char *w3[] = {"i", "x", "kb"};
  expect_tokens(&t, w3, 3);
  tokens_free(&t);
  rouge_tokenize(" \t/ ", 0, &t);
  assert_int_equal(t.n, 0);
  tokens_free(&t);
}

static void test_bleu_tokenize_13a(void **state) {
  (void)state;
  nq_tokens t;
  // apostrophe is not in 13a's punctuation class; the final period is split off
  bleu_tokenize_13a("It wasn't surprising.", &t);
  const char *w1[] = {"It", "wasn't", "surprising", "."};
  expect_tokens(&t, w1, 4);
  tokens_free(&t);
  // period/comma kept between digits, dash split after a digit
  bleu_tokenize_13a("Pi is 3.14, not 1,000 or 5-4 km.", &t);
  const char *w2[] = {"Pi", "is", "3.14", ",", "not", "1,000", "or", "5", "-", "4", "km", "."};
  expect_tokens(&t, w2, 12);
  tokens_free(&t);
  // HTML entity unescaping happens before splitting; <skipped> is removed
  bleu_tokenize_13a("&quot;hi&quot; &amp; &lt;b&gt;<skipped> e.g. end\n", &t);
  const char *w3[] = {"\"", "hi", "\"", "&", "<", "b", ">", "e", ".", "g", ".", "end"};
  expect_tokens(&t, w3, 12);
  tokens_free(&t);
  // one pass per entity in the order quot, amp, lt, gt
  bleu_tokenize_13a("&amp;quot; &amp;lt;", &t);
  const char *w5[] = {"&", "quot", ";", "<"};
  expect_tokens(&t, w5, 4);
  tokens_free(&t);
  // non-ASCII letters pass through; U+00A0 is Python whitespace
  bleu_tokenize_13a("zah\xc4\x83r\xc2\xa0" "alb;", &t);
  const char *w4[] = {"zah\xc4\x83r", "alb", ";"};
  expect_tokens(&t, w4, 3);
  tokens_free(&t);
  bleu_tokenize_13a("   ", &t);
  assert_int_equal(t.n, 0);
  tokens_free(&t);
}

static void test_porter_nltk(void **state) {
  (void)state;
  // nltk.stem.porter.PorterStemmer() (NLTK_EXTENSIONS, nltk 3.8) outputs; the first five
  // differ from Snowball's "porter" (libstemmer gives alwai, ag, analogi, dai, dy)
  const char *cases[][2] = {{"always", "alway"}, {"aged", "age"}, {"analogy", "analog"},
                            {"day", "day"},       {"dying", "die"}, {"skies", "sky"},
                            {"ties", "tie"},      {"cries", "cri"}, {"hopping", "hop"},
                            {"happily", "happili"}, {"generously", "gener"},
                            {"relational", "relat"}, {"agreed", "agre"}, {"feed", "feed"},
                            {"news", "news"},     {"ab", "ab"},     {"is", "is"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *s = porter_stem_nltk(cases[i][0]);
    if (strcmp(s, cases[i][1]) != 0) fail_msg("stem(%s) = %s, expected %s", cases[i][0], s, cases[i][1]);
    free(s);
  }
}

// ---- ROUGE ----------------------------------------------------------------------------------
// rouge/testdata/target.txt and prediction.txt (google-research), first two lines; the
// expected values are rouge_scorer_test.py's, taken from ROUGE-1.5.5 (5 decimals).
static const char *T0 =
    "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM "
    "EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L\n";
static const char *P0 =
    "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi\n";
static const char *T1 =
    "KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion psing sbKao "
    "Q m qiing LMmer HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing "
    "UCAPwNHeYVjDing c T BUySKtion gMPfJpwGw p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN\n";
static const char *P1 =
    "n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J "
    "XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD\n";

static void test_rouge_against_rouge155(void **state) {
  (void)state;
  rouge_scores s;
  rouge_score(T0, P0, 0, &s);
  near(s.r1.r, 0.40741, 5e-6); near(s.r1.p, 0.68750, 5e-6); near(s.r1.f, 0.51163, 5e-6);
  near(s.r2.r, 0.30769, 5e-6); near(s.r2.p, 0.53333, 5e-6); near(s.r2.f, 0.39024, 5e-6);
  near(s.rl.r, 0.40741, 5e-6); near(s.rl.p, 0.68750, 5e-6); near(s.rl.f, 0.51163, 5e-6);
  rouge_score(T1, P1, 0, &s);
  near(s.r1.r, 0.40476, 5e-6); near(s.r1.p, 0.65385, 5e-6); near(s.r1.f, 0.50000, 5e-6);
  near(s.r2.r, 0.29268, 5e-6); near(s.r2.p, 0.48000, 5e-6); near(s.r2.f, 0.36364, 5e-6);
  near(s.rl.r, 0.40476, 5e-6); near(s.rl.p, 0.65385, 5e-6); near(s.rl.f, 0.50000, 5e-6);
  // with the stemmer ("-er", "-ing", "-tion" suffixes of these lines now meet)
  rouge_score(T0, P0, 1, &s);
  near(s.r1.r, 0.40741, 5e-6); near(s.r1.p, 0.68750, 5e-6); near(s.r1.f, 0.51163, 5e-6);
  near(s.r2.r, 0.30769, 5e-6); near(s.r2.p, 0.53333, 5e-6); near(s.r2.f, 0.39024, 5e-6);
  rouge_score(T1, P1, 1, &s);
  near(s.r1.r, 0.42857, 5e-6); near(s.r1.p, 0.69231, 5e-6); near(s.r1.f, 0.52941, 5e-6);
  near(s.r2.r, 0.29268, 5e-6); near(s.r2.p, 0.48000, 5e-6); near(s.r2.f, 0.36364, 5e-6);
}

static void test_rouge_documented(void **state) {
  (void)state;
  rouge_scores s;
  // rouge_score README example (use_stemmer=True), printed Score values
  rouge_score("The quick brown fox jumps over the lazy dog", "The quick brown dog jumps on the log.", 1, &s);
  near(s.r1.p, 0.75, 1e-12); near(s.r1.r, 0.6666666666666666, 1e-12); near(s.r1.f, 0.7058823529411765, 1e-12);
  near(s.r2.p, 0.2857142857142857, 1e-12); near(s.r2.r, 0.25, 1e-12); near(s.r2.f, 0.26666666666666666, 1e-12);
  near(s.rl.p, 0.625, 1e-12); near(s.rl.r, 0.5555555555555556, 1e-12); near(s.rl.f, 0.5882352941176471, 1e-12);
  // rouge_scorer_test.py: testRouge1, testRouge2, testRougeLConsecutive/NonConsecutive
  rouge_score("testing one two", "testing", 0, &s);
  near(s.r1.p, 1, 1e-12); near(s.r1.r, 1.0 / 3, 1e-12); near(s.r1.f, 0.5, 1e-12);
  rouge_score("testing one two", "testing one", 0, &s);
  near(s.r2.p, 1, 1e-12); near(s.r2.r, 0.5, 1e-12); near(s.r2.f, 2.0 / 3, 1e-12);
  near(s.rl.p, 1, 1e-12); near(s.rl.r, 2.0 / 3, 1e-12); near(s.rl.f, 0.8, 1e-12);
  rouge_score("testing one two", "testing two", 0, &s);
  near(s.rl.p, 1, 1e-12); near(s.rl.r, 2.0 / 3, 1e-12); near(s.rl.f, 0.8, 1e-12);
  // testRougeEmpty: empty prediction -> all zero
  rouge_score("testing one two", "", 0, &s);
  near(s.r1.f, 0, 0); near(s.r2.f, 0, 0); near(s.rl.f, 0, 0); near(s.rl.p, 0, 0);
  // hand-checked edge cases: punctuation-only prediction, no overlap, case and
  // punctuation ignored, repeated words clipped by the target count
  rouge_score("w1 w2 w3 w4 w5", "/", 0, &s);
  near(s.r1.f, 0, 0); near(s.rl.f, 0, 0);
  rouge_score("alpha beta", "gamma delta", 0, &s);
  near(s.r1.f, 0, 0); near(s.r2.f, 0, 0); near(s.rl.f, 0, 0);
  rouge_score("Hello, World!", "hello world", 0, &s);
  near(s.r1.f, 1, 1e-12); near(s.r2.f, 1, 1e-12); near(s.rl.f, 1, 1e-12);
  // target "the cat", prediction "the the the": overlap min(1,3)=1 -> P 1/3, R 1/2, F 0.4;
  // bigrams: "the the" x2 vs "the cat": 0; LCS 1 -> same as ROUGE-1
  rouge_score("the cat", "the the the", 0, &s);
  near(s.r1.p, 1.0 / 3, 1e-12); near(s.r1.r, 0.5, 1e-12); near(s.r1.f, 0.4, 1e-12);
  near(s.r2.f, 0, 0); near(s.rl.f, 0.4, 1e-12);
  // a one-token prediction has no bigram: precision 0/max(0,1)
  rouge_score("one two", "one", 0, &s);
  near(s.r2.p, 0, 0); near(s.r2.r, 0, 0); near(s.r2.f, 0, 0);
}

// ---- BLEU -----------------------------------------------------------------------------------
static void test_bleu_sacrebleu_cases(void **state) {
  (void)state;
  // sacreBLEU README example / test/test_bleu.py test_corpus_bleu_cases: 48.530827 with
  // two reference streams, default settings (13a, exp)
  const char *hyp[] = {"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."};
  const char *refA[] = {"The dog bit the man.", "It was not unexpected.", "The man bit him first."};
  const char *refB[] = {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."};
  bleu_stats s;
  bleu_stats_zero(&s);
  for (int i = 0; i < 3; i++) {
    const char *refs[2] = {refA[i], refB[i]};
    bleu_stats_add_refs(&s, hyp[i], refs, 2);
  }
  near(bleu_from_stats(&s, 0), 48.530827, 1e-6);
  near(s.sys_len, 17, 0);  // README: hyp_len = 17 ref_len = 18
  near(s.ref_len, 18, 0);
  // same test file: empty hypotheses are kept and score 0
  const char *empty[] = {"", "", ""};
  bleu_stats_zero(&s);
  for (int i = 0; i < 3; i++) {
    const char *refs[2] = {refA[i], refB[i]};
    bleu_stats_add_refs(&s, empty[i], refs, 2);
  }
  near(bleu_from_stats(&s, 0), 0.0, 0);
  // test_case_statistics: counts [4,2,1,0], totals [6,5,4,3]
  bleu_stats_zero(&s);
  bleu_stats_add(&s, "am I am a character sequence", "I am a symbol string sequence a a");
  const double want_c[4] = {4, 2, 1, 0}, want_t[4] = {6, 5, 4, 3};
  for (int n = 0; n < 4; n++) { near(s.correct[n], want_c[n], 0); near(s.total[n], want_t[n], 0); }
  // test_case_scoring: compute_bleu([9,7,5,3], [10,8,6,4], 11, 11) = 0.8375922397 (x100)
  bleu_stats st = {{9, 7, 5, 3}, {10, 8, 6, 4}, 11, 11};
  near(bleu_from_stats(&st, 0), 83.75922397, 1e-7);
  // test_sentence_bleu.py (issue #98): exp smoothing, 13a, effective order -> 8.493 (1e-3)
  near(bleu_sentence("Produc\xc8\x9bia de zah\xc4\x83r prim\xc4\x83 va fi exprimat\xc4\x83 \xc3\xaen ceea ce "
                     "prive\xc8\x99te zah\xc4\x83rul alb;",
                     "produc\xc5\xa3ia de zah\xc4\x83r brut se exprim\xc4\x83 \xc3\xaen zah\xc4\x83r alb;"),
       8.493, 1e-3);
  // issue #141: no match at any order -> 0 even with exp smoothing
  near(bleu_sentence("this is a cat", "okay thanks"), 0.0, 0);
  // identical -> 100; case matters (no lowercasing by default)
  near(bleu_sentence("The cat sat on the mat.", "The cat sat on the mat."), 100.0, 1e-9);
  assert_true(bleu_sentence("THE CAT SAT ON THE MAT.", "The cat sat on the mat.") < 100.0);
}

static void test_bleu_hand_checked(void **state) {
  (void)state;
  // Hand-checked: hyp "a b c" vs ref "a b c d": p1 3/3, p2 2/2, p3 1/1, no 4-grams.
  // Sentence (effective order 3): BP exp(1-4/3) -> 100*exp(-1/3) = 71.6531310574
  near(bleu_sentence("a b c", "a b c d"), 100 * exp(-1.0 / 3), 1e-9);
  // Corpus (no effective order): total[3] = 0 stops the loop, p4 stays 0 -> my_log 0 -> 0
  const char *h[] = {"a b c"}, *r[] = {"a b c d"};
  near(bleu_corpus(h, r, 1), 0.0, 1e-12);
  // exp smoothing: hyp "a b x y" vs "a b c d": p1 2/4, p2 1/3, p3 0 -> 100/(2*2), p4 0 -> 100/(4*1)
  double p[4] = {50, 100.0 / 3, 25, 25};
  double want = exp((log(p[0]) + log(p[1]) + log(p[2]) + log(p[3])) / 4);
  near(bleu_sentence("a b x y", "a b c d"), want, 1e-9);
  // empty hypothesis: BP 0
  near(bleu_sentence("", "a b"), 0.0, 0);
  // repeated words are clipped: "the the the the" vs "the cat": correct 1 of 4
  bleu_stats s;
  bleu_stats_zero(&s);
  bleu_stats_add(&s, "the the the the", "the cat");
  near(s.correct[0], 1, 0); near(s.total[0], 4, 0);
}

// ---- METEOR ---------------------------------------------------------------------------------
static void test_meteor_nltk_doc(void **state) {
  (void)state;
  wordnet *wn = wordnet_open(NULL);
  // nltk/translate/meteor_score.py docstring: round(single_meteor_score(ref1, hyp1), 4) = 0.6944
  const char *hyp[] = {"It", "is", "a", "guide", "to", "action", "which", "ensures", "that", "the",
                       "military", "always", "obeys", "the", "commands", "of", "the", "party"};
  const char *ref[] = {"It", "is", "a", "guide", "to", "action", "that", "ensures", "that", "the",
                       "military", "will", "forever", "heed", "Party", "commands"};
  near(meteor_tokens(wn, hyp, 18, ref, 16), 0.6944, 5e-5);
  // same docstring: no match -> 0.0
  near(meteor_text(wn, "non matching hypothesis", "this is a cat"), 0.0, 0);
  // Hand-checked: identical 3 words -> P=R=1, fmean 1, 1 chunk: 1 - 0.5*(1/3)^3
  near(meteor_text(wn, "the cat sat", "the cat sat"), 1 - 0.5 / 27, 1e-12);
  // swapped halves: 2 chunks of 2 -> 1 - 0.5*(2/4)^3 = 0.9375
  near(meteor_text(wn, "sat down the cat", "the cat sat down"), 0.9375, 1e-12);
  // stem stage ("dog"/"dogs") and synonym stage ("quick"/"fast") give one chunk of 2
  // (NLTK 3.8: 0.9375)
  near(meteor_text(wn, "quick dog", "fast dogs"), 1 - 0.5 / 8, 1e-12);
  // NLTK quirk kept: the synonym stage sees stems, "large" -> "larg" has no synsets, so
  // only "cats"/"cat" match: P=R=1/2, fmean 0.5, penalty 0.5 -> 0.25 (NLTK 3.8: 0.25)
  near(meteor_text(wn, "large cats", "big cat"), 0.25, 1e-12);
  // empty sides
  near(meteor_text(wn, "", "a b"), 0.0, 0);
  near(meteor_text(wn, "a b", ""), 0.0, 0);
  nq_tokens syn;
  wordnet_synonyms(wn, "quick", &syn);
  int has_speedy = 0;
  for (size_t i = 0; i < syn.n; i++) has_speedy |= strcmp(syn.tok[i], "speedy") == 0;
  assert_true(has_speedy);
  tokens_free(&syn);
  nq_tokens forms;
  wordnet_morphy(wn, "geese", 'n', &forms);  // noun.exc: geese -> goose
  assert_int_equal(forms.n, 1);
  assert_string_equal(forms.tok[0], "goose");
  tokens_free(&forms);
  wordnet_free(wn);
}

static void open_missing(void *arg) { (void)arg; wordnet_open("/nonexistent/wordnet"); }

static void test_wordnet_missing(void **state) {
  (void)state;
  expect_fatal(open_missing, NULL, "/nonexistent/wordnet/index.noun");
}

// ---- bootstrap ------------------------------------------------------------------------------
static void test_bootstrap(void **state) {
  (void)state;
  enum { N = 400 };
  double x[N], y[N], c[N];
  for (int i = 0; i < N; i++) {
    x[i] = (double)((i * 37) % 101) / 100.0;  // spread over [0,1], mean ~0.5
    y[i] = x[i] - 0.2;
    c[i] = 0.3;
  }
  boot_ci a, b;
  bootstrap_ci(x, N, 1000, 7, &a);
  bootstrap_ci(x, N, 1000, 7, &b);
  near(a.lo, b.lo, 0); near(a.hi, b.hi, 0);  // deterministic for a seed
  assert_true(a.lo < a.mean && a.mean < a.hi);
  // percentile CI ~ mean +- 1.96 sd/sqrt(n) for a large sample
  double m = 0, v = 0;
  for (int i = 0; i < N; i++) m += x[i];
  m /= N;
  for (int i = 0; i < N; i++) v += (x[i] - m) * (x[i] - m);
  double se = sqrt(v / (N - 1) / N);
  near(a.mean, m, 1e-12);
  near(a.hi - a.lo, 2 * 1.96 * se, 0.25 * 2 * 1.96 * se);
  bootstrap_ci(c, N, 200, 1, &a);
  near(a.lo, 0.3, 1e-12); near(a.hi, 0.3, 1e-12);
  // identical systems: every centred delta is >= |0| -> p = 1
  near(bootstrap_paired_p(x, x, N, 500, 3), 1.0, 0);
  // a constant improvement of 0.2 with no variance in the paired difference: the centred
  // deltas are all 0 < 0.2, so p = 1/(N+1)
  near(bootstrap_paired_p(x, y, N, 500, 3), 1.0 / 501, 1e-15);
  // noisy but real difference vs pure noise
  double noisy[N];
  for (int i = 0; i < N; i++) noisy[i] = x[(i * 7) % N];
  double p_noise = bootstrap_paired_p(x, noisy, N, 999, 5);
  assert_true(p_noise > 0.05);
  for (int i = 0; i < N; i++) noisy[i] = x[(i * 7) % N] - 0.1;
  assert_true(bootstrap_paired_p(x, noisy, N, 999, 5) < 0.01);
}

static void test_bootstrap_bleu(void **state) {
  (void)state;
  // 60 segments: system A copies the reference for even i, system B never does
  enum { N = 60 };
  bleu_stats a[N], b[N];
  char ref[64], hypb[64];
  for (int i = 0; i < N; i++) {
    snprintf(ref, sizeof ref, "w%d x%d y%d z%d end", i, i % 7, i % 5, i % 3);
    snprintf(hypb, sizeof hypb, "w%d q%d y%d r%d end", i, i % 7, i % 5, i % 3);
    bleu_stats_zero(&a[i]);
    bleu_stats_zero(&b[i]);
    bleu_stats_add(&a[i], i % 2 == 0 ? ref : hypb, ref);
    bleu_stats_add(&b[i], hypb, ref);
  }
  // the point estimate is the corpus BLEU of the summed statistics
  bleu_stats sum;
  bleu_stats_zero(&sum);
  for (int i = 0; i < N; i++) {
    for (int k = 0; k < BLEU_MAX_ORDER; k++) { sum.correct[k] += a[i].correct[k]; sum.total[k] += a[i].total[k]; }
    sum.sys_len += a[i].sys_len;
    sum.ref_len += a[i].ref_len;
  }
  boot_ci ci, ci2;
  bootstrap_bleu_ci(a, N, 300, 11, &ci);
  bootstrap_bleu_ci(a, N, 300, 11, &ci2);
  near(ci.mean, bleu_from_stats(&sum, 0), 1e-12);
  near(ci.lo, ci2.lo, 0);
  assert_true(ci.lo < ci.mean && ci.mean < ci.hi);
  assert_true(bootstrap_bleu_paired_p(a, b, N, 300, 11) < 0.01);
  near(bootstrap_bleu_paired_p(b, b, N, 300, 11), 1.0, 0);
}

static void test_bootstrap_ratio(void **state) {
  (void)state;
  enum { N = 300 };
  double x[N], y[N], one[N], num[N], den[N], zero[N];
  for (int i = 0; i < N; i++) {
    x[i] = (double)((i * 37) % 101) / 100.0;
    y[i] = (double)((i * 53) % 97) / 100.0;
    one[i] = 1.0;
    zero[i] = 0.0;
    den[i] = 1 + i % 5;          // tokens per sample
    num[i] = x[i] * den[i];      // per-token mean x[i]
  }
  // den = 1: exactly bootstrap_ci / bootstrap_paired_p (same draws for the same seed)
  boot_ci a, b;
  bootstrap_ci(x, N, 400, 13, &a);
  bootstrap_ratio_ci(x, one, N, 400, 13, &b);
  near(b.mean, a.mean, 0); near(b.lo, a.lo, 0); near(b.hi, a.hi, 0);
  near(bootstrap_ratio_paired_p(x, one, y, one, N, 400, 13), bootstrap_paired_p(x, y, N, 400, 13), 0);
  // the estimate is the ratio of sums (token-weighted), not the mean of ratios
  double sn = 0, sd = 0;
  for (int i = 0; i < N; i++) sn += num[i], sd += den[i];
  bootstrap_ratio_ci(num, den, N, 400, 13, &b);
  near(b.mean, sn / sd, 1e-12);
  assert_true(b.lo < b.mean && b.mean < b.hi);
  near(bootstrap_ratio_paired_p(num, den, num, den, N, 400, 13), 1.0, 0);
  // no denominators at all: NaN everywhere
  bootstrap_ratio_ci(zero, zero, N, 50, 1, &b);
  assert_true(isnan(b.mean) && isnan(b.lo) && isnan(b.hi));
  assert_true(isnan(bootstrap_ratio_paired_p(zero, zero, num, den, N, 50, 1)));
  // two samples, one with a denominator: resamples that drew only the other are dropped
  double n2[2] = {3, 0}, d2[2] = {2, 0};
  bootstrap_ratio_ci(n2, d2, 2, 100, 1, &b);
  near(b.mean, 1.5, 0); near(b.lo, 1.5, 0); near(b.hi, 1.5, 0);
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rouge_tokenize),       cmocka_unit_test(test_bleu_tokenize_13a),
      cmocka_unit_test(test_porter_nltk),          cmocka_unit_test(test_rouge_against_rouge155),
      cmocka_unit_test(test_rouge_documented),     cmocka_unit_test(test_bleu_sacrebleu_cases),
      cmocka_unit_test(test_bleu_hand_checked),    cmocka_unit_test(test_meteor_nltk_doc),
      cmocka_unit_test(test_wordnet_missing),      cmocka_unit_test(test_bootstrap),
      cmocka_unit_test(test_bootstrap_bleu),     cmocka_unit_test(test_bootstrap_ratio),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
