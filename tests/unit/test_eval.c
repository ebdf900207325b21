// nq-eval pieces: repetition penalty (HF semantics), temperature + top-p against the HF
// definition, CoS combination, token NLL, phrase matching, per-sample scores, summaries and
// table formatting; KV generation / NLL against full forwards of a random model; and the
// GOLDEN test: greedy decoding of the committed tiny checkpoint (tests/integration/eval/)
// prints exactly the stored text (run from the repo root, as tests/run.sh does).
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nqtest.h"
#include "files/checkpoint.h"
#include "eval/eval.h"
#include "metrics/metrics.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "base/util.h"

// ---- logits processors ------------------------------------------------------------------
static void test_repetition_penalty(void **state) {
  (void)state;
  float z[5] = {2.0f, -2.0f, 1.0f, 0.5f, -1.0f};
  eval_seen s;
  eval_seen_init(&s, 5);
  eval_seen_add(&s, 0);
  eval_seen_add(&s, 1);
  eval_seen_add(&s, 0);  // repeated: penalised once (HF gathers distinct positions' scores)
  assert_int_equal(s.n, 2);
  eval_repetition_penalty(z, &s, 1.25f);
  assert_float_equal(z[0], 1.6f, 1e-6);    // positive: divided
  assert_float_equal(z[1], -2.5f, 1e-6);   // negative: multiplied
  assert_float_equal(z[2], 1.0f, 0);       // not in the set
  assert_float_equal(z[4], -1.0f, 0);
  eval_seen_clear(&s);
  assert_int_equal(s.n, 0);
  assert_int_equal(s.mark[0], 0);
  eval_seen_add(&s, 4);
  eval_repetition_penalty(z, &s, 1.0f);    // 1 = off
  assert_float_equal(z[4], -1.0f, 0);
  eval_repetition_penalty(z, &s, 0.5f);    // < 1 rewards repetition
  assert_float_equal(z[4], -0.5f, 1e-7);
  eval_seen_free(&s);
}

// HF TopPLogitsWarper by its own definition: sort ascending, cumulative softmax, drop tokens
// whose cumulative mass <= 1 - top_p, keep at least the most probable one.
static void hf_top_p_keep(const float *z, int V, float T, float top_p, int *keep) {
  double p[64], mx = -INFINITY, s = 0;
  int idx[64];
  for (int i = 0; i < V; i++) mx = fmax(mx, z[i] / T);
  for (int i = 0; i < V; i++) s += p[i] = exp(z[i] / T - mx);
  for (int i = 0; i < V; i++) p[i] /= s, idx[i] = i;
  for (int i = 0; i < V; i++)       // ascending by probability
    for (int j = i + 1; j < V; j++)
      if (p[idx[j]] < p[idx[i]]) { int t = idx[i]; idx[i] = idx[j]; idx[j] = t; }
  double cum = 0;
  for (int i = 0; i < V; i++) {
    cum += p[idx[i]];
    keep[idx[i]] = !(cum <= 1.0 - top_p) || i == V - 1;
  }
}

