// Per-user streams and windows for the `lm` objective: see train_lm.h.
#include "train/train_lm.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

// ---- one user's stream ---------------------------------------------------------------------
static void push(int32_t **out, size_t *len, size_t *cap, const int32_t *t, size_t n) {
  if (*len + n > *cap) {
    *cap = (*len + n) * 2 + 256;
    *out = xrealloc(*out, *cap * sizeof(int32_t));
  }
  memcpy(*out + *len, t, n * sizeof(int32_t));
  *len += n;
}

#define MIN_OVERLAP 4

// Longest k <= min(na, nb) with a[na-k..na) == b[0..k): KMP prefix function of b, then a
// scanned against it. O(na + nb).
static size_t overlap(const int32_t *a, size_t na, const int32_t *b, size_t nb, size_t *pi) {
  if (!na || !nb) return 0;
  pi[0] = 0;
  for (size_t i = 1, k = 0; i < nb; i++) {
    while (k && b[i] != b[k]) k = pi[k - 1];
    if (b[i] == b[k]) k++;
    pi[i] = k;
  }
  size_t k = 0;
  for (size_t i = 0; i < na; i++) {
    while (k && (k == nb || a[i] != b[k])) k = pi[k - 1];
    if (k < nb && a[i] == b[k]) k++;
  }
  return k;
}

// Does a[0..na) hold b[0..nb) (nb >= MIN_OVERLAP) as a contiguous run?
static int contains(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
  if (nb < MIN_OVERLAP || nb > na) return 0;
  for (size_t i = 0; i + nb <= na; i++)
    if (a[i] == b[0] && !memcmp(a + i, b, nb * sizeof *b)) return 1;
  return 0;
}

size_t lm_user_stream(const shard_data *const *sh, const size_t *idx, int n, int32_t **out,
                      size_t *len, size_t *cap) {
  const int32_t *prev = NULL, *ptgt = NULL;
  size_t nprev = 0, nptgt = 0, removed = 0, maxb = 0;
  for (int j = 0; j < n; j++) {
    size_t lh;
    shard_seq(sh[j], idx[j], 1, &lh);
    if (lh > maxb) maxb = lh;
  }
  size_t *pi = xmalloc((maxb + 1) * sizeof *pi);
  for (int j = 0; j < n; j++) {
    size_t lh, l0;
    const int32_t *h = shard_seq(sh[j], idx[j], 1, &lh), *z = shard_seq(sh[j], idx[j], 0, &l0);
    size_t c = 0;   // common suffix: query, response prefix and target
    while (c < lh && c < l0 && h[lh - 1 - c] == z[l0 - 1 - c]) c++;
    size_t nb = sh[j]->history_items[idx[j]] > 0 ? lh - c : 0;   // history block
    size_t k = overlap(prev, nprev, h, nb, pi);
    if (k < MIN_OVERLAP) k = 0;   // a few equal tokens are a coincidence, not a repeated item
    // The items that slid into the profile are often the previous sample's target (profiles
    // are the user's earlier texts): such a new part is dropped, the text is in the stream.
    size_t skip = k;
    if (k > 0 && contains(h + k, nb - k, ptgt, nptgt)) skip = nb;
    removed += skip;
    push(out, len, cap, h + skip, lh - skip);
    if (nb) {
      prev = h;
      nprev = nb;
    }
    // target without its first token (tokenized at the start of a text, it may differ inside
    // an item) and without <|endoftext|>
    size_t tl;
    shard_target(sh[j], idx[j], &tl);
    ptgt = tl > 2 ? h + lh - tl + 1 : NULL;
    nptgt = tl > 2 ? tl - 2 : 0;
  }
  free(pi);
  return removed;
}

// ---- all users --------------------------------------------------------------------------------
typedef struct {
  const char *user, *id;
  int hist_items, shard;
  size_t i;
} entry;

static int cmp_entry(const void *pa, const void *pb) {
  const entry *a = pa, *b = pb;
  int c = strcmp(a->user, b->user);
  if (c) return c;
  if (a->hist_items != b->hist_items) return a->hist_items < b->hist_items ? -1 : 1;
  if ((c = strcmp(a->id, b->id))) return c;
  if (a->shard != b->shard) return a->shard < b->shard ? -1 : 1;
  return (a->i > b->i) - (a->i < b->i);
}

void lm_windows_build(lm_windows *w, const shard_data *sh, int n_shards, int split, int window) {
  memset(w, 0, sizeof *w);
  if (window < 2) error("lm_windows_build: window %d < 2", window);
  size_t ne = 0;
  for (int f = 0; f < n_shards; f++)
    for (size_t i = 0; i < sh[f].n_samples; i++) ne += sh[f].split[i] == split;
  entry *e = xmalloc((ne ? ne : 1) * sizeof *e);
  ne = 0;
  for (int f = 0; f < n_shards; f++)
    for (size_t i = 0; i < sh[f].n_samples; i++)
      if (sh[f].split[i] == split)
        e[ne++] = (entry){sh[f].users[sh[f].user[i]], sh[f].id[i], sh[f].history_items[i], f, i};
  qsort(e, ne, sizeof *e, cmp_entry);

  const shard_data **ps = xmalloc((ne ? ne : 1) * sizeof *ps);
  size_t *pi = xmalloc((ne ? ne : 1) * sizeof *pi);
  int32_t *st = NULL;
  size_t cap_w = 0, ncap_off = 16;
  w->off = xmalloc(ncap_off * sizeof *w->off);
  w->off[0] = 0;
  size_t wlen = 0;
  for (size_t a = 0; a < ne;) {
    size_t b = a;
    while (b < ne && !strcmp(e[b].user, e[a].user)) b++;
    for (size_t j = a; j < b; j++) {
      ps[j - a] = &sh[e[j].shard];
      pi[j - a] = e[j].i;
    }
    size_t len = 0, cap = 0;
    w->removed_tokens += lm_user_stream(ps, pi, (int)(b - a), &st, &len, &cap);
    w->stream_tokens += len;
    w->users++;
    // windows of <= window tokens starting every window - 1 tokens
    for (size_t s = 0; s + 1 < len; s += (size_t)window - 1) {
      size_t n = len - s < (size_t)window ? len - s : (size_t)window;
      if ((size_t)w->n + 2 > ncap_off) {
        ncap_off *= 2;
        w->off = xrealloc(w->off, ncap_off * sizeof *w->off);
      }
      push(&w->tokens, &wlen, &cap_w, st + s, n);
      w->off[++w->n] = (int64_t)wlen;
      if ((int)n > w->max_len) w->max_len = (int)n;
      if (s + n >= len) break;
    }
    free(st);
    st = NULL;
    a = b;
  }
  free(ps);
  free(pi);
  free(e);
}

void lm_windows_free(lm_windows *w) {
  free(w->tokens);
  free(w->off);
  memset(w, 0, sizeof *w);
}
