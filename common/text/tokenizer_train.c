// BPE training on word types (after GPT-2 / HF's trainer): pre-tokenize and count words
// once, then repeatedly merge the most frequent adjacent pair. Pair counts and the words
// containing each pair are updated incrementally, so a merge touches only those words; a
// lazy max-heap finds the best pair. Ties go to the lexicographically smallest pair of byte
// strings, so the result does not depend on hashing.
#include <string.h>

#include "base/log.h"
#include "text/tokenizer_impl.h"
#include "base/util.h"

typedef struct { int64_t count; int32_t pair; } heap_ent;

typedef struct {
  // tokens: raw bytes of id i at pool + off[i]
  size_t *off; int *len; char *pool; size_t plen, pcap; int ntok, tcap;
  strmap tokmap;
  // word types: symbols at sym + woff[w], wlen[w] of them (shrinks as merges apply)
  int32_t *sym; size_t *woff; int *wlen; int64_t *wcnt; int32_t *wseen; size_t nw;
  // pairs
  u64map pidx; int32_t *pa, *pb; int64_t *pcount; int32_t **where; int *nwhere, *capwhere;
  size_t np, capp;
  heap_ent *heap; size_t hn, hcap;
  int32_t *dirty; uint8_t *is_dirty; size_t nd;
  // merges applied, in order: merges[r] = {a, b}
  int32_t (*merges)[2]; int nm, capm;
} bpe_trainer;

static void add_token(bpe_trainer *tr, const char *b, int n) {
  if (tr->ntok == tr->tcap) {
    tr->tcap = tr->tcap ? tr->tcap * 2 : 1024;
    tr->off = xrealloc(tr->off, (size_t)tr->tcap * sizeof *tr->off);
    tr->len = xrealloc(tr->len, (size_t)tr->tcap * sizeof *tr->len);
  }
  if (tr->plen + (size_t)n > tr->pcap) {
    while (tr->plen + (size_t)n > tr->pcap) tr->pcap = tr->pcap ? tr->pcap * 2 : 1 << 16;
    tr->pool = xrealloc(tr->pool, tr->pcap);
  }
  memcpy(tr->pool + tr->plen, b, (size_t)n);
  tr->off[tr->ntok] = tr->plen;
  tr->len[tr->ntok] = n;
  tr->plen += (size_t)n;
  strmap_put(&tr->tokmap, b, (size_t)n, tr->ntok);
  tr->ntok++;
}

static int bytes_cmp(const bpe_trainer *tr, int32_t x, int32_t y) {
  int lx = tr->len[x], ly = tr->len[y];
  int c = memcmp(tr->pool + tr->off[x], tr->pool + tr->off[y], (size_t)(lx < ly ? lx : ly));
  return c ? c : lx - ly;
}

// x comes out of the heap before y
static int before(const bpe_trainer *tr, heap_ent x, heap_ent y) {
  if (x.count != y.count) return x.count > y.count;
  int c = bytes_cmp(tr, tr->pa[x.pair], tr->pa[y.pair]);
  if (c == 0) c = bytes_cmp(tr, tr->pb[x.pair], tr->pb[y.pair]);
  return c < 0;
}

static void heap_push(bpe_trainer *tr, heap_ent v) {
  if (tr->hn == tr->hcap) {
    tr->hcap = tr->hcap ? tr->hcap * 2 : 4096;
    tr->heap = xrealloc(tr->heap, tr->hcap * sizeof *tr->heap);
  }
  size_t i = tr->hn++;
  while (i > 0 && before(tr, v, tr->heap[(i - 1) / 2])) {
    tr->heap[i] = tr->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  tr->heap[i] = v;
}

static heap_ent heap_pop(bpe_trainer *tr) {
  heap_ent top = tr->heap[0], v = tr->heap[--tr->hn];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= tr->hn) break;
    if (c + 1 < tr->hn && before(tr, tr->heap[c + 1], tr->heap[c])) c++;
    if (!before(tr, tr->heap[c], v)) break;
    tr->heap[i] = tr->heap[c];
    i = c;
  }
  if (tr->hn) tr->heap[i] = v;
  return top;
}