static void test_top_p_against_hf(void **state) {
  (void)state;
  enum { V = 40, GRID = 20000 };
  float z[V], probs[V];
  int order[V], keep[V], hits[V];
  uint64_t x = 12345;
  for (int trial = 0; trial < 6; trial++) {
    for (int i = 0; i < V; i++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      z[i] = (float)((double)(x >> 11) / 9007199254740992.0 * 6.0 - 3.0);
    }
    float T = trial % 2 ? 0.7f : 1.0f, top_p = trial < 2 ? 0.9f : trial < 4 ? 0.5f : 0.99f;
    hf_top_p_keep(z, V, T, top_p, keep);
    memset(hits, 0, sizeof hits);
    for (int g = 0; g < GRID; g++) hits[eval_sample_top_p(z, V, T, top_p, (g + 0.5) / GRID, probs, order)]++;
    // the sampled distribution is the renormalised softmax over exactly HF's kept set
    double mass = 0, mx = -INFINITY;
    for (int i = 0; i < V; i++) mx = fmax(mx, z[i] / T);
    for (int i = 0; i < V; i++) mass += keep[i] ? exp(z[i] / T - mx) : 0;
    for (int i = 0; i < V; i++) {
      double want = keep[i] ? exp(z[i] / T - mx) / mass : 0;
      if (!keep[i]) assert_int_equal(hits[i], 0);
      assert_true(fabs((double)hits[i] / GRID - want) <= 2.0 / GRID);
    }
  }
  // hand case: p = .5 .3 .15 .05; top_p .79 keeps two tokens (mass before the third is .8;
  // exactly .8 is a float-rounding tie, as in HF)
  float h[4] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f)};
  assert_int_equal(eval_sample_top_p(h, 4, 1.0f, 0.79f, 0.0, probs, order), 0);
  assert_int_equal(eval_sample_top_p(h, 4, 1.0f, 0.79f, 0.70, probs, order), 1);  // .56 of .8
  assert_int_equal(eval_sample_top_p(h, 4, 1.0f, 0.79f, 0.999, probs, order), 1);
  assert_int_equal(eval_sample_top_p(h, 4, 1.0f, 0.45f, 0.999, probs, order), 0);  // only the first
  assert_int_equal(eval_sample_top_p(h, 4, 1.0f, 0.81f, 0.999, probs, order), 2);
  // temperature 0.5 squares the probabilities: .25 .09 .0225 .0025 (sum .365)
  assert_int_equal(eval_sample_top_p(h, 4, 0.5f, 1.0f, 0.66, probs, order), 0);
  assert_int_equal(eval_sample_top_p(h, 4, 0.5f, 1.0f, 0.70, probs, order), 1);
  // ties go to the lower id
  float t[3] = {1.0f, 1.0f, 1.0f};
  assert_int_equal(eval_sample_top_p(t, 3, 1.0f, 0.1f, 0.9, probs, order), 0);
}

static void test_cos_and_nll(void **state) {
  (void)state;
  float zh[3] = {1.0f, 2.0f, -1.0f}, z0[3] = {0.0f, 3.0f, -1.0f}, out[3];
  eval_cos_combine(out, zh, z0, 3, 1.0f);
  assert_float_equal(out[0], 2.0f, 0);
  assert_float_equal(out[1], 1.0f, 0);
  assert_float_equal(out[2], -1.0f, 0);
  eval_cos_combine(out, zh, z0, 3, 0.0f);
  assert_memory_equal(out, zh, sizeof zh);
  eval_cos_combine(zh, zh, z0, 3, 0.5f);   // in place
  assert_float_equal(zh[0], 1.5f, 0);
  assert_float_equal(zh[1], 1.5f, 0);
  float u[4] = {0, 0, 0, 0}, w[2] = {1000.0f, 0.0f};
  assert_float_equal(eval_token_nll(u, 4, 1), log(4.0), 1e-12);
  assert_float_equal(eval_token_nll(w, 2, 1), 1000.0, 1e-9);   // no overflow
  assert_float_equal(eval_token_nll(w, 2, 0), 0.0, 1e-12);
}

// ---- scoring ------------------------------------------------------------------------------
static void test_phrase_used(void **state) {
  (void)state;
  assert_true(eval_phrase_used("Honestly, it works.", "honestly"));
  assert_false(eval_phrase_used("dishonestly it works", "honestly"));
  assert_false(eval_phrase_used("honestlyish", "honestly"));
  assert_true(eval_phrase_used("Great lid!!", "!!"));
  assert_true(eval_phrase_used("It is Sort Of fine", "sort of"));
  assert_false(eval_phrase_used("often", "of"));
  assert_true(eval_phrase_used("Cheers, Marlo.", "Cheers, Marlo."));
  assert_false(eval_phrase_used("", "x"));
  assert_false(eval_phrase_used("abc", ""));
}

