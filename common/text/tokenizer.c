// Byte-level BPE core: building a tokenizer (tokens by id, merges by rank), its digest,
// encoding (specials, regex pre-tokens, word cache, heap-ordered merges) and decoding.
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/sha256.h"
#include "text/tokenizer_impl.h"
#include "base/util.h"

// ---- building
tokenizer *tok_new(void) {
  tokenizer *t = xcalloc(1, sizeof *t);
  strmap_init(&t->vocab);
  strmap_init(&t->cache);
  u64map_init(&t->merge_rank, 1024);
  for (int b = 0; b < 256; b++) t->byte_id[b] = -1;
  return t;
}

static void grow_ids(tokenizer *t, int need) {
  if (need <= t->cap_ids) return;
  int cap = t->cap_ids ? t->cap_ids : 512;
  while (cap < need) cap *= 2;
  t->off = xrealloc(t->off, (size_t)cap * sizeof *t->off);
  t->len = xrealloc(t->len, (size_t)cap * sizeof *t->len);
  t->special = xrealloc(t->special, (size_t)cap);
  for (int i = t->cap_ids; i < cap; i++) { t->len[i] = -1; t->off[i] = 0; t->special[i] = 0; }
  t->cap_ids = cap;
}

const char *tok_bytes(const tokenizer *t, int id, int *len) {
  if (id < 0 || id >= t->n || t->len[id] < 0) return NULL;
  *len = t->len[id];
  return t->pool + t->off[id];
}

int tok_set_token(tokenizer *t, int id, const char *bytes, int len, int special) {
  if (id < 0 || len < 0) return -1;
  grow_ids(t, id + 1);
  if (id >= t->n) t->n = id + 1;
  if (t->len[id] >= 0) {  // same token listed twice (vocab and added_tokens): fine if equal
    if (t->len[id] != len || memcmp(t->pool + t->off[id], bytes, (size_t)len) != 0) return -1;
    t->special[id] |= (unsigned char)(special != 0);
    return 0;
  }
  if (t->plen + (size_t)len > t->pcap) {
    while (t->plen + (size_t)len > t->pcap) t->pcap = t->pcap ? t->pcap * 2 : 1 << 16;
    t->pool = xrealloc(t->pool, t->pcap);
  }
  if (len) memcpy(t->pool + t->plen, bytes, (size_t)len);
  t->off[id] = t->plen;
  t->len[id] = len;
  t->plen += (size_t)len;
  t->special[id] = (unsigned char)(special != 0);
  if (!special && len > 0 && strmap_find(&t->vocab, bytes, (size_t)len) < 0)
    strmap_put(&t->vocab, bytes, (size_t)len, id);
  return 0;
}

int tok_add_merge(tokenizer *t, int a, int b) {
  int la = 0, lb = 0;
  const char *pa = tok_bytes(t, a, &la), *pb = tok_bytes(t, b, &lb);
  if (!pa || !pb) return -1;
  char stackbuf[256];
  char *m = (size_t)(la + lb) <= sizeof stackbuf ? stackbuf : xmalloc((size_t)(la + lb));
  memcpy(m, pa, (size_t)la);
  memcpy(m + la, pb, (size_t)lb);
  int32_t k = strmap_find(&t->vocab, m, (size_t)(la + lb));
  if (m != stackbuf) free(m);
  if (k < 0) return -1;
  if (u64map_get(&t->merge_rank, tok_pair_key(a, b)) >= 0) return 0;  // duplicate: first wins
  if (t->n_merges == t->cap_merges) {
    t->cap_merges = t->cap_merges ? t->cap_merges * 2 : 1024;
    t->merges = xrealloc(t->merges, (size_t)t->cap_merges * sizeof *t->merges);
    t->merge_out = xrealloc(t->merge_out, (size_t)t->cap_merges * sizeof *t->merge_out);
  }
  t->merges[t->n_merges][0] = a;
  t->merges[t->n_merges][1] = b;
  t->merge_out[t->n_merges] = t->vocab.e[k].val;
  u64map_put(&t->merge_rank, tok_pair_key(a, b), t->n_merges);
  t->n_merges++;
  return 0;
}