// Adds `delta` occurrences of pair (a, b) seen in word w.
static void pair_add(bpe_trainer *tr, int32_t a, int32_t b, int64_t delta, int32_t w) {
  uint64_t key = tok_pair_key(a, b);
  int32_t p = u64map_get(&tr->pidx, key);
  if (p < 0) {
    if (tr->np == tr->capp) {
      tr->capp = tr->capp ? tr->capp * 2 : 4096;
      tr->pa = xrealloc(tr->pa, tr->capp * sizeof *tr->pa);
      tr->pb = xrealloc(tr->pb, tr->capp * sizeof *tr->pb);
      tr->pcount = xrealloc(tr->pcount, tr->capp * sizeof *tr->pcount);
      tr->where = xrealloc(tr->where, tr->capp * sizeof *tr->where);
      tr->nwhere = xrealloc(tr->nwhere, tr->capp * sizeof *tr->nwhere);
      tr->capwhere = xrealloc(tr->capwhere, tr->capp * sizeof *tr->capwhere);
      tr->is_dirty = xrealloc(tr->is_dirty, tr->capp);
      tr->dirty = xrealloc(tr->dirty, tr->capp * sizeof *tr->dirty);
    }
    p = (int32_t)tr->np++;
    tr->pa[p] = a; tr->pb[p] = b; tr->pcount[p] = 0;
    tr->where[p] = NULL; tr->nwhere[p] = tr->capwhere[p] = 0; tr->is_dirty[p] = 0;
    u64map_put(&tr->pidx, key, p);
  }
  tr->pcount[p] += delta;
  if (delta > 0 && (tr->nwhere[p] == 0 || tr->where[p][tr->nwhere[p] - 1] != w)) {
    if (tr->nwhere[p] == tr->capwhere[p]) {
      tr->capwhere[p] = tr->capwhere[p] ? tr->capwhere[p] * 2 : 4;
      tr->where[p] = xrealloc(tr->where[p], (size_t)tr->capwhere[p] * sizeof *tr->where[p]);
    }
    tr->where[p][tr->nwhere[p]++] = w;
  }
  if (!tr->is_dirty[p]) { tr->is_dirty[p] = 1; tr->dirty[tr->nd++] = p; }
}

static void flush_dirty(bpe_trainer *tr) {
  for (size_t i = 0; i < tr->nd; i++) {
    int32_t p = tr->dirty[i];
    tr->is_dirty[p] = 0;
    if (tr->pcount[p] > 0) heap_push(tr, (heap_ent){tr->pcount[p], p});
  }
  tr->nd = 0;
}

// Replaces every (a, b) in word w by c, moving the neighbouring pair counts.
static void merge_word(bpe_trainer *tr, int32_t w, int32_t a, int32_t b, int32_t c) {
  int32_t *s = tr->sym + tr->woff[w];
  int n = tr->wlen[w], out = 0, i = 0;
  int64_t f = tr->wcnt[w];
  while (i < n) {
    if (i + 1 < n && s[i] == a && s[i + 1] == b) {
      if (out > 0) { pair_add(tr, s[out - 1], a, -f, w); pair_add(tr, s[out - 1], c, f, w); }
      if (i + 2 < n) { pair_add(tr, b, s[i + 2], -f, w); pair_add(tr, c, s[i + 2], f, w); }
      pair_add(tr, a, b, -f, w);
      s[out++] = c;
      i += 2;
    } else {
      s[out++] = s[i++];
    }
  }
  tr->wlen[w] = out;
}

typedef struct { strmap *words; int64_t **cnt; size_t *cap; } count_ctx;

static void count_piece(void *ctx, const char *p, size_t n) {
  count_ctx *c = ctx;
  int32_t k = strmap_find(c->words, p, n);
  if (k < 0) {
    k = strmap_put(c->words, p, n, 0);
    if ((size_t)k >= *c->cap) {
      *c->cap = *c->cap ? *c->cap * 2 : 4096;
      *c->cnt = xrealloc(*c->cnt, *c->cap * sizeof **c->cnt);
    }
    (*c->cnt)[k] = 0;
  }
  (*c->cnt)[k]++;
}