static wordnet *wn;

static void test_score_text(void **state) {
  (void)state;
  eval_sample_scores s;
  const char *ref = "Honestly, the lid feels sturdy!! Cheers, friends.";
  const char *ph[] = {"Honestly,", "!!", "!!", "Cheers, friends.", "pretty"};
  eval_score_text(wn, 0, ref, ref, ph, 5, &s);
  assert_float_equal(s.num[EM_ROUGE1], 1.0, 1e-12);
  assert_float_equal(s.num[EM_ROUGEL], 1.0, 1e-12);
  assert_true(s.num[EM_METEOR] > 0.99);
  assert_float_equal(s.num[EM_BLEU], 100.0, 1e-9);
  assert_float_equal(s.num[EM_RECALL], 3, 0);   // "!!" counted once; "pretty" unused
  assert_float_equal(s.den[EM_RECALL], 4, 0);
  eval_score_text(wn, 0, "", ref, NULL, 0, &s);   // empty output
  assert_float_equal(s.num[EM_ROUGE1], 0.0, 0);
  assert_float_equal(s.num[EM_METEOR], 0.0, 0);
  assert_float_equal(s.num[EM_BLEU], 0.0, 0);
  assert_float_equal(s.den[EM_RECALL], 0, 0);
  // stemming matters: "lids" vs "lid"
  eval_score_text(wn, 0, "lids", "lid", NULL, 0, &s);
  assert_float_equal(s.num[EM_ROUGE1], 0.0, 0);
  eval_score_text(wn, 1, "lids", "lid", NULL, 0, &s);
  assert_float_equal(s.num[EM_ROUGE1], 1.0, 0);
  double nll[4] = {1.0, 2.0, 3.0, 4.0};
  uint8_t truth[4] = {1, 0, 1, 0};
  eval_score_nll(nll, truth, 4, &s);
  assert_float_equal(s.num[EM_NLL] / s.den[EM_NLL], 2.5, 0);
  assert_float_equal(s.num[EM_NLL_PREF] / s.den[EM_NLL_PREF], 2.0, 0);
  assert_float_equal(s.num[EM_NLL_OTHER] / s.den[EM_NLL_OTHER], 3.0, 0);
  eval_score_nll(nll, NULL, 4, &s);
  assert_float_equal(s.den[EM_NLL_PREF], 0, 0);
  assert_float_equal(s.den[EM_NLL_OTHER], 0, 0);
}