static int by_len_desc(const void *x, const void *y, void *arg) {
  const tokenizer *sort_tok = arg;
  int a = *(const int *)x, b = *(const int *)y;
  if (sort_tok->len[a] != sort_tok->len[b]) return sort_tok->len[b] - sort_tok->len[a];
  return a - b;
}

static void put_u32(sha256_ctx *c, uint32_t v) {
  unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                        (unsigned char)(v >> 24)};
  sha256_update(c, b, 4);
}

// Canonical serialization: everything that decides the ids of a text, in a fixed order.
static void compute_digest(tokenizer *t) {
  sha256_ctx c;
  sha256_init(&c);
  sha256_update(&c, "nq-bpe-1\n", 9);
  const char *pat = t->pattern ? t->pattern : "";
  put_u32(&c, (uint32_t)strlen(pat));
  sha256_update(&c, pat, strlen(pat));
  put_u32(&c, (uint32_t)t->ignore_merges);
  put_u32(&c, (uint32_t)t->n);
  for (int i = 0; i < t->n; i++) {
    put_u32(&c, (uint32_t)t->len[i]);  // 0xffffffff for a hole
    if (t->len[i] < 0) continue;
    put_u32(&c, t->special[i]);
    sha256_update(&c, t->pool + t->off[i], (size_t)t->len[i]);
  }
  put_u32(&c, (uint32_t)t->n_merges);
  for (int r = 0; r < t->n_merges; r++) {
    put_u32(&c, (uint32_t)t->merges[r][0]);
    put_u32(&c, (uint32_t)t->merges[r][1]);
  }
  uint8_t h[32];
  sha256_final(&c, h);
  static const char hx[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) { t->digest[2 * i] = hx[h[i] >> 4]; t->digest[2 * i + 1] = hx[h[i] & 15]; }
  t->digest[64] = 0;
}

int tok_finalize(tokenizer *t, const char *pattern, char *err, size_t errlen) {
  for (int b = 0; b < 256; b++) {
    char c = (char)b;
    int32_t k = strmap_find(&t->vocab, &c, 1);
    if (k < 0) {
      snprintf(err, errlen, "vocabulary lacks the byte token for 0x%02X", b);
      return -1;
    }
    t->byte_id[b] = t->vocab.e[k].val;
  }
  t->n_spec = 0;
  t->spec = xmalloc((size_t)(t->n + 1) * sizeof *t->spec);
  memset(t->spec_first, 0, sizeof t->spec_first);
  for (int i = 0; i < t->n; i++) {
    if (!t->special[i] || t->len[i] <= 0) continue;
    t->spec[t->n_spec++] = i;
    t->spec_first[(unsigned char)t->pool[t->off[i]]] = 1;
  }
  qsort_r(t->spec, (size_t)t->n_spec, sizeof *t->spec, by_len_desc, t);
  if (pattern) {
    t->pattern = xstrdup(pattern);
    t->re = tok_compile_pattern(pattern, err, errlen);
    if (!t->re) return -1;
    t->md = pcre2_match_data_create_from_pattern(t->re, NULL);
    if (!t->md) error("pcre2_match_data_create_from_pattern: out of memory");
  }
  t->str = xcalloc((size_t)t->n + 1, sizeof *t->str);
  for (int i = 0; i < t->n; i++) {
    if (t->len[i] < 0) continue;
    if (t->special[i]) {
      t->str[i] = xmalloc((size_t)t->len[i] + 1);
      memcpy(t->str[i], t->pool + t->off[i], (size_t)t->len[i]);
      t->str[i][t->len[i]] = 0;
    } else {
      t->str[i] = tok_bytes_to_unicode(t->pool + t->off[i], (size_t)t->len[i]);
    }
  }
  compute_digest(t);
  return 0;
}

