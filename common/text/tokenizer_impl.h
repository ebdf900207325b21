// Internals shared by the tokenizer files (tokenizer*.c): the struct, two small hash maps,
// and the builder used by the trainer and the loaders. Not for use outside tokenizer*.c.
#ifndef NQ_TOKENIZER_IMPL_H
#define NQ_TOKENIZER_IMPL_H

#include <stdint.h>
#include <stddef.h>
#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include "text/tokenizer.h"

// GPT-2's pre-tokenization pattern (the default; a tokenizer.json may carry its own).
#define TOK_GPT2_PATTERN \
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

// ---- uint64 -> int32 map (open addressing, linear probing); values are >= 0
typedef struct { uint64_t *keys; int32_t *vals; size_t cap, n; } u64map;
void u64map_init(u64map *m, size_t hint);
int32_t u64map_get(const u64map *m, uint64_t key);          // -1 if absent
void u64map_put(u64map *m, uint64_t key, int32_t val);
void u64map_free(u64map *m);

// ---- byte-string -> int32 map; keys are copied into the map's pool. Entries keep
// insertion order (index 0..n-1), so iteration is deterministic.
typedef struct { uint64_t hash; size_t off; uint32_t len; int32_t val; } strmap_entry;
typedef struct {
  int32_t *table; size_t tcap;         // entry index or -1
  strmap_entry *e; size_t n, ecap;
  char *pool; size_t plen, pcap;
} strmap;
void strmap_init(strmap *m);
int32_t strmap_find(const strmap *m, const char *key, size_t len);       // entry index or -1
int32_t strmap_put(strmap *m, const char *key, size_t len, int32_t val); // entry index
const char *strmap_key(const strmap *m, int32_t idx, size_t *len);
void strmap_clear(strmap *m);
void strmap_free(strmap *m);

static inline uint64_t tok_pair_key(int32_t a, int32_t b) {
  return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}

struct tokenizer {
  int n;                      // ids are 0..n-1 (holes allowed in loaded files)
  size_t *off; int *len;      // raw bytes of id i: pool + off[i], len[i] (-1 for a hole)
  char *pool; size_t plen, pcap;
  unsigned char *special;     // 1 for added/special tokens (matched verbatim in text)
  char **str;                 // byte-level unicode form of each id (built by finalize)
  int cap_ids;
  strmap vocab;               // raw bytes -> id, ordinary tokens only
  int byte_id[256];
  int32_t (*merges)[2]; int32_t *merge_out; int n_merges, cap_merges;
  u64map merge_rank;          // pair key -> rank
  int *spec; int n_spec;      // special ids, longest content first
  unsigned char spec_first[256];
  char *pattern;              // as given (NULL: no pre-tokenization)
  pcre2_code *re; pcre2_match_data *md;
  int ignore_merges;          // HF model.ignore_merges: whole word in vocab -> one id
  int normalizer_nfc;         // file asked for NFC (not applied; see tokenizer_json.c)
  // encode scratch and word cache (so tok_encode is not thread-safe per tokenizer)
  strmap cache; int32_t *cache_ids; size_t cache_n, cache_cap;
  int32_t *w_id, *w_prev, *w_next; int64_t *heap; size_t w_cap, heap_cap;
  char digest[65];
};

// Builder: new empty tokenizer; add tokens by id and merges by rank; finalize.
tokenizer *tok_new(void);
// Returns 0, or -1 if the id is taken by different bytes.
int tok_set_token(tokenizer *t, int id, const char *bytes, int len, int special);
// Appends merge (a, b) at the next rank; the merged bytes must be a vocab token.
// Returns 0 or -1 (unknown ids or merged token missing).
int tok_add_merge(tokenizer *t, int a, int b);
// Checks byte tokens, compiles the pattern (JS \s semantics), orders specials, digest.
int tok_finalize(tokenizer *t, const char *pattern, char *err, size_t errlen);
// Raw bytes of an id (len in *len) or NULL.
const char *tok_bytes(const tokenizer *t, int id, int *len);

// GPT-2 byte <-> unicode mapping. Byte-level string -> raw bytes: returns length or -1 if
// a character is not in the mapping. Raw bytes -> byte-level string (NUL-terminated, new).
int tok_unicode_to_bytes(const char *s, size_t slen, char *out);
char *tok_bytes_to_unicode(const char *b, size_t n);

// Pre-tokenization: compile `pattern` with UTF+UCP after rewriting \s / \S to JavaScript's
// whitespace set (the JS peers define the reference behaviour).
pcre2_code *tok_compile_pattern(const char *pattern, char *err, size_t errlen);
// Calls fn(piece) for every pre-token of seg (matches, and unmatched gaps as pieces).
typedef void (*tok_piece_fn)(void *ctx, const char *p, size_t n);
void tok_split(const tokenizer *t, const char *seg, size_t n, tok_piece_fn fn, void *ctx);
// Finds the leftmost (longest) special token in text[from..len): returns its position
// (len if none) and its id in *id.
size_t tok_find_special(const tokenizer *t, const char *text, size_t len, size_t from, int *id);
int tok_utf8_valid(const char *s, size_t n);

#endif