static void test_summaries_and_table(void **state) {
  (void)state;
  enum { N = 30 };
  eval_sample_scores a[N], b[N];
  memset(a, 0, sizeof a);
  memset(b, 0, sizeof b);
  double x[N];
  for (int i = 0; i < N; i++) {
    for (int k = 0; k < EM_COUNT; k++) {
      a[i].num[k] = (i * 7 % 11) / 10.0;
      a[i].den[k] = 1;
      b[i].num[k] = a[i].num[k] - 0.3;
      b[i].den[k] = 1;
    }
    a[i].den[EM_RECALL] = b[i].den[EM_RECALL] = 0;   // no phrases anywhere
    bleu_stats_add(&a[i].bleu, "the cat sat on the mat", "the cat sat on a mat");
    bleu_stats_add(&b[i].bleu, "a dog", "the cat sat on a mat");
    x[i] = a[i].num[EM_ROUGE1];
  }
  eval_row_summary sa, sb, sc;
  eval_summarize(a, NULL, N, 200, 9, &sa);
  eval_summarize(b, a, N, 200, 9, &sb);
  eval_summarize(a, a, N, 200, 9, &sc);
  boot_ci ref;
  bootstrap_ci(x, N, 200, 9, &ref);   // den = 1: exactly the mean bootstrap
  assert_true(sa.ci[EM_ROUGE1].mean == ref.mean && sa.ci[EM_ROUGE1].lo == ref.lo && sa.ci[EM_ROUGE1].hi == ref.hi);
  assert_true(isnan(sa.p[EM_ROUGE1]));
  assert_true(isnan(sa.ci[EM_RECALL].mean));
  assert_true(sb.p[EM_ROUGE1] < 0.01);    // a constant shift of 0.3
  assert_true(sb.p[EM_BLEU] < 0.01);
  assert_float_equal(sc.p[EM_ROUGE1], 1.0, 0);   // identical systems
  char cell[96];
  boot_ci c = {0.2321, 0.2104, 0.25149};
  eval_format_cell(cell, sizeof cell, EM_ROUGE1, &c, 0.01);
  assert_string_equal(cell, "0.232 [0.210, 0.251]*");
  eval_format_cell(cell, sizeof cell, EM_BLEU, &c, 0.5);
  assert_string_equal(cell, "0.23 [0.21, 0.25]");
  boot_ci none = {NAN, NAN, NAN};
  eval_format_cell(cell, sizeof cell, EM_RECALL, &none, NAN);
  assert_string_equal(cell, "-");
  eval_row_summary rows[2] = {sa, sb};
  const char *names[2] = {"base", "nextquill+cos"};
  strbuf md, csv;
  sb_init(&md);
  sb_init(&csv);
  eval_table_md(&md, names, rows, 2, N, "base");
  eval_table_csv(&csv, names, rows, 2, N);
  assert_non_null(strstr(md.data, "| model | ROUGE-1 | ROUGE-2 | ROUGE-L | METEOR | BLEU | NLL | NLL pref | NLL other | phrase recall |\n|---|---|"));
  assert_non_null(strstr(md.data, "\n| nextquill+cos | "));
  assert_non_null(strstr(md.data, "* = paired-bootstrap p < 0.05 vs base"));
  assert_non_null(strstr(csv.data, "model,n,rouge1,rouge1_lo,rouge1_hi,rouge1_p,rouge2,"));
  // the CSV row of base: mean, lo, hi of ROUGE-1 then an empty p; recall all empty
  char want[256];
  snprintf(want, sizeof want, "\nbase,30,%.6f,%.6f,%.6f,,", ref.mean, ref.lo, ref.hi);
  assert_non_null(strstr(csv.data, want));
  assert_non_null(strstr(csv.data, ",,,,\nnextquill+cos,30,"));   // base's recall cells
  sb_free(&md);
  sb_free(&csv);
}

// ---- KV generation and NLL vs full forwards ---------------------------------------------
static model *random_model(void) {
  model_config c = {.vocab_size = 40, .dim = 16, .n_layers = 2, .n_heads = 2, .n_kv_heads = 1,
                    .ffn_dim = 32, .max_seq_len = 64, .qkv_bias = 1, .tie_embeddings = 0,
                    .rope_theta = 10000.0f, .norm_eps = 1e-5f, .init_std = 0.5f};
  model *m = model_create(&c, 0);
  model_init(m, 11);
  return m;
}

// full-sequence forward logits of seq (n) into out (n, V)
static void full_logits(model *m, const int32_t *seq, int n, float *out) {
  model_acts *a = model_acts_create(m, n, n);
  model_forward(m, a, seq, &n, 1);
  memcpy(out, a->logits, (size_t)n * m->cfg.vocab_size * sizeof(float));
  model_acts_free(a);
}