void tok_free(tokenizer *t) {
  if (!t) return;
  if (t->str)
    for (int i = 0; i < t->n; i++) free(t->str[i]);
  free(t->str);
  free(t->off); free(t->len); free(t->pool); free(t->special);
  strmap_free(&t->vocab);
  strmap_free(&t->cache);
  u64map_free(&t->merge_rank);
  free(t->merges); free(t->merge_out); free(t->spec); free(t->pattern);
  if (t->md) pcre2_match_data_free(t->md);
  if (t->re) pcre2_code_free(t->re);
  free(t->cache_ids);
  free(t->w_id); free(t->w_prev); free(t->w_next); free(t->heap);
  free(t);
}

// ---- accessors
int tok_vocab_size(const tokenizer *t) { return t->n; }
const char *tok_digest(const tokenizer *t) { return t->digest; }

int tok_special_id(const tokenizer *t, const char *special) {
  size_t n = strlen(special);
  for (int k = 0; k < t->n_spec; k++) {
    int id = t->spec[k];
    if ((size_t)t->len[id] == n && memcmp(t->pool + t->off[id], special, n) == 0) return id;
  }
  return -1;
}

const char *tok_id_string(const tokenizer *t, int id) {
  if (id < 0 || id >= t->n) return NULL;
  return t->str[id];
}

int tok_token_bytes(const tokenizer *t, int id, char *buf, int cap) {
  int len = 0;
  const char *p = tok_bytes(t, id, &len);
  if (!p) return -1;
  if (len > cap) len = cap;
  memcpy(buf, p, (size_t)len);
  return len;
}

// ---- encoding
typedef struct { tokenizer *t; int32_t **ids; size_t *n, *cap; } enc_out;

static void push_ids(enc_out *o, const int32_t *v, size_t k) {
  if (*o->n + k > *o->cap) {
    size_t c = *o->cap ? *o->cap : 256;
    while (c < *o->n + k) c *= 2;
    *o->ids = xrealloc(*o->ids, c * sizeof **o->ids);
    *o->cap = c;
  }
  memcpy(*o->ids + *o->n, v, k * sizeof *v);
  *o->n += k;
}

static void heap_push(int64_t *h, size_t *n, int64_t v) {
  size_t i = (*n)++;
  while (i > 0 && h[(i - 1) / 2] > v) { h[i] = h[(i - 1) / 2]; i = (i - 1) / 2; }
  h[i] = v;
}

static int64_t heap_pop(int64_t *h, size_t *n) {
  int64_t top = h[0], v = h[--*n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= *n) break;
    if (c + 1 < *n && h[c + 1] < h[c]) c++;
    if (h[c] >= v) break;
    h[i] = h[c];
    i = c;
  }
  if (*n) h[i] = v;
  return top;
}

static void push_pair(tokenizer *t, size_t *hn, int32_t pos) {
  int32_t r = u64map_get(&t->merge_rank, tok_pair_key(t->w_id[pos], t->w_id[t->w_next[pos]]));
  if (r >= 0) heap_push(t->heap, hn, ((int64_t)r << 32) | pos);
}

