// Two small hash maps for the tokenizer: uint64 pair keys -> int32 (merge ranks, trainer
// pair index) and byte strings -> int32 (vocabulary, word counts, the encode cache).
#include <string.h>

#include "text/tokenizer_impl.h"
#include "base/util.h"

#define U64_EMPTY UINT64_MAX

static size_t mix64(uint64_t x) {
  x ^= x >> 33; x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return (size_t)x;
}

void u64map_init(u64map *m, size_t hint) {
  m->cap = 16;
  while (m->cap < hint * 2) m->cap *= 2;
  m->n = 0;
  m->keys = xmalloc(m->cap * sizeof *m->keys);
  m->vals = xmalloc(m->cap * sizeof *m->vals);
  memset(m->keys, 0xff, m->cap * sizeof *m->keys);
}

int32_t u64map_get(const u64map *m, uint64_t key) {
  size_t mask = m->cap - 1;
  for (size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
    if (m->keys[i] == key) return m->vals[i];
    if (m->keys[i] == U64_EMPTY) return -1;
  }
}

static void u64map_grow(u64map *m) {
  u64map big;
  u64map_init(&big, m->cap);
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i] != U64_EMPTY) u64map_put(&big, m->keys[i], m->vals[i]);
  u64map_free(m);
  *m = big;
}

void u64map_put(u64map *m, uint64_t key, int32_t val) {
  if ((m->n + 1) * 2 > m->cap) u64map_grow(m);
  size_t mask = m->cap - 1;
  for (size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
    if (m->keys[i] == key) { m->vals[i] = val; return; }
    if (m->keys[i] == U64_EMPTY) {
      m->keys[i] = key; m->vals[i] = val; m->n++;
      return;
    }
  }
}

void u64map_free(u64map *m) {
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof *m);
}

void strmap_init(strmap *m) {
  memset(m, 0, sizeof *m);
  m->tcap = 64;
  m->table = xmalloc(m->tcap * sizeof *m->table);
  memset(m->table, 0xff, m->tcap * sizeof *m->table);
}

int32_t strmap_find(const strmap *m, const char *key, size_t len) {
  uint64_t h = fnv1a64(key, len);
  size_t mask = m->tcap - 1;
  for (size_t i = mix64(h) & mask;; i = (i + 1) & mask) {
    int32_t k = m->table[i];
    if (k < 0) return -1;
    const strmap_entry *e = &m->e[k];
    if (e->hash == h && e->len == len && memcmp(m->pool + e->off, key, len) == 0) return k;
  }
}

static void strmap_insert_index(strmap *m, int32_t k) {
  size_t mask = m->tcap - 1;
  size_t i = mix64(m->e[k].hash) & mask;
  while (m->table[i] >= 0) i = (i + 1) & mask;
  m->table[i] = k;
}

int32_t strmap_put(strmap *m, const char *key, size_t len, int32_t val) {
  int32_t k = strmap_find(m, key, len);
  if (k >= 0) { m->e[k].val = val; return k; }
  if ((m->n + 1) * 2 > m->tcap) {
    m->tcap *= 2;
    free(m->table);
    m->table = xmalloc(m->tcap * sizeof *m->table);
    memset(m->table, 0xff, m->tcap * sizeof *m->table);
    for (size_t j = 0; j < m->n; j++) strmap_insert_index(m, (int32_t)j);
  }
  if (m->n == m->ecap) {
    m->ecap = m->ecap ? m->ecap * 2 : 64;
    m->e = xrealloc(m->e, m->ecap * sizeof *m->e);
  }
  if (m->plen + len + 1 > m->pcap) {
    while (m->plen + len + 1 > m->pcap) m->pcap = m->pcap ? m->pcap * 2 : 1024;
    m->pool = xrealloc(m->pool, m->pcap);
  }
  if (len) memcpy(m->pool + m->plen, key, len);
  k = (int32_t)m->n++;
  m->e[k] = (strmap_entry){fnv1a64(key, len), m->plen, (uint32_t)len, val};
  m->plen += len;
  strmap_insert_index(m, k);
  return k;
}

const char *strmap_key(const strmap *m, int32_t idx, size_t *len) {
  *len = m->e[idx].len;
  return m->pool + m->e[idx].off;
}

void strmap_clear(strmap *m) {
  memset(m->table, 0xff, m->tcap * sizeof *m->table);
  m->n = 0;
  m->plen = 0;
}

void strmap_free(strmap *m) {
  free(m->table);
  free(m->e);
  free(m->pool);
  memset(m, 0, sizeof *m);
}