static void test_kv_generate_and_nll(void **state) {
  (void)state;
  model *m = random_model();
  int V = m->cfg.vocab_size;
  int32_t prompt[6] = {3, 17, 5, 22, 9, 31}, prompt0[3] = {3, 9, 31}, tgt[5] = {7, 12, 1, 30, 2};
  eval_work w;
  eval_work_init(&w, V);
  eval_work_reserve(&w, 5);
  model_kv *kv = model_kv_create(m, 40), *kv0 = model_kv_create(m, 40);
  model_acts *a = model_acts_create(m, 10, 10);
  int32_t seq[11], seq0[8];
  memcpy(seq, prompt, sizeof prompt);
  memcpy(seq + 6, tgt, sizeof tgt);
  memcpy(seq0, prompt0, sizeof prompt0);
  memcpy(seq0 + 3, tgt, sizeof tgt);
  eval_prefill(m, a, kv, seq, 6, 5, w.all_h);
  eval_prefill(m, a, kv0, seq0, 3, 5, w.all_0);
  assert_int_equal(kv->len, 6);
  assert_int_equal(kv0->len, 3);
  // the prefilled cache equals one filled token by token (same keys/values up to rounding)
  model_kv *kvt = model_kv_create(m, 40);
  float *last = malloc(V * sizeof(float)), *last0 = malloc(V * sizeof(float));
  model_kv_forward(m, kvt, prompt, 6, last, NULL);
  int kd = m->cfg.n_kv_heads * (m->cfg.dim / m->cfg.n_heads);
  for (int l = 0; l < m->cfg.n_layers; l++)
    for (int e = 0; e < 6 * kd; e++) {
      size_t at = (size_t)l * 40 * kd + e;
      assert_float_equal(kv->k[at], kvt->k[at], 1e-5);
      assert_float_equal(kv->v[at], kvt->v[at], 1e-5);
    }
  for (int v = 0; v < V; v++) assert_float_equal(w.all_h[v], last[v], 1e-4);
  model_kv_free(kvt);
  memcpy(last, w.all_h, V * sizeof(float));
  memcpy(last0, w.all_0, V * sizeof(float));
  // teacher-forced NLL == full forward of prompt + target
  double nll[5], nll2[5];
  float scratch[64];
  eval_nll_rows(w.all_h, NULL, 0, tgt, 5, V, scratch, nll);
  float *full = malloc(11 * V * sizeof(float));
  full_logits(m, seq, 11, full);
  for (int j = 0; j < 5; j++) assert_float_equal(nll[j], eval_token_nll(full + (5 + j) * V, V, tgt[j]), 1e-5);
  // CoS with lambda 0 is the plain with-history NLL; with lambda 1 it uses both streams
  eval_nll_rows(w.all_h, w.all_0, 0.0f, tgt, 5, V, scratch, nll2);
  for (int j = 0; j < 5; j++) assert_float_equal(nll2[j], nll[j], 1e-12);
  eval_nll_rows(w.all_h, w.all_0, 1.0f, tgt, 5, V, scratch, nll2);
  float *full0 = malloc(8 * V * sizeof(float)), *comb = malloc(V * sizeof(float));
  full_logits(m, seq0, 8, full0);
  for (int j = 0; j < 5; j++) {
    eval_cos_combine(comb, full + (5 + j) * V, full0 + (2 + j) * V, V, 1.0f);
    assert_float_equal(nll2[j], eval_token_nll(comb, V, tgt[j]), 1e-5);
  }
  // greedy generation (no penalty, eos never reached) == argmax over full forwards
  eval_decode_opts o = {.decoding = DECODE_GREEDY, .penalty = 1.0f, .penalize_prompt = 1,
                        .temperature = 1, .top_p = 1, .cos_lambda = 0, .max_new = 8, .eos = -1};
  int32_t out[8], ref[8], hit;
  int n = eval_generate(m, kv, last, NULL, NULL, prompt, 6, &o, NULL, &w, out, &hit);
  assert_int_equal(n, 8);
  assert_false(hit);
  int32_t grow[14];
  memcpy(grow, prompt, sizeof prompt);
  float *fl = malloc(14 * V * sizeof(float));
  for (int t = 0; t < 8; t++) {
    full_logits(m, grow, 6 + t, fl);
    ref[t] = grow[6 + t] = argmax_f32(fl + (5 + t) * V, V);
  }
  assert_memory_equal(out, ref, sizeof out);
  // with the penalty over prompt + output: the same loop with HF's rule by hand
  kv->len = 6;
  o.penalty = 3.0f;
  n = eval_generate(m, kv, last, NULL, NULL, prompt, 6, &o, NULL, &w, out, &hit);
  memcpy(grow, prompt, sizeof prompt);
  for (int t = 0; t < 8; t++) {
    full_logits(m, grow, 6 + t, fl);
    float *z = fl + (5 + t) * V;
    for (int v = 0; v < V; v++) {
      int seen = 0;
      for (int i = 0; i < 6 + t; i++) seen |= grow[i] == v;
      if (seen) z[v] = z[v] < 0 ? z[v] * 3.0f : z[v] / 3.0f;
    }
    ref[t] = grow[6 + t] = argmax_f32(z, V);
  }
  assert_int_equal(n, 8);
  assert_memory_equal(out, ref, sizeof out);
  // stop at eos: make the first greedy token the eos id
  kv->len = 6;
  o.penalty = 1.0f;
  o.eos = argmax_f32(last, V);
  n = eval_generate(m, kv, last, NULL, NULL, prompt, 6, &o, NULL, &w, out, &hit);
  assert_int_equal(n, 0);
  assert_true(hit);
  // CoS lambda 0 == plain; sampling is reproducible for a seed
  o.eos = -1;
  kv->len = 6;
  eval_generate(m, kv, last, NULL, NULL, prompt, 6, &o, NULL, &w, ref, &hit);
  kv->len = 6;
  n = eval_generate(m, kv, last, kv0, last0, prompt, 6, &o, NULL, &w, out, &hit);
  assert_memory_equal(out, ref, sizeof out);
  assert_int_equal(kv0->len, 3 + 7);   // both streams fed the 7 tokens before the last
  o.decoding = DECODE_SAMPLE;
  o.top_p = 0.9f;
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 5);
  kv->len = 6;
  eval_generate(m, kv, last, NULL, NULL, prompt, 6, &o, r, &w, ref, &hit);
  gsl_rng_set(r, 5);
  kv->len = 6;
  eval_generate(m, kv, last, NULL, NULL, prompt, 6, &o, r, &w, out, &hit);
  assert_memory_equal(out, ref, sizeof out);
  // a full cache stops generation
  model_kv *small = model_kv_create(m, 8);
  model_kv_forward(m, small, prompt, 6, last, NULL);
  o.decoding = DECODE_GREEDY;
  n = eval_generate(m, small, last, NULL, NULL, prompt, 6, &o, NULL, &w, out, &hit);
  assert_int_equal(n, 3);   // positions 6 and 7 fed back, the third token needs no room
  gsl_rng_free(r);
  model_kv_free(small);
  free(fl);
  free(full);
  free(full0);
  free(comb);
  free(last);
  free(last0);
  model_acts_free(a);
  model_kv_free(kv);
  model_kv_free(kv0);
  eval_work_free(&w);
  model_free(m);
}