// BPE on one pre-token: always merge the lowest-ranked adjacent pair (leftmost on ties),
// as GPT-2 does; the heap makes a long word O(n log n) instead of O(n^2).
static size_t bpe_word(tokenizer *t, const unsigned char *p, size_t n, int32_t *out) {
  if (n > t->w_cap) {
    t->w_cap = n * 2;
    t->w_id = xrealloc(t->w_id, t->w_cap * sizeof *t->w_id);
    t->w_prev = xrealloc(t->w_prev, t->w_cap * sizeof *t->w_prev);
    t->w_next = xrealloc(t->w_next, t->w_cap * sizeof *t->w_next);
  }
  if (3 * n > t->heap_cap) {
    t->heap_cap = 3 * n;
    t->heap = xrealloc(t->heap, t->heap_cap * sizeof *t->heap);
  }
  for (size_t i = 0; i < n; i++) {
    t->w_id[i] = t->byte_id[p[i]];
    t->w_prev[i] = (int32_t)i - 1;
    t->w_next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
  }
  size_t hn = 0;
  for (size_t i = 0; i + 1 < n; i++) push_pair(t, &hn, (int32_t)i);
  while (hn) {
    int64_t top = heap_pop(t->heap, &hn);
    int32_t rank = (int32_t)(top >> 32), pos = (int32_t)(top & 0xffffffff);
    int32_t nx = t->w_next[pos];
    if (t->w_id[pos] < 0 || nx < 0) continue;
    if (u64map_get(&t->merge_rank, tok_pair_key(t->w_id[pos], t->w_id[nx])) != rank) continue;
    t->w_id[pos] = t->merge_out[rank];
    t->w_id[nx] = -1;
    t->w_next[pos] = t->w_next[nx];
    if (t->w_next[pos] >= 0) t->w_prev[t->w_next[pos]] = pos;
    if (t->w_prev[pos] >= 0) push_pair(t, &hn, t->w_prev[pos]);
    if (t->w_next[pos] >= 0) push_pair(t, &hn, pos);
  }
  size_t k = 0;
  for (int32_t i = 0; i >= 0; i = t->w_next[i]) out[k++] = t->w_id[i];
  return k;
}

#define CACHE_MAX_WORDS (1u << 20)

static void encode_piece(void *ctx, const char *p, size_t n) {
  enc_out *o = ctx;
  tokenizer *t = o->t;
  int32_t k = strmap_find(&t->cache, p, n);
  if (k >= 0) {
    size_t at = (size_t)t->cache.e[k].val;
    push_ids(o, t->cache_ids + at + 1, (size_t)t->cache_ids[at]);
    return;
  }
  if (t->cache.n >= CACHE_MAX_WORDS) { strmap_clear(&t->cache); t->cache_n = 0; }
  if (t->cache_n + n + 1 > t->cache_cap) {
    while (t->cache_n + n + 1 > t->cache_cap) t->cache_cap = t->cache_cap ? t->cache_cap * 2 : 1 << 16;
    t->cache_ids = xrealloc(t->cache_ids, t->cache_cap * sizeof *t->cache_ids);
  }
  size_t at = t->cache_n;
  int32_t *dst = t->cache_ids + at + 1;
  size_t cnt;
  int32_t whole = t->ignore_merges ? strmap_find(&t->vocab, p, n) : -1;
  if (whole >= 0) { dst[0] = t->vocab.e[whole].val; cnt = 1; }
  else cnt = bpe_word(t, (const unsigned char *)p, n, dst);
  t->cache_ids[at] = (int32_t)cnt;
  t->cache_n += cnt + 1;
  strmap_put(&t->cache, p, n, (int32_t)at);
  push_ids(o, dst, cnt);
}

int tok_encode(const tokenizer *tc, const char *text, size_t len, int32_t **ids, size_t *n,
               size_t *cap) {
  if (!tok_utf8_valid(text, len)) return -1;
  tokenizer *t = (tokenizer *)tc;  // the word cache and scratch buffers mutate
  enc_out o = {t, ids, n, cap};
  size_t pos = 0;
  while (pos < len) {
    int sid;
    size_t s = tok_find_special(t, text, len, pos, &sid);
    tok_split(t, text + pos, s - pos, encode_piece, &o);
    if (sid < 0) break;
    int32_t v = sid;
    push_ids(&o, &v, 1);
    pos = s + (size_t)t->len[sid];
  }
  return 0;
}

char *tok_decode(const tokenizer *t, const int32_t *ids, size_t n, size_t *len) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= t->n || t->len[ids[i]] < 0) return NULL;
    total += (size_t)t->len[ids[i]];
  }
  char *s = xmalloc(total + 1), *o = s;
  for (size_t i = 0; i < n; i++) {
    memcpy(o, t->pool + t->off[ids[i]], (size_t)t->len[ids[i]]);
    o += t->len[ids[i]];
  }
  *o = 0;
  if (len) *len = total;
  return s;
}
