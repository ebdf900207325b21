// Byte-level BPE tokenizer of the GPT-2 family: PCRE2 pre-tokenization (GPT-2 pattern by
// default, or the pattern given in a HF tokenizer.json), byte-to-unicode mapping, merges by
// rank, special tokens matched verbatim inside text and encoded as single ids.
// Can train a vocabulary from a corpus, save/load HF tokenizer.json, and load GPT-2's
// encoder.json + vocab.bpe. Deterministic: same corpus and size -> same vocabulary.
//
// Pre-tokenization follows the JavaScript reference encoders (gpt-3-encoder, transformers.js):
// \s in a pattern means JS's whitespace set, not PCRE2's. A tokenizer.json NFC normalizer is
// accepted but not applied (identity on already-composed text).
// Not thread-safe per object: tok_encode keeps a word cache and scratch buffers inside the
// tokenizer, so use one tokenizer per thread (loading twice gives the same digest).
#ifndef NQ_TOKENIZER_H
#define NQ_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

typedef struct tokenizer tokenizer;

// Train a byte-level BPE vocabulary of `vocab_size` tokens (256 byte tokens + merges +
// specials) from `n` texts: count pre-tokenized words, then merge on word types; ties in
// pair counts are broken by the lexicographically smallest pair (deterministic).
// Ids: 0..255 are the bytes, then one per merge, then `specials` (may be NULL/0; e.g.
// "<|endoftext|>", "<pad>"). Specials split the texts and are never part of a merge.
// Texts are NUL-terminated; texts that are not valid UTF-8 are skipped with a warning.
// The vocabulary is smaller than asked only if the corpus runs out of pairs.
tokenizer *tok_train(const char *const *texts, size_t n, int vocab_size,
                     const char *const *specials, int n_specials);
// HF tokenizer.json (model.type = "BPE", byte-level). Merges as "a b" or ["a","b"];
// every added_token is matched verbatim in text; the pre-tokenizer regex is the first
// Split{Regex} (Qwen, Llama-3 files), else GPT-2's for a ByteLevel pre-tokenizer.
// Returns NULL and fills `err` (one line naming the file and the problem) on failure.
tokenizer *tok_load_json(const char *path, char *err, size_t errlen);
// GPT-2's encoder.json + vocab.bpe.
tokenizer *tok_load_gpt2(const char *encoder_json, const char *vocab_bpe, char *err, size_t errlen);
// Save as HF tokenizer.json (atomic: tmp + rename). Returns 0 on success.
int tok_save_json(const tokenizer *t, const char *path);
void tok_free(tokenizer *t);

int tok_vocab_size(const tokenizer *t);
// Id of a special/added token, or -1.
int tok_special_id(const tokenizer *t, const char *special);
// Token string of an id (in byte-level unicode form) or NULL.
const char *tok_id_string(const tokenizer *t, int id);
// SHA-256 hex of the canonical tokenizer (vocab + merges + specials + pattern): two
// tokenizers encode identically iff digests match. Used in provenance.
const char *tok_digest(const tokenizer *t);

// Encode `len` bytes of UTF-8 text. Special tokens appearing in the text are encoded as
// their single ids. Appends to *ids (realloc'd, *n/*cap updated). Returns 0, or -1 if the
// text is not valid UTF-8.
int tok_encode(const tokenizer *t, const char *text, size_t len,
               int32_t **ids, size_t *n, size_t *cap);
// Decode ids into a newly allocated NUL-terminated string (length in *len if non-NULL);
// NULL if an id is unknown. Bytes are joined as they are (no U+FFFD replacement).
char *tok_decode(const tokenizer *t, const int32_t *ids, size_t n, size_t *len);
// Bytes of one token's text (for per-token character offsets): returns the number of
// bytes written into buf (at most cap), or -1 for an unknown id.
int tok_token_bytes(const tokenizer *t, int id, char *buf, int cap);

#endif