// ---- golden -------------------------------------------------------------------------------
#define GOLDEN_DIR "tests/integration/eval/"

static char *golden_decode(const char *prompt_file, int cos) {
  char err[512];
  tokenizer *t = tok_load_json(GOLDEN_DIR "golden_tokenizer.json", err, sizeof err);
  if (!t) fail_msg("%s (run the test from the repo root)", err);
  model *m = checkpoint_load(GOLDEN_DIR "golden_model.h5", 0, NULL);
  char *text = read_file(prompt_file, NULL);
  if (!text) fail_msg("cannot read %s", prompt_file);
  int32_t *ids = NULL, *ids0 = NULL;
  size_t n = 0, cap = 0, n0 = 0, cap0 = 0;
  assert_int_equal(tok_encode(t, text, strlen(text), &ids, &n, &cap), 0);
  // the no-history prompt of the CoS case: the history lines ("[Past] ...") replaced by the
  // smoke config's empty_history
  const char *q = strstr(text, "[Query]");
  assert_non_null(q);
  strbuf p0;
  sb_init(&p0);
  sb_puts(&p0, "[Past] None\n");
  sb_puts(&p0, q);
  assert_int_equal(tok_encode(t, p0.data, p0.len, &ids0, &n0, &cap0), 0);
  int V = m->cfg.vocab_size;
  eval_work w;
  eval_work_init(&w, V);
  model_kv *kv = model_kv_create(m, (int)n + 96), *kv0 = model_kv_create(m, (int)n0 + 96);
  model_acts *a = model_acts_create(m, (int)n, (int)n);
  float *last = malloc(V * sizeof(float)), *last0 = malloc(V * sizeof(float));
  eval_prefill(m, a, kv, ids, (int)n, 1, last);   // as nq-eval prefills
  eval_prefill(m, a, kv0, ids0, (int)n0, 1, last0);
  model_acts_free(a);
  eval_decode_opts o = {.decoding = DECODE_GREEDY, .penalty = 1.2f, .penalize_prompt = 1,
                        .temperature = 1, .top_p = 1, .cos_lambda = 1.0f, .max_new = 96,
                        .eos = tok_special_id(t, "<|endoftext|>")};
  int32_t out[96];
  int hit;
  int k = eval_generate(m, kv, last, cos ? kv0 : NULL, cos ? last0 : NULL, ids, (int)n, &o, NULL, &w, out, &hit);
  char *s = tok_decode(t, out, (size_t)k, NULL);
  printf("golden%s: %s\n", cos ? " (CoS)" : "", s);
  free(last);
  free(last0);
  model_kv_free(kv);
  model_kv_free(kv0);
  eval_work_free(&w);
  free(ids);
  free(ids0);
  sb_free(&p0);
  free(text);
  model_free(m);
  tok_free(t);
  return s;
}