// ---- steps of tok_train -------------------------------------------------------------
// The pre-tokenizer: byte tokens plus the distinct specials (kept in spec[0..*n_spec)), so
// specials split texts and are never merged into words.
static tokenizer *pretokenizer(const char *const *specials, int n_specials, const char **spec, int *n_spec) {
  char err[400];
  tokenizer *pre = tok_new();
  *n_spec = 0;
  for (int b = 0; b < 256; b++) { char c = (char)b; tok_set_token(pre, b, &c, 1, 0); }
  for (int i = 0; i < n_specials; i++) {
    if (!specials[i][0]) error("tok_train: empty special token");
    int dup = 0;
    for (int j = 0; j < *n_spec; j++) dup |= strcmp(spec[j], specials[i]) == 0;
    if (dup) continue;
    spec[*n_spec] = specials[i];
    tok_set_token(pre, 256 + *n_spec, specials[i], (int)strlen(specials[i]), 1);
    (*n_spec)++;
  }
  if (tok_finalize(pre, TOK_GPT2_PATTERN, err, sizeof err) != 0) error("tok_train: %s", err);
  return pre;
}

// Word types of the texts (pre-tokenized pieces between specials) and their counts.
static void count_words(const tokenizer *pre, const char *const *texts, size_t n, strmap *words, int64_t **cnt) {
  size_t cntcap = 0, skipped = 0;
  count_ctx cc = {words, cnt, &cntcap};
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(texts[i]), pos = 0;
    if (!tok_utf8_valid(texts[i], len)) { skipped++; continue; }
    while (pos < len) {
      int sid;
      size_t s = tok_find_special(pre, texts[i], len, pos, &sid);
      tok_split(pre, texts[i] + pos, s - pos, count_piece, &cc);
      if (sid < 0) break;
      pos = s + (size_t)pre->len[sid];
    }
  }
  if (skipped) warning("tok_train: skipped %zu of %zu texts that are not valid UTF-8", skipped, n);
}

// The 256 byte tokens, every word as bytes, and the pair counts of those words.
static void bpe_trainer_init(bpe_trainer *tr, const strmap *words, const int64_t *cnt) {
  memset(tr, 0, sizeof *tr);
  strmap_init(&tr->tokmap);
  u64map_init(&tr->pidx, 1 << 16);
  for (int b = 0; b < 256; b++) { char c = (char)b; add_token(tr, &c, 1); }
  tr->nw = words->n;
  tr->woff = xmalloc((tr->nw + 1) * sizeof *tr->woff);
  tr->wlen = xmalloc((tr->nw + 1) * sizeof *tr->wlen);
  tr->wcnt = xmalloc((tr->nw + 1) * sizeof *tr->wcnt);
  tr->wseen = xmalloc((tr->nw + 1) * sizeof *tr->wseen);
  tr->sym = xmalloc((words->plen + 1) * sizeof *tr->sym);
  size_t at = 0;
  for (size_t w = 0; w < tr->nw; w++) {
    size_t wl;
    const unsigned char *k = (const unsigned char *)strmap_key(words, (int32_t)w, &wl);
    tr->woff[w] = at;
    tr->wlen[w] = (int)wl;
    tr->wcnt[w] = cnt[w];
    tr->wseen[w] = -1;
    for (size_t j = 0; j < wl; j++) tr->sym[at + j] = k[j];
    for (size_t j = 0; j + 1 < wl; j++) pair_add(tr, k[j], k[j + 1], cnt[w], (int32_t)w);
    at += wl;
  }
  flush_dirty(tr);
}

static void bpe_trainer_free(bpe_trainer *tr) {
  free(tr->merges);
  for (size_t p = 0; p < tr->np; p++) free(tr->where[p]);
  free(tr->where); free(tr->nwhere); free(tr->capwhere); free(tr->pa); free(tr->pb); free(tr->pcount);
  free(tr->is_dirty); free(tr->dirty); free(tr->heap);
  free(tr->sym); free(tr->woff); free(tr->wlen); free(tr->wcnt); free(tr->wseen);
  free(tr->off); free(tr->len); free(tr->pool);
  strmap_free(&tr->tokmap);
  u64map_free(&tr->pidx);
}

