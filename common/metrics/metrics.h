// Text-generation metrics, each matching one reference implementation (docs/metrics.md):
//  ROUGE-1/2/L F1   Google's rouge_score (RougeScorer.score), optional Porter stemming
//  BLEU (0-100)     sacreBLEU 2.x, tokenize='13a', smooth 'exp', max order 4
//  METEOR           NLTK 3.8 nltk.translate.meteor_score.single_meteor_score
//  bootstrap        95% percentile CI of a mean, paired-bootstrap p-value (GSL mt19937)
#ifndef NQ_METRICS_H
#define NQ_METRICS_H

#include <stddef.h>
#include <stdint.h>

// ---- tokens (metrics_tokenize.c) ---------------------------------------------------------
// A token list; tok[i] points into storage owned by the list.
typedef struct {
  char **tok;
  size_t n, cap;
} nq_tokens;
void tokens_init(nq_tokens *t);
void tokens_push(nq_tokens *t, const char *s, size_t len);  // copies
void tokens_free(nq_tokens *t);

// rouge_score tokenize.tokenize: lowercase, [^a-z0-9]+ -> ' ', split; with stem != 0,
// tokens longer than 3 chars go through NLTK's PorterStemmer (NLTK_EXTENSIONS mode).
void rouge_tokenize(const char *text, int stem, nq_tokens *out);
// sacreBLEU Tokenizer13a applied to text.rstrip() (what BLEU._preprocess_segment does).
void bleu_tokenize_13a(const char *text, nq_tokens *out);
// Python str.split(): split on any Unicode whitespace (UTF-8 input).
void split_whitespace(const char *text, nq_tokens *out);
// Bytes of the Python-whitespace character at s (0 if s does not start with one).
size_t py_space_len(const char *s);

// ---- Porter stemmer (metrics_porter.c) --------------------------------------------------
// nltk.stem.porter.PorterStemmer() in its default NLTK_EXTENSIONS mode; word is UTF-8 and
// already lowercase. Returns a new string (caller frees).
char *porter_stem_nltk(const char *word);

// ---- ROUGE (metrics_rouge.c) -----------------------------------------------------------
typedef struct { double p, r, f; } rouge_prf;
typedef struct { rouge_prf r1, r2, rl; } rouge_scores;
// RougeScorer(['rouge1','rouge2','rougeL'], use_stemmer).score(target, prediction)
void rouge_score(const char *target, const char *prediction, int use_stemmer, rouge_scores *out);
// Token-level pieces (also used by tests)
void rouge_n_tokens(const nq_tokens *target, const nq_tokens *pred, int n, rouge_prf *out);
void rouge_l_tokens(const nq_tokens *target, const nq_tokens *pred, rouge_prf *out);

// ---- BLEU (metrics_bleu.c) -------------------------------------------------------------
#define BLEU_MAX_ORDER 4
typedef struct {
  double correct[BLEU_MAX_ORDER], total[BLEU_MAX_ORDER];
  double sys_len, ref_len;
} bleu_stats;
void bleu_stats_zero(bleu_stats *s);
// Adds one segment (raw text; 13a tokenization inside) to s; _refs takes several references
// (n-gram counts clipped by the maximum over references, closest reference length).
void bleu_stats_add_refs(bleu_stats *s, const char *hyp, const char *const *refs, size_t nrefs);
void bleu_stats_add(bleu_stats *s, const char *hyp, const char *ref);
// sacreBLEU BLEU.compute_bleu with smooth_method='exp'; 0-100 scale.
double bleu_from_stats(const bleu_stats *s, int effective_order);
// corpus_bleu(hyps, [refs]) with defaults (effective_order off)
double bleu_corpus(const char *const *hyp, const char *const *ref, size_t n);
// sentence_bleu(hyp, [ref]) (exp smoothing, effective order on)
double bleu_sentence(const char *hyp, const char *ref);

// ---- WordNet (metrics_wordnet.c) -------------------------------------------------------
// Reads the WordNet 3.0 database files (index.*, data.*, *.exc) of `dir`
// (NULL: $NQ_WORDNET_DIR or /usr/share/wordnet). Stops with a message if unreadable.
typedef struct wordnet wordnet;
wordnet *wordnet_open(const char *dir);
void wordnet_free(wordnet *wn);
// Every lemma name without '_' of every synset of nltk wn.synsets(word) (all POS,
// morphy with exceptions), plus `word` itself, de-duplicated; caller frees with tokens_free.
void wordnet_synonyms(wordnet *wn, const char *word, nq_tokens *out);
// wn._morphy(word, pos) for pos in "nvar" (exposed for tests)
void wordnet_morphy(wordnet *wn, const char *word, char pos, nq_tokens *out);

// ---- METEOR (metrics_meteor.c) ---------------------------------------------------------
// single_meteor_score(reference, hypothesis) with alpha 0.9, beta 3, gamma 0.5, on
// pre-tokenized input (lowercased here, as NLTK's default preprocess does).
double meteor_tokens(wordnet *wn, const char *const *hyp, size_t nh, const char *const *ref,
                     size_t nr);
// Convenience: both texts split on whitespace (Python str.split()).
double meteor_text(wordnet *wn, const char *hyp, const char *ref);

// ---- bootstrap (metrics_bootstrap.c) ---------------------------------------------------
typedef struct { double mean, lo, hi; } boot_ci;
// 95% percentile interval of the mean of x over n_resamples resamples with replacement.
void bootstrap_ci(const double *x, size_t n, int n_resamples, uint64_t seed, boot_ci *out);
// Paired bootstrap of mean(a) - mean(b) (same resampled indices for both): two-sided
// p-value of "no difference", as sacreBLEU's paired_bs: the resampled deltas are centred
// on their mean and p = (#{|delta* - mean(delta*)| >= |delta|} + 1) / (n_resamples + 1).
double bootstrap_paired_p(const double *a, const double *b, size_t n, int n_resamples,
                          uint64_t seed);
// Ratio-of-sums versions (token-weighted NLL, micro-averaged recall; den[i] = 1 gives the
// mean, with the same resampled indices as bootstrap_ci for the same seed): the estimate is
// sum(num)/sum(den) over the drawn samples; resamples whose denominators sum to 0 are
// dropped. mean/lo/hi (and the p-value) are NaN when every den is 0.
void bootstrap_ratio_ci(const double *num, const double *den, size_t n, int n_resamples,
                        uint64_t seed, boot_ci *out);
double bootstrap_ratio_paired_p(const double *na, const double *da, const double *nb,
                                const double *db, size_t n, int n_resamples, uint64_t seed);
// Corpus BLEU versions: seg[i] holds segment i's statistics alone (bleu_stats_zero +
// bleu_stats_add); each resample sums the drawn segments' statistics and recomputes corpus
// BLEU (as sacreBLEU's bootstrap does), so the interval is of corpus BLEU, not of a mean.
void bootstrap_bleu_ci(const bleu_stats *seg, size_t n, int n_resamples, uint64_t seed,
                       boot_ci *out);
double bootstrap_bleu_paired_p(const bleu_stats *a, const bleu_stats *b, size_t n,
                               int n_resamples, uint64_t seed);

#endif