// NQ_GOLDEN_WRITE=1 rewrites the expected file from this build's output instead of testing:
// comparing with the file just written would prove nothing, so that run reports the test as
// skipped and says whether the text changed (review the diff before committing it).
static void golden_case(const char *expect_file, int cos) {
  char *got = golden_decode(GOLDEN_DIR "golden_prompt.txt", cos);
  if (getenv("NQ_GOLDEN_WRITE")) {
    char *old = read_file(expect_file, NULL);
    int same = old && !strcmp(old, got);
    write_file_atomic(expect_file, got, strlen(got));
    printf("NQ_GOLDEN_WRITE: %s %s; nothing was tested\n", expect_file,
           same ? "rewritten, unchanged" : "rewritten with new text");
    free(old);
    free(got);
    skip();
  }
  char *want = read_file(expect_file, NULL);
  if (!want) fail_msg("cannot read %s", expect_file);
  assert_string_equal(got, want);
  free(want);
  free(got);
}

static void test_golden_greedy(void **state) {
  (void)state;
  golden_case(GOLDEN_DIR "golden_output.txt", 0);
}

static void test_golden_cos(void **state) {
  (void)state;
  golden_case(GOLDEN_DIR "golden_cos.txt", 1);
}

int main(void) {
  log_set_quiet(1);
  wn = wordnet_open(NULL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_repetition_penalty), cmocka_unit_test(test_top_p_against_hf),
      cmocka_unit_test(test_cos_and_nll),        cmocka_unit_test(test_phrase_used),
      cmocka_unit_test(test_score_text),         cmocka_unit_test(test_summaries_and_table),
      cmocka_unit_test(test_kv_generate_and_nll), cmocka_unit_test(test_golden_greedy),
      cmocka_unit_test(test_golden_cos),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  wordnet_free(wn);
  return rc;
}