// The id of the bytes of a followed by b: a new token, or an existing one with the same bytes.
static int32_t merged_token(bpe_trainer *tr, int32_t a, int32_t b) {
  int la = tr->len[a], lb = tr->len[b];
  char *m = xmalloc((size_t)(la + lb));
  memcpy(m, tr->pool + tr->off[a], (size_t)la);
  memcpy(m + la, tr->pool + tr->off[b], (size_t)lb);
  int32_t k = strmap_find(&tr->tokmap, m, (size_t)(la + lb));
  int32_t c;
  if (k >= 0) c = tr->tokmap.e[k].val;  // same bytes reached by another split: reuse the id
  else { c = tr->ntok; add_token(tr, m, la + lb); }
  free(m);
  return c;
}

// Merges pair p (a, b) into c in every word holding it and records the merge.
static void apply_merge(bpe_trainer *tr, int32_t p) {
  int32_t a = tr->pa[p], b = tr->pb[p], c = merged_token(tr, a, b);
  if (tr->nm == tr->capm) {
    tr->capm = tr->capm ? tr->capm * 2 : 1024;
    tr->merges = xrealloc(tr->merges, (size_t)tr->capm * sizeof *tr->merges);
  }
  tr->merges[tr->nm][0] = a;
  tr->merges[tr->nm][1] = b;
  // iterate over a snapshot length: merge_word may append to this pair's list only if
  // c == a or c == b, which cannot happen (c is longer than both)
  for (int i = 0; i < tr->nwhere[p]; i++) {
    int32_t w = tr->where[p][i];
    if (tr->wseen[w] == tr->nm) continue;
    tr->wseen[w] = tr->nm;
    merge_word(tr, w, a, b, c);
  }
  tr->nm++;
  free(tr->where[p]);
  tr->where[p] = NULL;
  tr->nwhere[p] = tr->capwhere[p] = 0;
  flush_dirty(tr);
}

// The most frequent pair, merged, until there are `target` tokens or no pair is left.
static void train_merges(bpe_trainer *tr, int target) {
  while (tr->ntok < target && tr->hn > 0) {
    heap_ent top = heap_pop(tr);
    if (tr->pcount[top.pair] != top.count) continue;  // stale entry
    apply_merge(tr, top.pair);
  }
}

// The trained tokens, then the specials, then the merges in order.
static tokenizer *trained_tokenizer(const bpe_trainer *tr, const char *const *spec, int n_spec) {
  char err[400];
  tokenizer *t = tok_new();
  for (int i = 0; i < tr->ntok; i++)
    if (tok_set_token(t, i, tr->pool + tr->off[i], tr->len[i], 0) != 0) error("tok_train: token %d", i);
  for (int i = 0; i < n_spec; i++)
    if (tok_set_token(t, tr->ntok + i, spec[i], (int)strlen(spec[i]), 1) != 0) error("tok_train: special %d", i);
  for (int r = 0; r < tr->nm; r++)
    if (tok_add_merge(t, tr->merges[r][0], tr->merges[r][1]) != 0) error("tok_train: merge %d", r);
  if (tok_finalize(t, TOK_GPT2_PATTERN, err, sizeof err) != 0) error("tok_train: %s", err);
  return t;
}

tokenizer *tok_train(const char *const *texts, size_t n, int vocab_size,
                     const char *const *specials, int n_specials) {
  const char **spec = xcalloc((size_t)n_specials + 1, sizeof *spec);
  int n_spec;
  tokenizer *pre = pretokenizer(specials, n_specials, spec, &n_spec);
  if (vocab_size < 256 + n_spec)
    error("tok_train: vocab_size %d is below 256 byte tokens + %d specials", vocab_size, n_spec);
  strmap words;
  strmap_init(&words);
  int64_t *cnt = NULL;
  count_words(pre, texts, n, &words, &cnt);
  bpe_trainer tr;
  bpe_trainer_init(&tr, &words, cnt);
  free(cnt);
  strmap_free(&words);
  train_merges(&tr, vocab_size - n_spec);
  tokenizer *t = trained_tokenizer(&tr, spec, n_spec);
  bpe_trainer_free(&tr);
  tok_free(pre);
  free(spec);
  return t;
}
